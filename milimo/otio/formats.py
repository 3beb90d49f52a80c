"""Reading and writing timelines by file suffix: .otio, CMX 3600 .edl, FCP 7 XML .xml/.fcpxml.

EDL and FCP XML come through opentimelineio-plugins. Writing goes through a copy (the cmx_3600 writer edits
the tracks it is given) in which placeholders take their EDL or FCP XML form (carriers.py), to a temporary
file renamed over the target, so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio

from milimo.errors import InvalidArgument
from milimo.otio import carriers

ADAPTERS = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml", ".fcpxml": "fcp_xml"}
EDL_RATE = 24.0  # an EDL does not say its rate; the cmx_3600 adapter's default


def adapter_for(path: Path, field: str) -> str:
    adapter = ADAPTERS.get(path.suffix.lower())
    if adapter is None:
        known = ", ".join(ADAPTERS)
        raise InvalidArgument(field, f"{path.name}: unknown timeline format {path.suffix!r} (use one of {known})")
    return adapter


def output_adapter(path: Path, field: str) -> str:
    """The adapter a timeline is written to `path` with, once the folder it goes in is known to exist."""
    adapter = adapter_for(path, field)
    if not path.parent.is_dir():
        raise InvalidArgument(field, f"no folder {path.parent} to write {path.name} in")
    return adapter


def read_timeline(path: Path, *, field: str = "INPUT", edl_rate: float = EDL_RATE) -> otio.schema.Timeline:
    adapter = adapter_for(path, field)
    if not path.is_file():
        raise InvalidArgument(field, f"no file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidArgument(field, f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    return from_string(text, adapter, field=field, source=path.name, edl_rate=edl_rate)


def from_string(
    text: str, adapter: str, *, field: str, source: str, edl_rate: float = EDL_RATE
) -> otio.schema.Timeline:
    options = {"rate": edl_rate} if adapter == "cmx_3600" else {}
    try:
        read = otio.adapters.read_from_string(text, adapter_name=adapter, **options)
    except Exception as error:  # the adapters raise anything from XML errors to their own exception types
        raise InvalidArgument(field, f"{source} is not a readable {adapter} timeline: {error}") from None
    if isinstance(read, otio.schema.SerializableCollection):  # FCP XML with several sequences
        timelines = list(read.find_children(descended_from_type=otio.schema.Timeline, shallow_search=True))
        if len(timelines) != 1:
            raise InvalidArgument(field, f"{source} holds {len(timelines)} sequences; give a file with one")
        read = timelines[0]
    if not isinstance(read, otio.schema.Timeline):
        raise InvalidArgument(field, f"{source} holds a {read.schema_name()}, not a timeline")
    return read


def to_string(timeline: otio.schema.Timeline, adapter: str, *, field: str = "OUTPUT") -> str:
    """The timeline in a format, placeholders in that format's form; the timeline itself is not changed."""
    if adapter == "otio_json":
        return otio.adapters.write_to_string(timeline, adapter_name=adapter)
    copy = timeline.deepcopy()
    if adapter == "cmx_3600":
        carriers.to_edl_form(copy)
    elif adapter == "fcp_xml":
        carriers.to_fcp_form(copy)
    try:
        return otio.adapters.write_to_string(copy, adapter_name=adapter)
    except Exception as error:  # NotSupportedError, or whatever an adapter trips over (a clip without a range…)
        raise InvalidArgument(field, f"the {adapter} adapter cannot write this timeline: {error!r}") from None


def write_timeline(timeline: otio.schema.Timeline, path: Path, *, field: str = "OUTPUT") -> None:
    text = to_string(timeline, output_adapter(path, field), field=field)
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def round_trip(timeline: otio.schema.Timeline, adapter: str, *, edl_rate: float = EDL_RATE) -> otio.schema.Timeline:
    """What the format keeps of the timeline: written and read back (OTIO itself keeps everything)."""
    if adapter == "otio_json":
        return timeline.deepcopy()
    text = to_string(timeline, adapter)
    return from_string(text, adapter, field="OUTPUT", source=f"the timeline as {adapter}", edl_rate=edl_rate)
