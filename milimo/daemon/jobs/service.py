"""The job queue's domain core: submit, read, watch, cancel, retry; and the state changes the
lanes make while jobs run. Every state change is one transaction, and each stored event is then
published to live watchers. No gRPC here."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from milimo import validation
from milimo.daemon.jobs import effects, inputs
from milimo.daemon.jobs.events import EventHub
from milimo.daemon.jobs.model import EventRecord, EventType, JobRecord, JobStatus, NewJob
from milimo.daemon.jobs.protocol import Output
from milimo.daemon.media_store import MediaStore
from milimo.daemon.records import NewAsset
from milimo.daemon.store import catalog
from milimo.daemon.store import jobs as store
from milimo.daemon.store.database import Database
from milimo.errors import FailedPrecondition, InvalidArgument, MilimoError, NotFound
from milimo.tasks import registry
from milimo.tasks.inputs import InputFile
from milimo.v1 import jobs_pb2

if TYPE_CHECKING:
    from milimo.daemon.jobs.dispatcher import Dispatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueLimits:
    max_attempts: int = 2
    max_queued: int = 100_000


def encode_page_token(pk: int) -> str:
    return base64.urlsafe_b64encode(f"k{pk}".encode()).decode()


def decode_page_token(token: str, maximum: int = 2**63 - 1) -> int | None:
    """The key a page token carries; tokens hold keys from 0 to `maximum` (what the column can compare)."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii")).decode()
        if not raw.startswith("k") or not 0 <= int(raw[1:]) <= maximum:
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, UnicodeError) as exc:
        raise InvalidArgument("page.page_token", "is not a token this daemon returned") from exc


BATCH_MAX = 1000
WATCH_MANY_BUFFER = 1024  # events between the followers of a WatchMany and its reader


@dataclass(frozen=True)
class JobSubmission:
    """One job as a client asks for it, before validation."""

    request: jobs_pb2.JobRequest
    priority: int = 0
    project_id: str = ""
    shot_id: str = ""
    client_request_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    retry_of: str | None = None

    def checked(self, models: registry.Models) -> tuple[NewJob, registry.TaskKind, jobs_pb2.JobRequest]:
        """The job to insert, with its kind and the request it runs (a one-frame video runs as an image)."""
        kind, request = registry.kind_for(self.request, models)
        validation.in_range("priority", self.priority, validation.PRIORITY_MIN, validation.PRIORITY_MAX)
        validation.text("client_request_id", self.client_request_id, validation.CLIENT_REQUEST_ID_MAX)
        new = NewJob(
            kind=kind.name,
            lane=kind.lane,
            request=request.SerializeToString(deterministic=True),
            priority=self.priority,
            project_id=validation.optional_id("project_id", self.project_id),
            shot_id=validation.optional_id("shot_id", self.shot_id),
            client_request_id=self.client_request_id or None,
            labels=validation.labels("labels", self.labels),
            retry_of=self.retry_of,
        )
        return new, kind, request


