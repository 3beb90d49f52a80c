"""compare(): two timelines item by item — equal ones give nothing, each kind of change is caught and named."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from milimo.otio import conventions
from milimo.otio.compare import compare
from milimo.v1 import common_pb2, jobs_pb2
from tests.shared_data import SHARED_DATA, needs_shared_data

RATE = 24


def t(frames: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, RATE)


def span(start: float, frames: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(t(start), t(frames))


def animatic_request(text: str) -> jobs_pb2.JobRequest:
    return jobs_pb2.JobRequest(
        animatic=jobs_pb2.AnimaticRequest(width=64, height=64, scene_heading="INT. TEST STAGE - DAY", description=text)
    )


def video_request(model: str) -> jobs_pb2.JobRequest:
    return jobs_pb2.JobRequest(
        video=jobs_pb2.VideoShotRequest(
            model=model, prompt="a paper boat", width=64, height=64, steps=2, fps=common_pb2.Rational(num=RATE)
        )
    )


def media_clip(name: str, url: str, frames: int, **fields: object) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(target_url=url, available_range=span(0, 240))
    return otio.schema.Clip(name=name, media_reference=reference, source_range=span(10, frames), **fields)


def rich_timeline(video_model: str = "") -> otio.schema.Timeline:
    """Several tracks, a nested stack, transitions, markers, effects and metadata everywhere, and four
    placeholders: two animatics on V1 (one inside the nested stack), one on V2 (a video one when
    `video_model` is given), one on V2 after a dissolve."""
    timeline = otio.schema.Timeline(name="Rich cut", global_start_time=t(86400), metadata={"studio": {"show": "QA"}})
    timeline.tracks.metadata["note"] = "the top stack"

    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video, metadata={"lane": 1})
    opening = media_clip(
        "Opening",
        "file:///media/opening.mov",
        48,
        markers=[otio.schema.Marker(name="sync", marked_range=span(20, 0), color=otio.schema.MarkerColor.RED)],
        effects=[otio.schema.Effect(name="soften", effect_name="Blur", metadata={"radius": 4})],
        metadata={"vfx": {"id": "VFX-001"}},
    )
    v1.append(opening)
    v1.append(otio.schema.Transition(name="dissolve", in_offset=t(6), out_offset=t(6), metadata={"curve": "ease"}))
    v1.append(
        conventions.make_placeholder(
            "Door opens", animatic_request("A door opens."), t(12), bookkeeping={"note": "keep me"}
        )
    )
    v1.append(otio.schema.Gap(source_range=span(0, 12), name="breath"))
    nested = otio.schema.Stack(
        name="Nest",
        source_range=span(0, 36),  # the fcp_xml writer needs a nested sequence's range
        markers=[otio.schema.Marker(name="nest start", marked_range=span(0, 0))],
    )
    inner = otio.schema.Track(name="inner", kind=otio.schema.TrackKind.Video)
    inner.append(media_clip("Insert", "file:///media/insert.mov", 24))
    inner.append(conventions.make_placeholder("Hand on knob", animatic_request("A hand turns the knob."), t(12)))
    nested.append(inner)
    nested.effects.append(otio.schema.Effect(name="grade", effect_name="ColorCorrect", metadata={"lift": 0.1}))
    v1.append(nested)
    v1.append(
        media_clip(
            "Slow", "file:///media/slow.mov", 24, effects=[otio.schema.LinearTimeWarp(name="half", time_scalar=0.5)]
        )
    )
    timeline.tracks.append(v1)

    v2 = otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video)
    v2.append(otio.schema.Gap(source_range=span(0, 24)))
    request = video_request(video_model) if video_model else animatic_request("The boat drifts.")
    v2.append(conventions.make_placeholder("Boat", request, t(9)))
    v2.append(media_clip("Title", "file:///media/title.mov", 24, markers=[otio.schema.Marker(name="title in")]))
    v2.append(otio.schema.Transition(name="wipe", transition_type="SMPTE_Wipe", in_offset=t(3), out_offset=t(3)))
    v2.append(conventions.make_placeholder("Street", animatic_request("An empty street."), t(12)))
    timeline.tracks.append(v2)

    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    a1.append(media_clip("Room tone", "file:///media/room.wav", 96, markers=[otio.schema.Marker(name="breath")]))
    a1.markers.append(otio.schema.Marker(name="music cue", marked_range=span(30, 10)))
    timeline.tracks.append(a1)
    return timeline


def item(timeline: otio.schema.Timeline, track: int, *indices: int):
    found = timeline.tracks[track]
    for index in indices:
        found = found[index]
    return found


def test_a_timeline_equals_its_copy_and_its_otio_round_trip():
    timeline = rich_timeline()
    assert compare(timeline, timeline.deepcopy()) == []
    read_back = otio.adapters.read_from_string(otio.adapters.write_to_string(timeline, "otio_json"), "otio_json")
    assert compare(timeline, read_back) == []


@needs_shared_data
@pytest.mark.parametrize(
    "name",
    [
        "otio/multitrack.otio",
        "otio/transition.otio",
        "otio/simple_cut.otio",
        "resolve/effects.otio",
        "edl/screening_example.edl",
        "fcpxml/premiere_example.xml",
    ],
)
def test_real_timelines_equal_themselves(name):
    first = otio.adapters.read_from_file(str(SHARED_DATA / name))
    second = otio.adapters.read_from_file(str(SHARED_DATA / name))
    assert compare(first, second) == []


def change(mutate) -> list[str]:
    timeline = rich_timeline()
    changed = timeline.deepcopy()
    mutate(changed)
    return compare(timeline, changed)


def test_a_renamed_clip_is_named_with_its_path():
    def rename(timeline):
        item(timeline, 0, 0).name = "Opening v2"

    assert change(rename) == ["tracks[0]/clip[0] 'Opening': name 'Opening' → 'Opening v2'"]


def test_a_moved_marker():
    def move(timeline):
        item(timeline, 0, 0).markers[0].marked_range = span(21, 0)

    (difference,) = change(move)
    assert difference.startswith("tracks[0]/clip[0] 'Opening': markers differ: ['sync' RED at 20@24+0]")


def test_a_changed_effect_and_its_metadata():
    def stronger(timeline):
        item(timeline, 0, 0).effects[0].metadata["radius"] = 5

    def nested_grade(timeline):
        item(timeline, 0, 4).effects[0].effect_name = "Grade"

    assert change(stronger) == ["tracks[0]/clip[0] 'Opening': effects differ: [Blur 'soften'] → [Blur 'soften']"]
    assert change(nested_grade)[0].startswith("tracks[0]/stack[4] 'Nest': effects differ: [ColorCorrect")


def test_a_changed_transition():
    def longer(timeline):
        item(timeline, 0, 1).out_offset = t(8)

    def other_kind(timeline):
        item(timeline, 1, 3).transition_type = "SMPTE_Dissolve"

    assert change(longer) == ["tracks[0]/transition[1] 'dissolve': offsets 6@24/6@24 → 6@24/8@24"]
    assert change(other_kind) == ["tracks[1]/transition[3] 'wipe': transition_type 'SMPTE_Wipe' → 'SMPTE_Dissolve'"]


def test_changed_metadata_at_every_level():
    def on_clip(timeline):
        item(timeline, 0, 0).metadata["vfx"] = {"id": "VFX-002"}

    def on_track(timeline):
        timeline.tracks[0].metadata["lane"] = 2

    def on_timeline(timeline):
        timeline.metadata["studio"] = {"show": "other"}

    def on_nested_clip(timeline):
        item(timeline, 0, 4, 0, 0).metadata["new"] = True

    assert change(on_clip) == ["tracks[0]/clip[0] 'Opening': metadata differs under 'vfx'"]
    assert change(on_track) == ["tracks[0] 'V1': metadata differs under 'lane'"]
    assert change(on_timeline) == ["timeline: metadata differs under 'studio'"]
    assert change(on_nested_clip) == ["tracks[0]/stack[4]/track[0]/clip[0] 'Insert': metadata differs under 'new'"]


def test_ranges_media_kinds_and_structure():
    def trimmed(timeline):
        item(timeline, 0, 5).source_range = span(11, 24)

    def relinked(timeline):
        item(timeline, 2, 0).media_reference = otio.schema.ExternalReference(target_url="file:///media/other.wav")

    def gap_for_clip(timeline):
        timeline.tracks[1][2] = otio.schema.Gap(source_range=span(0, 24))

    def removed(timeline):
        del timeline.tracks[2][0]

    def track_kind(timeline):
        timeline.tracks[2].kind = otio.schema.TrackKind.Video

    def disabled(timeline):
        item(timeline, 0, 0).enabled = False

    assert change(trimmed) == ["tracks[0]/clip[5] 'Slow': source_range 10@24+24 → 11@24+24"]
    assert change(relinked)[0].startswith("tracks[2]/clip[0] 'Room tone': media reference 'DEFAULT_MEDIA' differs")
    assert change(gap_for_clip) == ["tracks[1]/clip[2] 'Title': was a Clip, is a Gap"]
    assert change(removed) == ["tracks[2] 'A1': 1 children → 0"]
    assert change(track_kind) == ["tracks[2] 'A1': kind Audio → Video"]
    assert change(disabled) == ["tracks[0]/clip[0] 'Opening': enabled True → False"]


def test_placeholders_differ_only_in_what_filling_changes():
    def filled(timeline):
        clip = item(timeline, 0, 2)
        bookkeeping = {"job_id": "j-0123456789abcdef", "asset_id": "a-0123456789abcdef", "kind": "animatic", "seed": 0}
        conventions.fill(clip, "file:///media/door.mp4", bookkeeping)

    def renamed(timeline):
        item(timeline, 0, 2).name = "Door shuts"

    def noted(timeline):
        item(timeline, 0, 2).metadata["milimo"] = {"note": "changed"}

    assert change(filled) == []
    assert change(renamed) == ["tracks[0]/clip[2] 'Door opens': name 'Door opens' → 'Door shuts'"]
    assert change(noted) == ["tracks[0]/clip[2] 'Door opens': metadata differs under 'milimo'"]
