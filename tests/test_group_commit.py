"""Group commit in `Database.write`, on real SQLite and PostgreSQL: writes queued behind a busy writer
share one transaction, each in its own savepoint, and nobody is answered before the commit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from milimo.daemon.jobs.model import JobRecord, JobStatus, NewJob
from milimo.daemon.jobs.service import JobService, QueueLimits
from milimo.daemon.media_store import MediaStore
from milimo.daemon.store import jobs as store
from milimo.daemon.store.database import Database, create_engine, sqlite_url, upgrade_schema
from milimo.daemon.store.tables import job_events, jobs
from milimo.errors import ResourceExhausted
from tests import postgres
from tests.helpers import animatic


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "queue.db")
    else:
        url = postgres.new_database(request.getfixturevalue("postgres_admin_url"))
    engine = create_engine(url)
    upgrade_schema(engine)
    database = Database(engine)
    yield database
    database.close()


@pytest.fixture
def commits(db: Database) -> list[int]:
    """One entry per transaction the database commits from now on."""
    seen: list[int] = []
    sa.event.listen(db.engine, "commit", lambda _conn: seen.append(1))
    return seen


def new_job(client_request_id: str | None = None) -> NewJob:
    return NewJob(kind="animatic", lane="cpu", request=b"\x00", client_request_id=client_request_id)


def insert(conn: Connection, max_queued: int = 1000, client_request_id: str | None = None) -> JobRecord:
    return store.insert_job(conn, new_job(client_request_id), max_attempts=2, max_queued=max_queued)[0]


@contextlib.asynccontextmanager
async def busy_writer(db: Database) -> AsyncIterator[None]:
    """Keep the writer busy with another write for the block: writes started meanwhile queue up, and once
    the block ends they run as one group."""
    started, release = threading.Event(), threading.Event()

    def hold(_conn: Connection) -> None:
        started.set()
        release.wait(30)

    busy = asyncio.ensure_future(db.write(hold))
    await asyncio.to_thread(started.wait, 30)
    try:
        yield
    finally:
        release.set()
        await busy


async def behind_busy_writer(db: Database, calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Start `calls` while the writer is busy with another write, so they queue up and run as one
    group; returns each call's result or the exception it raised, in order."""
    async with busy_writer(db):
        tasks = [asyncio.ensure_future(call()) for call in calls]
        await asyncio.sleep(0)  # every task has run up to its first await: its write is queued
    return await asyncio.gather(*tasks, return_exceptions=True)


def job_ids(db: Database) -> set[str]:
    return set(db.read_sync(lambda conn: conn.execute(sa.select(jobs.c.id)).scalars().all()))


def test_many_concurrent_writes_all_commit(db):
    def submit(_: int) -> str:
        return db.write_sync(insert).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(submit, range(200)))
    assert len(set(ids)) == 200
    assert job_ids(db) == set(ids)


def test_writes_queued_behind_a_busy_writer_share_one_commit(db, commits):
    results = asyncio.run(behind_busy_writer(db, [lambda: db.write(insert) for _ in range(40)]))
    assert len(commits) == 2  # the busy write, then all 40 together
    assert job_ids(db) == {job.id for job in results}
    # Each caller got its own job as stored, with its QUEUED event.
    for job in results:
        assert job == db.read_sync(lambda conn, job_id=job.id: store.get_job(conn, job_id))
        events = db.read_sync(lambda conn, job=job: store.events_after(conn, job, 0))
        assert [(e.seq, e.data["status"]) for e in events] == [(1, JobStatus.QUEUED.value)]


