"""Item-by-item comparison of two timelines, for checking that an edit changed only what it meant to.

Both trees are walked in parallel (tracks, nested stacks, clips, gaps, transitions); for each pair the kind,
name, enabled flag, colour, ranges, effects, markers, metadata and media references are compared, and each
difference is one readable line naming the item: `tracks[1]/clip[3] 'ZZ100_504C': markers differ: …`.

Placeholders (clips carrying a Milimo request, see conventions.py) are compared like any clip except for
their media references, which filling replaces, and the fill bookkeeping in `metadata["milimo"]`.
"""

from __future__ import annotations

from typing import Any

import opentimelineio as otio

from milimo.otio import conventions
from milimo.otio.tree import segment


def compare(expected: otio.schema.Timeline, actual: otio.schema.Timeline) -> list[str]:
    """Every difference between the two timelines; empty when they are the same item for item."""
    differences: list[str] = []
    found = []
    if expected.name != actual.name:
        found.append(f"name {expected.name!r} → {actual.name!r}")
    if expected.global_start_time != actual.global_start_time:
        found.append(f"global_start_time {_time(expected.global_start_time)} → {_time(actual.global_start_time)}")
    found += _metadata(expected.metadata, actual.metadata)
    differences += [f"timeline: {line}" for line in found]
    _item("tracks", expected.tracks, actual.tracks, differences, top=True)
    return differences


def _item(path: str, a: Any, b: Any, out: list[str], *, top: bool = False) -> None:
    label = f"{path} {a.name!r}" if a.name else path
    if a.schema_name() != b.schema_name():
        out.append(f"{label}: was a {a.schema_name()}, is a {b.schema_name()}")
        return
    found = []
    if a.name != b.name:
        found.append(f"name {a.name!r} → {b.name!r}")
    if isinstance(a, otio.schema.Transition):
        found += _transition(a, b)
    else:
        found += _composable(a, b)
    placeholder = isinstance(a, otio.schema.Clip) and conventions.is_placeholder(a)
    found += _metadata(a.metadata, b.metadata, placeholder=placeholder)
    if isinstance(a, otio.schema.Track) and a.kind != b.kind:
        found.append(f"kind {a.kind} → {b.kind}")
    if isinstance(a, otio.schema.Clip) and not placeholder:
        found += _media(a, b)
    out += [f"{label}: {line}" for line in found]
    if isinstance(a, otio.core.Composition):
        _children(path, label, a, b, out, top=top)


def _children(
    path: str, label: str, a: otio.core.Composition, b: otio.core.Composition, out: list[str], *, top: bool
) -> None:
    if len(a) != len(b):
        out.append(f"{label}: {len(a)} children → {len(b)}")
    for index, (left, right) in enumerate(zip(a, b, strict=False)):
        here = f"tracks[{index}]" if top else f"{path}/{segment(left, index)}"
        _item(here, left, right, out)


def _composable(a: Any, b: Any) -> list[str]:
    found = []
    if a.enabled != b.enabled:
        found.append(f"enabled {a.enabled} → {b.enabled}")
    if a.source_range != b.source_range:
        found.append(f"source_range {_range(a.source_range)} → {_range(b.source_range)}")
    if _colour(a.color) != _colour(b.color):
        found.append(f"colour {_colour(a.color)} → {_colour(b.color)}")
    if not _same_list(a.effects, b.effects):
        found.append(f"effects differ: {_effects(a.effects)} → {_effects(b.effects)}")
    if not _same_list(a.markers, b.markers):
        found.append(f"markers differ: {_markers(a.markers)} → {_markers(b.markers)}")
    return found


def _transition(a: otio.schema.Transition, b: otio.schema.Transition) -> list[str]:
    found = []
    if a.transition_type != b.transition_type:
        found.append(f"transition_type {a.transition_type!r} → {b.transition_type!r}")
    if a.in_offset != b.in_offset or a.out_offset != b.out_offset:
        found.append(f"offsets {_time(a.in_offset)}/{_time(a.out_offset)} → {_time(b.in_offset)}/{_time(b.out_offset)}")
    return found


def _media(a: otio.schema.Clip, b: otio.schema.Clip) -> list[str]:
    left, right = a.media_references(), b.media_references()
    if a.active_media_reference_key != b.active_media_reference_key:
        return [f"active media {a.active_media_reference_key!r} → {b.active_media_reference_key!r}"]
    if left.keys() != right.keys():
        return [f"media reference keys {sorted(left)} → {sorted(right)}"]
    return [
        f"media reference {key!r} differs: {_reference(left[key])} → {_reference(right[key])}"
        for key in left
        if not left[key].is_equivalent_to(right[key]) and _without_file_id(left[key]) != _without_file_id(right[key])
    ]


def _without_file_id(reference: Any) -> dict[str, Any]:
    """A media reference as JSON, less the `<file id>` the fcp_xml adapter read: it numbers files in the order
    it writes them, so filling one placeholder renumbers every file after it."""
    value = conventions.plain(reference)
    value.get("metadata", {}).get("fcp_xml", {}).pop("@id", None)
    return value


def _metadata(a: Any, b: Any, *, placeholder: bool = False) -> list[str]:
    if not len(a) and not len(b):  # the common case, without converting anything
        return []
    left, right = conventions.plain(a), conventions.plain(b)
    if placeholder:
        left, right = _without_fill_keys(left), _without_fill_keys(right)
    if left == right:
        return []
    keys = sorted({*left, *right}, key=str)
    return [f"metadata differs under {key!r}" for key in keys if left.get(key) != right.get(key)]


def _without_fill_keys(metadata: dict[str, Any]) -> dict[str, Any]:
    notes = metadata.get(conventions.NAMESPACE)
    if not isinstance(notes, dict):
        return metadata
    kept = {key: value for key, value in notes.items() if key not in conventions.FILL_KEYS}
    rest = {key: value for key, value in metadata.items() if key != conventions.NAMESPACE}
    return {**rest, conventions.NAMESPACE: kept} if kept else rest


def _same_list(left: Any, right: Any) -> bool:
    if len(left) != len(right):
        return False
    return not len(left) or all(x.is_equivalent_to(y) for x, y in zip(left, right, strict=True))


def _effects(effects: Any) -> str:
    return "[" + ", ".join(f"{e.effect_name or e.schema_name()} {e.name!r}" for e in effects) + "]"


def _markers(markers: Any) -> str:
    return "[" + ", ".join(f"{m.name!r} {m.color} at {_range(m.marked_range)}" for m in markers) + "]"


def _reference(reference: Any) -> str:
    target = getattr(reference, "target_url", None) or getattr(reference, "generator_kind", None) or ""
    return f"{reference.schema_name()} {target}".strip()


def _colour(colour: Any) -> tuple | None:
    return None if colour is None else (colour.name, colour.r, colour.g, colour.b, colour.a)


def _time(time: otio.opentime.RationalTime | None) -> str:
    return "none" if time is None else f"{time.value:g}@{time.rate:g}"


def _range(span: otio.opentime.TimeRange | None) -> str:
    return "none" if span is None else f"{_time(span.start_time)}+{span.duration.value:g}"
