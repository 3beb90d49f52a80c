"""Free-form scripts: plain text written without Fountain's rules, or pasted from a PDF, read by rules.

The text is read in blocks (lines between blank lines) and, inside a block, line by line:

- a slugline is a scene heading: "INT. DINER - NIGHT", "int. diner - night", "EXT PARK - DAY", optionally
  numbered ("12 INT. DINER - NIGHT 12", "3. EXT. PARK", "SCENE 4: EXT. PARK", "Scene 5 - The roof"),
  optionally marked up as a Markdown heading or in bold. A prefix in lower case needs its dot, so that
  "Interior design is a career." stays action;
- a transition is a line in capitals ending in "TO:" or a fade ("FADE IN:", "FADE OUT.", "CUT TO BLACK.");
- a speaker is a line in capitals ("MARA", "DR. OKAFOR (V.O.)") followed by its lines in the same block;
  lines in brackets are parentheticals, and a new speaker line starts another speech. "MARA: Hello." on
  one line is a speech too;
- everything else is action, a paragraph per block; numbered lines ("1. Wide on the harbour", "Shot 2:")
  and camera directions ("CLOSE ON") start shots of their own (see `milimo.storyboard.screenplay`).
- "Title:", "Author:"… lines at the very top are the title page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from milimo.storyboard.screenplay import (
    Action,
    Heading,
    Screenplay,
    ScriptElement,
    Speech,
    Transition,
    assemble,
    is_shot_cue,
    outline,
)

_TITLE_KEYS = {"title", "credit", "author", "authors", "source", "draft date", "date", "contact", "notes", "copyright"}
_TITLE_ENTRY = re.compile(r"^(?P<key>[A-Za-z][A-Za-z ]{0,20}):\s*(?P<value>.*)$")

_DECORATION = re.compile(r"^(?:#+\s*)?(?:\*\*|__)?(?P<line>.*?)(?:\*\*|__)?$")
_SCENE_WORD = re.compile(
    r"^(?:SCENE|SC\.?)\s*(?P<number>\d+[A-Z]?)\b\s*(?P<separator>[:.)]|[-–—]+)?\s*(?P<rest>.*)$", re.IGNORECASE
)
_NUMBERED = re.compile(r"^(?P<number>\d+[A-Z]?)(?:[.)]\s*|\s+)(?P<rest>.*)$")
_SLUG_PREFIX = re.compile(
    r"^(?P<prefix>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I\s*/\s*E|INTERIOR|EXTERIOR|INT|EXT|EST)(?P<dot>\.)?\s+\S",
    re.IGNORECASE,
)
_TRANSITION = re.compile(
    r"^(?:>\s*)?(?:[A-Z0-9 .'’-]+ TO:|FADE IN:?|FADE OUT[.:]?|FADE TO BLACK[.:]?|CUT TO BLACK[.:]?|"
    r"SMASH CUT[.:]?|IRIS (?:IN|OUT)[.:]?|BACK TO:?)$"
)
# What a PDF export leaves between pages: page numbers and continuation marks.
_PAGE_ARTIFACT = re.compile(r"^(?:\d{1,3}\.?|\(?CONTINUED\)?:?|\(MORE\))$", re.IGNORECASE)
_CUE = re.compile(r"^[A-Z0-9][A-Z0-9 .'’#&-]{0,40}?(?:\s*\([^()]*\))*\s*\^?$")
_INLINE_SPEECH = re.compile(r"^(?P<cue>[A-Z][A-Z0-9 .'’#&-]{0,40}?)\s*(?:\((?P<paren>[^()]*)\))?\s*:\s+(?P<text>\S.*)$")


def parse_text(text: str) -> Screenplay:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title_page, body = _title_page(lines)
    return assemble(outline(_elements(body)), parser="text", title_page=title_page)


def _title_page(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    page: dict[str, str] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            return (page, lines[i:]) if page else ({}, lines)
        match = _TITLE_ENTRY.match(line.strip())
        if not match or match["key"].lower() not in _TITLE_KEYS:
            return {}, lines
        page[match["key"].lower()] = match["value"].strip()
    return {}, lines


def is_page_artifact(line: str) -> bool:
    """A page number or a "(CONTINUED)" / "(MORE)" mark, as a PDF export leaves them between pages."""
    return bool(_PAGE_ARTIFACT.match(line.strip()))


def _blocks(lines: list[str]) -> Iterator[list[str]]:
    block: list[str] = []
    for line in lines:
        if is_page_artifact(line):
            continue
        if line.strip():
            block.append(line.strip())
        elif block:
            yield block
            block = []
    if block:
        yield block


def _elements(lines: list[str]) -> Iterator[ScriptElement]:
    for block in _blocks(lines):
        i = 0
        while i < len(block):
            line = block[i]
            if heading := parse_slugline(line):
                yield heading
                i += 1
            elif _TRANSITION.match(line):
                yield Transition(line.removeprefix(">").strip())
                i += 1
            elif match := _inline_speech_match(line):
                yield _inline_speech(match)
                i += 1
            elif i + 1 < len(block) and _is_cue(line):
                speech, i = _speech(block, i)
                yield speech
            else:
                start = i
                i += 1
                while i < len(block) and not _starts_element(block, i):
                    i += 1
                yield Action("\n".join(block[start:i]))


def _starts_element(block: list[str], i: int) -> bool:
    line = block[i]
    return bool(
        parse_slugline(line)
        or _TRANSITION.match(line)
        or _inline_speech_match(line)
        or (i + 1 < len(block) and _is_cue(line))
    )


def _speech(block: list[str], i: int) -> tuple[Speech, int]:
    """The speech whose cue is `block[i]`, up to the block's end or what starts the next element (a cue, a
    slugline, a transition); and where it stopped."""
    cue = block[i]
    parts: list[tuple[str, list[str]]] = []
    i += 1
    in_parenthetical = False
    while i < len(block):
        line = block[i]
        if not in_parenthetical and parts and _starts_element(block, i):
            break
        if in_parenthetical:
            parts[-1] = (f"{parts[-1][0]} {line}", parts[-1][1])
            in_parenthetical = not line.endswith(")")
        elif line.startswith("("):
            parts.append((line, []))
            in_parenthetical = not line.endswith(")")
        else:
            if not parts:
                parts.append(("", []))
            parts[-1][1].append(line)
        i += 1
    return Speech(cue, tuple((paren, " ".join(words)) for paren, words in parts), dual=cue.endswith("^")), i


def _inline_speech_match(line: str) -> re.Match[str] | None:
    match = _INLINE_SPEECH.match(line)
    return match if match and _is_name(match["cue"]) else None


def is_inline_speech(line: str) -> bool:
    """A speech on one line, "MARA: Hello." (free-form only: in Fountain it is action)."""
    return _inline_speech_match(line.strip()) is not None


def _inline_speech(match: re.Match[str]) -> Speech:
    """ "MARA (V.O.): Hello." or "MARA (softly): Hello.": capitals in brackets are an extension, words a
    parenthetical."""
    paren = (match["paren"] or "").strip()
    if paren and not any(c.islower() for c in paren):
        return Speech(f"{match['cue']} ({paren})", (("", match["text"]),))
    return Speech(match["cue"], ((paren, match["text"]),))


def _is_name(name: str) -> bool:
    """Capitals that can be a character's name rather than a shout ("BANG!") or a camera direction."""
    bare = re.sub(r"\([^()]*\)", "", name).strip().removesuffix("^").strip()
    return (
        any(c.isalpha() for c in bare)
        and len(bare.split()) <= 4
        and not bare.endswith((".", ",", ":", ";", "!", "?"))
        and not is_shot_cue(bare)
        and not _TRANSITION.match(bare)
    )


def _is_cue(line: str) -> bool:
    match = _CUE.match(line)
    return bool(match) and _is_name(line) and not parse_slugline(line)


def parse_slugline(line: str) -> Heading | None:
    """The scene heading `line` is by the free-form rules, if it is one (see the module's docstring)."""
    line = _DECORATION.match(line)["line"].strip()  # type: ignore[index]  # the pattern matches any line
    match = _SCENE_WORD.match(line)
    if match and (match["separator"] or not match["rest"] or _is_slugline(match["rest"])):
        return Heading(match["rest"].strip() or line, match["number"])
    number = ""
    if (match := _NUMBERED.match(line)) and _is_slugline(match["rest"]):
        number, line = match["number"], match["rest"].strip()
        line = re.sub(rf"\s+{re.escape(number)}$", "", line)
    if not _is_slugline(line):
        return None
    return Heading(line, number)


def _is_slugline(line: str) -> bool:
    match = _SLUG_PREFIX.match(line)
    return bool(match) and (bool(match["dot"]) or match["prefix"].isupper())
