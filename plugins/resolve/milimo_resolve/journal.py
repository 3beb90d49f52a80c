"""The jobs this machine's Milimo windows submitted, in a file beside the downloaded results (jobs.json).

A marker remembers its shot's job in its customData, and that is what a window opened later follows. Three things
have no marker to say them, and the journal says them instead:

- a job whose window closed before the daemon named it: the journal holds its request and the idempotency key it
  was sent with, so a later window sends it again with that key, and the daemon answers with the job the first
  send queued, or queues it if that send never arrived;
- a job for an OTIO placeholder (a clip Resolve imported from OTIO, which has no marker of its own);
- an OTIO placeholder's placed result, so a later window knows that shot is made.

Every change reads the file again and replaces it whole (written beside it, then renamed), so a window killed
mid-write leaves the previous journal, and two windows open at once lose nothing but a race of milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from milimo.errors import FailedPrecondition
from milimo.v1 import jobs_pb2

FILE_NAME = "jobs.json"


@dataclass(frozen=True)
class Entry:
    timeline: str  # `timeline_identity` of the timeline the shot is on
    shot: str  # the shot's key on that timeline (`Shot.key`)
    request_key: str  # the idempotency key the job was (or is being) submitted with
    request: str  # the JobRequest, as JSON
    label: str
    job_id: str = ""  # once the daemon has named it
    asset_id: str = ""  # once its result is placed (kept for OTIO placeholders only)

    def job_request(self) -> jobs_pb2.JobRequest:
        return json_format.Parse(self.request, jobs_pb2.JobRequest())


def timeline_identity(project: Any, timeline: Any) -> str:
    """Resolve's unique id of the timeline (Timeline.GetUniqueId, Resolve 18 and later), else its project's and its
    own name."""
    unique = getattr(timeline, "GetUniqueId", None)
    identity = unique() if callable(unique) else None
    return str(identity) if identity else f"{project.GetName()}/{timeline.GetName()}"


def request_json(request: jobs_pb2.JobRequest) -> str:
    return json_format.MessageToJson(request, indent=None)


class Journal:
    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME

    def entries(self, timeline: str) -> list[Entry]:
        return [entry for entry in self._read().values() if entry.timeline == timeline]

    def add(self, entry: Entry) -> None:
        self._change(lambda entries: entries.__setitem__(entry.request_key, entry))

    def named(self, request_key: str, job_id: str) -> None:
        """The daemon named the job sent with `request_key`."""
        self._update(request_key, job_id=job_id)

    def placed(self, request_key: str, asset_id: str) -> None:
        """The job's result is on the timeline (an OTIO placeholder's: a marker says it for the others)."""
        self._update(request_key, asset_id=asset_id)

    def remove(self, request_key: str) -> None:
        self._change(lambda entries: entries.pop(request_key, None))

    def _update(self, request_key: str, **fields: str) -> None:
        def update(entries: dict[str, Entry]) -> None:
            if (entry := entries.get(request_key)) is not None:
                entries[request_key] = replace(entry, **fields)

        self._change(update)

    def _read(self) -> dict[str, Entry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            return {item["request_key"]: Entry(**item) for item in json.loads(text)["jobs"]}
        except (ValueError, KeyError, TypeError) as error:
            raise FailedPrecondition(
                f"Milimo's job journal {self.path} is unreadable ({error}); move it aside to start a new one."
            ) from error

    def _change(self, change: Callable[[dict[str, Entry]], object]) -> None:
        entries = self._read()
        change(entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.part")
        try:
            with partial.open("w", encoding="utf-8") as out:
                json.dump({"jobs": [asdict(entry) for entry in entries.values()]}, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
