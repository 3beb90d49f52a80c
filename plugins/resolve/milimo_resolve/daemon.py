"""Everything that talks to the daemon, each on a background thread of its own, never on Resolve's UI thread.

Results come back as callables handed to `post` (the controller queues them and runs them on the UI thread at
its next tick), so the Resolve API and the window's state are only ever touched there. Every failure becomes a
sentence for the window (`describe`), never a traceback.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from milimo.client import errors
from milimo.client.batch import BatchState, JobState
from milimo.client.client import Client
from milimo.config import ClientConfig
from milimo.errors import MilimoError
from milimo.otio import fill
from milimo.v1 import jobs_pb2, media_pb2, models_pb2

Post = Callable[[Callable[[], None]], None]
PROBE_INTERVAL_S = 2.0  # how often the connection is checked
PROBE_TIMEOUT_S = 2.0
CALL_TIMEOUT_S = 10.0  # one-shot calls (cancel, list models)
VIDEO_KIND = "video"


@dataclass(frozen=True)
class Connection:
    state: str  # "checking", "online" or "offline"
    text: str
    models: tuple[str, ...] = field(default=())  # video models the daemon has weights for


@dataclass(frozen=True)
class Result:
    """A job's result, downloaded."""

    path: Path
    has_audio: bool  # as the daemon's asset records it


OnJob = Callable[[JobState], None]
OnResult = Callable[[Result], None]
OnError = Callable[[str], None]


def describe(error: BaseException, address: str) -> str:
    """A sentence the user can act on."""
    return errors.describe(
        error,
        unreachable=f"Cannot reach the Milimo daemon at {address}{{reason}}. Start it with `milimo serve`, or set "
        "[client] address in Milimo's config file (~/.config/milimo/config.toml).",
        refused_token=f"The daemon at {address} refused the token: set [client] token in Milimo's config file.",
    )


def media_name(label: str, asset_id: str) -> str:
    """A downloaded result's file name: the shot's label and the asset (which never changes). Animatic and video
    results are MP4s, as `milimo fill` names them too."""
    return f"{fill.file_stem(label, 'shot')}-{asset_id}.mp4"


