"""A GPU worker as the Ray executor sees it: its actor, where that actor runs, and how it reaches the media.

A slot is `STARTING` until its actor is placed on a node and has been probed, `READY` when it may take jobs, and
`REFUSED` when `ray_media = "shared"` and its node cannot read the daemon's data directory. Each new actor (at
start, a replacement, a GPU that joined) is probed afresh: a replacement may land on another node.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from milimo.daemon.executors.placement import Slot

STARTING, READY, REFUSED = "starting", "ready", "refused"
SHARED, TRANSFER = "shared", "transfer"


@dataclass
class GpuSlot(Slot):
    actor: Any = None  # the live actor's handle
    state: str = STARTING
    node: str = ""  # the Ray node id its actor runs on, once placed
    media: str = ""  # SHARED or TRANSFER, once READY
    job_id: str | None = None
    killed_for_cancel: bool = False
    bring_up: asyncio.Task | None = None  # placing and probing a new actor, while STARTING
    incarnation: int = 0  # how many actors the slot has had: a new one holds none of the old one's sessions
    calls: int = 0  # interactive calls in flight

    def take(self, actor: Any) -> None:
        """Make `actor` the slot's actor (a first one, or a replacement)."""
        self.actor = actor
        self.incarnation += 1

    @property
    def free(self) -> bool:
        return self.state == READY and not self.busy

    @property
    def name(self) -> str:
        return f"GPU worker {self.index}"


def media_mode(setting: str, reaches_data_dir: bool) -> str | None:
    """How a worker gets its files under `ray_media = setting`; None: it may not be used ("shared", unreachable)."""
    if setting == TRANSFER:
        return TRANSFER
    if reaches_data_dir:
        return SHARED
    return TRANSFER if setting == "auto" else None


@contextlib.contextmanager
def probe_file(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """A file in the data directory holding a random token, for the duration: a worker that reads it sees the dir."""
    token = secrets.token_hex(16)
    probe = data_dir / f".ray-probe-{token}"
    probe.write_text(token)
    try:
        yield probe, token
    finally:
        probe.unlink(missing_ok=True)
