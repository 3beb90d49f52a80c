"""Messages between the daemon and a worker process (pickled over a multiprocessing pipe)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


# daemon -> worker
@dataclass(frozen=True)
class RunJob:
    job_id: str
    kind: str
    request: bytes
    scratch_dir: Path


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
