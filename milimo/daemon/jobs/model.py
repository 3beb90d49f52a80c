"""The queue's domain records. They know nothing of gRPC or SQL."""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
NON_TERMINAL = frozenset(JobStatus) - TERMINAL


class EventType(enum.StrEnum):
    STATE = "state"
    PROGRESS = "progress"
    PREVIEW = "preview"
    LOG = "log"


def new_id(prefix: str) -> str:
    """A short random id with a readable prefix: j- jobs, a- assets, p- projects, s- shots."""
    return f"{prefix}-{secrets.token_hex(8)}"


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class NewJob:
    """What Submit hands to the store after validation."""

    kind: str
    lane: str
    request: bytes
    priority: int = 0
    project_id: str | None = None
    shot_id: str | None = None
    client_request_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    retry_of: str | None = None


@dataclass(frozen=True)
class JobRecord:
    pk: int
    id: str
    kind: str
    lane: str
    status: JobStatus
    request: bytes
    priority: int
    attempts: int
    max_attempts: int
    created_us: int
    started_us: int | None
    finished_us: int | None
    reason: str
    progress_step: int
    progress_total: int
    progress_message: str
    last_seq: int
    cancel_requested: bool
    project_id: str | None
    shot_id: str | None
    retry_of: str | None
    client_request_id: str | None
    labels: dict[str, str]
    result_asset_ids: list[str]


@dataclass(frozen=True)
class EventRecord:
    job_id: str
    seq: int
    time_us: int
    type: EventType
    data: dict[str, Any]
    blob: bytes | None = None
