"""Job ids live in the .blend: reopening the file imports what finished while Blender was closed, and sends again
(with the same idempotency key) what never reached the daemon."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import uuid
from pathlib import Path

import bpy
import harness

harness.install()
compat = harness.module("compat")

# Run in a second Blender: queue a shot, save the file as soon as the daemon has the job, and quit at once.
FIRST_SESSION = textwrap.dedent(
    """
    import sys, bpy
    sys.path.insert(0, {tests!r})
    import harness
    harness.install()
    harness.pump(harness.online, what="the daemon")
    scene = harness.fresh_scene()
    scene.name = "Cut"
    compat = harness.module("compat")
    compat.new_effect(scene, "end", "COLOR", 1, 100, 5)
    scene.frame_current = 1
    scene.milimo.prompt = "Finishes while Blender is closed"
    bpy.ops.milimo.generate_shot()
    harness.pump(lambda: scene.milimo.jobs[0].job_id != "", what="the job id")
    bpy.ops.wm.save_as_mainfile(filepath={blend!r})
    print("JOB", scene.milimo.jobs[0].job_id)
    """
)


def client():  # noqa: ANN201 - the client library from the extension's bundled wheel
    from milimo.client.client import Client
    from milimo.config import ClientConfig

    return Client(ClientConfig(address=os.environ["MILIMO_DAEMON"]))


class ResumeTests(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="milimo-resume-"))
        self.addCleanup(shutil.rmtree, self.folder, ignore_errors=True)
        harness.pump(harness.online, what="the daemon connection")

    def test_a_job_that_finished_while_blender_was_closed_is_imported_on_open(self) -> None:
        blend = self.folder / "cut.blend"
        env = {**os.environ, "BLENDER_USER_RESOURCES": str(self.folder / "first-blender")}
        script = FIRST_SESSION.format(tests=str(Path(__file__).parent), blend=str(blend))
        first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        job_id = first.stdout.split("JOB ", 1)[1].split()[0]
        with client() as daemon:
            finished = daemon.wait(job_id)
        self.assertEqual(finished.status, 3, finished.reason)  # SUCCEEDED, before this Blender opens the file

        bpy.ops.wm.open_mainfile(filepath=str(blend))
        scene = bpy.data.scenes["Cut"]
        job = scene.milimo.jobs[0]
        harness.pump(lambda: job.imported, what="the finished job to be imported")
        strip = compat.top_strips(scene)[job.result_strip]
        self.assertEqual((strip.frame_final_start, strip.frame_final_end, strip.channel), (1, 100, 1))
        self.assertEqual(strip["milimo_job_id"], job_id)
        self.assertTrue(Path(bpy.path.abspath(strip.filepath)).is_file())
        self.assertEqual(Path(bpy.path.abspath(strip.filepath)).parent, self.folder / "milimo_media")

    def test_a_job_blender_never_heard_back_about_is_sent_again_once(self) -> None:
        """Blender closed after sending the job but before the daemon's answer: the resend with the same key finds
        the job already queued rather than queueing a second one."""
        scene = harness.fresh_scene()
        scene.name = "Unanswered"
        compat.new_effect(scene, "end", "COLOR", 1, 30, 5)
        request = {"animatic": {"width": 64, "height": 64, "frames": 12, "fps": {"num": 24, "den": 1}}}
        key = uuid.uuid4().hex
        job = scene.milimo.jobs.add()
        job.client_request_id, job.request_json = key, json.dumps(request)
        job.kind, job.frame_start, job.frames, job.channel = "animatic", 5, 12, 1
        from google.protobuf import json_format

        from milimo.v1 import jobs_pb2

        with client() as daemon:  # what the lost answer was about
            sent = daemon.jobs.Submit(
                jobs_pb2.SubmitJobRequest(
                    request=json_format.ParseDict(request, jobs_pb2.JobRequest()), client_request_id=key
                )
            )
        blend = self.folder / "unanswered.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend))
        bpy.ops.wm.open_mainfile(filepath=str(blend))
        job = bpy.data.scenes["Unanswered"].milimo.jobs[0]
        harness.pump(lambda: job.imported, what="the job to be sent again, run and be imported")
        self.assertEqual(job.job_id, sent.id)
        movie = compat.top_strips(bpy.data.scenes["Unanswered"])[job.result_strip]
        self.assertEqual((movie.frame_final_start, movie.frame_final_end), (5, 17))


class UnreachableTests(unittest.TestCase):
    def tearDown(self) -> None:
        harness.point_at(os.environ["MILIMO_DAEMON"])

    def test_an_unreachable_daemon_is_reported_without_a_traceback(self) -> None:
        captured = Path(tempfile.mkstemp(prefix="milimo-stderr-")[1])
        self.addCleanup(captured.unlink, missing_ok=True)
        saved = os.dup(2)
        with captured.open("w") as sink:
            os.dup2(sink.fileno(), 2)  # the file descriptor: catches what Blender and gRPC write too
            try:
                harness.point_at("127.0.0.1:9")  # the discard port: nothing listens
                session = harness.module("session")
                harness.pump(lambda: session.connection().status.checked, what="the health check")
                status = session.connection().status
                scene = harness.fresh_scene()
                compat.new_effect(scene, "end", "COLOR", 1, 30, 5)
                scene.milimo.prompt = "Nobody is listening"
                bpy.ops.milimo.generate_shot()
                job = scene.milimo.jobs[0]
                harness.pump(lambda: job.status == "FAILED", what="the submission to fail")
                bpy.ops.milimo.test_connection()
                started = time.monotonic()
                harness.pump(lambda: "not reachable" in session.notice or time.monotonic() - started > 10)
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
        self.assertFalse(status.online)
        self.assertIn("127.0.0.1:9 is not reachable", status.message)
        self.assertIn("milimo serve", status.message)
        self.assertIn("not reachable", job.message)
        self.assertIn("not reachable", session.notice)
        self.assertNotIn("Traceback", captured.read_text())
