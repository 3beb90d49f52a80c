"""The jobs the open file started: submitted off the main thread, followed through one event stream, their
progress and previews written into the scene, their results placed on the timeline, and all of it picked up again
when the file is reopened (the job ids live in the .blend)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import bpy
from google.protobuf import json_format

from milimo.client import batch
from milimo.client.client import Client
from milimo.v1 import jobs_pb2

from . import compat, mainthread, previews, results
from .connection import Connection
from .props import TERMINAL
from .timeline import redraw_sequencers
from .watcher import JobWatcher

STATUS_NAMES = {value: name.upper() for value, name in batch.STATUS_NAMES.items()}
LABEL = "milimo.client"
BuildRequest = Callable[[Client], jobs_pb2.JobRequest]


class JobTracker:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.watcher = JobWatcher(connection, self._event_arrived, self._job_missing)
        self._preview_dir = Path(tempfile.mkdtemp(prefix="milimo-previews-"))
        # Idempotency keys of the entries this session is sending now: `resume` leaves them to their send.
        self._sending: set[str] = set()

    def close(self) -> None:
        self.watcher.close()
        shutil.rmtree(self._preview_dir, ignore_errors=True)

    # ---- main thread ------------------------------------------------------------------------

    def submit(self, scene: bpy.types.Scene, build: BuildRequest, **fields: object) -> bpy.types.PropertyGroup:
        """Record the job in the scene at once (so a crash cannot forget it), then build and submit it off the
        main thread. `build` runs on a worker thread (it may upload files)."""
        return self.submit_many(scene, [(build, fields)])[0]

    def submit_many(
        self, scene: bpy.types.Scene, shots: list[tuple[BuildRequest, dict[str, object]]]
    ) -> list[bpy.types.PropertyGroup]:
        """Several jobs in one `SubmitBatch` (all or none), so the daemon queues them in the given order."""
        entries = [_record(scene, fields) for _build, fields in shots]
        builds = [(entry.client_request_id, build) for entry, (build, _) in zip(entries, shots, strict=True)]
        self._send(scene.name, builds)
        return entries

    def cancel(self, job_id: str) -> None:
        self.connection.call(
            lambda client: client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id), timeout=10),
            on_done=lambda job: self._update(job.id, status=STATUS_NAMES[job.status], message=job.reason),
            on_error=lambda message: self._update(job_id, message=message),
        )

    def resume(self) -> None:
        """Follow again every job of every scene that has not finished here: running ones stream on, those that
        finished while Blender was closed are imported, and those that never reached the daemon are sent again
        with their original idempotency key (so one that did arrive is not queued twice). Entries being sent now
        (the daemon came back while they were on their way) are left to that send."""
        for scene in bpy.data.scenes:
            for job in scene.milimo.jobs:
                if job.client_request_id in self._sending:
                    continue
                if job.job_id and not job.imported and job.status not in ("FAILED", "CANCELLED", "LOST"):
                    self.watcher.follow(job.job_id)
                elif not job.job_id and job.request_json:
                    self._resend(scene.name, job)
                elif not job.job_id and job.status == "SUBMITTING":
                    job.status = "FAILED"
                    job.message = "Blender closed before this job reached the daemon; generate it again"

    def find(self, job_id: str) -> tuple[bpy.types.Scene, bpy.types.PropertyGroup] | None:
        for scene in bpy.data.scenes:
            for job in scene.milimo.jobs:
                if job.job_id == job_id:
                    return scene, job
        return None

    def _resend(self, scene_name: str, job: bpy.types.PropertyGroup) -> None:
        request = json_format.Parse(job.request_json, jobs_pb2.JobRequest())
        self._send(scene_name, [(job.client_request_id, lambda _client: request)])

    def _send(self, scene_name: str, builds: list[tuple[str, BuildRequest]]) -> None:
        """Build each request on a worker thread (remembering it in its entry) and queue them all in one batch, each
        with its entry's idempotency key."""
        self._sending.update(key for key, _build in builds)

        def send(client: Client) -> list[jobs_pb2.Job]:
            batch = []
            for key, build in builds:
                request = build(client)
                mainthread.post(lambda key=key, request=request: self._remember_request(scene_name, key, request))
                batch.append(
                    jobs_pb2.SubmitJobRequest(request=request, client_request_id=key, labels={LABEL: "blender"})
                )
            return list(client.jobs.SubmitBatch(jobs_pb2.SubmitBatchRequest(jobs=batch), timeout=60).jobs)

        def queued(jobs: list[jobs_pb2.Job]) -> None:
            for (key, _build), job in zip(builds, jobs, strict=True):
                self._sending.discard(key)
                self._queued(scene_name, key, job)

        def failed(message: str) -> None:
            for key, _build in builds:
                self._sending.discard(key)
                self._failed_to_submit(scene_name, key, message)

        self.connection.call(send, on_done=queued, on_error=failed)

    def _remember_request(self, scene_name: str, key: str, request: jobs_pb2.JobRequest) -> None:
        if (job := by_key(scene_name, key)) is not None:
            job.request_json = json_format.MessageToJson(request, indent=None)

    def _queued(self, scene_name: str, key: str, queued: jobs_pb2.Job) -> None:
        job = by_key(scene_name, key)
        if job is None:
            return  # the scene or the job entry was deleted meanwhile; the daemon's job runs on unobserved
        job.job_id = queued.id
        job.status = STATUS_NAMES[queued.status]
        self.watcher.follow(queued.id)
        redraw_sequencers()

    def _failed_to_submit(self, scene_name: str, key: str, message: str) -> None:
        if (job := by_key(scene_name, key)) is not None:
            job.status = "FAILED"
            job.message = message
        redraw_sequencers()

    def _update(self, job_id: str, **values: object) -> None:
        if (found := self.find(job_id)) is None:
            return
        _scene, job = found
        for name, value in values.items():
            if value or name != "message":
                setattr(job, name, value)
        redraw_sequencers()

    def _apply(self, event: jobs_pb2.JobEvent) -> None:
        if (found := self.find(event.job_id)) is None:
            return
        scene, job = found
        payload = event.WhichOneof("payload")
        if payload == "progress":
            total = event.progress.total or 1
            job.progress = 100 * event.progress.step / total
            job.message = event.progress.message
        elif payload == "log" and event.log.level >= jobs_pb2.LogLine.LEVEL_WARNING:
            job.message = event.log.message
        elif payload == "state":
            self._state_changed(scene, job, event.state)
        redraw_sequencers()

    def _state_changed(self, scene: bpy.types.Scene, job: bpy.types.PropertyGroup, state: jobs_pb2.StateChange) -> None:
        status = STATUS_NAMES[state.status]
        if state.reason:
            job.message = state.reason
        if status != "SUCCEEDED":
            job.status = status
            return
        job.status = "FETCHING"
        job.progress = 100
        # Decided now, not at submit: a file saved meanwhile keeps its clips next to it.
        job_id, scene_name, media = job.job_id, scene.name, bpy.path.abspath(job.media_dir or results.media_dir())
        self.connection.call(
            lambda client: results.fetch(client, job_id, media),
            # Blender opens the clip to place it (milliseconds): in a tick of its own, never on top of other work.
            on_done=lambda files: mainthread.post_alone(lambda: self._import(scene_name, job_id, files)),
            on_error=lambda message: self._update(
                job_id, message=f"Finished, but its file could not be fetched: {message}"
            ),
        )

    def _import(self, scene_name: str, job_id: str, files: list[results.ResultFile]) -> None:
        if (found := self.find(job_id)) is None or found[0].name != scene_name:
            return
        scene, job = found
        strip = results.place(scene, job, files)
        job.status = "SUCCEEDED"
        job.imported = True
        job.result_strip = strip.name if strip is not None else ""
        job.message = "" if strip is not None else "Finished without a clip to place"
        previews.forget(job_id)
        redraw_sequencers()
        if strip is not None and results.wants_sound(job, files):
            movie = strip.name
            mainthread.post_alone(lambda: self._import_sound(scene_name, job_id, movie, files[0]))

    def _import_sound(self, scene_name: str, job_id: str, movie_name: str, result: results.ResultFile) -> None:
        """A tick after its movie: the clip's sound strip, unless the movie is gone meanwhile (removed, or another
        file opened), when there is nothing to lay it under."""
        if (found := self.find(job_id)) is None or found[0].name != scene_name:
            return
        scene, job = found
        movie = compat.top_strips(scene).get(movie_name)
        if movie is None or movie.get("milimo_job_id") != job_id:
            return
        try:
            results.add_sound(scene, job, movie, result)
        except RuntimeError as error:  # a Blender built without audio, e.g. "compiled without Audaspace support"
            job.message = f"The clip's sound was not added: {str(error).removeprefix('Error: ').strip()}"
        redraw_sequencers()

    # ---- watcher thread ---------------------------------------------------------------------

    def _event_arrived(self, event: jobs_pb2.JobEvent) -> None:
        if event.HasField("preview"):
            # Decoding happens on the main thread (bpy images); only the file is written here.
            path = self._preview_dir / f"{event.job_id}-{event.sequence}.jpg"
            path.write_bytes(event.preview.jpeg)
            mainthread.post(lambda: previews.show(event.job_id, str(path)))
            return
        mainthread.post(lambda: self._apply(event))

    def _job_missing(self, job_id: str) -> None:
        mainthread.post(
            lambda: self._update(
                job_id, status="LOST", message="The daemon no longer knows this job (another data directory?)"
            )
        )


def by_key(scene_name: str, key: str) -> bpy.types.PropertyGroup | None:
    """The job entry of `scene_name` recorded under the idempotency key `key`."""
    scene = bpy.data.scenes.get(scene_name)
    if scene is None:
        return None
    return next((job for job in scene.milimo.jobs if job.client_request_id == key), None)


def _record(scene: bpy.types.Scene, fields: dict[str, object]) -> bpy.types.PropertyGroup:
    job = scene.milimo.jobs.add()
    for name, value in fields.items():
        setattr(job, name, value)
    job.client_request_id = uuid.uuid4().hex
    return job


def is_active(job: bpy.types.PropertyGroup) -> bool:
    return job.status not in TERMINAL and job.status not in ("LOST",) and not job.imported
