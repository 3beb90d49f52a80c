"""How a placeholder survives formats without generator parameters: CMX 3600 EDL and FCP 7 XML.

- EDL: the event carries a comment line `* MILIMO: {"clip":…,"request":…,"version":1}` (`clip` is the clip's
  name: see conventions.edl_comment for why). The cmx_3600 adapter keeps
  comments it does not know in `metadata["cmx_3600"]["comments"]` and writes them back verbatim, so the
  line survives a read and a write; the comment stays after filling (next to `* FROM CLIP: file`), so a
  filled shot can still be made again. Placeholders get the reel `AX` (a file with no tape) unless they
  have one, so the reel does not change when the media does.
- FCP 7 XML: the clip becomes a `<generatoritem>` whose generator effect has the effect id `milimo.shot`
  and a parameter `milimo` whose value is the JSON. The fcp_xml adapter reads the effect into a
  GeneratorReference (kind `milimo.shot`, the effect's elements in its metadata) and writes it back from
  that metadata. Once filled, the clip is a plain `<clipitem>` pointing at the file.

Both functions change a copy that is about to be written; the timeline in memory keeps the OTIO form.
"""

from __future__ import annotations

import opentimelineio as otio

from milimo.otio import conventions
from milimo.otio.tree import clips

EDL_REEL = "AX"
FCP_EFFECT = {"effecttype": "generator", "mediatype": "video", "effectcategory": "Milimo"}


def to_edl_form(timeline: otio.schema.Timeline) -> None:
    """Give every placeholder (filled or not) its `* MILIMO:` comment, naming the clip, and a reel of its own;
    drop comments that a dissolve copied from another clip (see conventions.edl_comment)."""
    for path, clip in clips(timeline):
        edl = dict(conventions.plain(clip.metadata.get("cmx_3600", {})))
        kept = [comment for comment in edl.get("comments", []) if not _foreign(comment, clip.name)]
        placeholder = conventions.is_placeholder(clip)
        if not placeholder and len(kept) == len(edl.get("comments", [])):
            continue
        if placeholder:
            edl.setdefault("reel", EDL_REEL)
            if not any(_milimo(comment) for comment in kept):
                value = {**conventions.payload_of(clip, f"{path} {clip.name!r}"), "clip": clip.name}
                kept.append(f"{conventions.EDL_COMMENT_PREFIX} {conventions.payload_text(value)}")
        edl["comments"] = kept
        clip.metadata["cmx_3600"] = edl


def _milimo(comment: object) -> bool:
    return isinstance(comment, str) and comment.startswith(conventions.EDL_COMMENT_PREFIX)


def _foreign(comment: object, name: str) -> bool:
    if not _milimo(comment):
        return False
    owner = conventions.edl_comment_owner(comment[len(conventions.EDL_COMMENT_PREFIX) :].strip())
    return owner is not None and owner != name


def to_fcp_form(timeline: otio.schema.Timeline) -> None:
    """Make every unfilled placeholder's generator an FCP generator effect carrying its JSON as a parameter."""
    for _, clip in clips(timeline):
        generator = clip.media_reference
        if not isinstance(generator, otio.schema.GeneratorReference):
            continue
        if generator.generator_kind != conventions.GENERATOR_KIND or "fcp_xml" in generator.metadata:
            continue
        text = conventions.payload_text(generator.parameters.get(conventions.NAMESPACE, {}))
        parameter = {"parameterid": conventions.FCP_PARAMETER_ID, "name": "Milimo request", "value": text}
        generator.metadata["fcp_xml"] = {**FCP_EFFECT, "parameter": parameter}
