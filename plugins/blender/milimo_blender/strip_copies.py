"""Movie and sound strips of a file that an import places many times, made by copying one strip of the file instead
of opening the file again for each.

Blender's `new_movie` and `new_sound` open the file to read its length and size: milliseconds each (more at larger
sizes and on a busy machine), and bpy 5.0 slows down further as opened movies pile up. A file used more than once is
opened once instead, for a template strip parked beyond the timeline's end, and every use is a piece of the template
split off with `Strip.split` (part of bpy's API in 4.2 and 5.x): the piece is the strip that `new_movie` or
`new_sound` and the same trims make, every property equal, except that a sound piece shares the template's sound
data-block (as Blender's own Duplicate does) and a movie piece may leave its file closed until Blender first draws
it. The templates are removed when the import ends.

Among thousands of strips, each split, move, trim or rename makes Blender walk all of them (0.1-0.3 ms a change at
2,000 strips, 2 ms a split), so a piece is made with as few changes as its clip allows:
- from the file's frame s >= 1 to at most its last: the right part of a split at s, trimmed on its right if need be;
- from the file's first frame to before its last: the left part of a split at its length; the right part is the
  template from then on;
- any other (frames held before the file's first or after its last, or the whole file): the right part of a split
  after the file's first frame, moved beyond the templates and trimmed there.
Then the piece is moved to its frame and the template extended back to the whole file. Blender pushes a strip that
would cover another to a free channel, so nothing is ever moved or extended onto another strip: the template waits
for the piece to leave, each channel has templates of its own (the first opened, the others split off it) so that
pieces never change channel, and the import places strips from left to right, so a piece's own frames are free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import bpy

from . import compat

COPIED_KINDS = ("MOVIE", "SOUND")
MARGIN = 1000  # frames between the timeline's last one and the first template
LAST_FRAME = 1_000_000  # templates and copies stay below Blender's last frame (1,048,574)
TEMPLATE_NAME = "Milimo import template"

Template = tuple[str, str, int]  # kind, path, channel


class StripCopier:
    """Copies the movie and sound strips of an import's shared files. Between slices of the import it holds its
    templates by name, never a reference to Blender data (the import runs over several ticks, and an undo meanwhile
    would leave it dangling); within a slice (`holding`) it keeps the references, sparing a lookup per copy."""

    def __init__(self, uses: Iterable[tuple[str, str]], end: int) -> None:
        """`uses`: the (kind, path) of every strip the import will place; `end`: the frame after its last one."""
        self.shared = {use for use, count in Counter(uses).items() if count > 1 and use[0] in COPIED_KINDS}
        self.templates: dict[Template, str] = {}
        self.cursor = end + MARGIN  # where the next template goes: every frame from here on is empty
        self._held: dict[Template, bpy.types.Strip] | None = None  # the templates, inside `holding` only

    @contextmanager
    def holding(self) -> Iterator[None]:
        """A slice of the import: copy only inside it. The references it keeps are dropped on leaving, before
        Blender can run anything else."""
        self._held = {}
        try:
            yield
        finally:
            self._held = None

    def copy(
        self,
        scene: bpy.types.Scene,
        kind: str,
        path: str,
        name: str,
        channel: int,
        start: int,
        source_start: int,
        duration: int,
    ) -> bpy.types.Strip | None:
        """A strip of `path` showing `duration` frames of it from `source_start`, from `start` on `channel`; None
        when the file is not copied (used once, or a single frame, which cannot be split: open it instead). Raises
        RuntimeError when Blender cannot open the file as `kind` (a sound where it was built without audio)."""
        if (kind, path) not in self.shared:
            return None
        key = (kind, path, channel)
        template = self._template(scene, key)
        if template is None:
            return None
        length = template.frame_duration
        if source_start >= 1 and source_start + duration <= length:
            piece = self._right_part(template, source_start, duration)
        elif source_start == 0 and duration < length:
            piece = self._left_part(key, template, duration)
        else:
            stage = self.cursor - min(0, source_start)  # room on the left for frames held before the file's first
            if max(stage + length, stage + source_start + duration) > LAST_FRAME:
                return None
            piece = self._staged_part(template, stage, source_start, duration)
        if piece is None:  # Blender would not split it: open the file for each strip instead
            self.shared.discard((kind, path))
            return None
        piece.frame_start = start - source_start
        self._restore(key)
        piece.name = name
        return piece

    def close(self, scene: bpy.types.Scene) -> None:
        """Remove the templates (the copies keep everything they need)."""
        strips = compat.top_strips(scene)
        for name in self.templates.values():
            if (template := compat.strip_named(scene, name)) is not None:
                strips.remove(template)
        self.templates.clear()

    def _right_part(self, template: bpy.types.Strip, source_start: int, duration: int) -> bpy.types.Strip | None:
        piece = template.split(frame=round(template.frame_start) + source_start, split_method="SOFT")
        if piece is not None and piece.frame_final_duration != duration:
            piece.frame_final_duration = duration
        return piece

    def _left_part(self, key: Template, template: bpy.types.Strip, duration: int) -> bpy.types.Strip | None:
        rest = template.split(frame=round(template.frame_start) + duration, split_method="SOFT")
        if rest is None:
            return None
        self._keep(key, rest)
        return template

    def _staged_part(
        self, template: bpy.types.Strip, stage: int, source_start: int, duration: int
    ) -> bpy.types.Strip | None:
        piece = template.split(frame=round(template.frame_start) + 1, split_method="SOFT")
        if piece is None:
            return None
        piece.frame_start = stage
        if piece.frame_offset_start != source_start:
            piece.frame_offset_start = source_start
        if piece.frame_final_duration != duration:
            piece.frame_final_duration = duration
        return piece

    def _restore(self, key: Template) -> None:
        """Extend the template back to the whole file, once what was split off it has left its side."""
        assert self._held is not None
        template = self._held[key]
        if template.frame_offset_start:
            template.frame_offset_start = 0
        if template.frame_offset_end:
            template.frame_offset_end = 0

    def _keep(self, key: Template, template: bpy.types.Strip) -> None:
        assert self._held is not None, "copy inside `with copier.holding():` only"
        self.templates[key] = template.name
        self._held[key] = template

    def _template(self, scene: bpy.types.Scene, key: Template) -> bpy.types.Strip | None:
        """The file's template on the channel: opened the first time, then split off the first for other channels."""
        assert self._held is not None, "copy inside `with copier.holding():` only"
        if (template := self._held.get(key)) is not None:
            return template
        if (name := self.templates.get(key)) and (template := compat.strip_named(scene, name)) is not None:
            self._held[key] = template
            return template
        if not self.templates:  # the scene may hold strips of its own beyond the import's
            ends = [strip.frame_final_end for strip in compat.top_strips(scene)]
            self.cursor = max([self.cursor, *(end + MARGIN for end in ends)])
        kind, path, channel = key
        sibling = next((self._template(scene, other) for other in self.templates if other[:2] == key[:2]), None)
        if sibling is not None:
            template = self._channel_copy(sibling, channel)
        else:
            strips = compat.top_strips(scene)
            new = strips.new_movie if kind == "MOVIE" else strips.new_sound
            template = new(name=TEMPLATE_NAME, filepath=path, channel=channel, frame_start=self.cursor)
        if template is None or template.frame_duration < 2 or self.cursor + template.frame_duration >= LAST_FRAME:
            if template is not None:
                compat.top_strips(scene).remove(template)
            self.shared.discard(key[:2])
            return None
        self._keep(key, template)
        self.cursor += template.frame_duration + 1
        return template

    def _channel_copy(self, sibling: bpy.types.Strip, channel: int) -> bpy.types.Strip | None:
        """A template for another channel, split off the file's first one: the frames beyond the timeline are free
        on every channel but those of the templates, and no two templates share a frame."""
        copy = sibling.split(frame=round(sibling.frame_start) + 1, split_method="SOFT")
        if copy is None:
            return None
        copy.channel = channel
        sibling.frame_offset_end = 0
        copy.frame_start = self.cursor
        copy.frame_offset_start = 0
        return copy
