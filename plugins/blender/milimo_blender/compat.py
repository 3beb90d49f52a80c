"""One place for the Blender API differences between 4.2 LTS and 5.x.

- 4.4 renamed the sequencer's `sequences` / `sequences_all` to `strips` / `strips_all`; 5.0 removed the old names.
- 5.0's `new_effect` takes `length=` where earlier releases take `frame_end=` (and `seq1` became `input1`).
- 5.0 added `context.sequencer_scene`: the scene the sequencer shows, which may differ from the window's scene.

Features are detected, never inferred from version numbers, so point releases that backport a change work too.
"""

from __future__ import annotations

import bpy


def sequencer_scene(context: bpy.types.Context) -> bpy.types.Scene:
    return getattr(context, "sequencer_scene", None) or context.scene


def editor(scene: bpy.types.Scene) -> bpy.types.SequenceEditor:
    """The scene's sequence editor, created when the scene has none yet."""
    return scene.sequence_editor or scene.sequence_editor_create()


def top_strips(scene: bpy.types.Scene):  # noqa: ANN201 - bpy_prop_collection of strips
    """The top-level strips (not inside meta strips); the collection that has the `new_*` functions."""
    ed = editor(scene)
    return ed.strips if hasattr(ed, "strips") else ed.sequences


def all_strips(scene: bpy.types.Scene) -> list:
    ed = scene.sequence_editor
    if ed is None:
        return []
    return list(ed.strips_all if hasattr(ed, "strips_all") else ed.sequences_all)


def strip_named(scene: bpy.types.Scene, name: str):  # noqa: ANN201 - a Strip or None
    """The strip called `name` (at any level): a hashed lookup, where `top_strips(scene).get` reads every strip."""
    ed = scene.sequence_editor
    if ed is None:
        return None
    return (ed.strips_all if hasattr(ed, "strips_all") else ed.sequences_all).get(name)


def new_effect(scene: bpy.types.Scene, name: str, kind: str, channel: int, frame_start: int, length: int):  # noqa: ANN201
    """A COLOR, TEXT or other generator strip covering `length` frames from `frame_start`."""
    strips = top_strips(scene)
    if "length=" in (strips.new_effect.__doc__ or ""):
        return strips.new_effect(name=name, type=kind, channel=channel, frame_start=frame_start, length=length)
    return strips.new_effect(
        name=name, type=kind, channel=channel, frame_start=frame_start, frame_end=frame_start + length
    )


def active_strip(scene: bpy.types.Scene):  # noqa: ANN201
    ed = scene.sequence_editor
    return None if ed is None else ed.active_strip


def selected_strips(scene: bpy.types.Scene) -> list:
    return [strip for strip in all_strips(scene) if strip.select]


def replace_sequencer_scene(old: bpy.types.Scene, new: bpy.types.Scene) -> None:
    """Make every window whose sequencer shows `old` show `new`: 5.0 keeps the sequencer's scene per workspace
    (when one is set there), earlier releases show the window's scene."""
    for window in bpy.context.window_manager.windows:
        workspace = window.workspace
        if getattr(workspace, "sequencer_scene", None) is not None:
            if workspace.sequencer_scene == old:
                workspace.sequencer_scene = new
        elif window.scene == old:
            window.scene = new