class DaemonLink:
    def __init__(
        self,
        config: ClientConfig,
        media_dir: Path,
        post: Post,
        *,
        probe_interval: float = PROBE_INTERVAL_S,
        probe_timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        self.address = config.address
        self.client = Client(config)  # opening a channel does not connect yet: no network here
        self.media_dir = media_dir
        self._post = post
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._closed = threading.Event()

    # ---- the connection ----------------------------------------------------------------------

    def start(self, on_connection: Callable[[Connection], None]) -> None:
        """Check the daemon now and every few seconds; `on_connection` hears of each change."""
        self._spawn(
            "probe", lambda: self._probe_loop(on_connection), lambda text: on_connection(Connection("offline", text))
        )

    def close(self) -> None:
        """Stop the probe and every stream (closing the channel cancels them)."""
        self._closed.set()
        self.client.close()

    def _probe_loop(self, on_connection: Callable[[Connection], None]) -> None:
        last: Connection | None = None
        while not self._closed.is_set():
            now = self._probe(last)
            if now != last:
                self._post(lambda now=now: on_connection(now))
                last = now
            self._closed.wait(self._probe_interval)

    def _probe(self, last: Connection | None) -> Connection:
        try:
            if not self.client.serving(timeout=self._probe_timeout):
                return Connection("offline", f"The Milimo daemon at {self.address} is starting or stopping.")
            models = last.models if last is not None and last.state == "online" else self._video_models()
            return Connection("online", f"Connected to Milimo at {self.address}.", models)
        except grpc.RpcError as error:
            return Connection("offline", describe(error, self.address))

    def _video_models(self) -> tuple[str, ...]:
        reply = self.client.models.ListModels(models_pb2.ListModelsRequest(), timeout=CALL_TIMEOUT_S)
        usable = (model for model in reply.models if model.state != models_pb2.MODEL_STATE_MISSING)
        return tuple(model.name for model in usable if VIDEO_KIND in model.job_kinds)

    # ---- jobs --------------------------------------------------------------------------------

    def generate(
        self,
        request: jobs_pb2.JobRequest,
        label: str,
        on_job: OnJob,
        on_result: OnResult,
        on_error: OnError,
        *,
        key: str,
    ) -> None:
        """Submit with the idempotency key `key`, follow the job's events, and download its result; each step
        reported through `post`."""

        def generate() -> None:
            job = self.client.submit(request, key=key, labels={"milimo.resolve": label[:256]})
            self._follow(job, label, on_job, on_result)

        self._spawn(label, generate, on_error)

    def follow(self, job_id: str, label: str, on_job: OnJob, on_result: OnResult, on_error: OnError) -> None:
        """Follow a job submitted earlier (by a window since closed) from its first event, and download its
        result; a daemon that is away is waited for."""
        self._spawn(label, lambda: self._follow(jobs_pb2.Job(id=job_id), label, on_job, on_result), on_error)

    def _follow(self, job: jobs_pb2.Job, label: str, on_job: OnJob, on_result: OnResult) -> None:
        batch = BatchState([job], {job.id: label})
        state = batch.jobs[job.id]
        if job.status:  # as Submit answered; a job followed by id has no status until its events replay
            self._report(state, on_job)
        if not state.terminal:
            # While the window is open a daemon that went away is waited for: the job goes on without us.
            for event in self.client.watch(job.id, after_sequence=job.last_sequence, reconnect_for=math.inf):
                state = batch.apply(event)
                self._report(state, on_job)
        if state.job.status == jobs_pb2.JOB_STATUS_SUCCEEDED and state.job.result_asset_ids:
            result = self.fetch(state.job.result_asset_ids[0], label)
            self._post(lambda: on_result(result))

    def _report(self, state: JobState, on_job: OnJob) -> None:
        snapshot = JobState(state.label, jobs_pb2.Job())
        snapshot.job.CopyFrom(state.job)  # the thread keeps changing its own copy
        self._post(lambda: on_job(snapshot))

    def fetch(self, asset_id: str, label: str) -> Result:
        """The asset as a file in the media folder (one already there is kept: assets never change), and whether
        it has sound."""
        asset = self.client.media.Stat(media_pb2.StatRequest(asset_id=asset_id), timeout=CALL_TIMEOUT_S)
        target = self.media_dir / media_name(label, asset_id)
        if not target.exists():
            self.media_dir.mkdir(parents=True, exist_ok=True)
            self.client.download(asset_id, target)
        return Result(target, asset.media.has_audio)

    def cancel(self, job_id: str, on_error: OnError) -> None:
        def cancel() -> None:
            self.client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id), timeout=CALL_TIMEOUT_S)

        self._spawn(f"cancel {job_id}", cancel, on_error)

    def run(self, name: str, work: Callable[[Client], None], on_error: OnError) -> None:
        """Any other work with the client (the round trip's fill), on a thread of its own."""
        self._spawn(name, lambda: work(self.client), on_error)

    # ---- threads -----------------------------------------------------------------------------

    def _spawn(self, name: str, work: Callable[[], None], on_error: OnError) -> None:
        def run() -> None:
            try:
                work()
            except Exception as error:
                if self._closed.is_set():  # closing the window cancels the calls in flight: nobody to tell
                    return
                if isinstance(error, grpc.RpcError | MilimoError | OSError):
                    self._fail(on_error, describe(error, self.address))
                else:  # a thread that died silently would leave a job row spinning forever
                    self._fail(on_error, f"{type(error).__name__}: {error}")

        threading.Thread(target=run, name=f"milimo {name}"[:60], daemon=True).start()

    def _fail(self, on_error: OnError, text: str) -> None:
        self._post(lambda: on_error(text))