def test_a_failing_write_fails_only_its_caller_and_leaves_no_trace(db, commits):
    failed_ids: list[str] = []

    def insert_then_raise(conn: Connection) -> None:
        failed_ids.append(insert(conn).id)
        raise ValueError("the caller's own error")

    def insert_then_break_a_constraint(conn: Connection) -> None:
        failed_ids.append(insert(conn).id)
        no_kind = NewJob(kind=None, lane="cpu", request=b"\x00")  # type: ignore[arg-type]  # jobs.kind is NOT NULL
        store.insert_job(conn, no_kind, max_attempts=2, max_queued=1000)

    calls = [
        lambda: db.write(insert),
        lambda: db.write(insert_then_raise),
        lambda: db.write(insert),
        lambda: db.write(insert_then_break_a_constraint),  # an SQL error: PostgreSQL aborts the transaction
        lambda: db.write(insert),
    ]
    first, raised, third, broke, fifth = asyncio.run(behind_busy_writer(db, calls))
    assert len(commits) == 2
    assert isinstance(raised, ValueError) and str(raised) == "the caller's own error"
    # The driver's own error (DriverStatement): sqlite3.IntegrityError, psycopg's NotNullViolation.
    assert isinstance(broke, db.engine.dialect.dbapi.IntegrityError)
    assert job_ids(db) == {first.id, third.id, fifth.id}
    events_of_failed = db.read_sync(
        lambda conn: conn.execute(
            sa.select(sa.func.count()).select_from(job_events).join(jobs).where(jobs.c.id.in_(failed_ids))
        ).scalar_one()
    )
    assert len(failed_ids) == 2 and events_of_failed == 0


def test_a_write_that_loses_the_shared_transaction_does_not_take_the_others_with_it(db):
    def end_the_transaction_then_raise(conn: Connection) -> None:
        # What SQLite does by itself on some errors (a full disk): the whole transaction is rolled back.
        conn.exec_driver_sql("ROLLBACK")
        raise OSError("database or disk is full")

    calls = [lambda: db.write(insert), lambda: db.write(end_the_transaction_then_raise), lambda: db.write(insert)]
    first, lost, third = asyncio.run(behind_busy_writer(db, calls))
    assert isinstance(lost, OSError)
    assert job_ids(db) == {first.id, third.id}


def test_after_commit_runs_in_order_once_durable_and_before_any_later_write(db):
    log: list[str] = []

    def step(name: str) -> Callable[[Connection], JobRecord]:
        def write(conn: Connection) -> JobRecord:
            log.append(f"write {name}")
            return insert(conn)

        return write

    def hook(name: str) -> Callable[[JobRecord], None]:
        def after_commit(job: JobRecord) -> None:
            # Another connection already sees the row: the commit is done.
            stored = db.read_sync(lambda conn: store.get_job(conn, job.id))
            log.append(f"after {name} ({stored.status.value})")

        return after_commit

    calls = [
        lambda: db.write(step("a"), hook("a")),
        lambda: db.write(step("b")),
        lambda: db.write(step("c"), hook("c")),
        lambda: db.write(step("d"), hook("d")),
    ]
    results = asyncio.run(behind_busy_writer(db, calls))
    assert all(isinstance(job, JobRecord) for job in results)
    assert log == [
        "write a",
        "after a (queued)",
        "write b",
        "write c",
        "after c (queued)",
        "write d",
        "after d (queued)",
    ]


def test_an_after_commit_error_reaches_its_caller_and_the_write_stays(db):
    def explode(_job: JobRecord) -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(RuntimeError, match="hook failed"):
        db.write_sync(insert, explode)
    assert len(job_ids(db)) == 1


def test_a_caller_that_gives_up_before_its_write_begins_leaves_nothing(db):
    async def scenario() -> set[str]:
        async with busy_writer(db):
            abandoned = asyncio.ensure_future(db.write(insert))
            kept = asyncio.ensure_future(db.write(insert))
            await asyncio.sleep(0)
            abandoned.cancel()
            await asyncio.wait([abandoned])  # as a cancelled RPC's handler: it is gone before its write began
        assert abandoned.cancelled()
        return {(await kept).id}

    kept = asyncio.run(scenario())
    assert job_ids(db) == kept


