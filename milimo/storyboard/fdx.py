"""Final Draft (.fdx) screenplays: XML, read with the standard library's parser through defusedxml.

An .fdx file is `<FinalDraft>` with a `<Content>` of `<Paragraph Type="…">` elements, each holding one
or more `<Text>` runs (a run per change of style). Scene headings carry their printed number in
`Number`; dual dialogue is a `<DualDialogue>` inside a paragraph, holding both speeches' paragraphs.
Script notes inside a paragraph are not its text. The title page is a second `<Content>` under
`<TitlePage>`, plain paragraphs: its first line is taken as the title and the line after "Written by"
as the author.

defusedxml refuses entity declarations and external references, so a "billion laughs" or an XXE file
is an error, never a memory blow-up or a read of a local file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import defusedxml
import defusedxml.ElementTree as SafeET

from milimo.errors import InvalidArgument
from milimo.storyboard.screenplay import (
    Action,
    Heading,
    Screenplay,
    ScriptElement,
    Speech,
    Transition,
    assemble,
    outline,
)

_STRUCTURE_TYPES = {"New Act", "End of Act", "Cast List", "Outline", "Outline Body"}  # not part of any shot
_CREDIT = re.compile(r"^(?:written\s+)?by$", re.IGNORECASE)


def parse_fdx(data: bytes | str) -> Screenplay:
    """Parse Final Draft XML; InvalidArgument("screenplay", …) when it is not a well-formed .fdx."""
    try:
        root = SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise InvalidArgument(
            "screenplay", f"Final Draft XML must not declare entities or reference external files ({exc})"
        ) from exc
    except ET.ParseError as exc:
        raise InvalidArgument("screenplay", f"is not well-formed Final Draft XML ({exc})") from exc
    if root.tag != "FinalDraft":
        raise InvalidArgument("screenplay", f"a Final Draft file's root element is <FinalDraft>, not <{root.tag}>")
    content = root.find("Content")
    if content is None:
        raise InvalidArgument("screenplay", "the Final Draft file has no <Content>")
    title_page = _title_page(root.find("TitlePage/Content"))
    return assemble(outline(_elements(content)), parser="fdx", title_page=title_page)


def _text(paragraph: ET.Element) -> str:
    return "".join("".join(run.itertext()) for run in paragraph.findall("Text")).strip()


def _paragraphs(content: ET.Element) -> Iterator[tuple[ET.Element, bool]]:
    """Each script paragraph, and whether it belongs to the second speech of a dual dialogue."""
    for paragraph in content.findall("Paragraph"):
        dual = paragraph.find("DualDialogue")
        if dual is None:
            yield paragraph, False
            continue
        characters = 0
        for inner in dual.findall("Paragraph"):
            characters += inner.get("Type") == "Character"
            yield inner, characters > 1


def _elements(content: ET.Element) -> Iterator[ScriptElement]:
    speech: _SpeechBuilder | None = None
    for paragraph, dual in _paragraphs(content):
        kind, text = paragraph.get("Type", "Action"), _text(paragraph)
        if kind in ("Dialogue", "Parenthetical") and speech:
            speech.add(kind, text)
            continue
        if speech:
            yield speech.build()
            speech = None
        if kind == "Character":
            speech = _SpeechBuilder(text, dual)
        elif not text or kind in _STRUCTURE_TYPES:
            continue
        elif kind.startswith("Scene Heading"):  # also "Scene Heading (Top of Page)"
            yield Heading(text, paragraph.get("Number", ""))
        elif kind == "Shot":
            yield Action(text, shot_line=True)
        elif kind == "Transition":
            yield Transition(text)
        else:  # Action, General, Lyrics and any custom element type: keep its words in the shot
            yield Action(text)
    if speech:
        yield speech.build()


class _SpeechBuilder:
    def __init__(self, cue: str, dual: bool) -> None:
        self.cue = cue
        self.dual = dual
        self.parts: list[tuple[str, list[str]]] = []

    def add(self, kind: str, text: str) -> None:
        if kind == "Parenthetical":
            self.parts.append((text, []))
        elif text:
            if not self.parts:
                self.parts.append(("", []))
            self.parts[-1][1].append(text)

    def build(self) -> Speech:
        return Speech(self.cue, tuple((paren, "\n".join(lines)) for paren, lines in self.parts), self.dual)


def _title_page(content: ET.Element | None) -> dict[str, str]:
    if content is None:
        return {}
    lines = [line.strip() for p in content.findall("Paragraph") for line in _text(p).splitlines() if line.strip()]
    if not lines:
        return {}
    page = {"title": lines[0]}
    rest = lines[1:]
    for i, line in enumerate(rest[:-1]):
        if _CREDIT.match(line):
            page["credit"], page["author"] = line, rest[i + 1]
            rest = rest[:i] + rest[i + 2 :]
            break
    if rest:
        page["notes"] = "\n".join(rest)
    return page
