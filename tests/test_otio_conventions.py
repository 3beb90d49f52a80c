"""The placeholder convention in OTIO, and its EDL and FCP XML forms through the real adapters."""

from __future__ import annotations

import json

import opentimelineio as otio
import pytest

from milimo.errors import InvalidArgument
from milimo.otio import conventions, formats
from milimo.otio.fill import find_placeholders
from milimo.otio.tree import clips
from milimo.v1 import jobs_pb2
from tests.shared_data import SHARED_DATA, needs_shared_data
from tests.test_otio_compare import animatic_request, media_clip, rich_timeline, span, t


def one_track(*items: otio.core.Composable) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1")
    track.extend(items)
    timeline.tracks.append(track)
    return timeline


def test_a_placeholder_in_otio_json():
    request = animatic_request("A door opens.")
    clip = conventions.make_placeholder("Door", request, t(12), bookkeeping={"shot_id": "s-0123456789abcdef"})
    stored = json.loads(clip.to_json_string())
    generator = stored["media_references"]["DEFAULT_MEDIA"]
    assert generator["OTIO_SCHEMA"] == "GeneratorReference.1"
    assert generator["generator_kind"] == "milimo.shot"
    assert generator["parameters"]["milimo"] == {
        "version": 1,
        "request": {
            "animatic": {
                "width": 64,
                "height": 64,
                "scene_heading": "INT. TEST STAGE - DAY",
                "description": "A door opens.",
            }
        },
    }
    assert stored["metadata"] == {"milimo": {"shot_id": "s-0123456789abcdef"}}

    (found,) = find_placeholders(one_track(otio.schema.Clip.from_json_string(clip.to_json_string())), size=(96, 64))
    assert found.path == "tracks[0]/clip[0]" and found.shot_id == "s-0123456789abcdef"
    animatic = found.request.animatic
    assert (animatic.width, animatic.height, animatic.frames, animatic.fps.num, animatic.fps.den) == (64, 64, 12, 24, 1)
    assert animatic.description == "A door opens."


def test_the_clip_duration_sets_frames_and_the_timeline_rate_and_given_size_fill_gaps():
    request = animatic_request("x")
    request.animatic.frames = 99  # disagrees with the clip: the clip wins
    request.animatic.width = request.animatic.height = 0
    clip = conventions.make_placeholder("x", request, otio.opentime.RationalTime(48, 48))  # one second
    timeline = one_track(clip)
    timeline.global_start_time = otio.opentime.RationalTime(0, 30000 / 1001)
    (found,) = find_placeholders(timeline, size=(128, 96))
    a = found.request.animatic
    assert (a.frames, a.fps.num, a.fps.den, a.width, a.height) == (30, 30000, 1001, 128, 96)


def test_filling_keeps_the_generator_and_makes_the_file_the_default_media():
    clip = conventions.make_placeholder("Door", animatic_request("A door opens."), t(12))
    clip.source_range = span(5, 12)
    original = clip.media_reference.clone()
    conventions.fill(clip, "file:///out/door.mp4", {"job_id": "j-0123456789abcdef", "seed": 7})
    references = clip.media_references()
    assert set(references) == {"DEFAULT_MEDIA", "milimo.shot"}
    assert clip.active_media_reference_key == "DEFAULT_MEDIA"
    assert clip.media_reference.target_url == "file:///out/door.mp4"
    assert clip.media_reference.available_range == span(5, 12)  # the file starts where the clip's range does
    assert references["milimo.shot"].is_equivalent_to(original)
    assert conventions.is_placeholder(clip) and conventions.is_filled(clip)
    assert dict(clip.metadata["milimo"]) == {"job_id": "j-0123456789abcdef", "seed": 7}
    assert find_placeholders(one_track(clip)) == []
    assert clip.source_range == span(5, 12)


def bad_payload(value: object, *, raw: str | None = None) -> otio.schema.Timeline:
    generator = otio.schema.GeneratorReference(generator_kind="milimo.shot", parameters={"milimo": value})
    clip = otio.schema.Clip(name="Bad", media_reference=generator, source_range=span(0, 12))
    if raw is not None:
        clip.media_reference = otio.schema.MissingReference()
        clip.metadata["cmx_3600"] = {"comments": [f"MILIMO: {raw}"]}
    return one_track(media_clip("Fine", "file:///a.mov", 12), clip)


@pytest.mark.parametrize(
    ("timeline", "field", "rule"),
    [
        (bad_payload({}, raw='{"version": 1, "request": '), "EDL comment MILIMO:", "is not JSON"),
        (
            bad_payload({"version": 1, "request": {"render_cut": {"project_id": "p-0123456789abcdef"}}}),
            "milimo.request",
            "unknown request kind 'render_cut': a placeholder takes animatic or video",
        ),
        (bad_payload({"version": 2, "request": {"animatic": {}}}), "milimo.version", "must be 1 (got 2)"),
        (bad_payload({"version": 1, "request": {"animatic": {"frames": "many"}}}), "request.animatic", "frames"),
        (bad_payload({"version": 1}), "milimo.request", "must be an object with one request kind"),
    ],
)
def test_bad_placeholders_name_the_clip_and_the_field(timeline, field, rule):
    with pytest.raises(InvalidArgument) as caught:
        find_placeholders(timeline)
    assert caught.value.field.startswith("tracks[0]/clip[1] 'Bad'")
    assert field in caught.value.field and rule in caught.value.rule


