"""One merged event stream (`Jobs.WatchMany`) for every job the open file follows, on its own thread.

Adding a job cancels the current stream and opens a new one over the larger set; the daemon replays each open
job's events from its start and the ones already seen are skipped by sequence, so no event is lost or repeated.
A lost daemon is retried until it is back; the connection's health monitor tells the user meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc

from milimo.v1 import jobs_pb2

from .connection import RETRY_INTERVAL_S, Connection

MAX_PER_STREAM = 1000  # the daemon's limit for one WatchMany; later jobs wait for a slot
TERMINAL = {jobs_pb2.JOB_STATUS_SUCCEEDED, jobs_pb2.JOB_STATUS_FAILED, jobs_pb2.JOB_STATUS_CANCELLED}


class JobWatcher:
    def __init__(
        self,
        connection: Connection,
        on_event: Callable[[jobs_pb2.JobEvent], None],
        on_missing: Callable[[str], None],
    ) -> None:
        """`on_event` and `on_missing` (a job the daemon no longer knows) run on this watcher's thread."""
        self._connection = connection
        self._on_event = on_event
        self._on_missing = on_missing
        self._seen: dict[str, int] = {}  # open job id -> last sequence delivered
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._call: grpc.Future | None = None
        self._thread = threading.Thread(target=self._run, name="milimo-watch", daemon=True)
        self._thread.start()

    def follow(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._seen:
                return
            self._seen[job_id] = 0
            call = self._call
        if call is not None:
            call.cancel()  # reopen over the new set
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def _run(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                job_ids = list(self._seen)[:MAX_PER_STREAM]
            if not job_ids:
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                self._stream(job_ids)
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.CANCELLED:
                    continue  # we cancelled it to follow more jobs, or are closing
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    self._drop_missing(job_ids)
                    continue
                self._closed.wait(RETRY_INTERVAL_S)

    def _stream(self, job_ids: list[str]) -> None:
        call = self._connection.client.jobs.WatchMany(jobs_pb2.WatchManyRequest(job_ids=job_ids, previews=True))
        with self._lock:
            self._call = call
        try:
            for event in call:
                with self._lock:
                    if event.sequence <= self._seen.get(event.job_id, -1):
                        continue
                    self._seen[event.job_id] = event.sequence
                    if event.HasField("state") and event.state.status in TERMINAL:
                        del self._seen[event.job_id]
                self._on_event(event)
        finally:
            with self._lock:
                self._call = None

    def _drop_missing(self, job_ids: list[str]) -> None:
        """The daemon answered NOT_FOUND for the set: find which jobs it no longer has and stop following them."""
        for job_id in job_ids:
            try:
                self._connection.client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id), timeout=10)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    return  # the daemon went away meanwhile: the next stream tells us more
                with self._lock:
                    self._seen.pop(job_id, None)
                self._on_missing(job_id)