class JobService:
    def __init__(
        self, db: Database, media: MediaStore, limits: QueueLimits, models: registry.Models | None = None
    ) -> None:
        self.db = db
        self.models = models or {}  # requests naming a model are checked against these
        self.media = media
        self.limits = limits
        self.hub = EventHub()
        self.dispatcher: Dispatcher | None = None

    # ---- what clients ask --------------------------------------------------------------------

    async def submit(self, request: jobs_pb2.JobRequest, **fields: object) -> JobRecord:
        """Queue one job (see `JobSubmission` for the fields)."""
        return (await self.submit_batch([JobSubmission(request, **fields)], prefix_fields=False))[0]

    async def submit_batch(self, submissions: list[JobSubmission], *, prefix_fields: bool = True) -> list[JobRecord]:
        """Queue every submission in one transaction, or none; errors name `jobs[i].<field>`."""
        if not 1 <= len(submissions) <= BATCH_MAX:
            raise InvalidArgument("jobs", f"a batch holds 1 to {BATCH_MAX} jobs (got {len(submissions)})")
        checked = []
        for index, submission in enumerate(submissions):
            with _field_prefix(f"jobs[{index}]." if prefix_fields else ""):
                checked.append(submission.checked(self.models))
        news = [new for new, _, _ in checked]

        def insert(conn):  # noqa: ANN001
            for index, (new, kind, request) in enumerate(checked):
                if new.project_id:
                    catalog.get_project(conn, new.project_id)
                if new.shot_id:
                    catalog.get_shot(conn, new.shot_id)
                with _field_prefix(f"jobs[{index}]." if prefix_fields else ""):
                    inputs.check_submitted(conn, kind, request)
            return store.insert_jobs(
                conn, news, max_attempts=self.limits.max_attempts, max_queued=self.limits.max_queued
            )

        results = await self.db.write(insert)
        for job, events in results:
            self.hub.publish(events)
            if events and self.dispatcher is not None:
                self.dispatcher.wake(job.lane)
        return [job for job, _ in results]

    async def get(self, job_id: str) -> JobRecord:
        self._check_id(job_id)
        return await self.db.read(lambda conn: store.get_job(conn, job_id))

    async def list(
        self, *, statuses: Sequence[JobStatus], kind: str, project_id: str, page_size: int, page_token: str
    ) -> tuple[list[JobRecord], str]:
        limit = validation.page_size("page.page_size", page_size)
        before = decode_page_token(page_token)
        validation.text("kind", kind, 64)
        validation.text("project_id", project_id, 64)
        rows = await self.db.read(
            lambda conn: store.list_jobs(
                conn, statuses=statuses, kind=kind, project_id=project_id, limit=limit + 1, before_pk=before
            )
        )
        if len(rows) > limit:
            return rows[:limit], encode_page_token(rows[limit - 1].pk)
        return rows, ""

    async def watch(self, job_id: str, after_seq: int) -> AsyncIterator[EventRecord]:
        """Stored events after `after_seq`, then live ones, ending with the terminal state."""
        if after_seq < 0:
            raise InvalidArgument("after_sequence", f"must be 0 or more (got {after_seq})")
        job = await self.get(job_id)
        with self.hub.subscribe(job_id) as subscription:
            cursor = after_seq
            while True:
                batch = await self.db.read(lambda conn, c=cursor: store.events_after(conn, job, c))
                for event in batch:
                    yield event
                    cursor = event.seq
                    if _is_terminal(event):
                        return
                if batch:
                    continue  # there may be more than one page stored
                current = await self.get(job_id)
                if current.status.terminal and cursor >= current.last_seq:
                    return
                # Follow live events; a gap in the sequence means we missed some: read them back.
                caught_up = True
                while caught_up:
                    for event in await subscription.next_batch():
                        if event.seq <= cursor:
                            continue
                        if event.seq != cursor + 1:
                            caught_up = False
                            break
                        yield event
                        cursor = event.seq
                        if _is_terminal(event):
                            return

    async def watch_many(self, job_ids: Sequence[str], *, previews: bool) -> AsyncIterator[EventRecord]:
        """`watch` for several jobs, merged in the order their events arrive; ends when every job is terminal.

        Each job is followed by its own `watch` (stored events, then live ones); a bounded queue between them and
        the caller means a slow reader holds the followers back instead of piling events up in memory.
        """
        if not 1 <= len(job_ids) <= BATCH_MAX:
            raise InvalidArgument("job_ids", f"must name 1 to {BATCH_MAX} jobs (got {len(job_ids)})")
        if len(set(job_ids)) != len(job_ids):
            duplicate = next(job_id for index, job_id in enumerate(job_ids) if job_id in job_ids[:index])
            raise InvalidArgument("job_ids", f"names {duplicate[:64]} twice")
        for index, job_id in enumerate(job_ids):
            if not validation.ID_PATTERN.match(job_id) or not job_id.startswith("j-"):
                raise InvalidArgument(f"job_ids[{index}]", f"{job_id[:64]!r} is not a job id")
        await self.db.read(lambda conn: [store.get_job(conn, job_id) for job_id in job_ids])

        merged: asyncio.Queue[EventRecord | None] = asyncio.Queue(maxsize=WATCH_MANY_BUFFER)

        async def follow(job_id: str) -> None:
            async for event in self.watch(job_id, 0):
                if previews or event.type != EventType.PREVIEW:
                    await merged.put(event)
            await merged.put(None)

        followers = [asyncio.create_task(follow(job_id)) for job_id in job_ids]
        try:
            remaining = len(followers)
            while remaining:
                event = await merged.get()
                if event is None:
                    remaining -= 1
                    continue
                yield event
            for follower in followers:
                follower.result()  # a follower that failed says why here
        finally:
            for follower in followers:
                follower.cancel()

    async def cancel(self, job_id: str) -> JobRecord:
        self._check_id(job_id)

        def cancel(conn):  # noqa: ANN001
            job = store.get_job(conn, job_id)
            if job.status == JobStatus.CANCELLED:
                return job, []
            if job.status.terminal:
                raise FailedPrecondition(f"job {job_id} already {job.status.value}; nothing to cancel")
            if job.status in (JobStatus.QUEUED, JobStatus.INTERRUPTED):
                changed = store.transition(conn, job_id, JobStatus.CANCELLED, reason="cancelled before it ran")
                if changed is not None:
                    return changed[0], [changed[1]]
            job = store.mark_cancel_requested(conn, job_id)
            return job, [store.append_event(conn, job, EventType.LOG, {"level": "info", "message": "cancel requested"})]

        job, events = await self.db.write(cancel)
        self.hub.publish(events)
        if job.status == JobStatus.RUNNING and self.dispatcher is not None:
            self.dispatcher.cancel(job_id)
        return job

    async def retry(self, job_id: str) -> JobRecord:
        original = await self.get(job_id)
        store.require_retryable(original)
        request = jobs_pb2.JobRequest.FromString(original.request)
        return await self.submit(
            request,
            priority=original.priority,
            project_id=original.project_id or "",
            shot_id=original.shot_id or "",
            labels=original.labels,
            retry_of=original.id,
        )

    async def queue_counts(self) -> tuple[int, int]:
        def count(conn):  # noqa: ANN001
            return (
                store.count_by_status(conn, [JobStatus.QUEUED]),
                store.count_by_status(conn, [JobStatus.RUNNING]),
            )

        return await self.db.read(count)

    # ---- what lanes do -----------------------------------------------------------------------

    async def recover(self) -> None:
        """At start no job can be running: those found running were cut off by a crash or a kill."""
        for job_id in await self.db.read(store.running_job_ids):
            await self.interrupt(job_id, "the daemon stopped while the job ran")

    async def release_running(self) -> None:
        """On a clean stop, running jobs go back to the queue without spending an attempt."""
        for job_id in await self.db.read(store.running_job_ids):
            await self.interrupt(job_id, "the daemon was shut down", spend_attempt=False)

    async def interrupt(self, job_id: str, why: str, *, spend_attempt: bool = True) -> JobRecord:
        """Mark a cut-off job interrupted, then queue it again or quarantine it."""

        def interrupt(conn):  # noqa: ANN001
            job = store.get_job(conn, job_id)
            if not spend_attempt:
                store.refund_attempt(conn, job_id)
                job = store.get_job(conn, job_id)
            reason = f"{why} (attempt {job.attempts} of {job.max_attempts})"
            events = []
            changed = store.transition(
                conn, job_id, JobStatus.INTERRUPTED, allowed_from=[JobStatus.RUNNING], reason=reason
            )
            if changed is None:
                return job, events
            events.append(changed[1])
            if job.cancel_requested:
                job, event = store.transition(conn, job_id, JobStatus.CANCELLED, reason="cancelled while it ran")
            elif job.attempts < job.max_attempts:
                job, event = store.transition(
                    conn, job_id, JobStatus.QUEUED, reason=reason, values={"progress_step": 0, "progress_total": 0}
                )
            else:
                quarantine = (
                    f"quarantined: interrupted in all {job.attempts} attempts ({why}); it may be what "
                    "brings the daemon or its worker down. Check its request, then Retry to run it again"
                )
                job, event = store.transition(conn, job_id, JobStatus.FAILED, reason=quarantine)
            events.append(event)
            return job, events

        job, events = await self.db.write(interrupt)
        self.hub.publish(events)
        if job.status == JobStatus.QUEUED and self.dispatcher is not None:
            self.dispatcher.wake(job.lane)
        log.warning("job %s interrupted: %s -> %s", job_id, why, job.status.value)
        return job

    async def claim_next(self, lane: str) -> JobRecord | None:
        claimed = await self.db.write(lambda conn: store.claim_next(conn, lane))
        if claimed is None:
            return None
        job, event = claimed
        self.hub.publish([event])
        return job

    async def gather_inputs(self, job: JobRecord) -> tuple[dict[str, InputFile], dict[str, Any]]:
        """The files of the assets a claimed job reads, and the catalogue facts its kind needs."""
        request = jobs_pb2.JobRequest.FromString(job.request)
        kind = registry.KINDS[job.kind]
        return await self.db.read(lambda conn: inputs.gather(conn, self.media, kind, request, job.project_id))

    async def progress(self, job_id: str, step: int, total: int, message: str) -> None:
        event = await self.db.write(lambda conn: store.set_progress(conn, job_id, step, total, message))
        if event is not None:
            self.hub.publish([event])

    async def add_event(self, job_id: str, type_: EventType, data: dict, blob: bytes | None = None) -> None:
        event = await self.db.write(lambda conn: store.add_event(conn, job_id, type_, data, blob))
        self.hub.publish([event])

    async def succeed(self, job: JobRecord, outputs: Sequence[Output]) -> JobRecord:
        """Adopt the outputs into the media store, then record assets and success in one transaction."""

        def finish(conn):  # noqa: ANN001
            asset_ids = []
            for output in outputs:
                # Adopted inside the writer, so a concurrent deletion of equal bytes cannot interleave.
                self.media.adopt(output.path, output.sha256)
                asset = catalog.insert_asset(
                    conn,
                    NewAsset(
                        sha256=output.sha256,
                        size=output.size,
                        mime_type=output.mime_type,
                        filename=f"{job.id}-{output.path.name}",
                        project_id=job.project_id,
                        job_id=job.id,
                        media=output.media,
                    ),
                )
                asset_ids.append(asset.id)
            effects.apply(conn, job, asset_ids, [self.media.blob_path(output.sha256) for output in outputs])
            return store.transition(
                conn,
                job.id,
                JobStatus.SUCCEEDED,
                allowed_from=[JobStatus.RUNNING],
                values={"result_asset_ids": asset_ids},
                event_data={"result_asset_ids": asset_ids},
            )

        try:
            return await self._finish(job, finish)
        except MilimoError as error:  # an effect could not apply: nothing of the success was written
            return await self.fail(job, f"the results could not be recorded: {error}")

    async def fail(self, job: JobRecord, reason: str) -> JobRecord:
        return await self._finish(
            job,
            lambda conn: store.transition(
                conn, job.id, JobStatus.FAILED, allowed_from=[JobStatus.RUNNING], reason=reason
            ),
        )

    async def cancelled(self, job: JobRecord, reason: str) -> JobRecord:
        return await self._finish(
            job,
            lambda conn: store.transition(
                conn, job.id, JobStatus.CANCELLED, allowed_from=[JobStatus.RUNNING], reason=reason
            ),
        )

    async def _finish(self, job: JobRecord, change) -> JobRecord:  # noqa: ANN001
        changed = await self.db.write(change)
        if changed is None:
            return await self.get(job.id)
        record, event = changed
        self.hub.publish([event])
        return record

    @staticmethod
    def _check_id(job_id: str) -> None:
        if not validation.ID_PATTERN.match(job_id) or not job_id.startswith("j-"):
            raise NotFound("job", job_id[:64])


@contextlib.contextmanager
def _field_prefix(prefix: str) -> Iterator[None]:
    """Name a batch's failing job in the field of its error, e.g. `jobs[3].video.width`."""
    try:
        yield
    except InvalidArgument as error:
        if not prefix:
            raise
        raise InvalidArgument(f"{prefix}{error.field}", error.rule) from error


def _is_terminal(event: EventRecord) -> bool:
    return event.type == EventType.STATE and JobStatus(event.data["status"]).terminal
