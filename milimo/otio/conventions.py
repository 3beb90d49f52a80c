"""The placeholder convention: how a shot still to be generated is written in OpenTimelineIO.

A placeholder is a clip whose media is a `GeneratorReference` of kind `milimo.shot`. Its parameters hold
`{"milimo": {"version": 1, "request": <a milimo.v1.JobRequest in proto3 JSON>}}`; the request is an
`animatic` or a `video` one. The clip's `metadata["milimo"]` holds bookkeeping: `shot_id` and `project_id`
when the shot belongs to a project, and after filling `job_id`, `asset_id`, `kind`, `seed` (and `model`).

The clip's duration decides the frame count: whatever `frames` the request says, the generated clip has as
many frames as the clip lasts at the timeline's rate, so the edit never moves. A request without a size or
frame rate takes the size given to `milimo fill` and the timeline's rate.

Filling a placeholder keeps it regenerable: the clip's media references become
`{DEFAULT_MEDIA: ExternalReference(file URL), "milimo.shot": the generator}` with DEFAULT_MEDIA active, so
editors import the file and Milimo still finds the request.

EDL and FCP 7 XML have no generator parameters; `carriers.py` says how a placeholder survives them, and
`payload_of` below reads all three forms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import opentimelineio as otio
from google.protobuf import json_format

from milimo.errors import InvalidArgument
from milimo.v1 import common_pb2, jobs_pb2

GENERATOR_KIND = "milimo.shot"
NAMESPACE = "milimo"  # the key of Milimo's metadata and generator parameters
VERSION = 1
SHOT_MEDIA_KEY = "milimo.shot"  # where a filled clip keeps its generator among its media references
SHOT_KINDS = ("animatic", "video")  # request kinds that make a clip of a given length
SHOT_FRAMES_MAX = 1000  # the longest shot a placeholder (or a Resolve shot) may ask for
FILL_KEYS = frozenset({"job_id", "asset_id", "kind", "seed", "model"})  # what filling adds to metadata["milimo"]
EDL_COMMENT_PREFIX = "MILIMO:"  # an EDL comment line `* MILIMO: {json}` (see carriers.py)
FCP_PARAMETER_ID = "milimo"  # the FCP XML generator parameter holding the JSON (see carriers.py)


# ---- writing --------------------------------------------------------------------------------------


def request_json(request: jobs_pb2.JobRequest) -> dict[str, Any]:
    """A request in proto3 JSON, with the .proto's own field names (`scene_heading`, not `sceneHeading`)."""
    return json_format.MessageToDict(request, preserving_proto_field_name=True)


def payload(request: jobs_pb2.JobRequest) -> dict[str, Any]:
    return {"version": VERSION, "request": request_json(request)}


def payload_text(value: Mapping[str, Any]) -> str:
    """The payload as one line of JSON (EDL comments and XML values hold it as text)."""
    return json.dumps(plain(value), separators=(",", ":"), sort_keys=True)


def placeholder_reference(request: jobs_pb2.JobRequest) -> otio.schema.GeneratorReference:
    return otio.schema.GeneratorReference(
        name="Milimo shot", generator_kind=GENERATOR_KIND, parameters={NAMESPACE: payload(request)}
    )


def make_placeholder(
    name: str,
    request: jobs_pb2.JobRequest,
    duration: otio.opentime.RationalTime,
    *,
    bookkeeping: Mapping[str, Any] | None = None,
) -> otio.schema.Clip:
    """A placeholder clip lasting `duration` (its source range starts at 0, where the generated file will)."""
    kind = request.WhichOneof("kind")
    if kind not in SHOT_KINDS:
        raise InvalidArgument("request", f"a placeholder takes an animatic or video request (got {kind or 'none'})")
    return otio.schema.Clip(
        name=name,
        media_reference=placeholder_reference(request),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, duration.rate), duration),
        metadata={NAMESPACE: dict(bookkeeping or {})},
    )


# ---- reading --------------------------------------------------------------------------------------


def milimo_generator(clip: otio.schema.Clip) -> otio.schema.GeneratorReference | None:
    """The clip's `milimo.shot` generator: its active media, or the one a filled clip keeps aside."""
    active = clip.media_reference
    if _is_milimo_generator(active):
        return active
    kept = clip.media_references().get(SHOT_MEDIA_KEY)
    return kept if _is_milimo_generator(kept) else None


