"""SQL of the job queue. Each function runs inside the caller's transaction (one per state change).

Statuses only leave non-terminal states: every transition is a conditional UPDATE on the current
status, so two racing changes cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from milimo.daemon.jobs.model import (
    NON_TERMINAL,
    EventRecord,
    EventType,
    JobRecord,
    JobStatus,
    NewJob,
    new_id,
    now_us,
)
from milimo.daemon.store.database import writer_memo
from milimo.daemon.store.tables import job_events, jobs
from milimo.errors import FailedPrecondition, NotFound, ResourceExhausted


def _job(row: Row) -> JobRecord:
    m = row._mapping
    return JobRecord(
        pk=m["pk"],
        id=m["id"],
        kind=m["kind"],
        lane=m["lane"],
        status=JobStatus(m["status"]),
        request=bytes(m["request"]),
        priority=m["priority"],
        attempts=m["attempts"],
        max_attempts=m["max_attempts"],
        created_us=m["created_us"],
        started_us=m["started_us"],
        finished_us=m["finished_us"],
        reason=m["reason"],
        progress_step=m["progress_step"],
        progress_total=m["progress_total"],
        progress_message=m["progress_message"],
        last_seq=m["last_seq"],
        cancel_requested=bool(m["cancel_requested"]),
        project_id=m["project_id"],
        shot_id=m["shot_id"],
        retry_of=m["retry_of"],
        client_request_id=m["client_request_id"],
        labels=dict(m["labels"]),
        result_asset_ids=list(m["result_asset_ids"]),
    )


# Statements of the hottest paths (Get, Submit), built once: executing a prebuilt statement with
# parameters skips building, coercing and cache-keying a new one on every call (docs/benchmarks.md).
_JOB_BY_ID = sa.select(jobs).where(jobs.c.id == sa.bindparam("job_id"))
_JOB_BY_REQUEST = sa.select(jobs).where(jobs.c.client_request_id == sa.bindparam("client_request_id"))
_QUEUED_COUNT = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == JobStatus.QUEUED.value)
_INSERT_JOB = jobs.insert().returning(*jobs.c)  # the new row whole: no read of it follows
_INSERT_EVENT = job_events.insert()

# The number of queued jobs, kept in the writer's memo so that a submit need not count them (the COUNT
# scans an index that grows with the queue: 0.8 ms with 5,000 jobs queued). insert_jobs adds what it
# queues; any transition drops it (the job may have entered or left the queue), and the next count is real.
_QUEUED_MEMO = "queued_jobs"


def get_job(conn: Connection, job_id: str) -> JobRecord:
    row = conn.execute(_JOB_BY_ID, {"job_id": job_id}).first()
    if row is None:
        raise NotFound("job", job_id)
    return _job(row)


def count_by_status(conn: Connection, statuses: Iterable[JobStatus]) -> int:
    query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status.in_([s.value for s in statuses]))
    return conn.execute(query).scalar_one()


def insert_job(
    conn: Connection, new: NewJob, *, max_attempts: int, max_queued: int
) -> tuple[JobRecord, list[EventRecord]]:
    """Queue a job, or return the one already queued under the same client request id."""
    return insert_jobs(conn, [new], max_attempts=max_attempts, max_queued=max_queued)[0]


def insert_jobs(
    conn: Connection, news: list[NewJob], *, max_attempts: int, max_queued: int
) -> list[tuple[JobRecord, list[EventRecord]]]:
    """Queue several jobs in the caller's transaction (all or none); a job whose client request id is
    already known comes back as it is, with no new event."""
    keys = {new.client_request_id for new in news if new.client_request_id}
    stored: dict[str, JobRecord] = {}  # client request id -> the job already queued under it
    for key in keys:
        row = conn.execute(_JOB_BY_REQUEST, {"client_request_id": key}).first()
        if row is not None:
            stored[key] = _job(row)
    fresh = sum(1 for new in news if not new.client_request_id) + len(keys - stored.keys())
    queued = _queued_count(conn) if fresh else 0
    if fresh and queued + fresh > max_queued:
        raise ResourceExhausted(f"the queue is full ({max_queued} jobs waiting at most); wait or cancel some")
    results = []
    for new in news:
        if new.client_request_id and new.client_request_id in stored:
            results.append((stored[new.client_request_id], []))
            continue
        job, events = _insert_one(conn, new, max_attempts)
        if new.client_request_id:
            stored[new.client_request_id] = job
        results.append((job, events))
    if fresh and (memo := writer_memo(conn)) is not None:
        memo[_QUEUED_MEMO] = queued + fresh
    return results


def _queued_count(conn: Connection) -> int:
    memo = writer_memo(conn)
    if memo is not None and _QUEUED_MEMO in memo:
        return memo[_QUEUED_MEMO]
    return conn.execute(_QUEUED_COUNT).scalar_one()


def _insert_one(conn: Connection, new: NewJob, max_attempts: int) -> tuple[JobRecord, list[EventRecord]]:
    job_id, created_us = new_id("j"), now_us()
    job = _job(
        conn.execute(
            _INSERT_JOB,
            {
                "id": job_id,
                "kind": new.kind,
                "lane": new.lane,
                "status": JobStatus.QUEUED.value,
                "request": new.request,
                "priority": new.priority,
                "max_attempts": max_attempts,
                "created_us": created_us,
                "project_id": new.project_id,
                "shot_id": new.shot_id,
                "retry_of": new.retry_of,
                "client_request_id": new.client_request_id or None,
                "labels": new.labels,
                "result_asset_ids": [],
                "last_seq": 1,
            },
        ).one()
    )
    # The QUEUED event is sequence 1: no other transaction can see the new row yet, so it needs no
    # counter update (what append_event does for every later event).
    data = {"status": JobStatus.QUEUED.value, "attempt": 0}
    conn.execute(
        _INSERT_EVENT,
        {"job_pk": job.pk, "seq": 1, "time_us": created_us, "type": EventType.STATE.value, "data": data, "blob": None},
    )
    return job, [EventRecord(job_id, 1, created_us, EventType.STATE, data, None)]


def list_jobs(
    conn: Connection,
    *,
    statuses: Sequence[JobStatus],
    kind: str,
    project_id: str,
    limit: int,
    before_pk: int | None,
) -> list[JobRecord]:
    """Newest first, keyset-paged on the primary key so deep pages cost the same as the first."""
    query = sa.select(jobs).order_by(jobs.c.pk.desc()).limit(limit)
    if statuses:
        query = query.where(jobs.c.status.in_([s.value for s in statuses]))
    if kind:
        query = query.where(jobs.c.kind == kind)
    if project_id:
        query = query.where(jobs.c.project_id == project_id)
    if before_pk is not None:
        query = query.where(jobs.c.pk < before_pk)
    return [_job(row) for row in conn.execute(query)]


def append_event(
    conn: Connection, job: JobRecord, type_: EventType, data: dict[str, Any], blob: bytes | None = None
) -> EventRecord:
    """Store one event under the job's next sequence number (the row lock orders concurrent writers)."""
    seq = conn.execute(
        jobs.update().where(jobs.c.pk == job.pk).values(last_seq=jobs.c.last_seq + 1).returning(jobs.c.last_seq)
    ).scalar_one()
    time_us = now_us()
    conn.execute(
        job_events.insert().values(job_pk=job.pk, seq=seq, time_us=time_us, type=type_.value, data=data, blob=blob)
    )
    return EventRecord(job.id, seq, time_us, type_, data, blob)


