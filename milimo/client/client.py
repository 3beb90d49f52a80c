"""A synchronous client: plugins call it from worker threads, never from an editor's UI thread."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from milimo.config import ClientConfig
from milimo.v1 import (
    jobs_pb2,
    jobs_pb2_grpc,
    media_pb2,
    media_pb2_grpc,
    models_pb2_grpc,
    projects_pb2_grpc,
    segmentation_pb2_grpc,
    storyboard_pb2_grpc,
)

T = TypeVar("T")
CHUNK = 1024 * 1024
TERMINAL = {jobs_pb2.JOB_STATUS_SUCCEEDED, jobs_pb2.JOB_STATUS_FAILED, jobs_pb2.JOB_STATUS_CANCELLED}
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
MAX_MESSAGE = CHUNK + 64 * 1024


class _Token(grpc.AuthMetadataPlugin):
    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    def __call__(self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback) -> None:
        callback(self._metadata, None)


class _InsecureToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the token on a plain channel (gRPC only attaches call credentials to TLS channels)."""

    def __init__(self, token: str) -> None:
        self._metadata = ("authorization", f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _Details(details, [*(details.metadata or ()), self._metadata])

    def intercept_unary_unary(self, continuation, details, request):  # noqa: ANN001
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # noqa: ANN001
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):  # noqa: ANN001
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):  # noqa: ANN001
        return continuation(self._details(details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, metadata: list) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


def open_channel(config: ClientConfig) -> grpc.Channel:
    options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]
    if config.tls or config.tls_ca is not None:
        root = config.tls_ca.read_bytes() if config.tls_ca is not None else None
        credentials = grpc.ssl_channel_credentials(root_certificates=root)
        if config.token:
            credentials = grpc.composite_channel_credentials(
                credentials, grpc.metadata_call_credentials(_Token(config.token))
            )
        return grpc.secure_channel(config.address, credentials, options=options)
    channel = grpc.insecure_channel(config.address, options=options)
    if config.token:
        channel = grpc.intercept_channel(channel, _InsecureToken(config.token))
    return channel


