"""Movie and sound strips of a file that an import places many times, made by copying one strip of the file instead
of opening the file again for each.

Blender's `new_movie` and `new_sound` open the file to read its length and size: milliseconds each (more at larger
sizes and on a busy machine), and bpy 5.0 slows down further as opened movies pile up. A file used more than once is
opened once instead, for a template strip parked beyond the timeline's end, and every use is a copy of the template
made with `Strip.split` (part of bpy's API in 4.2 and 5.x): the copy is the strip that `new_movie` or `new_sound` and
the same trims make, every property equal, except that a sound copy shares the template's sound data-block (as
Blender's own Duplicate does) and a movie copy leaves its file closed until Blender first draws it. The templates are
removed when the import ends.

Blender pushes a strip that would cover another to a free channel, so a copy is trimmed and moved only where nothing
is (the frames beyond the templates), and then to its frame, which the import keeps free: it places strips from left
to right.
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
TEMPLATE_CHANNEL = 1
TEMPLATE_NAME = "Milimo import template"


class StripCopier:
    """Copies the movie and sound strips of an import's shared files. Between slices of the import it holds its
    templates by name, never a reference to Blender data (the import runs over several ticks, and an undo meanwhile
    would leave it dangling); within a slice (`holding`) it keeps the references, sparing a lookup per copy."""

    def __init__(self, uses: Iterable[tuple[str, str]], end: int) -> None:
        """`uses`: the (kind, path) of every strip the import will place; `end`: the frame after its last one."""
        self.shared = {use for use, count in Counter(uses).items() if count > 1 and use[0] in COPIED_KINDS}
        self.templates: dict[tuple[str, str], str] = {}
        self.cursor = end + MARGIN  # where the next template goes: every frame from here on is empty
        self._held: dict[tuple[str, str], bpy.types.Strip] | None = None  # the templates, inside `holding` only

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
        template = self._template(scene, (kind, path))
        if template is None:
            return None
        stage = self.cursor - min(0, source_start)  # room on the left for frames held before the file's first
        if max(stage + template.frame_duration, stage + source_start + duration) > LAST_FRAME:
            return None
        copy = template.split(frame=round(template.frame_start) + 1, split_method="SOFT")
        if copy is None:
            self.shared.discard((kind, path))
            return None
        copy.frame_start = stage  # the copy (all but the template's first frame) out of the template's way
        template.frame_offset_end = 0
        if copy.frame_offset_start != source_start:
            copy.frame_offset_start = source_start
        if copy.frame_final_duration != duration:
            copy.frame_final_duration = duration
        copy.channel = channel
        copy.frame_start = start - source_start
        copy.name = name
        return copy

    def close(self, scene: bpy.types.Scene) -> None:
        """Remove the templates (the copies keep everything they need)."""
        strips = compat.top_strips(scene)
        for name in self.templates.values():
            if (template := compat.strip_named(scene, name)) is not None:
                strips.remove(template)
        self.templates.clear()

    def _template(self, scene: bpy.types.Scene, key: tuple[str, str]) -> bpy.types.Strip | None:
        """The file's template, opened the first time."""
        assert self._held is not None, "copy inside `with copier.holding():` only"
        if (template := self._held.get(key)) is not None:
            return template
        if (name := self.templates.get(key)) and (template := compat.strip_named(scene, name)) is not None:
            self._held[key] = template
            return template
        if not self.templates:  # the scene may hold strips of its own beyond the import's
            ends = [strip.frame_final_end for strip in compat.top_strips(scene)]
            self.cursor = max([self.cursor, *(end + MARGIN for end in ends)])
        kind, path = key
        strips = compat.top_strips(scene)
        new = strips.new_movie if kind == "MOVIE" else strips.new_sound
        template = new(name=TEMPLATE_NAME, filepath=path, channel=TEMPLATE_CHANNEL, frame_start=self.cursor)
        if template.frame_duration < 2 or self.cursor + template.frame_duration >= LAST_FRAME:
            strips.remove(template)
            self.shared.discard(key)
            return None
        self.templates[key] = template.name
        self._held[key] = template
        self.cursor += template.frame_duration + 1
        return template
