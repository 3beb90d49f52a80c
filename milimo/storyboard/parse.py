"""One entry point for every screenplay: `parse_screenplay(text, bytes or path, format=...)`.

Formats: "fountain", "fdx" (Final Draft), "text" (free-form, by rules), "llm" (a local LLM, falling
back to the rules), and "auto", which picks one of the first three:

- by the file's suffix: .fdx, .fountain or .spmd;
- XML whose root is <FinalDraft> is Final Draft;
- otherwise the lines vote. Fountain markup (a title page, `[[notes]]`, `/* boneyard */`, forced
  elements, `> centered <`, sections, synopses, dual-dialogue carets) and sluglines standing alone
  between blank lines count for Fountain; one-line speeches ("MARA: Hello."), numbered or "SCENE 3"
  sluglines, sluglines run into the next line and PDF page numbers count for free-form text. Fountain
  wins ties: a plainly typed screenplay is valid Fountain.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from milimo.errors import InvalidArgument, NotFound
from milimo.models.prompts import PromptBackend
from milimo.storyboard.fdx import parse_fdx
from milimo.storyboard.fountain import parse_fountain
from milimo.storyboard.freeform import is_inline_speech, is_page_artifact, parse_slugline, parse_text
from milimo.storyboard.llm import parse_with_llm
from milimo.storyboard.screenplay import Screenplay

Format = Literal["auto", "fountain", "fdx", "text", "llm"]
FORMATS: tuple[Format, ...] = ("auto", "fountain", "fdx", "text", "llm")
MAX_SCRIPT_BYTES = 16 * 1024 * 1024  # a 300-page script is well under 1 MiB
DEFAULT_LLM_TIMEOUT_S = 120.0

_SUFFIXES: dict[str, Literal["fountain", "fdx"]] = {".fdx": "fdx", ".fountain": "fountain", ".spmd": "fountain"}
_TITLE_KEY = re.compile(r"^(?:title|credit|author|authors|source|draft date|contact)\s*:", re.IGNORECASE)
_FOUNTAIN_MARKUP = re.compile(r"^(?:\.[A-Za-z]|![^!]|@\S|>.*<$|~|={3,}$|=\s|#+\s)|\[\[|/\*|\^$")


def parse_screenplay(
    source: str | bytes | os.PathLike[str],
    format: str = "auto",
    *,
    backend: PromptBackend | None = None,
    llm_timeout_s: float = DEFAULT_LLM_TIMEOUT_S,
    on_fallback: Callable[[str], None] | None = None,
) -> Screenplay:
    """Parse a screenplay given as its text (str), its bytes, or a path (a `Path`, never a str).

    `backend`, `llm_timeout_s` and `on_fallback` serve the "llm" format (see `milimo.storyboard.llm`).
    Raises InvalidArgument("format" or "screenplay", …) for bad input, NotFound for a missing file.
    """
    if format not in FORMATS:
        raise InvalidArgument("format", f"must be one of {', '.join(FORMATS)}, not {format!r}")
    data, suffix = _read(source)
    chosen = detect_format(data, suffix) if format == "auto" else format
    if chosen == "fdx":
        return parse_fdx(data)
    text = _decode(data)
    if not text.strip():
        raise InvalidArgument("screenplay", "is empty")
    if chosen == "llm":
        return parse_with_llm(
            text,
            backend,
            timeout_s=llm_timeout_s,
            fallback=lambda script: parse_screenplay(script, "auto"),
            on_fallback=on_fallback,
        )
    return parse_fountain(text) if chosen == "fountain" else parse_text(text)


def detect_format(data: str | bytes, suffix: str = "") -> Literal["fountain", "fdx", "text"]:
    """The format "auto" picks for `data` (the rules are in this module's docstring)."""
    if suffix.lower() in _SUFFIXES:
        return _SUFFIXES[suffix.lower()]
    head = data[:1024].decode("utf-8", "replace") if isinstance(data, bytes) else data[:1024]
    head = head.lstrip("\ufeff \t\r\n")
    if head.startswith("<?xml") or head.startswith("<FinalDraft"):
        return "fdx"
    lines = _decode(data).splitlines()
    first = next((line for line in lines if line.strip()), "")
    fountain = 3 if _TITLE_KEY.match(first) else 0
    free_form = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _FOUNTAIN_MARKUP.search(stripped):
            fountain += 1
        elif is_inline_speech(stripped) or is_page_artifact(stripped):
            free_form += 1
        elif heading := parse_slugline(stripped):
            alone = (i == 0 or not lines[i - 1].strip()) and (i + 1 == len(lines) or not lines[i + 1].strip())
            if alone and heading.text == stripped:
                fountain += 1
            else:
                free_form += 1
    return "text" if free_form > fountain else "fountain"


def _read(source: str | bytes | os.PathLike[str]) -> tuple[str | bytes, str]:
    if isinstance(source, str | bytes):
        if len(source) > MAX_SCRIPT_BYTES:
            unit = "bytes" if isinstance(source, bytes) else "characters"
            raise InvalidArgument(
                "screenplay", f"is {len(source):,} {unit}; a script may be at most {MAX_SCRIPT_BYTES:,}"
            )
        return source, ""
    if not isinstance(source, os.PathLike):
        raise InvalidArgument("screenplay", f"must be text, bytes or a path, not {type(source).__name__}")
    path = Path(source)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFound("screenplay file", str(path)) from None
    if not path.is_file():
        raise InvalidArgument("screenplay", f"{path} is not a file")
    if size > MAX_SCRIPT_BYTES:
        raise InvalidArgument("screenplay", f"{path} is {size:,} bytes; a script may be at most {MAX_SCRIPT_BYTES:,}")
    return path.read_bytes(), path.suffix


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(
            "screenplay", f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
