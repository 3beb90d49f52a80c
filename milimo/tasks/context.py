"""The context a task runs with: cooperative cancellation and progress reporting.

A task never imports gRPC or SQL; it only sees this small surface. The worker process provides
the concrete implementation (events go back to the daemon over the worker channel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from milimo.tasks.inputs import InputFile


class TaskCancelled(Exception):
    """Raised inside a task when the job was cancelled; the worker removes the partial files."""


class TaskContext(Protocol):
    """What a running task may ask of the worker that runs it."""

    @property
    def cancelled(self) -> bool:
        """True once a cancel was requested; check it at least once per step."""

    @property
    def scratch_dir(self) -> Path:
        """A private directory for this attempt's files; removed if the job does not succeed."""

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        """Report `step` of `total` done; `preview` is an optional small JPEG of the current state."""

    def log(self, message: str) -> None:
        """Record a line in the job's event log."""

    def raise_if_cancelled(self) -> None:
        """Raise `TaskCancelled` if a cancel was requested."""

    def input(self, asset_id: str) -> InputFile:
        """The file of an asset the request names (InvalidArgument if the request did not name it)."""

    @property
    def facts(self) -> dict[str, Any]:
        """What the daemon looked up for this job when it started (a cut: the project and its shots)."""


class ContextView:
    """A TaskContext that hands everything to the job's own `ctx`; a subclass overrides `progress` to put one
    stage's steps (a chunk's, a frame's) on the job's one bar."""

    def __init__(self, ctx: TaskContext) -> None:
        self._ctx = ctx

    @property
    def cancelled(self) -> bool:
        return self._ctx.cancelled

    @property
    def scratch_dir(self) -> Path:
        return self._ctx.scratch_dir

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        self._ctx.progress(step, total, message, preview)

    def log(self, message: str) -> None:
        self._ctx.log(message)

    def raise_if_cancelled(self) -> None:
        self._ctx.raise_if_cancelled()

    def input(self, asset_id: str) -> InputFile:
        return self._ctx.input(asset_id)

    @property
    def facts(self) -> dict[str, Any]:
        return self._ctx.facts