def test_a_caller_that_gives_up_after_its_write_began_keeps_no_one_else_from_an_answer(db, commits):
    began, finish = threading.Event(), threading.Event()
    abandoned_ids: list[str] = []

    def insert_then_wait(conn: Connection) -> None:
        abandoned_ids.append(insert(conn).id)
        began.set()
        finish.wait(30)

    async def scenario() -> str:
        async with busy_writer(db):
            abandoned = asyncio.ensure_future(db.write(insert_then_wait))
            kept = asyncio.ensure_future(db.write(insert))  # in the same group, after it
            await asyncio.sleep(0)
        await asyncio.to_thread(began.wait, 30)
        abandoned.cancel()  # too late to drop the write: it runs on and commits
        await asyncio.wait([abandoned])
        finish.set()
        job = await asyncio.wait_for(kept, 30)
        assert abandoned.cancelled()
        return job.id

    kept_id = asyncio.run(scenario())
    assert len(commits) == 2  # the busy write, then both together
    assert job_ids(db) == {*abandoned_ids, kept_id}


def test_a_new_job_comes_back_exactly_as_stored(db):
    new = NewJob(
        kind="animatic",
        lane="cpu",
        request=bytes(range(256)),  # not text: it must reach the database as bytes
        priority=-7,
        project_id="p-0123456789abcdef",
        shot_id="s-0123456789abcdef",
        client_request_id="key-ü",
        labels={"scene": "12", "note": 'naïve "quotes"'},
        retry_of="j-0123456789abcdef",
    )
    job, events = db.write_sync(lambda conn: store.insert_job(conn, new, max_attempts=3, max_queued=10))
    assert job == db.read_sync(lambda conn: store.get_job(conn, job.id))
    assert (job.status, job.last_seq, job.max_attempts, job.labels) == (JobStatus.QUEUED, 1, 3, new.labels)
    assert events == db.read_sync(lambda conn: store.events_after(conn, job, 0))


def test_a_known_client_request_id_returns_the_stored_job_and_queues_nothing(db):
    def batch(*keys: str | None, max_queued: int = 10) -> Callable[[Connection], list]:
        news = [new_job(key) for key in keys]
        return lambda conn: store.insert_jobs(conn, news, max_attempts=2, max_queued=max_queued)

    first = db.write_sync(lambda conn: insert(conn, client_request_id="taken"))
    (taken, no_events), (_, fresh_events), (twice, _), (again, again_events) = db.write_sync(
        batch("taken", None, "twice", "twice")
    )
    assert taken == first and no_events == []
    assert len(fresh_events) == 1 and twice == again and again_events == []
    assert len(job_ids(db)) == 3

    # A full queue refuses only new jobs; the refused batch leaves nothing behind.
    assert [job for job, _ in db.write_sync(batch("taken", "twice", max_queued=3))] == [first, twice]
    with pytest.raises(ResourceExhausted):
        db.write_sync(batch("taken", "new", max_queued=3))
    assert len(job_ids(db)) == 3


def test_writes_from_several_event_loops_in_one_group_are_each_answered_on_their_own(db, commits):
    started, release = threading.Event(), threading.Event()
    queued = threading.Semaphore(0)

    def hold(_conn: Connection) -> None:
        started.set()
        release.wait(30)

    async def write_from_this_loop() -> tuple[asyncio.AbstractEventLoop, JobRecord]:
        task = asyncio.ensure_future(db.write(insert))
        await asyncio.sleep(0)  # the write is queued
        queued.release()
        return asyncio.get_running_loop(), await asyncio.wait_for(task, 30)

    with ThreadPoolExecutor(3) as pool:
        busy = pool.submit(db.write_sync, hold)
        started.wait(30)
        callers = [pool.submit(asyncio.run, write_from_this_loop()) for _ in range(2)]
        for _ in callers:
            queued.acquire(timeout=30)
        release.set()
        busy.result()
        (loop_a, job_a), (loop_b, job_b) = (caller.result() for caller in callers)
    assert len(commits) == 2  # the busy write, then both together
    assert loop_a is not loop_b
    assert job_ids(db) == {job_a.id, job_b.id}


