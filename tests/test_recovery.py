"""Killing the daemon (or its worker) at any moment loses no job and leaves the database sound."""

from __future__ import annotations

import os
import signal
import sqlite3

import pytest

from milimo.v1 import jobs_pb2
from tests.helpers import animatic, get, wait_for, wait_progress, wait_status

QUEUED, RUNNING, SUCCEEDED, FAILED, INTERRUPTED = (
    jobs_pb2.JOB_STATUS_QUEUED,
    jobs_pb2.JOB_STATUS_RUNNING,
    jobs_pb2.JOB_STATUS_SUCCEEDED,
    jobs_pb2.JOB_STATUS_FAILED,
    jobs_pb2.JOB_STATUS_INTERRUPTED,
)


def medium_animatic() -> jobs_pb2.JobRequest:
    """Long enough to be caught running (a few seconds), short enough to finish after a restart."""
    return animatic(frames=240, width=512, height=288)


def states(client, job_id: str) -> list[int]:
    return [e.state.status for e in client.watch(job_id) if e.HasField("state")]


def test_kill9_while_running_requeues_and_succeeds(fresh_daemon):
    client = fresh_daemon.start().client()
    running = client.submit(medium_animatic())
    waiting = [client.submit(animatic(frames=4)) for _ in range(3)]
    wait_progress(client, running.id, step=2)

    fresh_daemon.kill9()
    fresh_daemon.start()
    client = fresh_daemon.client()

    done = wait_status(client, running.id, SUCCEEDED, timeout=120)
    assert done.attempts == 2
    assert states(client, running.id) == [QUEUED, RUNNING, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED]
    for job in waiting:  # nothing queued was lost
        assert wait_status(client, job.id, SUCCEEDED).attempts == 1
    assert not list(fresh_daemon.data_dir.joinpath("scratch").iterdir())


def test_job_that_kills_the_daemon_every_time_is_quarantined(fresh_daemon):
    client = fresh_daemon.start().client()
    job = client.submit(medium_animatic())
    for _ in range(2):  # the default maximum number of attempts
        wait_status(client, job.id, RUNNING)
        fresh_daemon.kill9()
        fresh_daemon.start()
        client = fresh_daemon.client()

    failed = wait_status(client, job.id, FAILED)
    assert failed.attempts == 2 and failed.reason.startswith("quarantined")
    assert states(client, job.id) == [QUEUED, RUNNING, INTERRUPTED, QUEUED, RUNNING, INTERRUPTED, FAILED]
    # A person can still choose to run it again.
    again = client.jobs.Retry(jobs_pb2.RetryJobRequest(job_id=job.id))
    assert again.status == QUEUED


def test_worker_crash_fails_only_that_attempt_and_the_daemon_keeps_serving(fresh_daemon):
    client = fresh_daemon.start().client()
    job = client.submit(medium_animatic())
    wait_progress(client, job.id, step=2)
    (worker,) = fresh_daemon.workers()
    os.kill(worker, signal.SIGKILL)

    done = wait_status(client, job.id, SUCCEEDED, timeout=120)
    assert done.attempts == 2
    history = list(client.watch(job.id))
    interrupted = [e.state for e in history if e.HasField("state") and e.state.status == INTERRUPTED]
    assert "worker process exited" in interrupted[0].reason
    assert client.serving()


def test_worker_dies_with_the_daemon(fresh_daemon):
    client = fresh_daemon.start().client()
    job = client.submit(medium_animatic())
    wait_progress(client, job.id, step=2)
    workers = fresh_daemon.workers()
    assert workers
    fresh_daemon.kill9()

    def gone(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] == "Z"  # a zombie waiting for its reaper is gone too
        except FileNotFoundError:
            return True

    wait_for(lambda: all(gone(pid) for pid in workers), 10, "the worker to exit with the daemon")


@pytest.mark.parametrize("moment", [0.0, 0.15, 0.4])
def test_kill9_during_a_burst_of_submits_loses_no_acknowledged_job(sqlite_daemon, moment):
    """Every job whose Submit returned survives a kill at an arbitrary moment, and SQLite stays sound."""
    import threading
    import time

    client = sqlite_daemon.start("--paused").client()
    acknowledged: list[str] = []
    stop = threading.Event()

    def submit_forever() -> None:
        while not stop.is_set():
            try:
                acknowledged.append(client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=animatic(frames=1))).id)
            except Exception:
                return

    thread = threading.Thread(target=submit_forever)
    thread.start()
    time.sleep(0.3 + moment)
    sqlite_daemon.kill9()
    stop.set()
    thread.join(10)
    assert acknowledged

    with sqlite3.connect(sqlite_daemon.data_dir / "milimo.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT id FROM jobs")}
    assert set(acknowledged) <= stored

    sqlite_daemon.start("--paused")
    client = sqlite_daemon.client()
    for job_id in acknowledged[-5:]:
        assert get(client, job_id).status == QUEUED


def test_clean_shutdown_requeues_running_jobs_without_spending_an_attempt(fresh_daemon):
    client = fresh_daemon.start().client()
    job = client.submit(medium_animatic())
    wait_progress(client, job.id, step=2)
    fresh_daemon.stop()  # SIGTERM
    fresh_daemon.start()
    client = fresh_daemon.client()
    done = wait_status(client, job.id, SUCCEEDED, timeout=120)
    assert done.attempts == 1
    assert states(client, job.id) == [QUEUED, RUNNING, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED]


def test_watch_many_carries_on_across_a_daemon_restart_without_gaps_or_repeats(sqlite_daemon):
    client = sqlite_daemon.start().client()
    quick = client.submit(animatic(frames=4))
    client.wait(quick.id)
    slow = client.submit(medium_animatic())
    stream = client.watch_many([quick.id, slow.id], reconnect_for=120)
    seen = []
    for event in stream:
        seen.append(event)
        if event.job_id == slow.id and event.HasField("progress") and event.progress.step >= 2:
            break
    sqlite_daemon.kill9()
    sqlite_daemon.start()  # the same port: the stream reconnects and the daemon replays what is still open
    seen += list(stream)

    keys = [(event.job_id, event.sequence) for event in seen]
    assert len(keys) == len(set(keys))  # nothing twice
    for job_id in (quick.id, slow.id):
        own = [event.SerializeToString() for event in seen if event.job_id == job_id]
        whole = [event.SerializeToString() for event in client.watch(job_id) if not event.HasField("preview")]
        assert own == whole  # nothing missed, in order
    assert get(client, slow.id).status == SUCCEEDED and get(client, slow.id).attempts == 2
