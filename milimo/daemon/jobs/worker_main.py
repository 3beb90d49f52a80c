"""The worker process: runs one task at a time, answers calls beside it, reports events, and dies with the daemon.

Inference never runs in the process that serves gRPC: a crash, a hang or a native abort here
cannot take the daemon down, and the daemon's event loop never competes with a task for the GIL.

Calls (interactive segmentation, tracking sessions) are served by a second thread, so a call never waits
behind queued jobs; it still waits for the arbiter while a job holds the accelerator, at most its `wait_s`.
Whenever a model moves, the worker tells the daemon where every model is (`ModelStates`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from milimo.daemon.jobs import protocol
from milimo.daemon.media_store import sha256_of
from milimo.errors import MilimoError
from milimo.tasks.context import TaskCancelled
from milimo.tasks.inputs import InputFile, input_named
from milimo.tasks.registry import KINDS
from milimo.tasks.resources import WorkerResources, WorkerSettings
from milimo.v1 import jobs_pb2

if TYPE_CHECKING:
    from milimo.tasks.interactive import Interactive

PROGRESS_INTERVAL_S = 0.05  # at most 20 progress events a second reach the database
log = logging.getLogger("milimo.worker")


class _Context:
    """TaskContext for one job attempt; events go straight back over the pipe."""

    def __init__(self, job: protocol.RunJob, send: Callable[[object], None], cancel: threading.Event) -> None:
        self._job_id = job.job_id
        self._scratch_dir = job.scratch_dir
        self._inputs = job.inputs
        self._facts = job.facts
        self._send = send
        self._cancel = cancel
        self._last_progress = 0.0

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def scratch_dir(self) -> Path:
        return self._scratch_dir

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        now = time.monotonic()
        if step >= total or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._send(protocol.Progress(self._job_id, step, total, message))
        if preview is not None:
            self._send(protocol.PreviewFrame(self._job_id, step, preview))

    def log(self, message: str) -> None:
        self._send(protocol.Log(self._job_id, "info", message))

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise TaskCancelled(self._job_id)

    def input(self, asset_id: str) -> InputFile:
        return input_named(self._inputs, asset_id)

    @property
    def facts(self) -> dict[str, Any]:
        return self._facts


class _Sender:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, message: object) -> None:
        with self._lock:
            self._conn.send(message)


class _Running:
    """The job the main thread is running, for calls that find the accelerator busy."""

    job_id: str | None = None


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the daemon dies, even mid native call (no orphans)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def run_job(
    job: protocol.RunJob, send: Callable[[object], None], cancel: threading.Event, resources: WorkerResources
) -> protocol.JobFinished:
    """Run one job attempt to its end, sending its events with `send` (also what a Ray GPU actor runs)."""
    job.scratch_dir.mkdir(parents=True, exist_ok=True)
    ctx = _Context(job, send, cancel)
    try:
        request = jobs_pb2.JobRequest.FromString(job.request)
        outputs = KINDS[job.kind].run(request, ctx, resources)
        ctx.raise_if_cancelled()
        described = tuple(
            protocol.Output(o.path, o.mime_type, sha256_of(o.path), o.path.stat().st_size, o.media) for o in outputs
        )
        return protocol.JobFinished(job.job_id, "succeeded", described)
    except TaskCancelled:
        return protocol.JobFinished(job.job_id, "cancelled", error="cancelled while running")
    except Exception as exc:  # a task's failure fails its job, never the worker
        log.error("job %s failed:\n%s", job.job_id, traceback.format_exc())
        return protocol.JobFinished(job.job_id, "failed", error=f"{type(exc).__name__}: {exc}")


def _answer(
    call: protocol.Call, waited_s: float, interactive: Interactive, send: _Sender, abandoned: threading.Event
) -> protocol.CallResult | None:
    """The call's result; None when its caller went away first (nobody waits for it), checked at every report."""

    def progress(payload: Any) -> None:
        if abandoned.is_set():
            raise TaskCancelled("its caller went away")
        send(protocol.CallProgress(call.call_id, payload))

    if abandoned.is_set():
        return None
    try:
        value = interactive.answer(call.method, call.args, max(call.wait_s - waited_s, 0.0), progress)
        return protocol.CallResult(call.call_id, value)
    except TaskCancelled:
        log.info("call %s (%s) stopped: its caller went away", call.call_id, call.method)
        return None
    except Exception as exc:  # a call's failure travels back to its caller, never ends the worker
        if not isinstance(exc, MilimoError):
            log.error("call %s (%s) failed:\n%s", call.call_id, call.method, traceback.format_exc())
        return protocol.CallResult(call.call_id, error=protocol.call_error(exc))


