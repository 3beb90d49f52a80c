"""How long a shot should last on screen, estimated from its dialogue and its action.

Dialogue is timed by its words at a conversational film pace; action by the page-a-minute rule (a script
page of about 55 lines plays for about a minute, so one printed line of action is about a second), with
at least a beat per sentence so that a terse "He turns. She runs." still gets time for both. Dual
dialogue is spoken at once, so a line marked `dual` only adds what it lasts beyond the line before it.
The sum is clamped: the storyboard wants something visible for every shot, and a render model works in
clips of seconds, not minutes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Protocol

WORDS_PER_SECOND = 2.5  # 150 words a minute: screen dialogue, between a read-through and fast banter
PARENTHETICAL_S = 0.5  # a "(beat)" or "(turning away)" takes a moment of its own
ACTION_CHARS_PER_LINE = 60  # a printed action line: 6 inches of 12-point Courier
ACTION_S_PER_LINE = 1.1  # 55 lines to a page, a page to a minute
ACTION_S_PER_SENTENCE = 1.5  # the least a described moment can take
MIN_SHOT_S = 2.0
MAX_SHOT_S = 20.0

_SENTENCE_END = re.compile(r"[.!?]+(?:[\"')\]]*)(?=\s|$)")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


class SpokenLine(Protocol):
    """One dialogue line as the estimate sees it (`milimo.storyboard.screenplay.DialogueLine`)."""

    @property
    def text(self) -> str: ...

    @property
    def parenthetical(self) -> str: ...

    @property
    def dual(self) -> bool: ...


def dialogue_seconds(line: SpokenLine) -> float:
    words = len(_WORD.findall(line.text))
    return words / WORDS_PER_SECOND + (PARENTHETICAL_S if line.parenthetical else 0.0)


def action_seconds(action: str) -> float:
    """The page-a-minute time of `action`, but at least one beat per sentence."""
    lines = [line.strip() for line in action.splitlines() if line.strip()]
    if not lines:
        return 0.0
    printed = sum(math.ceil(len(line) / ACTION_CHARS_PER_LINE) for line in lines)
    sentences = sum(max(1, len(_SENTENCE_END.findall(line))) for line in lines)
    return max(printed * ACTION_S_PER_LINE, sentences * ACTION_S_PER_SENTENCE)


def estimate_shot_seconds(action: str, dialogue: Sequence[SpokenLine]) -> float:
    """Suggested on-screen seconds for a shot, clamped to [MIN_SHOT_S, MAX_SHOT_S], to a tenth of a second."""
    total = action_seconds(action)
    previous = 0.0
    for line in dialogue:
        seconds = dialogue_seconds(line)
        total += max(0.0, seconds - previous) if line.dual else seconds
        previous = seconds
    return round(min(MAX_SHOT_S, max(MIN_SHOT_S, total)), 1)
