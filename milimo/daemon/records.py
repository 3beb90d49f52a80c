"""Domain records of the catalogue: projects, shots and assets. No gRPC or SQL here."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class AssetRecord:
    id: str
    sha256: str
    size: int
    mime_type: str
    filename: str
    project_id: str | None
    job_id: str | None
    media: dict[str, Any]
    created_us: int


@dataclass(frozen=True)
class NewAsset:
    sha256: str
    size: int
    mime_type: str
    filename: str
    project_id: str | None = None
    job_id: str | None = None
    media: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    description: str
    width: int
    height: int
    fps: Fraction
    created_us: int
    updated_us: int


@dataclass(frozen=True)
class ShotRecord:
    id: str
    project_id: str
    position: int
    name: str
    description: str
    duration_frames: int
    asset_id: str | None
    metadata: dict[str, str]
    created_us: int
    updated_us: int