@pytest.fixture
def service(db: Database, tmp_path) -> JobService:
    return JobService(db, MediaStore(tmp_path / "data"), QueueLimits(max_queued=5))


def test_equal_idempotent_submits_in_one_group_return_the_first_job(service, commits):
    calls = [lambda: service.submit(animatic(), client_request_id="same-key") for _ in range(3)]
    calls.append(lambda: service.submit(animatic(), client_request_id="other-key"))
    first, second, third, other = asyncio.run(behind_busy_writer(service.db, calls))
    assert len(commits) == 2
    assert first.id == second.id == third.id != other.id
    assert first == second == third
    assert job_ids(service.db) == {first.id, other.id}


def test_the_queue_limit_is_exact_under_concurrent_submits(service):
    def submit() -> Callable[[], Awaitable[JobRecord]]:
        return lambda: service.submit(animatic())

    results = asyncio.run(behind_busy_writer(service.db, [submit() for _ in range(12)]))
    accepted = [r for r in results if isinstance(r, JobRecord)]
    refused = [r for r in results if isinstance(r, ResourceExhausted)]
    assert (len(accepted), len(refused)) == (5, 7)
    assert job_ids(service.db) == {job.id for job in accepted}

    # From many threads too, each waiting for its answer: still never more than the limit.
    def submit_from_a_thread(_: int) -> bool:
        try:
            asyncio.run(service.submit(animatic()))
        except ResourceExhausted:
            return False
        return True

    service.db.write_sync(lambda conn: store.claim_next(conn, "cpu"))
    service.db.write_sync(lambda conn: store.claim_next(conn, "cpu"))
    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(submit_from_a_thread, range(16))) == 2
    assert service.db.read_sync(lambda conn: store.count_by_status(conn, [JobStatus.QUEUED])) == 5


def test_the_queue_limit_follows_claims_and_rolled_back_inserts_within_a_group(db):
    def rolled_back_insert(conn: Connection) -> None:
        insert(conn, max_queued=2)
        raise ValueError("rolled back")

    calls = [
        lambda: db.write(rolled_back_insert),  # must not count against the limit
        lambda: db.write(lambda conn: insert(conn, max_queued=2)),
        lambda: db.write(lambda conn: insert(conn, max_queued=2)),
        lambda: db.write(lambda conn: insert(conn, max_queued=2)),  # full
        lambda: db.write(lambda conn: store.claim_next(conn, "cpu")),  # one leaves the queue
        lambda: db.write(lambda conn: insert(conn, max_queued=2)),
        lambda: db.write(lambda conn: insert(conn, max_queued=2)),  # full again
    ]
    outcomes = asyncio.run(behind_busy_writer(db, calls))
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == [
        "ValueError",
        "JobRecord",
        "JobRecord",
        "ResourceExhausted",
        "tuple",
        "JobRecord",
        "ResourceExhausted",
    ]
    assert db.read_sync(lambda conn: store.count_by_status(conn, [JobStatus.QUEUED])) == 2


def test_the_queue_limit_stays_exact_across_transactions_and_their_rollbacks(db):
    def rolled_back_insert(conn: Connection) -> None:
        insert(conn, max_queued=3)
        raise ValueError("rolled back")

    db.write_sync(lambda conn: insert(conn, max_queued=3))
    with pytest.raises(ValueError, match="rolled back"):
        db.write_sync(rolled_back_insert)  # alone: its whole transaction rolls back
    db.write_sync(lambda conn: insert(conn, max_queued=3))
    first = db.write_sync(lambda conn: insert(conn, max_queued=3))
    with pytest.raises(ResourceExhausted):
        db.write_sync(lambda conn: insert(conn, max_queued=3))
    db.write_sync(lambda conn: store.transition(conn, first.id, JobStatus.CANCELLED))
    db.write_sync(lambda conn: insert(conn, max_queued=3))
    with pytest.raises(ResourceExhausted):
        db.write_sync(lambda conn: insert(conn, max_queued=3))
    assert db.read_sync(lambda conn: store.count_by_status(conn, [JobStatus.QUEUED])) == 3
