"""Fountain screenplays, read with the `fountain-py` library (docs/screenplay.md says why that one).

fountain-py does the Fountain syntax: title page, forced elements (`.HEADING`, `!action`, `@Name`,
`> TRANSITION`), dual dialogue (`^`), notes (`[[ ]]`), boneyard (`/* */`), centered text, lyrics,
sections, synopses, scene numbers and emphasis. This module turns its elements into the element stream
of `milimo.storyboard.screenplay`:

- centered text and lyrics are action (a title card, a song heard over the shot);
- an inline note splits the library's action into pieces; pieces with no blank line between them in the
  source are one paragraph again, so a note never cuts a shot in two;
- notes, boneyard, sections and page breaks are dropped; the title page's emphasis marks are removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from fountain import ElementType, FountainElement, FountainParser

from milimo.storyboard.screenplay import (
    Action,
    Heading,
    Screenplay,
    ScriptElement,
    Speech,
    Synopsis,
    Transition,
    assemble,
    outline,
)

_ACTION_LIKE = {ElementType.ACTION, ElementType.CENTERED, ElementType.LYRICS}
_INVISIBLE = {ElementType.NOTE, ElementType.BONEYARD, ElementType.SECTION, ElementType.PAGE_BREAK}
_EMPHASIS = re.compile(r"(\*{1,3}|_)(?=\S)(.+?)(?<=\S)\1")


def parse_fountain(text: str) -> Screenplay:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    document = FountainParser().parse(text)
    title_page = {key.lower(): _plain(str(value)) for key, value in document.metadata.items() if value}
    elements = _elements(document.elements, text.split("\n"))
    return assemble(outline(elements), parser="fountain", title_page=title_page)


def _elements(parsed: list[FountainElement], lines: list[str]) -> Iterator[ScriptElement]:
    action: list[str] = []  # the paragraph being gathered, and where its last piece began
    action_line = 0
    speech: _SpeechBuilder | None = None
    for element in parsed:
        kind = element.type
        if kind in _INVISIBLE:
            continue
        if kind in _ACTION_LIKE:
            if action and not _blank_between(lines, action_line, element.line_number):
                action.append(element.text)
            else:
                if action:
                    yield Action("\n".join(action))
                action = [element.text]
            action_line = element.line_number
            if speech:
                yield speech.build()
                speech = None
            continue
        if action:
            yield Action("\n".join(action))
            action = []
        if kind in (ElementType.DIALOGUE, ElementType.PARENTHETICAL) and speech:
            speech.add(element)
            continue
        if speech:
            yield speech.build()
            speech = None
        if kind == ElementType.CHARACTER:
            speech = _SpeechBuilder(element)
        elif kind == ElementType.DUAL_DIALOGUE:
            left, right = element.dual_dialogue_columns()
            yield _SpeechBuilder(left[0], left[1:]).build()
            yield _SpeechBuilder(right[0], right[1:], dual=True).build()
        elif kind == ElementType.SCENE_HEADING:
            yield Heading(element.text, str(element.metadata.get("scene_number") or ""))
        elif kind == ElementType.TRANSITION:
            yield Transition(element.text)
        elif kind == ElementType.SYNOPSIS:
            yield Synopsis(element.text)
    if action:
        yield Action("\n".join(action))
    if speech:
        yield speech.build()


def _blank_between(lines: list[str], first: int, last: int) -> bool:
    """Whether a blank source line lies between the 1-based line numbers `first` and `last`."""
    return any(not line.strip() for line in lines[first - 1 : last - 1])


class _SpeechBuilder:
    def __init__(self, character: FountainElement, body: Sequence[FountainElement] = (), *, dual: bool = False) -> None:
        extension = character.metadata.get("extension")
        self.cue = f"{character.text} ({extension})" if extension else character.text
        self.dual = dual
        self.parts: list[tuple[str, list[str]]] = []
        for element in body:
            self.add(element)

    def add(self, element: FountainElement) -> None:
        if element.type == ElementType.PARENTHETICAL:
            self.parts.append((element.text, []))
        elif element.text.strip():
            if not self.parts:
                self.parts.append(("", []))
            self.parts[-1][1].append(element.text.strip())

    def build(self) -> Speech:
        return Speech(self.cue, tuple((paren, "\n".join(text)) for paren, text in self.parts), self.dual)


def _plain(value: str) -> str:
    """A title page value without Fountain's emphasis marks, one trimmed line per line."""
    while (plain := _EMPHASIS.sub(r"\2", value)) != value:
        value = plain
    return "\n".join(line.strip() for line in value.splitlines() if line.strip())
