"""Shared set-up for the extension's tests, which run inside a virtual environment holding only `bpy` (from PyPI):
the built extension zip is installed through Blender's own extension installer, which installs the bundled wheels.

The environment variables come from tests/test_blender_extension.py: MILIMO_EXTENSION_ZIP (the zip),
MILIMO_DAEMON (HOST:PORT of a live daemon), BLENDER_USER_RESOURCES (a private folder for Blender's user data).
"""

from __future__ import annotations

import importlib
import math
import os
import struct
import time
import wave
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import bpy

REPO = "user_default"
# The project's real-world sample files, beside the checkout (tests/shared_data.py passes the path on).
SHARED_DATA = Path(os.environ.get("MILIMO_SHARED_DATA", "../shared/data"))
PACKAGE = f"bl_ext.{REPO}.milimo"
WAIT_S = 60.0


def install() -> ModuleType:
    """Install and enable the extension from its zip (once per process); return the add-on package."""
    if PACKAGE not in bpy.context.preferences.addons:
        result = bpy.ops.extensions.package_install_files(
            repo=REPO, filepath=os.environ["MILIMO_EXTENSION_ZIP"], enable_on_install=True
        )
        if result != {"FINISHED"} or PACKAGE not in bpy.context.preferences.addons:
            raise RuntimeError(f"the extension did not install ({result}); Blender's messages are above")
    point_at(os.environ["MILIMO_DAEMON"])
    return importlib.import_module(PACKAGE)


def point_at(address: str) -> None:
    """Set the daemon address in the add-on's preferences (which reconnects)."""
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    if prefs.address != address:
        prefs.address = address


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def pump(until: Callable[[], bool], timeout: float = WAIT_S, what: str = "the condition") -> None:
    """Run the main-thread queue as Blender's timer would, until `until()` holds."""
    drain = module("mainthread").drain
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        drain()
        time.sleep(0.01)


def fresh_scene() -> bpy.types.Scene:
    """An empty sequencer scene at 64x64, 24 fps, made current."""
    scene = bpy.data.scenes.new(f"test-{time.monotonic_ns()}")
    bpy.context.window.scene = scene
    scene.render.resolution_x = 64
    scene.render.resolution_y = 64
    scene.render.resolution_percentage = 100
    scene.render.fps = 24
    scene.render.fps_base = 1.0
    scene.sequence_editor_create()
    scene.milimo.model = "animatic"
    return scene


def online() -> bool:
    return module("session").connection().status.online


def make_movie(path: Path, frames: int, width: int = 64, height: int = 64) -> None:
    """A H.264 clip (64x64 unless said) with AAC sound (where this Blender has audio), rendered by Blender itself
    from a color strip and a tone (written beside it, as a .wav)."""
    compat = module("compat")
    sound = bpy.app.build_options.audaspace  # bpy 4.2 from PyPI is built without audio
    tone = path.with_suffix(".wav")
    with wave.open(str(tone), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i * 0.05))) for i in range(48000)))
    scene = fresh_scene()
    scene.render.resolution_x, scene.render.resolution_y = width, height
    compat.new_effect(scene, "picture", "COLOR", 1, 1, frames)
    if sound:
        compat.top_strips(scene).new_sound(name="tone", filepath=str(tone), channel=2, frame_start=1)
    scene.frame_start, scene.frame_end = 1, frames
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # 5.0 sorts file formats into images and videos
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format = "MPEG4"
    scene.render.ffmpeg.codec = "H264"
    scene.render.ffmpeg.audio_codec = "AAC" if sound else "NONE"
    scene.render.filepath = str(path)
    bpy.ops.render.render(animation=True, scene=scene.name)
    bpy.data.scenes.remove(scene)


def make_still(path: Path) -> None:
    """An 8x8 PNG, saved by Blender (the image leaves nothing behind in bpy.data)."""
    image = bpy.data.images.new(path.stem, 8, 8)
    image.filepath_raw = str(path)
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)