def edl_comment(clip: otio.schema.Clip) -> str | None:
    """The JSON after `MILIMO:` of the clip's own EDL comment, if it has one.

    The cmx_3600 adapter repeats a dissolve's outgoing clip's comments in the dissolve's event and reads them
    onto the incoming clip, so a comment naming another clip (`"clip": …`) is not this clip's."""
    for comment in elements_of(entry(entry(clip.metadata, "cmx_3600", {}), "comments", [])):
        if isinstance(comment, str) and comment.startswith(EDL_COMMENT_PREFIX):
            text = comment[len(EDL_COMMENT_PREFIX) :].strip()
            if edl_comment_owner(text) in (None, clip.name):
                return text
    return None


def edl_comment_owner(text: str) -> str | None:
    """The clip an EDL comment's JSON names, if it names one (unreadable JSON names none)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    owner = value.get("clip") if isinstance(value, dict) else None
    return owner if isinstance(owner, str) else None


def is_placeholder(clip: otio.schema.Clip) -> bool:
    """Whether the clip carries a Milimo request in any form, filled or not (no validation)."""
    return milimo_generator(clip) is not None or edl_comment(clip) is not None


def is_filled(clip: otio.schema.Clip) -> bool:
    """A placeholder is filled once its active media is a file rather than the generator or nothing."""
    return not isinstance(clip.media_reference, otio.schema.GeneratorReference | otio.schema.MissingReference)


def payload_of(clip: otio.schema.Clip, where: str) -> dict[str, Any] | None:
    """The clip's `{"version", "request"}` payload in whichever form it was written, or None when the clip is
    no placeholder. A clip marked as one whose payload is missing or not JSON is an error naming `where`."""
    generator = milimo_generator(clip)
    if generator is not None:
        found = entry(generator.parameters, NAMESPACE)
        if found is not None:
            value = plain(found)
            if not isinstance(value, dict):
                raise InvalidArgument(f"{where}: parameters.{NAMESPACE}", "must be an object with version and request")
            return value
        text = _fcp_parameter(generator)
        if text is None:
            raise InvalidArgument(
                f"{where}: parameters.{NAMESPACE}",
                f"a {GENERATOR_KIND} generator needs its request in parameters.{NAMESPACE} "
                f"(or an FCP XML parameter {FCP_PARAMETER_ID!r})",
            )
        return _parse_json(text, f"{where}: FCP XML parameter {FCP_PARAMETER_ID!r}")
    text = edl_comment(clip)
    if text is not None:
        return _parse_json(text, f"{where}: EDL comment {EDL_COMMENT_PREFIX}")
    return None


def request_of(value: Mapping[str, Any], where: str) -> jobs_pb2.JobRequest:
    """The JobRequest of a payload, checked: a known version and an animatic or video request."""
    if value.get("version") != VERSION:
        raise InvalidArgument(f"{where}.version", f"must be {VERSION} (got {value.get('version')!r})")
    body = value.get("request")
    if not isinstance(body, dict) or len(body) != 1:
        raise InvalidArgument(f"{where}.request", "must be an object with one request kind, e.g. {'animatic': {...}}")
    kind = next(iter(body))
    if kind not in SHOT_KINDS:
        raise InvalidArgument(
            f"{where}.request", f"unknown request kind {kind!r}: a placeholder takes {' or '.join(SHOT_KINDS)}"
        )
    try:
        return json_format.ParseDict(body, jobs_pb2.JobRequest())
    except json_format.ParseError as error:
        raise InvalidArgument(f"{where}.request.{kind}", str(error)) from None


@dataclass(frozen=True)
class ShotFrames:
    """How long a placeholder's clip lasts, in frames at the timeline's rate."""

    frames: int
    rate: float


def checked_frames(frames: int, rate: float, field: str) -> ShotFrames:
    """A shot's length, checked against the rule every Milimo clip keeps: 1 to SHOT_FRAMES_MAX frames."""
    if not 1 <= frames <= SHOT_FRAMES_MAX:
        raise InvalidArgument(field, f"must be 1 to {SHOT_FRAMES_MAX} frames at {rate:g} fps (got {frames})")
    return ShotFrames(frames, rate)


def shot_frames(clip: otio.schema.Clip, rate: float, where: str) -> ShotFrames:
    """The clip's duration in whole frames at `rate`: the frame count of what fills it."""
    if clip.source_range is None:
        raise InvalidArgument(f"{where}: source_range", "a placeholder needs a source range (its duration)")
    frames = round(clip.source_range.duration.rescaled_to(rate).value)
    return checked_frames(frames, rate, f"{where}: source_range.duration")