class CallQueue:
    """Calls waiting or running, in the order they came, each with the event its caller's departure sets."""

    def __init__(self) -> None:
        self.waiting: queue.Queue[tuple[float, protocol.Call]] = queue.Queue()
        self._abandoned: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def arrive(self, call: protocol.Call) -> None:
        with self._lock:
            self._abandoned[call.call_id] = threading.Event()
        self.waiting.put((time.monotonic(), call))

    def abandon(self, call_id: str) -> None:
        with self._lock:
            if call_id in self._abandoned:
                self._abandoned[call_id].set()

    def serve(
        self, resources: WorkerResources, busy_with: Callable[[], str | None], send: Callable[[object], None]
    ) -> None:
        """Answer calls one at a time, sending their progress and results; a call's wait for the accelerator
        counts from its arrival, and `busy_with()` names the job that holds the accelerator, if any."""
        from milimo.tasks.interactive import Interactive

        interactive = Interactive(resources, busy_with=busy_with)
        while True:
            received, call = self.waiting.get()
            with self._lock:
                abandoned = self._abandoned[call.call_id]
            result = _answer(call, time.monotonic() - received, interactive, send, abandoned)
            with self._lock:
                del self._abandoned[call.call_id]
            if result is not None:
                send(result)


def main(conn: Connection, parent_pid: int, settings: WorkerSettings) -> None:
    _die_with_parent()
    if os.getppid() != parent_pid:  # the daemon died before prctl took effect
        os._exit(1)
    # Lower priority so the daemon's event loop answers promptly while a task saturates the CPU.
    with contextlib.suppress(OSError):
        os.nice(5)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the daemon, which stops us
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")

    send = _Sender(conn)
    resources = WorkerResources(settings, on_model_change=lambda states: send(protocol.ModelStates(states)))
    running = _Running()
    calls = CallQueue()
    jobs: list[protocol.RunJob] = []
    have_job = threading.Condition()
    cancels: dict[str, threading.Event] = {}

    def listen() -> None:
        """Reads the daemon's messages; when the pipe closes, the daemon is gone and so are we."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                os._exit(0)
            if isinstance(message, protocol.RunJob):
                with have_job:
                    cancels[message.job_id] = threading.Event()
                    jobs.append(message)
                    have_job.notify()
            elif isinstance(message, protocol.CancelJob):
                with have_job:
                    if message.job_id in cancels:
                        cancels[message.job_id].set()
            elif isinstance(message, protocol.Call):
                calls.arrive(message)
            elif isinstance(message, protocol.CancelCall):
                calls.abandon(message.call_id)

    threading.Thread(target=listen, name="worker-listen", daemon=True).start()
    serve = functools.partial(calls.serve, resources, lambda: running.job_id, send)
    threading.Thread(target=serve, name="worker-calls", daemon=True).start()
    while True:
        with have_job:
            have_job.wait_for(lambda: bool(jobs))
            job = jobs.pop(0)
            cancel = cancels[job.job_id]
        running.job_id = job.job_id
        finished = run_job(job, send, cancel, resources)
        running.job_id = None
        with have_job:
            cancels.pop(job.job_id, None)
        send(finished)
