"""The Ray actor that runs accelerator jobs on one GPU: its own WorkerResources and arbiter, models kept across jobs.

The actor runs the same task code as a local worker process (`worker_main.run_job`). It is threaded
(`max_concurrency`), so `cancel` reaches it while `run` streams the job's events back as a Ray generator.
Inputs and outputs are paths in the daemon's data directory when the actor reaches it (`reaches`); otherwise in the
actor's own files, which the daemon fills and empties in chunks (`WorkerFiles`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import ray

from milimo.daemon.executors.ray_worker_files import WorkerFiles
from milimo.daemon.jobs import protocol
from milimo.daemon.jobs.worker_main import run_job
from milimo.tasks.resources import WorkerResources, WorkerSettings

log = logging.getLogger("milimo.ray_worker")


class GpuWorker(WorkerFiles):
    def __init__(self, settings: WorkerSettings) -> None:
        super().__init__()
        self._outbox: queue.Queue[object] = queue.Queue()  # the running job's events, in order
        self._model_states: dict[str, str] = {}
        self._resources = WorkerResources(settings, on_model_change=self._models_moved)
        self._cancels: dict[str, threading.Event] = {}
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
            try:
                self._outbox.put(run_job(job, self._outbox.put, cancel, self._resources))
            finally:
                with self._lock:
                    self._cancels.pop(job.job_id, None)

        threading.Thread(target=work, name=f"job-{job.job_id}", daemon=True).start()
        while True:
            message = self._outbox.get()
            yield message
            if isinstance(message, protocol.JobFinished):
                return


# Threads: one streams `run`, the others answer `cancel`, `model_states` and `reaches` meanwhile, or take chunks.
GpuWorkerActor = ray.remote(max_concurrency=4)(GpuWorker)
