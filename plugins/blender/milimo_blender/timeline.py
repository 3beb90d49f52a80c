"""Where a shot goes in the sequencer: its frames, its channel, and what conditions it. Reads bpy data only."""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from . import compat

MAX_CHANNEL = 128
PLACEHOLDER_KEY = "milimo_shot"
PROMPT_KEY = "milimo_prompt"
REQUEST_KEY = "milimo_request"  # the request a shot is made from, as a placeholder payload's JSON (from OTIO)
PLACEHOLDER_TYPES = {"COLOR", "TEXT"}
PICTURE_TYPES = {"IMAGE", "MOVIE"}


class NoTarget(ValueError):
    """The sequencer offers no range for a shot; the message says what the user can do."""


@dataclass(frozen=True)
class Target:
    frame_start: int
    frames: int
    channel: int
    placeholder: str = ""  # the placeholder strip's name, when the shot fills one
    replaces: str = ""  # the generated strip a regeneration replaces


@dataclass(frozen=True)
class Condition:
    """A picture to start the shot from: an image file, or one frame of a movie file."""

    filepath: str
    source_frame: int  # the frame within the movie (0 for an image)
    is_movie: bool


def is_placeholder(strip: bpy.types.Strip) -> bool:
    return strip.type in PLACEHOLDER_TYPES and bool(strip.get(PLACEHOLDER_KEY))


def is_regenerable(strip: bpy.types.Strip) -> bool:
    """A generated shot (not an inpainted copy or a matte), which Regenerate and Vary can remake."""
    return bool(strip.get("milimo_job_id")) and strip.get("milimo_kind", "video") in ("video", "animatic")


def placeholders(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    """The scene's placeholder strips in timeline order (start frame, then channel)."""
    found = [strip for strip in compat.all_strips(scene) if is_placeholder(strip)]
    return sorted(found, key=lambda strip: (strip.frame_final_start, strip.channel))


def channel_is_free(scene: bpy.types.Scene, channel: int, start: int, end: int, ignore: tuple[str, ...] = ()) -> bool:
    return not any(
        strip.channel == channel and strip.frame_final_start < end and start < strip.frame_final_end
        for strip in compat.top_strips(scene)
        if strip.name not in ignore
    )


def free_channel(scene: bpy.types.Scene, channel: int, start: int, end: int, ignore: tuple[str, ...] = ()) -> int:
    """`channel` when nothing covers [start, end) there, otherwise the next free channel above it."""
    for candidate in range(max(1, channel), MAX_CHANNEL + 1):
        if channel_is_free(scene, candidate, start, end, ignore):
            return candidate
    raise NoTarget(f"every channel from {channel} to {MAX_CHANNEL} is taken between frames {start} and {end}")


def gap_at(scene: bpy.types.Scene, frame: int) -> tuple[int, int]:
    """The empty span around `frame` where no strip plays, bounded by the strips on either side."""
    strips = list(compat.top_strips(scene))
    if any(strip.frame_final_start <= frame < strip.frame_final_end for strip in strips):
        raise NoTarget(f"frame {frame} is not in a gap: a strip plays there. Select a strip or a placeholder instead")
    after = [strip.frame_final_start for strip in strips if strip.frame_final_start > frame]
    if not after:
        raise NoTarget(
            f"the playhead (frame {frame}) is after the last strip, so the gap has no end: "
            "select a strip, mark a placeholder, or move the playhead into a gap"
        )
    before = [strip.frame_final_end for strip in strips if strip.frame_final_end <= frame]
    return max(before, default=scene.frame_start), min(after)


def shot_target(scene: bpy.types.Scene) -> Target:
    """The range a new shot fills: a selected placeholder, else the gap under the playhead, else the active strip."""
    active = compat.active_strip(scene)
    selected = compat.selected_strips(scene)
    for strip in ([active] if active is not None and active.select else []) + selected:
        if is_placeholder(strip):
            return _over(scene, strip, placeholder=strip.name)
    try:
        start, end = gap_at(scene, scene.frame_current)
        return Target(frame_start=start, frames=end - start, channel=free_channel(scene, 1, start, end))
    except NoTarget as no_gap:
        if active is not None and active.select:
            return _over(scene, active)
        raise no_gap


def _over(scene: bpy.types.Scene, strip: bpy.types.Strip, placeholder: str = "") -> Target:
    start, end = strip.frame_final_start, strip.frame_final_end
    return Target(
        frame_start=start,
        frames=end - start,
        channel=free_channel(scene, strip.channel, start, end),
        placeholder=placeholder,
    )


def selected_pictures(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    return [strip for strip in compat.selected_strips(scene) if strip.type in PICTURE_TYPES]


def picture_under_playhead(scene: bpy.types.Scene) -> bpy.types.Strip | None:
    """The topmost unmuted image or movie strip that plays at the playhead."""
    frame = scene.frame_current
    under = [
        strip
        for strip in compat.top_strips(scene)
        if strip.type in PICTURE_TYPES and strip.frame_final_start <= frame < strip.frame_final_end and not strip.mute
    ]
    return max(under, key=lambda strip: strip.channel, default=None)


def condition(scene: bpy.types.Scene, use_playhead: bool) -> Condition | None:
    """The selected image or movie strip, or (with `use_playhead`) the topmost picture under the playhead: its file,
    and for a movie the frame of it that plays."""
    frame = scene.frame_current
    picked = selected_pictures(scene)
    strip = picked[0] if picked else picture_under_playhead(scene) if use_playhead else None
    if strip is None:
        return None
    if strip.type == "IMAGE":
        return Condition(bpy.path.abspath(strip.directory + strip.elements[0].filename), 0, is_movie=False)
    inside = strip.frame_final_start <= frame < strip.frame_final_end
    # Under the playhead: that frame; otherwise the strip's last frame (the shot continues the clip).
    shown = frame if inside else strip.frame_final_end - 1
    return Condition(bpy.path.abspath(strip.filepath), source_frame(strip, shown), is_movie=True)


def source_frame(strip: bpy.types.Strip, frame: int) -> int:
    """The frame of the strip's file shown at timeline `frame` (ignoring speed effects)."""
    return max(0, frame - round(strip.frame_start))


def redraw_sequencers() -> None:
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()
