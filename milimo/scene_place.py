"""How a storyboard scene's place and time read in a shot's prompt: "Mara waits. Harbour Diner, interior, night."

The daemon (`milimo.storyboard.generate`) and the editor plugins compose prompts with it, so it needs only the
generated stubs (it is in the client wheel, scripts/client_wheel.py).
"""

from __future__ import annotations

from milimo.v1 import storyboard_pb2

SETTING_WORDS = {
    storyboard_pb2.SETTING_INTERIOR: "interior",
    storyboard_pb2.SETTING_EXTERIOR: "exterior",
    storyboard_pb2.SETTING_BOTH: "interior and exterior",
}


def place_phrase(scene: storyboard_pb2.Scene | None) -> str:
    """The scene's location, setting and time of day: "Harbour Diner, interior, night"."""
    if scene is None:
        return ""
    words = [scene.location.title() if scene.location.isupper() else scene.location]
    words += [SETTING_WORDS.get(scene.setting, ""), scene.time_of_day.lower()]
    return ", ".join(word for word in words if word)


def with_place(text: str, scene: storyboard_pb2.Scene | None) -> str:
    """`text`, then the scene's place and time, as sentences ("" when both are empty)."""
    parts = [part.rstrip(".") for part in (text, place_phrase(scene)) if part]
    return ". ".join(parts) + "." if parts else ""
