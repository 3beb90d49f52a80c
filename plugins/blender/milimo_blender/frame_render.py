"""The sequencer's picture at one frame as Blender renders it (every channel, blend, effect, transform and crop, in
the scene's view transform), saved as a JPEG: what "Start from the frame under the playhead" conditions a shot on.

Blender renders it with its own renderer (`bpy.ops.render.render` of the sequencer, which bpy-as-a-module runs too),
on the main thread, once per click: tens of milliseconds at the scene's size, most of it spent writing the file in
the view transform (AgX costs several times Standard); a JPEG at quality 95 writes in half the time of a PNG. The
scene's output settings are changed for that render and restored at once. A scene strip in the picture would render
its 3D scene (seconds, or minutes with Cycles), so a frame that shows one is not rendered: the caller falls back to
the strip's source frame.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import bpy

from . import compat

SLOW_TYPES = {"SCENE"}  # strips whose picture is a 3D render
JPEG_QUALITY = 95

_folder: Path | None = None  # this session's rendered frames; removed when the extension unregisters


def renders_quickly(scene: bpy.types.Scene) -> bool:
    """Whether the picture at the playhead is made of strips that render in milliseconds (no scene strip plays
    there)."""
    frame = scene.frame_current
    return not any(
        strip.type in SLOW_TYPES and not strip.mute and strip.frame_final_start <= frame < strip.frame_final_end
        for strip in compat.all_strips(scene)
    )


def render(scene: bpy.types.Scene) -> str:
    """Main thread: the sequencer's picture at the playhead, at the scene's render size, as a new JPEG; its path.
    Raises RuntimeError when Blender cannot render it."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="milimo-frames-"))
    path = str(_folder / f"{uuid.uuid4().hex}.jpg")
    settings, image = scene.render, scene.render.image_settings
    saved_scene = {name: getattr(settings, name) for name in ("filepath", "use_sequencer", "use_compositing")}
    names = [name for name in ("media_type", "file_format", "color_mode", "quality") if hasattr(image, name)]
    saved_image = {name: getattr(image, name) for name in names}
    try:
        settings.use_sequencer, settings.use_compositing = True, False
        if hasattr(image, "media_type"):  # 5.0 sorts file formats into images and videos
            image.media_type = "IMAGE"
        image.file_format, image.color_mode, image.quality = "JPEG", "RGB", JPEG_QUALITY
        settings.filepath = path
        bpy.ops.render.render(write_still=True, scene=scene.name)
    finally:
        for name, value in saved_image.items():  # the media type first: it decides which formats may be set
            setattr(image, name, value)
        for name, value in saved_scene.items():
            setattr(settings, name, value)
    if not Path(path).is_file():
        raise RuntimeError(f"Blender rendered no picture of frame {scene.frame_current}")
    return path


def forget() -> None:
    """Remove this session's rendered frames (the extension is unregistering; their uploads are done or lost)."""
    global _folder
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
    _folder = None
