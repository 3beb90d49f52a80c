"""The Ray actor that runs accelerator jobs on one GPU: its own WorkerResources and arbiter, models kept across jobs.

The actor runs the same task code as a local worker process (`worker_main.run_job`), and answers the same
interactive calls (segmentation and tracking sessions, `worker_main.CallQueue`), one at a time, beside its job.
It is threaded (`max_concurrency`), so `cancel` reaches it while `run` streams the job's events back as a Ray
generator, and `call` streams a call's progress the same way.
Inputs and outputs are paths in the daemon's data directory when the actor reaches it (`reaches`); otherwise in the
actor's own files, which the daemon fills and empties in chunks (`WorkerFiles`).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import ray

from milimo.daemon.executors.ray_worker_files import WorkerFiles
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.worker_main import CallQueue, run_job
from milimo.tasks.resources import WorkerResources, WorkerSettings

log = logging.getLogger("milimo.ray_worker")


class GpuWorker(WorkerFiles):
    def __init__(self, settings: WorkerSettings) -> None:
        super().__init__()
        self._outbox: queue.Queue[object] = queue.Queue()  # the running job's events, in order
        self._model_states: dict[str, str] = {}
        self._resources = WorkerResources(settings, on_model_change=self._models_moved)
        self._cancels: dict[str, threading.Event] = {}
        self._running: str | None = None  # the job id
        self._calls = CallQueue()  # answered one at a time by a thread of their own, started by the first call
        self._calls_served = False
        self._replies: dict[str, queue.Queue[object]] = {}  # each call's replies (None: its caller went away)
        self._lock = threading.Lock()

    def _models_moved(self, states: dict[str, str]) -> None:
        self._model_states = dict(states)
        self._outbox.put(protocol.ModelStates(dict(states)))

    def reaches(self, path: str, token: str) -> bool:
        """Whether `path` holds `token` here: the daemon's data directory is shared with this host."""
        try:
            return Path(path).read_text() == token
        except OSError:
            return False

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def model_states(self) -> dict[str, str]:
        return dict(self._model_states)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._cancels:
                self._cancels[job_id].set()

    def run(self, job: protocol.RunJob) -> Iterator[object]:
        """Yield the job's events, ending with its JobFinished; the task runs in a thread beside this generator."""
        cancel = threading.Event()
        with self._lock:
            self._cancels[job.job_id] = cancel

        def work() -> None:
            self._running = job.job_id
            try:
                self._outbox.put(run_job(job, self._outbox.put, cancel, self._resources))
            finally:
                self._running = None
                with self._lock:
                    self._cancels.pop(job.job_id, None)

        threading.Thread(target=work, name=f"job-{job.job_id}", daemon=True).start()
        while True:
            message = self._outbox.get()
            if isinstance(message, protocol.JobFinished) and message.outcome == "succeeded":
                self.keep_results(job.scratch_dir)  # should this worker die while they are fetched
            yield message
            if isinstance(message, protocol.JobFinished):
                return

    def call(self, call: protocol.Call) -> Iterator[object]:
        """Yield the call's progress (`CallProgress`), then its `CallResult`; nothing more once `abandon_call` said
        its caller went away. Calls are answered as in a local worker process (`worker_main.CallQueue`)."""
        replies: queue.Queue[object] = queue.Queue()
        with self._lock:
            if not self._calls_served:
                serve = functools.partial(self._calls.serve, self._resources, lambda: self._running, self._reply)
                threading.Thread(target=serve, name="worker-calls", daemon=True).start()
                self._calls_served = True
            self._replies[call.call_id] = replies
        self._calls.arrive(call)
        try:
            while (reply := replies.get()) is not None:
                yield reply
                if isinstance(reply, protocol.CallResult):
                    return
        finally:
            with self._lock:
                self._replies.pop(call.call_id, None)

    def abandon_call(self, call_id: str) -> None:
        self._calls.abandon(call_id)
        with self._lock:
            replies = self._replies.get(call_id)
        if replies is not None:
            replies.put(None)

    def _reply(self, message: protocol.CallProgress | protocol.CallResult) -> None:
        with self._lock:
            replies = self._replies.get(message.call_id)
        if replies is not None:
            replies.put(message)


# Threads: one streams `run`, others stream calls, answer `cancel`, `model_states` and `reaches`, or take chunks.
GpuWorkerActor = ray.remote(max_concurrency=8)(GpuWorker)