def events_after(conn: Connection, job: JobRecord, after_seq: int, limit: int = 500) -> list[EventRecord]:
    query = (
        sa.select(job_events)
        .where(job_events.c.job_pk == job.pk, job_events.c.seq > after_seq)
        .order_by(job_events.c.seq)
        .limit(limit)
    )
    return [
        EventRecord(
            job.id, r.seq, r.time_us, EventType(r.type), dict(r.data), None if r.blob is None else bytes(r.blob)
        )
        for r in conn.execute(query)
    ]


def transition(
    conn: Connection,
    job_id: str,
    to: JobStatus,
    *,
    allowed_from: Iterable[JobStatus] = NON_TERMINAL,
    reason: str = "",
    values: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
) -> tuple[JobRecord, EventRecord] | None:
    """Move a job to `to` if it is in one of `allowed_from`; None if it was not (someone else won)."""
    allowed = [s.value for s in allowed_from if not s.terminal]
    changes: dict[str, Any] = {"status": to.value, "reason": reason, **(values or {})}
    if to.terminal:
        changes["finished_us"] = now_us()
    updated = conn.execute(
        jobs.update().where(jobs.c.id == job_id, jobs.c.status.in_(allowed)).values(**changes)
    ).rowcount
    if updated != 1:
        return None
    if (memo := writer_memo(conn)) is not None:
        memo.pop(_QUEUED_MEMO, None)  # the job may have entered or left the queue
    job = get_job(conn, job_id)
    data = {"status": to.value, "reason": reason, "attempt": job.attempts, **(event_data or {})}
    event = append_event(conn, job, EventType.STATE, data)
    return get_job(conn, job_id), event


def claim_next(conn: Connection, lane: str) -> tuple[JobRecord, EventRecord] | None:
    """Take the highest-priority, oldest queued job of a lane and mark it running."""
    row = conn.execute(
        sa.select(jobs.c.id)
        .where(jobs.c.status == JobStatus.QUEUED.value, jobs.c.lane == lane)
        .order_by(jobs.c.priority.desc(), jobs.c.pk)
        .limit(1)
    ).first()
    if row is None:
        return None
    return transition(
        conn,
        row.id,
        JobStatus.RUNNING,
        allowed_from=[JobStatus.QUEUED],
        values={"attempts": jobs.c.attempts + 1, "started_us": now_us(), "finished_us": None},
    )


def running_job_ids(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(jobs.c.id).where(jobs.c.status == JobStatus.RUNNING.value)).scalars())


def set_progress(conn: Connection, job_id: str, step: int, total: int, message: str) -> EventRecord | None:
    updated = conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.RUNNING.value)
        .values(progress_step=step, progress_total=total, progress_message=message)
    ).rowcount
    if updated != 1:
        return None
    job = get_job(conn, job_id)
    return append_event(conn, job, EventType.PROGRESS, {"step": step, "total": total, "message": message})


def add_event(
    conn: Connection, job_id: str, type_: EventType, data: dict[str, Any], blob: bytes | None = None
) -> EventRecord:
    return append_event(conn, get_job(conn, job_id), type_, data, blob)


def refund_attempt(conn: Connection, job_id: str) -> None:
    """The attempt ended through no fault of the job (a clean shutdown): do not count it."""
    conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.attempts > 0).values(attempts=jobs.c.attempts - 1))


def mark_cancel_requested(conn: Connection, job_id: str) -> JobRecord:
    conn.execute(jobs.update().where(jobs.c.id == job_id).values(cancel_requested=True))
    return get_job(conn, job_id)


def require_retryable(job: JobRecord) -> None:
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise FailedPrecondition(f"job {job.id} is {job.status.value}; only failed or cancelled jobs can be retried")
