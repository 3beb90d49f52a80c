"""Messages between the daemon and a worker process (pickled over a multiprocessing pipe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milimo.tasks.inputs import InputFile


# daemon -> worker
@dataclass(frozen=True)
class RunJob:
    job_id: str
    kind: str
    request: bytes
    scratch_dir: Path
    inputs: dict[str, InputFile] = field(default_factory=dict)  # by asset id
    facts: dict[str, Any] = field(default_factory=dict)  # what the daemon looked up for the kind


@dataclass(frozen=True)
class CancelJob:
    job_id: str


# worker -> daemon
@dataclass(frozen=True)
class Progress:
    job_id: str
    step: int
    total: int
    message: str


@dataclass(frozen=True)
class PreviewFrame:
    job_id: str
    step: int
    jpeg: bytes


@dataclass(frozen=True)
class Log:
    job_id: str
    level: str  # "info" | "warning" | "error"
    message: str


@dataclass(frozen=True)
class Output:
    path: Path
    mime_type: str
    sha256: str
    size: int
    media: dict


@dataclass(frozen=True)
class JobFinished:
    job_id: str
    outcome: str  # "succeeded" | "failed" | "cancelled"
    outputs: tuple[Output, ...] = ()
    error: str = ""


WorkerMessage = Progress | PreviewFrame | Log | JobFinished
