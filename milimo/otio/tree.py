"""Walking a timeline's tree with a readable path for each item: `tracks[1]/clip[3]`, `tracks[0]/stack[2]/track[0]`.

The index in a path is the item's position among its parent's children (gaps and transitions count), so a
path names one item of one timeline exactly; the word before it says what the item is.
"""

from __future__ import annotations

from collections.abc import Iterator

import opentimelineio as otio


def segment(item: otio.core.SerializableObject, index: int) -> str:
    return f"{item.schema_name().lower()}[{index}]"


def walk(timeline: otio.schema.Timeline) -> Iterator[tuple[str, otio.core.Composable]]:
    """Every item under the timeline's top stack, depth first in timeline order, with its path."""
    for index, track in enumerate(timeline.tracks):
        path = f"tracks[{index}]"
        yield path, track
        yield from _children(track, path)


def _children(composition: otio.core.Composition, path: str) -> Iterator[tuple[str, otio.core.Composable]]:
    for index, child in enumerate(composition):
        here = f"{path}/{segment(child, index)}"
        yield here, child
        if isinstance(child, otio.core.Composition):
            yield from _children(child, here)


def clips(timeline: otio.schema.Timeline) -> Iterator[tuple[str, otio.schema.Clip]]:
    for path, item in walk(timeline):
        if isinstance(item, otio.schema.Clip):
            yield path, item


def timeline_rate(timeline: otio.schema.Timeline) -> float:
    """The timeline's frame rate: its start time's, else its first clip's, else 24 (the EDL convention)."""
    if timeline.global_start_time is not None:
        return timeline.global_start_time.rate
    for _, clip in clips(timeline):
        if clip.source_range is not None:
            return clip.source_range.duration.rate
    return 24.0