def test_a_generator_without_a_request_and_a_clip_without_a_duration():
    bare = otio.schema.Clip(
        name="Bare",
        media_reference=otio.schema.GeneratorReference(generator_kind="milimo.shot"),
        source_range=span(0, 1),
    )
    with pytest.raises(InvalidArgument, match=r"tracks\[0\]/clip\[0\] 'Bare': parameters.milimo"):
        find_placeholders(one_track(bare))
    endless = conventions.make_placeholder("Endless", animatic_request("x"), t(12))
    endless.source_range = None
    with pytest.raises(InvalidArgument, match="source_range: a placeholder needs a source range"):
        find_placeholders(one_track(endless))
    too_long = conventions.make_placeholder("Long", animatic_request("x"), t(1001))
    with pytest.raises(InvalidArgument, match=r"must be 1 to 1000 frames at 24 fps \(got 1001\)"):
        find_placeholders(one_track(too_long))


def test_metadata_is_read_without_iterating_or_missing_into_otio_containers():
    clip = otio.schema.Clip(
        name="Take",
        metadata={"milimo": {"seed": 7, "tags": ["night", {"lens": 35}]}, "empty": {}},
        markers=[otio.schema.Marker(name="cue")],
    )
    assert sorted(conventions.keys_of(clip.metadata)) == ["empty", "milimo"]
    assert conventions.entry(clip.metadata, "cmx_3600", {}) == {}
    assert conventions.entry(clip.metadata, "absent") is None
    assert conventions.plain(conventions.entry(clip.metadata, "milimo")) == {"seed": 7, "tags": ["night", {"lens": 35}]}
    assert conventions.plain(clip.metadata) == {"milimo": {"seed": 7, "tags": ["night", {"lens": 35}]}, "empty": {}}
    assert [marker.name for marker in conventions.elements_of(clip.markers)] == ["cue"]
    assert conventions.elements_of(clip.metadata["milimo"]["tags"])[0] == "night"
    assert conventions.entry({"a": 1}, "a") == 1 and conventions.keys_of({}) == []  # plain dicts read the same


def test_only_animatic_and_video_requests_make_placeholders():
    with pytest.raises(InvalidArgument, match="animatic or video request"):
        conventions.make_placeholder("Still", jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest()), t(12))


def test_the_edl_form_survives_the_cmx_3600_adapter():
    placeholder = conventions.make_placeholder("Door", animatic_request("A door opens."), t(12))
    timeline = one_track(media_clip("Before", "file:///media/before.mov", 24), placeholder)
    text = formats.to_string(timeline, "cmx_3600")
    assert '* MILIMO: {"clip":"Door","request":{"animatic":' in text
    read = otio.adapters.read_from_string(text, "cmx_3600")  # the adapter alone, as any tool reads it
    (found,) = find_placeholders(read)
    assert found.clip.name == "Door" and found.request.animatic.description == "A door opens."
    assert found.request.animatic.frames == 12
    # Written again as it was read, the comment is kept once.
    again = otio.adapters.read_from_string(formats.to_string(read, "cmx_3600"), "cmx_3600")
    assert [c for c in again.tracks[0][1].metadata["cmx_3600"]["comments"] if c.startswith("MILIMO:")] == [
        f"MILIMO: {conventions.edl_comment(read.tracks[0][1])}"
    ]


def test_a_dissolve_does_not_hand_a_placeholder_to_the_next_clip_in_an_edl():
    placeholder = conventions.make_placeholder("Door", animatic_request("A door opens."), t(24))
    dissolve = otio.schema.Transition(in_offset=t(4), out_offset=t(4))
    timeline = one_track(placeholder, dissolve, media_clip("After", "file:///media/after.mov", 24))
    read = otio.adapters.read_from_string(formats.to_string(timeline, "cmx_3600"), "cmx_3600")
    after = next(clip for _, clip in clips(read) if clip.name == "After")
    assert any(c.startswith("MILIMO:") for c in after.metadata["cmx_3600"]["comments"])  # the adapter copied it
    assert [p.clip.name for p in find_placeholders(read)] == ["Door"]


def test_the_fcp_xml_form_survives_the_fcp_xml_adapter():
    timeline = rich_timeline()
    text = formats.to_string(timeline, "fcp_xml")
    assert "<effectid>milimo.shot</effectid>" in text and "<generatoritem" in text
    read = otio.adapters.read_from_string(text, "fcp_xml")
    # The fcp_xml reader reads a nested sequence as an empty stack (it looks for tracks directly under
    # <sequence>, not under its <media>), so the placeholder inside the nested stack is not there to find.
    expected = [(p.clip.name, p.request) for p in find_placeholders(timeline) if "/stack[" not in p.path]
    assert [(p.clip.name, p.request) for p in find_placeholders(read)] == expected
    assert [name for name, _ in expected] == ["Door opens", "Boat", "Street"]


@needs_shared_data
def test_a_placeholder_typed_into_a_real_edl():
    text = (SHARED_DATA / "edl" / "screening_example.edl").read_text()
    comment = '* MILIMO: {"version": 1, "request": {"animatic": {"description": "Replace the layout."}}}'
    text = text.replace("* FROM CLIP NAME:  ZZ100_503A (LAY1)", f"* FROM CLIP NAME:  ZZ100_503A (LAY1)\n{comment}")
    read = otio.adapters.read_from_string(text, "cmx_3600")
    (found,) = find_placeholders(read, size=(64, 64))
    assert found.clip.name == "ZZ100_503A (LAY1)" and found.path == "tracks[0]/clip[2]"
    assert found.request.animatic.frames == 28  # 00:59:56:20 to 00:59:58:00 at 24 fps
