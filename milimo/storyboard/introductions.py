"""What a screenplay itself says of its characters and places: the first description of the elements made from them.

By screenwriting convention a character is introduced in capitals, with a few words on who they are, the first time
the action names them ("But BRICK BRADDOCK, retired police detective, is sitting quietly"): that sentence describes
the character. A place is described by its setting and time of day and the opening sentences of the first scene
that plays there ("Exterior, day. A gorgeous day. The sun is shining."). Either is "" when the script says nothing.
"""

from __future__ import annotations

import re

from milimo.storyboard.screenplay import Screenplay, Setting

DESCRIPTION_CHARS = 300  # a prompt-sized description; the user refines it
OPENING_SENTENCES = 2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def character_introduction(screenplay: Screenplay, name: str) -> str:
    """The sentence of the first action that names `name` in capitals ("BRICK"), or as its cue writes it ("McCLANE")."""
    spellings = "|".join(re.escape(spelling) for spelling in dict.fromkeys((name.upper(), name.strip())))
    in_capitals = re.compile(rf"(?<![\w'])(?:{spellings})(?![\w'])")
    for scene in screenplay.scenes:
        for shot in scene.shots:
            for sentence in _sentences(shot.action):
                if in_capitals.search(sentence):
                    return _clipped(sentence)
    return ""


def location_description(screenplay: Screenplay, location: str) -> str:
    """The setting, time of day and opening sentences of the first scene at `location` (as its heading writes it)."""
    wanted = location.strip().casefold()
    for scene in screenplay.scenes:
        if scene.location.strip().casefold() != wanted:
            continue
        where = [] if scene.setting in (Setting.UNSPECIFIED, Setting.BOTH) else [scene.setting.value]
        lead = ", ".join([*where, *([scene.time_of_day.lower()] if scene.time_of_day else [])])
        action = next((shot.action for shot in scene.shots if shot.action.strip()), "")
        opening = " ".join(_sentences(action)[:OPENING_SENTENCES])
        parts = [f"{lead[:1].upper()}{lead[1:]}." if lead else "", opening]
        return _clipped(" ".join(part for part in parts if part))
    return ""


def _sentences(text: str) -> list[str]:
    return [sentence for sentence in _SENTENCE_END.split(" ".join(text.split())) if sentence]


def _clipped(text: str) -> str:
    """At most DESCRIPTION_CHARS, cut at a word with an ellipsis."""
    if len(text) <= DESCRIPTION_CHARS:
        return text
    return text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