def completed_request(
    request: jobs_pb2.JobRequest, frames: ShotFrames, *, width: int, height: int
) -> jobs_pb2.JobRequest:
    """The request as it is submitted: the clip's frame count always, the timeline's rate and the given size
    where the request leaves them unset."""
    done = jobs_pb2.JobRequest()
    done.CopyFrom(request)
    shot = getattr(done, done.WhichOneof("kind"))
    shot.frames = frames.frames
    if not shot.fps.num:
        shot.fps.CopyFrom(rational(frames.rate))
    if not shot.width and not shot.height:
        shot.width, shot.height = width, height
    return done


def rational(rate: float) -> common_pb2.Rational:
    """An OTIO frame rate as an exact fraction: 24 → 24/1, 23.976… → 24000/1001."""
    fraction = Fraction(rate).limit_denominator(1001)
    return common_pb2.Rational(num=fraction.numerator, den=fraction.denominator)


# ---- filling --------------------------------------------------------------------------------------


def fill(clip: otio.schema.Clip, url: str, bookkeeping: Mapping[str, Any]) -> None:
    """Point a placeholder at its generated file, keeping the generator aside so it can be made again.

    The file starts where the clip's source range starts (its available range says so), so the clip's own
    range, which the edit depends on, stays exactly as it was.
    """
    generator = milimo_generator(clip)
    if generator is None or NAMESPACE not in generator.parameters:
        # An EDL or FCP XML placeholder: keep its request in the OTIO form too.
        found = payload_of(clip, clip.name)
        assert found is not None, "fill() is only called on placeholders"
        kept = {key: value for key, value in found.items() if key != "clip"}  # `clip` only matters in an EDL
        generator = otio.schema.GeneratorReference(
            name="Milimo shot", generator_kind=GENERATOR_KIND, parameters={NAMESPACE: kept}
        )
    else:
        generator = generator.clone()
    media = otio.schema.ExternalReference(target_url=url, available_range=clip.source_range)
    clip.set_media_references({clip.DEFAULT_MEDIA_KEY: media, SHOT_MEDIA_KEY: generator}, clip.DEFAULT_MEDIA_KEY)
    notes = plain(entry(clip.metadata, NAMESPACE, {}))
    clip.metadata[NAMESPACE] = {**(notes if isinstance(notes, dict) else {}), **bookkeeping}


# ---- helpers --------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """OTIO's metadata containers (AnyDictionary, AnyVector) as plain dicts and lists, recursively."""
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if isinstance(value, otio.core.SerializableObject):
        return json.loads(value.to_json_string())
    if hasattr(value, "items"):
        return {key: plain(value[key]) for key in keys_of(value)}
    if isinstance(value, otio.opentime.RationalTime | otio.opentime.TimeRange | otio.opentime.TimeTransform):
        return value
    return [plain(item) for item in elements_of(value)]


def entry(mapping: Any, key: str, default: Any = None) -> Any:
    """`mapping[key]`, or `default` where it has no such key: for OTIO metadata and parameters as for dicts."""
    return mapping[key] if key in keys_of(mapping) else default


def keys_of(mapping: Any) -> list[Any]:
    """A mapping's keys, read by count. OTIO's AnyDictionary raises, and its binding catches, a C++ exception at
    the end of every iteration and for every missing key in `in` or `get`: about 13 µs each, a third of the time
    Blender's import took to plan a 2,000-clip timeline."""
    found = iter(mapping)
    return [next(found) for _ in range(len(mapping))]


def elements_of(sequence: Any) -> list[Any]:
    """A sequence's items, read by index: iterating OTIO's vectors (AnyVector, a clip's markers) to their end
    raises and catches a C++ exception too."""
    return [sequence[index] for index in range(len(sequence))]


def _is_milimo_generator(reference: object) -> bool:
    return isinstance(reference, otio.schema.GeneratorReference) and reference.generator_kind == GENERATOR_KIND


def _fcp_parameter(generator: otio.schema.GeneratorReference) -> str | None:
    """The value of the FCP XML generator parameter `milimo`, as the fcp_xml adapter reads it into metadata."""
    parameters = plain(entry(generator.metadata, "fcp_xml", {})).get("parameter", [])
    for parameter in parameters if isinstance(parameters, list) else [parameters]:
        if isinstance(parameter, dict) and parameter.get("parameterid") == FCP_PARAMETER_ID:
            return parameter.get("value")
    return None


def _parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidArgument(where, f"is not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(value, dict):
        raise InvalidArgument(where, "must be a JSON object with version and request")
    return value
