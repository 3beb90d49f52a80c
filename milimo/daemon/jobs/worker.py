"""The daemon's handle on one worker process: start it, send it work, hear what it says."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from milimo.daemon.jobs import protocol, worker_main
from milimo.tasks.resources import WorkerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerExited:
    """The worker process is gone (crashed, killed, or the pipe broke)."""

    pid: int | None
    exitcode: int | None


class WorkerProcess:
    def __init__(
        self,
        lane: str,
        deliver: Callable[[protocol.WorkerMessage | WorkerExited], None],
        settings: WorkerSettings,
    ) -> None:
        self.lane = lane
        self.settings = settings
        self._deliver = deliver
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        """Spawn (not fork: the daemon has threads and an event loop) and start listening."""
        context = multiprocessing.get_context("spawn")
        parent_conn, child_conn = context.Pipe(duplex=True)
        process = context.Process(
            target=worker_main.main,
            args=(child_conn, os.getpid(), self.settings),
            name=f"milimo-worker-{self.lane}",
            daemon=True,
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn
        threading.Thread(target=self._listen, args=(process, parent_conn), daemon=True).start()
        log.info("worker for lane %s started (pid %s)", self.lane, process.pid)

    def _listen(self, process: multiprocessing.process.BaseProcess, conn) -> None:  # noqa: ANN001
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            self._deliver(message)
        process.join(timeout=5)
        self._deliver(WorkerExited(process.pid, process.exitcode))

    def send(self, message: protocol.RunJob | protocol.CancelJob | protocol.Call | protocol.CancelCall) -> None:
        if self._conn is None:
            raise RuntimeError("worker not started")
        try:
            self._conn.send(message)
        except (BrokenPipeError, OSError):
            log.warning("worker for lane %s is gone; its exit will be reported", self.lane)

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def stop(self) -> None:
        """Close the pipe (the worker exits on EOF) and make sure it is gone."""
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=3)
            self.kill()
