"""The Milimo window's state and actions, apart from UIManager (window.py draws it and wires the buttons).

Everything here runs on Resolve's UI thread. The daemon is reached only through `DaemonLink`, whose threads
report back through a queue that `tick` (called by the window's timer) drains: no method here waits on the
network, so the window never freezes, and a daemon that is down is a status line, not an error. Failures of
an action become `notice`, a sentence in the window.

A job outlives the window: as soon as the daemon names it, its id goes into the shot's marker (customData), and
every scan of the timeline follows the marked jobs no row follows yet, so a window opened later picks up the
jobs an earlier one left running, or that finished meanwhile. A result is placed as soon as it is downloaded,
once: placing writes the result into the marker, and a marker that already holds this job's result is not
placed again. What no marker can say (a job sent but not yet named when its window closed, an OTIO placeholder's
job and its placed result) the journal in the window's folder says (journal.py).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import queue
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from milimo.client.batch import JobState, status_name
from milimo.client.client import Client
from milimo.config import ClientConfig
from milimo.errors import FailedPrecondition, MilimoError
from milimo.otio.fill import file_stem
from milimo.v1 import jobs_pb2

from . import placement
from .daemon import PROBE_INTERVAL_S, PROBE_TIMEOUT_S, Connection, DaemonLink, Result
from .journal import Entry, Journal, request_json, timeline_identity
from .placeholders import OTIO, Shot, can_export_otio, export_otio, find_shots, timeline_rate
from .requests import Settings, shot_request, size_for
from .roundtrip import RoundTrip, prepare, run_fill

T = TypeVar("T")
ACTIVE = {"submitting", "following", "queued", "running"}
ENDED_WITHOUT_RESULT = {jobs_pb2.JOB_STATUS_FAILED, jobs_pb2.JOB_STATUS_CANCELLED}
NO_SHOTS_HINT = (
    'No Milimo shots here. Add a timeline marker named "Milimo", write the shot in its note and drag its '
    "duration to the shot's length, then press Refresh."
)


@dataclass
class JobRow:
    """One generation the window follows, from submitting to placing its result."""

    row_id: str  # stable before the daemon gives the job an id
    shot: Shot
    timeline: Any  # the Resolve timeline the shot is on
    job_id: str = ""
    asset_id: str = ""
    status: str = "submitting"
    fraction: float = 0.0
    message: str = ""
    file: Path | None = None
    has_audio: bool = False
    placed: str = ""  # where the result went, once placed
    request_key: str = ""  # the journal's key for a job this machine submitted ("" for one a marker names)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def importable(self) -> bool:
        return self.file is not None and not self.placed


@dataclass(frozen=True)
class ShotLine:
    key: str
    where: str
    frames: int
    prompt: str
    status: str


@dataclass(frozen=True)
class JobLine:
    row_id: str
    shot: str
    job_id: str
    status: str
    progress: str


@dataclass(frozen=True)
class View:
    """What the window shows, as text."""

    connection: Connection
    timeline: str
    shots: list[ShotLine]
    jobs: list[JobLine]
    settings: Settings
    notice: str
    round_trip: str


def timecode(frame: int, rate: float) -> str:
    """A frame number as non-drop timecode at the timeline's nominal rate (23.976 counts as 24)."""
    base = max(1, round(rate))
    seconds, frames = divmod(frame, base)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}:{frames:02d}"


def reported(method: Callable[..., T]) -> Callable[..., T | None]:
    """A user action whose failure becomes the window's notice instead of an exception in Resolve's console."""

    @functools.wraps(method)
    def run(self: Controller, *args: Any, **kwargs: Any) -> T | None:
        try:
            return method(self, *args, **kwargs)
        except MilimoError as error:
            self.notice = str(error)
        except Exception as error:  # a Resolve call that answered None, a file that vanished…
            traceback.print_exc()  # the full story in Resolve's console, for a bug report
            self.notice = f"{type(error).__name__}: {error}"
        return None

    return run


