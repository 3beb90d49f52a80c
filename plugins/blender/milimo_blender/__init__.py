"""Milimo for Blender's Video Sequence Editor: generate, inpaint and track shots with a Milimo daemon.

Network calls run on worker threads; Blender data changes only on the main thread, through the queue that a
persistent timer drains (see mainthread.py). Nothing here blocks the interface.
"""

from __future__ import annotations

import bpy
from bpy.app.handlers import persistent

from . import (
    frame_render,
    mainthread,
    operators,
    operators_otio,
    operators_segment,
    operators_storyboard,
    panels,
    preferences,
    previews,
    props,
    session,
)

CLASSES = (
    *preferences.CLASSES,
    *operators.CLASSES,
    *panels.CLASSES,
    # After panels.CLASSES: their sub-panels need MILIMO_PT_main registered first.
    *operators_storyboard.CLASSES,
    *operators_segment.CLASSES,
    *operators_otio.CLASSES,
)


@persistent
def _file_loaded(_filename: str) -> None:
    operators_segment.mark_interrupted_tracks()
    session.reconnect_on_load()


def register() -> None:
    props.register()
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    previews.register()
    mainthread.start()
    bpy.app.handlers.load_post.append(_file_loaded)
    session.start()


def unregister() -> None:
    session.stop()
    if _file_loaded in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_file_loaded)
    mainthread.stop()
    previews.unregister()
    frame_render.forget()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    props.unregister()
