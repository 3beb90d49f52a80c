"""Generating shots end to end against a live daemon (animatic kind): into a gap, over placeholders (from the panel's
settings, or from the request a placeholder keeps), at the exact frame and channel, from the sequencer's picture under
the playhead, a clip's sound a tick after its movie, cancelling, and a resume that meets a shot still on its way."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import unittest
from pathlib import Path

import bpy
import harness

ext = harness.install()
compat = harness.module("compat")
timeline = harness.module("timeline")
models = harness.module("models")
operators = harness.module("operators")
mainthread = harness.module("mainthread")
results = harness.module("results")
session = harness.module("session")

from milimo.otio import conventions  # noqa: E402 - importable once the extension's wheels are in
from milimo.v1 import common_pb2, jobs_pb2, media_pb2  # noqa: E402

HAS_SOUND = bpy.app.build_options.audaspace  # bpy 4.2 from PyPI is built without audio
MEDIA = Path(tempfile.mkdtemp(prefix="milimo-shots-"))
VOICED = MEDIA / "voiced.mp4"  # a clip with sound where this Blender has audio
harness.make_movie(VOICED, 24)


def tearDownModule() -> None:
    shutil.rmtree(MEDIA, ignore_errors=True)


def jobs_done(scene: bpy.types.Scene) -> bool:
    return all(job.imported or job.status in ("FAILED", "CANCELLED") for job in scene.milimo.jobs)


def drain_all() -> str:
    """Run the main-thread queue until it is empty; return what its work printed to stderr (tracebacks)."""
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        for _ in range(1000):
            if mainthread.drain() == mainthread.IDLE_INTERVAL_S:
                break
    return errors.getvalue()


def keep_request(strip: bpy.types.Strip, request: jobs_pb2.JobRequest) -> None:
    """What an OTIO import leaves on a placeholder whose clip carries its own request."""
    strip[timeline.REQUEST_KEY] = conventions.payload_text(conventions.payload(request))


def stop_if_running(client: object, job_id: str) -> None:
    """Cancel a job whose run does not matter to the test; a tiny one may already have ended."""
    import grpc  # from the extension's bundled wheels

    try:
        client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id))
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise


class ShotTests(unittest.TestCase):
    def setUp(self) -> None:
        harness.pump(harness.online, what="the daemon connection")
        self.scene = harness.fresh_scene()

    def add_color(self, name: str, channel: int, start: int, frames: int) -> bpy.types.Strip:
        return compat.new_effect(self.scene, name, "COLOR", channel, start, frames)

    def test_generate_into_the_gap_under_the_playhead(self) -> None:
        self.add_color("before", 1, 1, 10)
        self.add_color("after", 1, 35, 10)
        self.scene.frame_current = 20
        self.scene.milimo.prompt = "A lighthouse at dusk"
        self.assertEqual(bpy.ops.milimo.generate_shot(), {"FINISHED"})
        harness.pump(lambda: jobs_done(self.scene), what="the shot")
        job = self.scene.milimo.jobs[0]
        self.assertEqual(job.status, "SUCCEEDED", job.message)
        strip = compat.top_strips(self.scene)[job.result_strip]
        self.assertEqual(strip.type, "MOVIE")
        self.assertEqual((strip.frame_final_start, strip.frame_final_end, strip.channel), (11, 35, 1))
        self.assertEqual(strip["milimo_job_id"], job.job_id)
        self.assertEqual(strip["milimo_prompt"], "A lighthouse at dusk")
        self.assertEqual(strip["milimo_model"], "animatic")
        self.assertEqual(strip["milimo_seed"], job.seed)

    def test_placeholders_generate_in_timeline_order_above_themselves(self) -> None:
        late = self.add_color("late", 2, 40, 12)
        early = self.add_color("early", 1, 1, 24)
        operators.mark(late, "The second shot")
        operators.mark(early, "The first shot")
        self.add_color("blocker", 3, 40, 12)  # channel 3 is taken over the late shot: it goes to 4
        self.assertEqual(bpy.ops.milimo.generate_placeholders(), {"FINISHED"})
        harness.pump(lambda: len(self.scene.milimo.jobs) == 2 and jobs_done(self.scene), what="both shots")
        first, second = self.scene.milimo.jobs
        self.assertEqual((first.placeholder, second.placeholder), ("early", "late"))
        strips = compat.top_strips(self.scene)
        placed = {job.placeholder: strips[job.result_strip] for job in self.scene.milimo.jobs}
        self.assertEqual((placed["early"].frame_final_start, placed["early"].channel), (1, 2))
        self.assertEqual((placed["late"].frame_final_start, placed["late"].frame_final_end), (40, 52))
        self.assertEqual(placed["late"].channel, 4)
        # Done: generating again skips placeholders that have a take.
        self.assertEqual(bpy.ops.milimo.generate_placeholders(), {"CANCELLED"})

    def test_placeholders_that_keep_a_request_are_generated_from_it(self) -> None:
        harness.pump(lambda: models.family_of("tiny-ltx") != "", what="the daemon's models")
        video = self.add_color("kept video", 1, 1, 12)
        operators.mark(video, "A ferry in fog")
        keep_request(
            video,
            jobs_pb2.JobRequest(
                video=jobs_pb2.VideoShotRequest(
                    model="tiny-ltx",
                    prompt="The request's own prompt",
                    width=96,
                    height=64,
                    steps=2,
                    guidance=4.5,
                    seed=77,
                    frames=100,
                    fps=common_pb2.Rational(num=30, den=1),
                )
            ),
        )
        card = self.add_color("kept card", 1, 20, 10)
        operators.mark(card, "")  # no prompt of its own: the request's
        keep_request(
            card,
            jobs_pb2.JobRequest(
                animatic=jobs_pb2.AnimaticRequest(
                    scene_heading="EXT. PIER - DAY", description="Gulls over the pier", width=128, height=64
                )
            ),
        )
        operators.mark(self.add_color("plain", 1, 40, 10), "A plain shot")
        self.scene.milimo.seed = 5
        self.assertEqual(bpy.ops.milimo.generate_placeholders(), {"FINISHED"})
        jobs = self.scene.milimo.jobs
        harness.pump(lambda: len(jobs) == 3 and all(job.job_id for job in jobs), what="the three jobs' ids")
        client = session.connection().client
        sent = {job.placeholder: client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.job_id)).request for job in jobs}
        stop_if_running(client, jobs[0].job_id)  # only its request matters here
        shot = sent["kept video"].video
        self.assertEqual((shot.model, shot.prompt, shot.width, shot.height), ("tiny-ltx", "A ferry in fog", 96, 64))
        self.assertEqual((shot.steps, shot.guidance, shot.seed), (2, 4.5, 77))
        self.assertEqual((shot.frames, shot.fps.num, shot.fps.den), (17, 24, 1))  # LTX's 8k+1, at the scene's rate
        self.assertEqual((jobs[0].kind, jobs[0].model, jobs[0].seed), ("video", "tiny-ltx", 77))
        board = sent["kept card"].animatic
        self.assertEqual((board.scene_heading, board.description), ("EXT. PIER - DAY", "Gulls over the pier"))
        self.assertEqual((board.width, board.height, board.frames, board.fps.num), (128, 64, 10, 24))
        self.assertEqual(board.seed, jobs[1].seed)
        self.assertNotEqual(board.seed, 0)
        plain = sent["plain"].animatic  # the panel's settings, as before
        self.assertEqual((plain.description, plain.width, plain.height, plain.seed), ("A plain shot", 64, 64, 5))
        harness.pump(lambda: jobs_done(self.scene), what="the jobs to end")
        self.assertEqual([job.status for job in jobs][1:], ["SUCCEEDED", "SUCCEEDED"])

    def test_generate_shot_on_a_placeholder_that_keeps_a_request_uses_it(self) -> None:
        harness.pump(lambda: models.family_of("tiny-ltx") != "", what="the daemon's models")
        shot = self.add_color("kept", 1, 1, 12)
        operators.mark(shot, "")  # no prompt of its own, and the panel has none: the request's
        keep_request(
            shot,
            jobs_pb2.JobRequest(
                video=jobs_pb2.VideoShotRequest(
                    model="tiny-ltx", prompt="A ferry in fog", width=96, height=64, steps=2, seed=77, frames=9
                )
            ),
        )
        for strip in compat.top_strips(self.scene):
            strip.select = strip == shot
        self.scene.sequence_editor.active_strip = shot
        self.scene.milimo.prompt, self.scene.milimo.model = "", "animatic"  # the panel would make an animatic
        self.assertEqual(bpy.ops.milimo.generate_shot(), {"FINISHED"})
        job = self.scene.milimo.jobs[0]
        harness.pump(lambda: job.job_id != "", what="the job's id")
        client = session.connection().client
        sent = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.job_id)).request
        self.assertEqual(sent.WhichOneof("kind"), "video")
        self.assertEqual(
            (sent.video.model, sent.video.prompt, sent.video.width, sent.video.seed),
            ("tiny-ltx", "A ferry in fog", 96, 77),
        )
        self.assertEqual((job.placeholder, job.model, job.prompt), ("kept", "tiny-ltx", "A ferry in fog"))

        self.scene.milimo.prompt = "A ferry at night"  # the panel's prompt wins over the request's
        self.assertEqual(bpy.ops.milimo.generate_shot(), {"FINISHED"})
        second = self.scene.milimo.jobs[1]
        harness.pump(lambda: second.job_id != "", what="the second job's id")
        resent = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=second.job_id)).request
        self.assertEqual((resent.video.model, resent.video.prompt), ("tiny-ltx", "A ferry at night"))
        harness.pump(lambda: jobs_done(self.scene), what="the jobs to end")
        self.assertEqual([job.status for job in self.scene.milimo.jobs], ["SUCCEEDED", "SUCCEEDED"])

    def test_an_unreadable_kept_request_is_refused_naming_the_placeholder(self) -> None:
        strip = self.add_color("broken", 1, 1, 12)
        operators.mark(strip, "A shot")
        strip[timeline.REQUEST_KEY] = '{"version": 1, "request": {"image": {}}}'
        with self.assertRaisesRegex(RuntimeError, "Placeholder 'broken': milimo_request is not a request Milimo reads"):
            bpy.ops.milimo.generate_placeholders()
        self.assertEqual(len(self.scene.milimo.jobs), 0)

    def finished_job(self, job_id: str) -> bpy.types.PropertyGroup:
        """A job entry as the tracker keeps it when its clip has been fetched, 20 frames from frame 10."""
        job = self.scene.milimo.jobs.add()
        job.job_id, job.kind, job.status, job.label = job_id, "video", "FETCHING", "A voiced shot"
        job.frame_start, job.frames, job.channel, job.seed, job.model = 10, 20, 2, 3, "tiny-ltx2"
        return job

    def test_a_clip_with_sound_gets_its_sound_strip_in_a_tick_of_its_own(self) -> None:
        job = self.finished_job("j-voiced")
        session.tracker()._import(self.scene.name, job.job_id, [results.ResultFile("a-voiced", str(VOICED), True)])
        strips = compat.top_strips(self.scene)
        movie = strips[job.result_strip]
        self.assertEqual([strip.type for strip in strips], ["MOVIE"])  # the sound waits for the next tick
        self.assertEqual((job.status, job.imported), ("SUCCEEDED", True))
        self.assertEqual(drain_all(), "")
        if not HAS_SOUND:
            self.assertEqual(len(strips), 1)
            self.assertIn("The clip's sound was not added", job.message)
            return
        sound = next(strip for strip in strips if strip.type == "SOUND")
        self.assertEqual((sound.channel, sound.frame_final_start, sound.frame_final_end), (3, 10, 30))
        self.assertEqual((movie.channel, movie.frame_final_start, movie.frame_final_end), (2, 10, 30))
        self.assertEqual((sound.frame_offset_start, sound.frame_offset_end), (0, movie.frame_offset_end))
        self.assertEqual((sound["milimo_job_id"], sound["milimo_asset_id"]), ("j-voiced", "a-voiced"))
        self.assertEqual(job.message, "")

    def test_a_movie_gone_before_its_sound_tick_leaves_nothing_to_do(self) -> None:
        clip = [results.ResultFile("a-voiced", str(VOICED), True)]
        removed = self.finished_job("j-removed")
        session.tracker()._import(self.scene.name, removed.job_id, clip)
        strips = compat.top_strips(self.scene)
        strips.remove(strips[removed.result_strip])
        self.assertEqual(drain_all(), "")
        self.assertEqual((len(strips), removed.message), (0, ""))
        # The whole scene gone (another file opened) before the sound's tick.
        gone = self.finished_job("j-gone")
        session.tracker()._import(self.scene.name, gone.job_id, clip)
        bpy.data.scenes.remove(self.scene)
        self.assertEqual(drain_all(), "")

    def test_resuming_while_a_shot_is_on_its_way_leaves_it_to_its_send(self) -> None:
        self.add_color("end", 1, 30, 5)
        self.scene.frame_current = 5
        self.scene.milimo.prompt = "On its way"
        bpy.ops.milimo.generate_shot()
        job = self.scene.milimo.jobs[0]
        session.tracker().resume()  # the daemon came back while the shot was being sent
        self.assertEqual((job.status, job.message), ("SUBMITTING", ""))
        harness.pump(lambda: jobs_done(self.scene), what="the shot")
        self.assertEqual(job.status, "SUCCEEDED", job.message)

    def picture_at(self, condition: object) -> tuple[float, float, float]:
        """The colour in the middle of a conditioning picture."""
        image = bpy.data.images.load(condition.filepath)
        try:
            width, height = image.size
            middle = ((height // 2) * width + width // 2) * 4
            return tuple(round(value, 2) for value in image.pixels[middle : middle + 3])
        finally:
            bpy.data.images.remove(image)

    def test_the_frame_under_the_playhead_is_the_picture_blender_renders(self) -> None:
        movie = compat.top_strips(self.scene).new_movie(name="clip", filepath=str(VOICED), channel=1, frame_start=1)
        red = self.add_color("red over it", 2, 1, 12)
        red.color = (1.0, 0.0, 0.0)
        for strip in compat.top_strips(self.scene):
            strip.select = False  # nothing selected: the picture under the playhead it is
        self.scene.frame_current = 6
        self.scene.milimo.use_playhead_frame = True
        render = self.scene.render
        if hasattr(render.image_settings, "media_type"):  # the user's output: a video (5.0 sorts formats)
            render.image_settings.media_type = "VIDEO"
        render.image_settings.file_format, render.filepath = "FFMPEG", "//cut.mp4"
        before = (render.filepath, render.image_settings.file_format, render.use_sequencer, render.use_compositing)
        condition = operators.conditioning(self.scene, "tiny-ltx")
        self.assertFalse(condition.is_movie)
        self.assertTrue(condition.filepath.endswith(".jpg"))
        r, g, b = self.picture_at(condition)
        self.assertGreater(r, 0.5)  # the red strip above the clip is in the picture: it is the composited frame
        self.assertLess(max(g, b), 0.3)
        self.assertEqual(
            (render.filepath, render.image_settings.file_format, render.use_sequencer, render.use_compositing), before
        )
        red.mute = True
        r, g, b = self.picture_at(operators.conditioning(self.scene, "tiny-ltx"))
        self.assertGreater(min(g, b), 0.3)  # the clip alone: grey
        # A scene strip would render its 3D scene (slow): the clip's own frame instead.
        other = harness.fresh_scene()
        bpy.context.window.scene = self.scene
        compat.top_strips(self.scene).new_scene(name="3D", scene=other, channel=3, frame_start=1)
        fallback = operators.conditioning(self.scene, "tiny-ltx")
        self.assertEqual((fallback.filepath, fallback.source_frame, fallback.is_movie), (movie.filepath, 5, True))
        self.assertIsNone(operators.conditioning(self.scene, "animatic"))

    def test_a_shot_from_the_rendered_frame_sends_that_picture(self) -> None:
        harness.pump(lambda: models.family_of("tiny-ltx") != "", what="the daemon's models")
        compat.top_strips(self.scene).new_movie(name="clip", filepath=str(VOICED), channel=1, frame_start=1)
        shot = self.add_color("shot", 2, 1, 9)  # a placeholder over the clip, the only strip selected
        operators.mark(shot, "From the picture")
        for strip in compat.top_strips(self.scene):
            strip.select = strip == shot
        self.scene.sequence_editor.active_strip = shot
        self.scene.frame_current = 4
        self.scene.milimo.use_playhead_frame = True
        self.scene.milimo.model = "tiny-ltx"
        self.assertEqual(bpy.ops.milimo.generate_shot(), {"FINISHED"})
        job = self.scene.milimo.jobs[0]
        harness.pump(lambda: job.job_id != "" or job.status == "FAILED", what="the job's id")
        client = session.connection().client
        stop_if_running(client, job.job_id)  # only its request matters here
        conditions = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.job_id)).request.video.conditions
        self.assertEqual([(c.frame_index, c.source_frames) for c in conditions], [(0, 0)])
        picture = client.media.Stat(media_pb2.StatRequest(asset_id=conditions[0].asset_id))
        self.assertEqual((picture.mime_type, picture.media.width, picture.media.height), ("image/jpeg", 64, 64))
        harness.pump(lambda: jobs_done(self.scene), what="the cancellation")

    def test_regenerate_keeps_the_place_and_the_old_file(self) -> None:
        self.add_color("end", 1, 30, 5)
        self.scene.frame_current = 5
        self.scene.milimo.prompt = "First take"
        bpy.ops.milimo.generate_shot()
        harness.pump(lambda: jobs_done(self.scene), what="the first take")
        strips = compat.top_strips(self.scene)
        first = strips[self.scene.milimo.jobs[0].result_strip]
        first_file, place = first.filepath, (first.frame_final_start, first.frame_final_end, first.channel)
        for strip in strips:
            strip.select = False
        first.select = True
        self.scene.sequence_editor.active_strip = first
        self.assertEqual(bpy.ops.milimo.regenerate(vary=False), {"FINISHED"})
        harness.pump(lambda: len(self.scene.milimo.jobs) == 2 and jobs_done(self.scene), what="the second take")
        second_job = self.scene.milimo.jobs[1]
        second = strips[second_job.result_strip]
        self.assertEqual((second.frame_final_start, second.frame_final_end, second.channel), place)
        self.assertNotEqual(second_job.seed, self.scene.milimo.jobs[0].seed)
        self.assertEqual(list(second["milimo_previous_takes"]), [bpy.path.abspath(first_file)])
        self.assertEqual(len([strip for strip in strips if strip.type == "MOVIE"]), 1)

    def test_cancel_a_running_job(self) -> None:
        self.scene.render.resolution_x, self.scene.render.resolution_y = 640, 384
        self.add_color("end", 1, 1001, 5)
        self.scene.frame_current = 1
        self.scene.milimo.prompt = "A long shot to cancel"
        bpy.ops.milimo.generate_shot()
        job = self.scene.milimo.jobs[0]
        harness.pump(lambda: job.status == "RUNNING" and job.progress > 0, what="the job to run")
        self.assertEqual(bpy.ops.milimo.cancel_job(job_id=job.job_id), {"FINISHED"})
        harness.pump(lambda: job.status == "CANCELLED", what="the cancellation")
        self.assertFalse(job.imported)
        self.assertFalse([strip for strip in compat.top_strips(self.scene) if strip.type == "MOVIE"])

    def test_no_gap_gives_a_clear_error(self) -> None:
        self.scene.frame_current = 500
        self.scene.milimo.prompt = "Nowhere to go"
        with self.assertRaises(RuntimeError) as raised:
            bpy.ops.milimo.generate_shot()
        self.assertIn("after the last strip", str(raised.exception))
        self.assertEqual(len(self.scene.milimo.jobs), 0)
