"""Messages between the daemon and a worker process (pickled over a multiprocessing pipe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from milimo import errors
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


JobMessage = Progress | PreviewFrame | Log | JobFinished


# Calls: requests a worker answers beside its jobs (interactive segmentation and tracking sessions).
@dataclass(frozen=True)
class Call:
    """daemon -> worker: run `method` of `milimo.tasks.interactive` with `args`.

    `wait_s` bounds how long the call may wait for the accelerator while a job holds it.
    """

    call_id: str
    method: str
    args: dict[str, Any]
    wait_s: float


@dataclass(frozen=True)
class CancelCall:
    """daemon -> worker: the caller of `call_id` went away (it cancelled, or its deadline passed); the worker stops
    the call at its next progress report, or skips it if it has not started."""

    call_id: str


@dataclass(frozen=True)
class CallError:
    """A call's failure: `kind` names a class of `milimo.errors` ("" for an unexpected error), `message` says why."""

    kind: str
    message: str


def call_error(exc: BaseException) -> CallError:
    """How `exc` travels back to the daemon: its nearest class in `milimo.errors`, and its message."""
    for cls in type(exc).__mro__:
        if cls.__module__ == errors.__name__ and cls is not errors.MilimoError and issubclass(cls, errors.MilimoError):
            return CallError(cls.__name__, str(exc))
    return CallError("", f"{type(exc).__name__}: {exc}")


def raised(error: CallError) -> Exception:
    """The exception a failed call raises in the daemon: the same error class and message (a bug: RuntimeError)."""
    cls = getattr(errors, error.kind, None) if error.kind else None
    if not (isinstance(cls, type) and issubclass(cls, errors.MilimoError)):
        return RuntimeError(f"the worker failed: {error.message}")
    exc = cls.__new__(cls)  # the classes' own constructors compose the message; it is composed already
    Exception.__init__(exc, error.message)
    return exc


@dataclass(frozen=True)
class CallProgress:
    """worker -> daemon: one step of a streaming call (a propagated frame)."""

    call_id: str
    payload: Any


@dataclass(frozen=True)
class CallResult:
    """worker -> daemon: the call's answer; exactly one of `value` and `error` is meaningful."""

    call_id: str
    value: Any = None
    error: CallError | None = None


@dataclass(frozen=True)
class ModelStates:
    """worker -> daemon: where each configured model is now (on_accelerator, in_ram, on_disk), after any move."""

    states: dict[str, str]


WorkerMessage = JobMessage | CallProgress | CallResult | ModelStates
