"""The queue's store on SQLite and PostgreSQL: the state machine, sequence numbers, claim order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from milimo.daemon.jobs.model import EventType, JobStatus, NewJob
from milimo.daemon.store import jobs as store
from milimo.daemon.store.database import Database, create_engine, sqlite_url, upgrade_schema
from milimo.errors import ResourceExhausted
from tests import postgres

TERMINAL = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "queue.db")
    else:
        url = postgres.new_database(request.getfixturevalue("postgres_admin_url"))
    engine = create_engine(url)
    upgrade_schema(engine)
    upgrade_schema(engine)  # a second run finds the schema current and does nothing
    database = Database(engine)
    yield database
    database.close()


def queue(db: Database, priority: int = 0, lane: str = "cpu") -> str:
    new = NewJob(kind="animatic", lane=lane, request=b"\x00", priority=priority)
    job, _ = db.write_sync(lambda conn: store.insert_job(conn, new, max_attempts=2, max_queued=1000))
    return job.id


@pytest.mark.parametrize("terminal", TERMINAL)
def test_a_status_only_moves_out_of_non_terminal_states(db, terminal):
    job_id = queue(db)
    assert db.write_sync(lambda c: store.transition(c, job_id, JobStatus.RUNNING)) is not None
    assert db.write_sync(lambda c: store.transition(c, job_id, terminal)) is not None
    for target in JobStatus:
        assert db.write_sync(lambda c, t=target: store.transition(c, job_id, t)) is None
    job = db.read_sync(lambda c: store.get_job(c, job_id))
    assert job.status == terminal and job.finished_us is not None


def test_claim_takes_highest_priority_then_oldest_and_counts_attempts(db):
    low, high, high_later, other_lane = queue(db, -1), queue(db, 5), queue(db, 5), queue(db, 9, lane="accelerator")
    order = [db.write_sync(lambda c: store.claim_next(c, "cpu"))[0] for _ in range(3)]
    assert [job.id for job in order] == [high, high_later, low]
    assert all(job.status == JobStatus.RUNNING and job.attempts == 1 for job in order)
    assert db.write_sync(lambda c: store.claim_next(c, "cpu")) is None
    assert db.write_sync(lambda c: store.claim_next(c, "accelerator"))[0].id == other_lane


def test_sequence_numbers_stay_gapless_under_concurrent_writers(db):
    job_id = queue(db)

    def add(i: int) -> int:
        return db.write_sync(lambda c: store.add_event(c, job_id, EventType.LOG, {"message": str(i)})).seq

    with ThreadPoolExecutor(8) as pool:
        seqs = list(pool.map(add, range(200)))
    assert sorted(seqs) == list(range(2, 202))  # 1 is the queued event
    events = db.read_sync(lambda c: store.events_after(c, store.get_job(c, job_id), 0, limit=1000))
    assert [e.seq for e in events] == list(range(1, 202))


def test_the_queue_limit(db):
    new = NewJob(kind="animatic", lane="cpu", request=b"")
    for _ in range(2):
        db.write_sync(lambda c: store.insert_job(c, new, max_attempts=2, max_queued=2))
    with pytest.raises(ResourceExhausted):
        db.write_sync(lambda c: store.insert_job(c, new, max_attempts=2, max_queued=2))
