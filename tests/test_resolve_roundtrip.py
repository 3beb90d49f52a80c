"""The whole-timeline round trip: Resolve's OTIO export, `milimo fill` through a real daemon, the result imported
back as a new timeline, with Resolve's own metadata (`Resolve_OTIO`) kept on the timeline, tracks and clips.

The export is a real one from Resolve (the OTIO project's sample, in the shared data, read in place), or one
written by the Resolve double for the window's own round trip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import opentimelineio as otio

from milimo.config import ClientConfig
from milimo.media.ops import probe
from milimo.otio import conventions
from milimo.otio.compare import compare
from milimo.v1 import common_pb2, jobs_pb2
from tests.helpers import wait_for
from tests.resolve_double import MediaPoolItem, TimelineItem, new_resolve
from tests.shared_data import SHARED_DATA, needs_shared_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve import roundtrip
from milimo_resolve.controller import Controller
from milimo_resolve.placeholders import CLIP, MARKER, Shot
from milimo_resolve.requests import Settings

RESOLVE_EXPORT = SHARED_DATA / "resolve" / "effects.otio"
SETTINGS = Settings("", 64, 64)


def without_milimo_tracks(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    copy = timeline.deepcopy()
    for index in reversed(range(len(copy.tracks))):
        if copy.tracks[index].name.startswith(roundtrip.TRACK_NAME):
            del copy.tracks[index]
    return copy


def resolve_metadata(item) -> dict:
    return conventions.plain(item.metadata["Resolve_OTIO"])


def job_count(client) -> int:
    return len(client.jobs.List(jobs_pb2.ListJobsRequest(page=common_pb2.PageRequest(page_size=1000))).jobs)


@needs_shared_data
def test_a_real_resolve_export_keeps_its_resolve_metadata_through_fill(module_daemon, tmp_path):
    client = module_daemon.client()
    shots = [
        Shot("marker 10", MARKER, "Milimo: Gate", "A stone gate in the mist.", 10, 12, marker_frame=10),
        Shot("marker 15", MARKER, "Milimo: Condor", "A condor circles the peak.", 15, 9, marker_frame=15),
        Shot("clip V5 600", CLIP, "layout", "A rope bridge sways.", 600, 8, track=5, marker_frame=0),
    ]
    marked, output = tmp_path / "picchu-marked.otio", tmp_path / "picchu-filled.otio"
    progress: list[tuple[float, str]] = []

    roundtrip.prepare(RESOLVE_EXPORT, marked, shots, SETTINGS, 24.0)
    result = roundtrip.run_fill(client, marked, output, SETTINGS, lambda *report: progress.append(report))

    assert (result.placeholders, result.filled, result.failed, result.differences) == (3, 3, [], [])
    assert progress[0] == (0.0, "3 placeholders to fill") and progress[-1][0] == 1.0
    original = otio.adapters.read_from_file(str(RESOLVE_EXPORT))
    filled = otio.adapters.read_from_file(str(output))
    # Everything Resolve wrote is still there, item for item: names, ranges, effects, transitions, metadata.
    resolves_own = without_milimo_tracks(filled)  # held in a name: a Timeline's tracks go with it
    assert compare(original, resolves_own) == []
    assert resolve_metadata(filled) == resolve_metadata(original) == {"Resolve OTIO Meta Version": "1.0"}
    for before, after in zip(original.tracks, resolves_own.tracks, strict=True):
        assert resolve_metadata(after) == resolve_metadata(before) != {}
        for old, new in zip(before.find_clips(), after.find_clips(), strict=True):
            assert resolve_metadata(new) == resolve_metadata(old)
            assert [resolve_metadata(e) for e in new.effects] == [resolve_metadata(e) for e in old.effects]
    # The shots sit after the last video track, on two tracks where they overlap, at their frames.
    kinds = [(track.name, track.kind) for track in filled.tracks]
    assert kinds[8:10] == [("Milimo", "Video"), ("Milimo 2", "Video")]
    placed = {
        clip.name: (track.name, track.range_of_child(clip).start_time.value, clip.duration().value, clip)
        for track in filled.tracks[8:10]
        for clip in track.find_clips()
    }
    assert {name: where[:3] for name, where in placed.items()} == {
        "Gate": ("Milimo", 10, 12),
        "layout": ("Milimo", 600, 8),
        "Condor": ("Milimo 2", 15, 9),
    }
    for _, _, frames, clip in placed.values():
        assert conventions.is_filled(clip)
        info = probe(Path(clip.media_reference.target_url.removeprefix("file://")))
        assert (info.frames, info.width, info.height) == (frames, 64, 64)

    jobs_before = job_count(client)
    again = roundtrip.run_fill(client, marked, tmp_path / "again.otio", SETTINGS, lambda *report: None)
    assert again.filled == 3 and job_count(client) == jobs_before  # the jobs of the first run are found again


def test_the_windows_round_trip_imports_a_new_timeline(module_daemon, tmp_path):
    resolve = new_resolve("Edit")
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.tracks["video"][0].add(TimelineItem("plate", 86400, 48, MediaPoolItem("/plates/plate.mov", 48, 24)))
    timeline.AddMarker(24, "Blue", "Milimo: Kettle", "A kettle starts to boil.", 12)
    controller = Controller(resolve, ClientConfig(address=module_daemon.address), tmp_path)
    controller.start()
    try:
        controller.choose("", 64, 64)
        controller.round_trip()

        def finished() -> bool:
            controller.tick()
            return controller.round_trip_line.startswith(("Round trip: imported", "Round trip failed"))

        wait_for(finished, what="the round trip to finish")
    finally:
        controller.close()

    assert controller.round_trip_line == "Round trip: imported 'Edit Milimo', 1 of 1 shots filled."
    assert [project.GetTimelineByIndex(i).GetName() for i in (1, 2)] == ["Edit", "Edit Milimo"]
    new = project.GetTimelineByIndex(2)
    assert [(i.GetName(), i.GetStart(), i.GetEnd()) for i in new.GetItemListInTrack("video", 1)] == [
        ("plate", 86400, 86448)
    ]
    (kettle,) = new.GetItemListInTrack("video", 2)
    assert (kettle.GetName(), kettle.GetStart(), kettle.GetDuration()) == ("Kettle", 86424, 12)
    assert probe(kettle.GetMediaPoolItem().GetClipProperty("File Path")).frames == 12
    assert new.GetMarkers()[24.0]["note"] == "A kettle starts to boil."
    assert timeline.GetTrackCount("video") == 1  # the timeline the user worked on is left as it was
