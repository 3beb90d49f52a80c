"""Finding Milimo shots on a Resolve timeline (markers, marked clips, OTIO placeholders) and the jobs they become.

Resolve is the double in tests/resolve_double.py; everything else is the plugin's real code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from milimo.errors import InvalidArgument
from milimo.otio import conventions
from milimo.v1 import jobs_pb2
from tests.resolve_double import MediaPoolItem, ResolveBefore185, Timeline, TimelineItem, new_resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve import placeholders, requests
from milimo_resolve.placeholders import CLIP, MARKER, OTIO

ANIMATIC_64 = requests.Settings("", 64, 64)


def timeline_of(resolve) -> Timeline:
    return resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()


def test_markers_marked_by_name_or_custom_data_are_shots():
    resolve = new_resolve()
    timeline = timeline_of(resolve)
    assert timeline.AddMarker(24, "Blue", "Milimo: Door opens", "A door creaks open.", 48)
    assert timeline.AddMarker(96, "Green", "cut here", "not a shot", 1)
    assert timeline.AddMarker(120, "Red", "Shot 7", "A scripted shot.", 12, json.dumps({"milimo": {}}))
    assert timeline.AddMarker(200, "Yellow", "", "Typed by a script.", 6, "milimo")

    shots = placeholders.marker_shots(timeline)

    assert [(s.key, s.source, s.start, s.frames, s.prompt) for s in shots] == [
        ("marker 24", MARKER, 24, 48, "A door creaks open."),
        ("marker 120", MARKER, 120, 12, "A scripted shot."),
        ("marker 200", MARKER, 200, 6, "Typed by a script."),
    ]
    assert shots[0].title == "Door opens"
    assert shots[0].marker_frame == 24


def test_a_marked_clip_or_generator_is_a_shot_over_its_whole_range():
    resolve = new_resolve()
    timeline = timeline_of(resolve)
    timeline.AddTrack("video")
    plate = TimelineItem("plate.mov", 86400, 100, MediaPoolItem("/plates/plate.mov", 200, 24))
    timeline.tracks["video"][0].add(plate)
    timeline.SetCurrentTimecode("01:00:05:00")
    generator = timeline.InsertGeneratorIntoTimeline("Solid Color")  # at the playhead, on V1
    assert generator.AddMarker(0, "Cyan", "Milimo", "Rain on a tin roof.", 1)
    unmarked = TimelineItem("title", 86400, 24)
    assert unmarked.AddMarker(0, "Cyan", "note to self", "", 1)
    timeline.tracks["video"][1].add(unmarked)

    shots = placeholders.clip_shots(timeline)

    assert len(shots) == 1
    shot = shots[0]
    assert (shot.source, shot.track, shot.start, shot.frames) == (CLIP, 1, 120, 120)  # 5 s of generator at 24 fps
    assert (shot.name, shot.prompt, shot.marker_frame) == ("Solid Color", "Rain on a tin roof.", 0)


def test_custom_data_can_carry_the_request_and_the_result():
    resolve = new_resolve()
    timeline = timeline_of(resolve)
    notes = {"milimo": {"version": 1, "request": {"video": {"model": "tiny-ltx", "seed": 7}}, "asset_id": "a-1"}}
    timeline.AddMarker(0, "Blue", "Storm", "Lightning over the bay.", 17, json.dumps(notes))

    (shot,) = placeholders.marker_shots(timeline)
    request = requests.shot_request(shot, ANIMATIC_64, 24.0)

    assert shot.asset_id == "a-1"
    assert request.WhichOneof("kind") == "video"
    assert (request.video.model, request.video.seed, request.video.prompt) == ("tiny-ltx", 7, "Lightning over the bay.")
    assert (request.video.frames, request.video.width, request.video.height) == (17, 64, 64)
    assert (request.video.fps.num, request.video.fps.den) == (24, 1)


def test_a_shot_becomes_an_animatic_or_a_video_of_exactly_its_frames():
    resolve = new_resolve(fps=23.976)
    timeline = timeline_of(resolve)
    timeline.AddMarker(10, "Blue", "Milimo: Ferry", "A ferry leaves in fog.", 33)
    (shot,) = placeholders.marker_shots(timeline)
    rate = placeholders.timeline_rate(timeline)

    animatic = requests.shot_request(shot, ANIMATIC_64, rate)
    video = requests.shot_request(shot, requests.Settings("tiny-ltx2", 128, 96), rate)

    assert animatic.animatic.description == "A ferry leaves in fog."
    assert animatic.animatic.scene_heading == "Ferry"
    assert animatic.animatic.frames == 33
    assert (animatic.animatic.fps.num, animatic.animatic.fps.den) == (24000, 1001)
    assert (video.video.model, video.video.prompt, video.video.frames) == ("tiny-ltx2", "A ferry leaves in fog.", 33)
    assert (video.video.width, video.video.height) == (128, 96)


def test_shots_that_cannot_be_made_say_which_marker_and_why():
    resolve = new_resolve()
    timeline = timeline_of(resolve)
    timeline.AddMarker(0, "Blue", "Milimo", "", 10)
    timeline.AddMarker(50, "Blue", "Milimo: too long", "A very long take.", 1200)
    timeline.AddMarker(2000, "Blue", "bad", "x", 5, json.dumps({"milimo": {"version": 1, "request": {"image": {}}}}))
    empty, long, image = placeholders.marker_shots(timeline)

    with pytest.raises(InvalidArgument, match=r"marker 0 .*note: write what the shot shows"):
        requests.shot_request(empty, ANIMATIC_64, 24.0)
    with pytest.raises(
        InvalidArgument, match=r"marker 50 'too long': duration: must be 1 to 1000 frames at 24 fps \(got 1200\)"
    ):
        requests.shot_request(long, ANIMATIC_64, 24.0)
    with pytest.raises(InvalidArgument, match=r"marker 2000 'bad': customData.milimo.request: unknown request kind"):
        requests.shot_request(image, ANIMATIC_64, 24.0)


def test_otio_placeholders_are_found_through_resolves_otio_export(tmp_path):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    source = otio.schema.Timeline(name="Board", global_start_time=otio.opentime.RationalTime(86400, 24))
    track = otio.schema.Track(name="Video 1")
    track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(48, 24)))
    request = jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(description="Gulls over the pier."))
    track.append(conventions.make_placeholder("Pier", request, otio.opentime.RationalTime(36, 24)))
    source.tracks.append(track)
    otio.adapters.write_to_file(source, str(tmp_path / "board.otio"))
    timeline = project.GetMediaPool().ImportTimelineFromFile(str(tmp_path / "board.otio"), {"timelineName": "Board"})

    shots = placeholders.find_shots(resolve, timeline, tmp_path / "scan")

    assert [(s.source, s.key, s.start, s.frames, s.track, s.prompt) for s in shots] == [
        (OTIO, "otio V1 48", 48, 36, 1, "Gulls over the pier.")
    ]
    made = requests.shot_request(shots[0], ANIMATIC_64, 24.0)
    assert (made.animatic.description, made.animatic.frames) == ("Gulls over the pier.", 36)


def test_without_otio_export_markers_and_clips_are_still_found(tmp_path):
    resolve = ResolveBefore185()
    timeline = Timeline("Old")
    resolve.project.add_timeline(timeline)
    timeline.AddMarker(5, "Blue", "Milimo", "A lamp flickers.", 8)

    assert not placeholders.can_export_otio(resolve)
    assert [shot.key for shot in placeholders.find_shots(resolve, timeline, tmp_path)] == ["marker 5"]


def test_generation_size_keeps_the_timelines_shape_in_multiples_of_32():
    assert requests.size_for(1920, 1080) == (768, 448)
    assert requests.size_for(1080, 1920) == (448, 768)
    assert requests.size_for(4096, 1716) == (768, 320)
    assert requests.size_for(64, 64) == (768, 768)
