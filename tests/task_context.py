"""The TaskContext a worker hands a task, as a recorder for tests that run tasks or pipelines directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milimo.tasks.context import TaskCancelled
from milimo.tasks.inputs import InputFile, input_named


class RecordingContext:
    """Records progress reports and log lines, and cancels itself after `cancel_after_reports` progress
    reports or `cancel_after_checks` calls of `raise_if_cancelled` (whichever is given)."""

    def __init__(
        self,
        scratch: Path = Path("."),
        *,
        cancel_after_reports: int | None = None,
        cancel_after_checks: int | None = None,
        inputs: dict[str, InputFile] | None = None,
        facts: dict[str, Any] | None = None,
    ) -> None:
        self._scratch = scratch
        self._inputs = inputs or {}
        self._facts = facts or {}
        self._cancelled = False
        self.cancel_after_reports = cancel_after_reports
        self.cancel_after_checks = cancel_after_checks
        self.events: list[tuple[int, int, str, bytes | None]] = []
        self.logs: list[str] = []
        self.checks = 0

    @property
    def steps(self) -> list[tuple[int, int]]:
        return [(step, total) for step, total, _, _ in self.events]

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def scratch_dir(self) -> Path:
        return self._scratch

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        self.events.append((step, total, message, preview))
        if self.cancel_after_reports is not None and len(self.events) >= self.cancel_after_reports:
            self._cancelled = True

    def log(self, message: str) -> None:
        self.logs.append(message)

    def raise_if_cancelled(self) -> None:
        self.checks += 1
        if self.cancel_after_checks is not None and self.checks > self.cancel_after_checks:
            self._cancelled = True
        if self._cancelled:
            raise TaskCancelled("cancelled by the test")

    def input(self, asset_id: str) -> InputFile:
        return input_named(self._inputs, asset_id)

    @property
    def facts(self) -> dict[str, Any]:
        return self._facts