class Controller:
    def __init__(
        self,
        resolve: Any,
        config: ClientConfig,
        folder: Path,
        *,
        probe_interval: float = PROBE_INTERVAL_S,
        probe_timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        """`folder` holds the downloaded results (media/) and the timeline files of scans and round trips."""
        self.resolve = resolve
        self.folder = folder
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.link = DaemonLink(
            config, folder / "media", self._inbox.put, probe_interval=probe_interval, probe_timeout=probe_timeout
        )
        self.journal = Journal(folder)
        self.connection = Connection("checking", f"Checking the Milimo daemon at {config.address}…")
        self.settings = Settings()  # sized to the timeline's shape at start
        self.shots: list[Shot] = []
        self.jobs: list[JobRow] = []
        self.notice = ""
        self.round_trip_line = ""
        self._round_trip_running = False
        self._timeline: Any = None
        self._row_ids = itertools.count(1)

    # ---- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start(self._connected)
        self.refresh()
        if self._timeline is not None:  # generate in the timeline's shape until the window says otherwise
            width = int(self._timeline.GetSetting("timelineResolutionWidth") or 1920)
            height = int(self._timeline.GetSetting("timelineResolutionHeight") or 1080)
            self.settings = Settings("", *size_for(width, height))

    def close(self) -> None:
        """Apply what the daemon already reported (a job's id, so that its marker remembers it), then stop."""
        self.tick()
        self.link.close()

    def tick(self) -> None:
        """Apply what the daemon threads reported since the last tick. Never waits."""
        while True:
            try:
                action = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._apply(action)

    @reported
    def _apply(self, action: Callable[[], None]) -> None:
        action()

    def _connected(self, connection: Connection) -> None:
        self.connection = connection

    # ---- the timeline -------------------------------------------------------------------------

    def _project(self) -> Any:
        project = self.resolve.GetProjectManager().GetCurrentProject()
        if project is None:
            raise FailedPrecondition("Open a project in Resolve first.")
        return project

    def _current(self) -> Any:
        if self._timeline is None:
            raise FailedPrecondition("Open a timeline in Resolve, then press Refresh.")
        return self._timeline

    @reported
    def refresh(self) -> None:
        """Read the current timeline's Milimo shots again."""
        timeline = self._project().GetCurrentTimeline()
        if timeline is None:
            raise FailedPrecondition("Open a timeline in Resolve, then press Refresh.")
        self._timeline = timeline
        self._scan()
        self.notice = f"{len(self.shots)} Milimo shots on {timeline.GetName()!r}." if self.shots else NO_SHOTS_HINT

    def _scan(self) -> None:
        entries = self.journal.entries(self._timeline_id())
        made = {entry.shot: entry for entry in entries if entry.asset_id}
        self.shots = [
            _made(shot, made[shot.key]) if shot.key in made and not shot.asset_id else shot
            for shot in find_shots(self.resolve, self._timeline, self.folder / "scan")
        ]
        self._follow_journal([entry for entry in entries if not entry.asset_id])
        self._follow_marked_jobs()

    def _timeline_id(self) -> str:
        return timeline_identity(self._project(), self._current())

    def _follow_journal(self, entries: list[Entry]) -> None:
        """Take up the jobs this machine submitted that no row follows: follow those the daemon named, and send the
        others again with their key (the daemon answers with the job if the first send reached it)."""
        followed = {row.request_key for row in self.jobs if row.request_key}
        by_job = {row.job_id: row for row in self.jobs if row.job_id}
        shots = {shot.key: shot for shot in self.shots}
        for entry in entries:
            shot = shots.get(entry.shot)
            if entry.request_key in followed or shot is None:  # a shot moved or deleted: kept for an undo
                continue
            if entry.job_id in by_job:  # a row follows it since its marker named it
                by_job[entry.job_id].request_key = entry.request_key
                continue
            if shot.asset_id and shot.notes.get("job_id") == entry.job_id:  # its marker says it is placed
                self.journal.remove(entry.request_key)
                continue
            row = JobRow(f"r{next(self._row_ids)}", shot, self._timeline, job_id=entry.job_id)
            row.request_key = entry.request_key
            self.jobs.append(row)
            if entry.job_id:
                row.status, row.message = "following", "following the job submitted earlier"
                self.link.follow(entry.job_id, shot.title, *self._callbacks(row))
            else:
                row.message = "sending again the job an earlier window sent"
                self.link.generate(entry.job_request(), shot.title, *self._callbacks(row), key=entry.request_key)

    def _follow_marked_jobs(self) -> None:
        """Follow the jobs that markers name and no row follows yet: jobs a window that was closed submitted (or
        one this window lost the daemon for, again)."""
        rows = {row.job_id: row for row in self.jobs if row.job_id}
        for shot in self.shots:
            job_id = str(shot.notes.get("job_id", ""))
            if not job_id or shot.asset_id:
                continue
            row = rows.get(job_id)
            if row is None:
                row = JobRow(f"r{next(self._row_ids)}", shot, self._timeline, job_id=job_id)
                self.jobs.append(row)
            elif row.status != "error":
                continue
            row.status, row.message = "following", "following the job submitted earlier"
            self.link.follow(job_id, shot.title, *self._callbacks(row))

    def _callbacks(self, row: JobRow) -> tuple[Callable[..., None], ...]:
        """What the daemon's threads report a row's job through: its moves, its result, a failure."""
        return (
            functools.partial(self._job_moved, row),
            functools.partial(self._downloaded, row),
            functools.partial(self._job_error, row),
        )

    @reported
    def choose(self, model: str, width: int, height: int) -> None:
        """The window's settings: a video model ("" for an animatic) and the generation size."""
        self.settings = Settings(model, width, height)

    # ---- jobs ---------------------------------------------------------------------------------

    @reported
    def generate(self, keys: Iterable[str] = ()) -> None:
        """Submit the chosen shots (by key; none chosen: every shot without a result) that are not already
        being made. An OTIO placeholder keeps no note of its result on the timeline, so a result this window
        downloaded counts too."""
        timeline = self._current()
        rate = timeline_rate(timeline)
        chosen = set(keys)
        busy = {row.shot.key for row in self.jobs if row.active}
        made = {row.shot.key for row in self.jobs if row.file is not None}
        shots = [shot for shot in self.shots if (shot.key in chosen if chosen else not shot.asset_id)]
        shots = [shot for shot in shots if shot.key not in busy and (chosen or shot.key not in made)]
        timeline_id = self._timeline_id()
        for shot in shots:
            row = JobRow(f"r{next(self._row_ids)}", shot, timeline, request_key=uuid.uuid4().hex)
            self.jobs.append(row)
            try:
                request = shot_request(shot, self.settings, rate)
                # Written down before it is sent: a window closed before the daemon answers loses nothing.
                self.journal.add(Entry(timeline_id, shot.key, row.request_key, request_json(request), shot.title))
            except (MilimoError, OSError) as error:
                row.status, row.message = "not submitted", str(error)
                continue
            self.link.generate(request, shot.title, *self._callbacks(row), key=row.request_key)
        self.notice = f"Submitting {len(shots)} shots." if shots else "No shot to generate: choose one in the list."

    def _job_moved(self, row: JobRow, state: JobState) -> None:
        job = state.job
        if not row.job_id:  # the daemon named the job: the marker and the journal remember it past this window
            row.job_id = job.id
            if row.request_key:
                self.journal.named(row.request_key, job.id)
            if not placement.write_job(row.timeline, row.shot, {"job_id": job.id}) and row.shot.source != OTIO:
                self.notice = (
                    f"Resolve did not write job {job.id} into the marker of {row.shot.key} {row.shot.title!r}: "
                    "keep this window open until it ends, or Milimo will not place its result."
                )
        row.status = status_name(job.status)
        row.fraction = state.fraction
        row.message = job.reason or job.progress.message
        if job.result_asset_ids:
            row.asset_id = job.result_asset_ids[0]
        if job.status == jobs_pb2.JOB_STATUS_SUCCEEDED:
            row.message = "downloading the result"
        elif job.status in ENDED_WITHOUT_RESULT:
            self._forget(row)

    def _forget(self, row: JobRow) -> None:
        """Take a job that ended without a result out of its marker: this window shows how it ended, and a window
        opened later need not follow it again."""
        if (placement.marker_notes(row.timeline, row.shot) or {}).get("job_id") == row.job_id:
            placement.write_job(row.timeline, row.shot, {})
        if row.request_key:
            self.journal.remove(row.request_key)

    def _downloaded(self, row: JobRow, result: Result) -> None:
        row.file, row.has_audio = result.path, result.has_audio
        try:
            self._place(self._project(), row)
        except MilimoError as error:  # stays importable: Import tries again
            row.message = f"{error}; press Import to try again"
        else:
            self._scan()

    def _job_error(self, row: JobRow, text: str) -> None:
        row.status, row.message = "error", text

    def _rows(self, row_ids: Iterable[str], wanted: Callable[[JobRow], bool]) -> list[JobRow]:
        chosen = set(row_ids)
        return [row for row in self.jobs if (row.row_id in chosen if chosen else True) and wanted(row)]

    @reported
    def cancel(self, row_ids: Iterable[str] = ()) -> None:
        """Cancel the chosen jobs (none chosen: every running or queued one)."""
        rows = self._rows(row_ids, lambda row: row.active and bool(row.job_id))
        for row in rows:
            self.link.cancel(row.job_id, functools.partial(self._job_error, row))
        self.notice = f"Cancelling {len(rows)} jobs." if rows else "No running or queued job to cancel."

    @reported
    def import_results(self, row_ids: Iterable[str] = ()) -> None:
        """Place the chosen finished results that are not placed yet (none chosen: all of them) on their timelines.
        Results are placed as they arrive; this is for those Resolve refused then (a locked track, a deleted
        timeline)."""
        rows = self._rows(row_ids, lambda row: row.importable)
        project = self._project()
        placed = 0
        for row in rows:
            try:
                self._place(project, row)
            except MilimoError as error:  # this one stays importable; the others still go
                row.message = str(error)
            else:
                placed += 1
        if placed:
            self._scan()
        self.notice = f"Placed {placed} of {len(rows)} clips." if rows else "No finished result to import yet."

    def _place(self, project: Any, row: JobRow) -> None:
        """Place the row's result and write it into the shot's marker, unless the marker says this job's result is
        placed already (by a window before this one)."""
        assert row.file is not None  # importable says so
        before = placement.marker_notes(row.timeline, row.shot) or {}
        if before.get("asset_id") and before.get("job_id") == row.job_id:
            row.placed = "earlier"
            row.status, row.message = "placed", "placed earlier: the marker holds this result"
            self._journal_placed(row)
            return
        where = placement.place(project, row.timeline, row.shot, row.file, has_audio=row.has_audio)
        notes = {"job_id": row.job_id, "asset_id": row.asset_id, "file": str(row.file), "track": where.track}
        if where.audio_track:
            notes["audio_track"] = where.audio_track
        linked = placement.write_job(row.timeline, row.shot, notes)
        self._journal_placed(row)
        row.placed = f"{where.tracks} at {timecode(where.record_frame, timeline_rate(row.timeline))}"
        row.status, row.message = "placed", row.placed
        if not linked and row.shot.source != OTIO:  # placed, so not an error that would invite a second import
            row.message += (
                f"; Resolve did not write the result into the marker of {row.shot.key} {row.shot.title!r}, "
                "so after a restart Milimo will not know that shot is made"
            )

    def _journal_placed(self, row: JobRow) -> None:
        """A marker says its shot is made; an OTIO placeholder has only the journal to say it."""
        if not row.request_key:
            return
        if row.shot.source == OTIO:
            self.journal.placed(row.request_key, row.asset_id)
        else:
            self.journal.remove(row.request_key)

    # ---- the round trip -----------------------------------------------------------------------

    @reported
    def round_trip(self) -> None:
        """Export the timeline to OTIO, fill every shot through the daemon, import the result as a new timeline."""
        if self._round_trip_running:
            raise FailedPrecondition("A round trip is running; wait for it to finish.")
        timeline = self._current()
        if not can_export_otio(self.resolve):
            raise FailedPrecondition("The round trip needs Resolve 18.5 or later (Timeline.Export to OTIO).")
        name = file_stem(timeline.GetName(), "timeline")
        folder = self.folder / "roundtrip"
        exported, marked, output = (folder / f"{name}{suffix}.otio" for suffix in ("", "-marked", "-filled"))
        export_otio(self.resolve, timeline, exported)
        shots = [shot for shot in self.shots if shot.source != OTIO and not shot.asset_id]
        settings, rate = self.settings, timeline_rate(timeline)

        def work(client: Client) -> None:
            prepare(exported, marked, shots, settings, rate)
            result = run_fill(client, marked, output, settings, self._round_trip_progress)
            self._inbox.put(lambda: self._round_trip_done(timeline, result))

        self._round_trip_running = True
        self.round_trip_line = f"Round trip: exported {timeline.GetName()!r}, filling…"
        self.link.run("round trip", work, self._round_trip_failed)

    def _round_trip_progress(self, fraction: float, line: str) -> None:
        """Called on the round trip's thread: hands the line to the UI thread."""
        self._inbox.put(lambda: setattr(self, "round_trip_line", f"Round trip {fraction:.0%}: {line}"))

    def _round_trip_failed(self, text: str) -> None:
        self._round_trip_running = False
        self.round_trip_line = f"Round trip failed: {text}"

    def _round_trip_done(self, timeline: Any, result: RoundTrip) -> None:
        self._round_trip_running = False
        project = self._project()
        name = free_timeline_name(project, f"{timeline.GetName()} Milimo")
        options = {"timelineName": name, "importSourceClips": True}
        if not project.GetMediaPool().ImportTimelineFromFile(str(result.output), options):
            self.round_trip_line = f"Round trip failed: Resolve did not import {result.output} as a timeline."
            return
        line = f"Round trip: imported {name!r}, {result.filled} of {result.placeholders} shots filled."
        if result.failed:
            line += " Not filled: " + "; ".join(result.failed)
        if result.differences:
            line += f" {len(result.differences)} items changed on the way: " + "; ".join(result.differences[:3])
        self.round_trip_line = line

    # ---- what the window shows ----------------------------------------------------------------

    def view(self) -> View:
        rate = timeline_rate(self._timeline) if self._timeline is not None else 24.0
        start = self._timeline.GetStartFrame() if self._timeline is not None else 0
        latest = {row.shot.key: row for row in self.jobs}
        shots = []
        for shot in self.shots:
            where = f"{shot.source} V{shot.track}" if shot.track else shot.source
            row = latest.get(shot.key)
            status = row.status if row is not None else ("made: " + shot.asset_id if shot.asset_id else "")
            line = ShotLine(shot.key, f"{where} {timecode(start + shot.start, rate)}", shot.frames, shot.prompt, status)
            shots.append(line)
        jobs = [
            JobLine(
                row.row_id,
                row.shot.title,
                row.job_id,
                row.status,
                f"{row.fraction:.0%} {row.message}".strip() if row.active else row.message,
            )
            for row in self.jobs
        ]
        return View(
            connection=self.connection,
            timeline=self._timeline.GetName() if self._timeline is not None else "",
            shots=shots,
            jobs=jobs,
            settings=self.settings,
            notice=self.notice,
            round_trip=self.round_trip_line,
        )


def free_timeline_name(project: Any, wanted: str) -> str:
    """`wanted`, or `wanted 2`, `wanted 3`… : Resolve refuses a timeline name the project already has."""
    taken = {project.GetTimelineByIndex(index).GetName() for index in range(1, project.GetTimelineCount() + 1)}
    names = itertools.chain([wanted], (f"{wanted} {n}" for n in itertools.count(2)))
    return next(name for name in names if name not in taken)


def _made(shot: Shot, entry: Entry) -> Shot:
    """An OTIO placeholder whose result the journal says is placed, as a marked shot's made notes would say it."""
    return dataclasses.replace(shot, notes={**shot.notes, "job_id": entry.job_id, "asset_id": entry.asset_id})
