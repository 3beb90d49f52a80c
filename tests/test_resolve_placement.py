"""Generated shots placed on a Resolve timeline: a real daemon makes animatics, the Resolve double takes them.

The double (tests/resolve_double.py) keeps Resolve's pitfalls: track indices from 1, absolute recordFrame,
exclusive endFrame, overlapping appends dropped without a word, Insert* rippling V1 at the playhead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest

from milimo.config import ClientConfig
from milimo.media.ops import probe
from milimo.otio import conventions
from milimo.v1 import jobs_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import animatic, wait_for, wait_status
from tests.resolve_double import MediaPoolItem, Resolve, Timeline, TimelineItem, new_resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve import placement
from milimo_resolve.controller import Controller
from milimo_resolve.placeholders import MARKER, Shot, clip_shots, marker_shots

FRAMES = 12


@pytest.fixture(scope="module")
def milimo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A SQLite daemon of this module's own (the animatic kind needs no model)."""
    process = DaemonProcess(tmp_path_factory.mktemp("resolve") / "data")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def generated(milimo: DaemonProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real animatic of FRAMES frames, downloaded from the daemon."""
    client = milimo.client()
    job = client.submit(animatic(frames=FRAMES, width=64, height=64))
    done = wait_status(client, job.id, jobs_pb2.JOB_STATUS_SUCCEEDED)
    return client.download(done.result_asset_ids[0], tmp_path_factory.mktemp("media") / "shot.mp4")


def plate(start: int, frames: int, name: str = "plate") -> TimelineItem:
    return TimelineItem(name, start, frames, MediaPoolItem(f"/plates/{name}.mov", 1000, 24))


def items(timeline: Timeline, track: int) -> list[tuple[str, int, int]]:
    return [(item.GetName(), item.GetStart(), item.GetEnd()) for item in timeline.GetItemListInTrack("video", track)]


def shot_at(start: int, frames: int = FRAMES, **fields) -> Shot:
    return Shot(key=f"marker {start}", source=MARKER, name="Milimo", prompt="x", start=start, frames=frames, **fields)


def test_a_marked_range_is_generated_and_placed_at_its_frames(milimo, tmp_path):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.tracks["video"][0].add(plate(86400, 100))
    timeline.AddMarker(24, "Blue", "Milimo: Door opens", "A door creaks open onto a dark hall.", FRAMES)
    controller = Controller(resolve, ClientConfig(address=milimo.address), tmp_path)
    controller.start()
    try:
        controller.choose("", 64, 64)
        controller.generate()

        def ready() -> bool:
            controller.tick()
            return bool(controller.jobs) and (controller.jobs[0].importable or controller.jobs[0].status == "error")

        wait_for(ready, what="the shot to be generated and downloaded")
        row = controller.jobs[0]
        assert row.status == "succeeded", row.message
        assert controller.view().connection.state == "online"
        controller.import_results()
    finally:
        controller.close()

    assert row.status == "placed", controller.notice
    assert row.placed == "V2 at 01:00:01:00"  # V1 holds the plate there
    assert items(timeline, 1) == [("plate", 86400, 86500)]  # untouched: nothing rippled
    assert items(timeline, 2) == [(row.file.name, 86424, 86424 + FRAMES)]
    (bin_,) = project.GetMediaPool().GetRootFolder().GetSubFolderList()
    assert bin_.GetName() == "Milimo"
    assert [clip.GetClipProperty("File Path") for clip in bin_.GetClipList()] == [str(row.file)]
    info = probe(row.file)
    assert (info.frames, info.width, info.height) == (FRAMES, 64, 64)
    notes = json.loads(timeline.GetMarkerCustomData(24))["milimo"]
    assert notes == {"job_id": row.job_id, "asset_id": row.asset_id, "file": str(row.file), "track": 2}
    (shot,) = marker_shots(timeline)  # the marker now says the shot is made
    assert shot.asset_id == row.asset_id
    assert controller.view().shots[0].status == "placed"


@pytest.mark.parametrize("start_frame", [0, 86400, 108000])
def test_record_frame_is_the_timelines_start_plus_the_offset(generated, start_frame):
    resolve = new_resolve(start_frame=start_frame)
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()

    where = placement.place(project, timeline, shot_at(30), generated)

    assert (where.track, where.record_frame) == (1, start_frame + 30)
    assert items(timeline, 1) == [(generated.name, start_frame + 30, start_frame + 30 + FRAMES)]  # endFrame exclusive


def test_results_go_on_the_lowest_free_track_and_new_tracks_when_none_is(generated):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.tracks["video"][0].add(plate(86400, 100, "a"))
    timeline.AddTrack("video")
    timeline.tracks["video"][1].add(plate(86420, 20, "b"))
    timeline.AddTrack("video")
    timeline.SetTrackLock("video", 3, True)

    first = placement.place(project, timeline, shot_at(24), generated)  # V1, V2 busy, V3 locked: a new V4
    second = placement.place(project, timeline, shot_at(50), generated)  # V2 is free from 86440
    third = placement.place(project, timeline, shot_at(28), generated)  # overlaps the first on V4: a new V5
    fourth = placement.place(project, timeline, shot_at(200), generated)  # past every item: V1

    assert [p.track for p in (first, second, third, fourth)] == [4, 2, 5, 1]
    assert timeline.GetTrackCount("video") == 5
    assert items(timeline, 1) == [("a", 86400, 86500), (generated.name, 86600, 86612)]
    assert items(timeline, 2) == [("b", 86420, 86440), (generated.name, 86450, 86462)]
    assert items(timeline, 3) == []
    assert items(timeline, 4) == [(generated.name, 86424, 86436)]
    assert items(timeline, 5) == [(generated.name, 86428, 86440)]
    (bin_,) = project.GetMediaPool().GetRootFolder().GetSubFolderList()
    assert len(bin_.GetClipList()) == 1  # the same file is imported once


def test_a_clip_placeholders_result_goes_above_it(generated):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.AddTrack("video")
    holder = plate(86448, FRAMES, "Solid Color")
    holder.AddMarker(0, "Cyan", "Milimo", "Rain on a tin roof.", 1)
    timeline.tracks["video"][1].add(holder)
    (shot,) = clip_shots(timeline)

    where = placement.place(project, timeline, shot, generated)  # V1 is free there, but the result must cover V2
    assert placement.link_marker(timeline, shot, {"job_id": "j-1", "asset_id": "a-1"})

    assert (shot.start, shot.track) == (48, 2)
    assert where.track == 3
    assert items(timeline, 3) == [(generated.name, 86448, 86460)]
    assert json.loads(holder.GetMarkerCustomData(0)) == {"milimo": {"job_id": "j-1", "asset_id": "a-1"}}


def test_an_otio_placeholders_placed_result_is_not_generated_again(milimo, tmp_path):
    """An OTIO placeholder keeps no note of its result (Resolve's export still shows it unfilled), so Generate
    with nothing chosen must know from the window's own rows that it is made."""
    resolve = Resolve()
    board = otio.schema.Timeline(name="Board", global_start_time=otio.opentime.RationalTime(86400, 24))
    track = otio.schema.Track(name="Video 1")
    track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(24, 24)))
    request = jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(description="Gulls over the pier."))
    track.append(conventions.make_placeholder("Pier", request, otio.opentime.RationalTime(FRAMES, 24)))
    board.tracks.append(track)
    otio.adapters.write_to_file(board, str(tmp_path / "board.otio"))
    resolve.project.GetMediaPool().ImportTimelineFromFile(str(tmp_path / "board.otio"), {"timelineName": "Board"})
    controller = Controller(resolve, ClientConfig(address=milimo.address), tmp_path / "window")
    controller.start()
    try:
        controller.choose("", 64, 64)
        controller.generate()

        def ready() -> bool:
            controller.tick()
            return bool(controller.jobs) and (controller.jobs[0].importable or controller.jobs[0].status == "error")

        wait_for(ready, what="the placeholder's shot to be generated and downloaded")
        controller.import_results()
        row = controller.jobs[0]
        assert (row.status, row.message) == ("placed", "V2 at 01:00:01:00"), controller.notice
        assert [shot.key for shot in controller.shots] == ["otio V1 24"]  # still unfilled in Resolve's export

        controller.generate()
    finally:
        controller.close()

    assert controller.notice == "No shot to generate: choose one in the list."
    assert controller.jobs == [row]