class Client:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.channel = open_channel(config)
        self.jobs = jobs_pb2_grpc.JobsStub(self.channel)
        self.media = media_pb2_grpc.MediaStub(self.channel)
        self.projects = projects_pb2_grpc.ProjectsStub(self.channel)
        self.models = models_pb2_grpc.ModelsStub(self.channel)
        self.segmentation = segmentation_pb2_grpc.SegmentationStub(self.channel)
        self.storyboard = storyboard_pb2_grpc.StoryboardStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- health -----------------------------------------------------------------------------

    def serving(self, timeout: float = 2.0) -> bool:
        """True when the daemon answers SERVING; raises grpc.RpcError (e.g. UNAUTHENTICATED) otherwise."""
        reply = self.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def wait_until_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.serving(timeout=1.0):
                    return
            except grpc.RpcError as error:
                if error.code() not in RETRYABLE or time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    # ---- jobs -------------------------------------------------------------------------------

    def submit(self, request: jobs_pb2.JobRequest, key: str = "", **fields: object) -> jobs_pb2.Job:
        """Submit with the idempotency key `key` (a fresh one when empty: give one that outlives this process to
        send the job again safely after a crash), retrying while the daemon is briefly unreachable."""
        submit = jobs_pb2.SubmitJobRequest(request=request, client_request_id=key or uuid.uuid4().hex, **fields)
        return _with_retries(lambda: self.jobs.Submit(submit, timeout=30))

    def submit_batch(self, requests: list[jobs_pb2.SubmitJobRequest]) -> list[jobs_pb2.Job]:
        """Queue many jobs in one round trip and one transaction (all or none), retried like `submit`."""
        for request in requests:
            if not request.client_request_id:
                request.client_request_id = uuid.uuid4().hex
        batch = jobs_pb2.SubmitBatchRequest(jobs=requests)
        return list(_with_retries(lambda: self.jobs.SubmitBatch(batch, timeout=60)).jobs)

    def watch(
        self, job_id: str, after_sequence: int = 0, *, reconnect_for: float = 60.0
    ) -> Iterator[jobs_pb2.JobEvent]:
        """Every event of a job after `after_sequence`, exactly once, across reconnects."""
        cursor = after_sequence

        def open_stream() -> Iterable[jobs_pb2.JobEvent]:
            return self.jobs.Watch(jobs_pb2.WatchJobRequest(job_id=job_id, after_sequence=cursor))

        for event in _reconnecting(open_stream, reconnect_for):
            cursor = event.sequence
            yield event

    def watch_many(
        self, job_ids: list[str], *, previews: bool = False, reconnect_for: float = 60.0
    ) -> Iterator[jobs_pb2.JobEvent]:
        """Every event of several jobs, merged as they happen, each exactly once across reconnects; ends when
        every job is terminal. After a reconnect the daemon replays the jobs still open from their start, and
        the events already seen are skipped."""
        seen = dict.fromkeys(job_ids, 0)
        open_ids = list(job_ids)

        def open_stream() -> Iterable[jobs_pb2.JobEvent]:
            # A stream lost just after the last job ended leaves nothing to follow.
            return (
                self.jobs.WatchMany(jobs_pb2.WatchManyRequest(job_ids=open_ids, previews=previews)) if open_ids else ()
            )

        for event in _reconnecting(open_stream, reconnect_for):
            if event.sequence <= seen[event.job_id]:
                continue
            seen[event.job_id] = event.sequence
            if event.HasField("state") and event.state.status in TERMINAL:
                open_ids.remove(event.job_id)
            yield event

    def wait(self, job_id: str, on_event: Callable[[jobs_pb2.JobEvent], None] | None = None) -> jobs_pb2.Job:
        for event in self.watch(job_id):
            if on_event is not None:
                on_event(event)
        return self.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id))

    # ---- media ------------------------------------------------------------------------------

    def upload(
        self,
        path: Path,
        *,
        project_id: str = "",
        mime_type: str = "",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> media_pb2.Asset:
        """Upload a file, resuming from whatever the daemon already committed."""
        size = path.stat().st_size
        sha = _sha256(path)
        header = media_pb2.UploadHeader(
            sha256=sha, size=size, filename=path.name, mime_type=mime_type, project_id=project_id
        )
        status = self.media.QueryUpload(media_pb2.QueryUploadRequest(sha256=sha, size=size))
        start = size if status.complete else status.committed_size

        def chunks() -> Iterator[media_pb2.UploadChunk]:
            yield media_pb2.UploadChunk(header=header, offset=start)
            with path.open("rb") as f:
                f.seek(start)
                offset = start
                while data := f.read(CHUNK):
                    yield media_pb2.UploadChunk(offset=offset, data=data)
                    offset += len(data)
                    if on_progress is not None:
                        on_progress(offset, size)
            yield media_pb2.UploadChunk(finish=True, offset=size)

        return self.media.Upload(chunks())

    def download(
        self,
        asset_id: str,
        target: Path,
        *,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Download to `target`, resuming a `.part` file left by an earlier attempt; atomic rename."""
        asset = self.media.Stat(media_pb2.StatRequest(asset_id=asset_id))
        part = target.with_name(target.name + ".part")
        offset = part.stat().st_size if part.exists() and part.stat().st_size <= asset.size else 0
        digest = hashlib.sha256()
        with part.open("r+b" if offset else "wb") as f:
            while offset and (kept := f.read(min(4 * CHUNK, offset - f.tell()))):  # hash the resumed prefix
                digest.update(kept)
            f.seek(offset)
            f.truncate()
            for chunk in self.media.Download(media_pb2.DownloadRequest(asset_id=asset_id, offset=offset)):
                f.write(chunk.data)
                digest.update(chunk.data)  # as the bytes pass, rather than re-reading the file
                if on_progress is not None:
                    on_progress(chunk.offset + len(chunk.data), asset.size)
        if digest.hexdigest() != asset.sha256:
            part.unlink()
            raise OSError(f"downloaded bytes of {asset_id} do not match its sha256; try again")
        os.replace(part, target)
        return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 * CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _reconnecting(open_stream: Callable[[], Iterable[T]], reconnect_for: float) -> Iterator[T]:
    """What `open_stream` yields, opening it again (it reads the caller's cursor anew) while the daemon is briefly
    unreachable; gives up once `reconnect_for` seconds pass without an event."""
    lost_since: float | None = None
    while True:
        try:
            for item in open_stream():
                lost_since = None
                yield item
            return
        except grpc.RpcError as error:
            if error.code() not in RETRYABLE:
                raise
            lost_since = lost_since or time.monotonic()
            if time.monotonic() - lost_since > reconnect_for:
                raise
            time.sleep(0.2)


def _with_retries(call: Callable, attempts: int = 5):
    for attempt in range(attempts):
        try:
            return call()
        except grpc.RpcError as error:
            if error.code() not in RETRYABLE or attempt == attempts - 1:
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def connect(config: ClientConfig | None = None) -> Client:
    if config is None:
        from milimo.config import client_config, load_file

        config = client_config(load_file())
    return Client(config)
