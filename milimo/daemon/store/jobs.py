"""SQL of the job queue. Each function runs inside the caller's transaction (one per state change).

Statuses only leave non-terminal states: every transition is a conditional UPDATE on the current
status, so two racing changes cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
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
from milimo.daemon.store.database import DriverStatement, writer_memo
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


def _insert_job_for(dialect: sa.Dialect) -> sa.Executable:
    """A new job's INSERT, returning its key, or no row when its client request id is already taken: one
    statement where a lookup of the key used to come first. ON CONFLICT DO NOTHING rather than INSERT ...
    SELECT ... WHERE NOT EXISTS: the same on both backends, and the values need no casts to their columns'
    types; SQLAlchemy has it only as each dialect's own construct."""
    if dialect.name == "sqlite":
        insert = sqlite.insert(jobs)
    elif dialect.name == "postgresql":
        insert = postgresql.insert(jobs)
    else:
        raise NotImplementedError(f"submit supports SQLite and PostgreSQL, not {dialect.name}")
    return insert.on_conflict_do_nothing(index_elements=[jobs.c.client_request_id]).returning(jobs.c.pk)


# A new job and its QUEUED event, run on the driver's cursor (DriverStatement: SQLAlchemy's execution path
# was 40% of a submit's write). The job's INSERT sets every column, so the record is built from the values
# written.
_INSERT_JOB = DriverStatement(_insert_job_for, tuple(column.name for column in jobs.c if column.name != "pk"))
_INSERT_EVENT = DriverStatement(lambda _: job_events.insert(), tuple(column.name for column in job_events.c))

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
    already known comes back as it is, with no new event.

    The queue limit is checked after inserting: over it, this raises ResourceExhausted and the caller's
    rollback (its savepoint's or its transaction's) takes the inserted rows back out."""
    known: dict[str, JobRecord] = {}  # client request id -> the job stored under it (found or inserted here)
    results = []
    fresh = 0
    for new in news:
        key = new.client_request_id
        if key and key in known:
            results.append((known[key], []))
            continue
        inserted = _insert_one(conn, new, max_attempts)
        if inserted is None:  # the key was taken before this call
            known[key] = _job(conn.execute(_JOB_BY_REQUEST, {"client_request_id": key}).one())
            results.append((known[key], []))
            continue
        fresh += 1
        if key:
            known[key] = inserted[0]
        results.append(inserted)
    if fresh:
        queued = _queued_count_after(conn, fresh)
        if queued > max_queued:
            raise ResourceExhausted(f"the queue is full ({max_queued} jobs waiting at most); wait or cancel some")
        if (memo := writer_memo(conn)) is not None:
            memo[_QUEUED_MEMO] = queued
    return results


def _queued_count_after(conn: Connection, fresh: int) -> int:
    """The number of queued jobs, counting the `fresh` ones this transaction has just inserted."""
    memo = writer_memo(conn)
    if memo is not None and _QUEUED_MEMO in memo:
        return memo[_QUEUED_MEMO] + fresh
    return conn.execute(_QUEUED_COUNT).scalar_one()  # the count sees this transaction's own rows


def _insert_one(conn: Connection, new: NewJob, max_attempts: int) -> tuple[JobRecord, list[EventRecord]] | None:
    """Insert the job and its QUEUED event; None, inserting nothing, if its client request id is taken."""
    values: dict[str, Any] = {
        "id": new_id("j"),
        "kind": new.kind,
        "lane": new.lane,
        "status": JobStatus.QUEUED.value,
        "request": new.request,
        "priority": new.priority,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_us": now_us(),
        "started_us": None,
        "finished_us": None,
        "reason": "",
        "progress_step": 0,
        "progress_total": 0,
        "progress_message": "",
        "last_seq": 1,
        "cancel_requested": False,
        "project_id": new.project_id,
        "shot_id": new.shot_id,
        "retry_of": new.retry_of,
        "client_request_id": new.client_request_id or None,
        "labels": dict(new.labels),
        "result_asset_ids": [],
    }
    row = _INSERT_JOB.first(conn, values)
    if row is None:
        return None
    job = JobRecord(pk=row[0], **{**values, "status": JobStatus.QUEUED})
    # The QUEUED event is sequence 1: no other transaction can see the new row yet, so it needs no
    # counter update (what append_event does for every later event).
    event = EventRecord(job.id, 1, job.created_us, EventType.STATE, {"status": JobStatus.QUEUED.value, "attempt": 0})
    _INSERT_EVENT.execute(
        conn,
        {
            "job_pk": job.pk,
            "seq": 1,
            "time_us": event.time_us,
            "type": event.type.value,
            "data": event.data,
            "blob": None,
        },
    )
    return job, [event]


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
