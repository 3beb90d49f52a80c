"""The LLM mode: a local LLM reads the script and answers with its scenes and shots as JSON.

It helps with scripts the rules read poorly (prose treatments, shot lists in any style). The answer is
validated against a pydantic schema; on any failure (no LLM configured, unreachable, too slow, cut off,
not JSON, JSON of the wrong shape) the rule parser reads the script instead, and the reason is logged,
handed to `on_fallback` (a job passes its event log) and kept in the result's `warnings`.

The LLM gives the structure only: headings, shots, their action, dialogue and who is in them. Setting,
location and time of day are read from the headings, and durations estimated, by the same code as for
the rule parsers, so every mode agrees on them.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from milimo.errors import FailedPrecondition
from milimo.models.prompts import PromptBackend
from milimo.storyboard.screenplay import DialogueLine, SceneDraft, Screenplay, ShotDraft, assemble, split_cue

log = logging.getLogger(__name__)

MAX_LLM_CHARS = 60_000  # about 15,000 tokens: a short film; longer scripts go to the rule parser

SYSTEM_PROMPT = """\
You turn a screenplay into a storyboard. Reply with one JSON object and nothing else: no prose, no \
markdown. Its form:
{"title": "the script's title, or an empty string",
 "scenes": [{"heading": "INT. HARBOUR DINER - NIGHT",
             "shots": [{"action": "what the camera sees in this shot",
                        "dialogue": [{"speaker": "MARA", "parenthetical": "to herself", "text": "One more hour."}],
                        "characters": ["MARA"]}]}]}
Rules: keep the scenes and their order. A scene's heading is its slugline as written, or a short \
description of the place when the script has none. Cut each scene into shots as a storyboard artist \
would: a new shot where the camera would cut. Every shot has an action or dialogue. Keep the script's \
words in action and dialogue; do not invent events. Speakers are the names in capitals, without \
(V.O.) or (O.S.). "characters" lists everyone visible in the shot."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class LlmDialogue(_Model):
    speaker: str = Field(min_length=1)
    text: str = ""
    parenthetical: str = ""


class LlmShot(_Model):
    action: str = ""
    dialogue: list[LlmDialogue] = []
    characters: list[str] = []

    @model_validator(mode="after")
    def _has_content(self) -> LlmShot:
        if not self.action and not self.dialogue:
            raise ValueError("a shot needs an action or dialogue")
        return self


class LlmScene(_Model):
    heading: str = ""
    shots: list[LlmShot] = Field(min_length=1)


class LlmScreenplay(_Model):
    """The JSON the LLM must answer with (SYSTEM_PROMPT shows it)."""

    title: str = ""
    scenes: list[LlmScene] = Field(min_length=1)


class LlmParseFailed(Exception):
    """The LLM gave no usable storyboard; `parse_with_llm` falls back to the rule parser."""


def parse_with_llm(
    text: str,
    backend: PromptBackend | None,
    *,
    timeout_s: float,
    fallback: Callable[[str], Screenplay],
    on_fallback: Callable[[str], None] | None = None,
) -> Screenplay:
    """The LLM's storyboard of `text`, or `fallback(text)` with a warning if the LLM fails; never raises
    for the LLM's sake (the fallback parser's own errors, such as an empty script, still do)."""
    source = getattr(backend, "source", type(backend).__name__)
    try:
        return _ask(text, backend, timeout_s)
    except Exception as exc:
        reason = _describe(exc, timeout_s)
        warning = f"the LLM ({source}) could not structure the screenplay ({reason}); used the rule parser"
    log.warning("%s", warning)
    if on_fallback is not None:
        on_fallback(warning)
    result = fallback(text)
    return dataclasses.replace(result, warnings=(*result.warnings, warning))


def _ask(text: str, backend: PromptBackend | None, timeout_s: float) -> Screenplay:
    if backend is None:
        raise LlmParseFailed("no LLM is configured")
    if len(text) > MAX_LLM_CHARS:
        raise LlmParseFailed(f"the script has {len(text):,} characters, more than the {MAX_LLM_CHARS:,} it takes")
    reply, truncated = backend.complete(
        SYSTEM_PROMPT, f"The screenplay:\n\n{text}", image=None, deadline=time.monotonic() + timeout_s
    )
    if truncated:
        raise LlmParseFailed("its reply was cut off at the token limit")
    storyboard = LlmScreenplay.model_validate_json(_json_object(reply))
    drafts = [
        SceneDraft(
            heading=scene.heading,
            shots=[
                ShotDraft(action=shot.action, dialogue=[_line(d) for d in shot.dialogue], characters=shot.characters)
                for shot in scene.shots
            ],
        )
        for scene in storyboard.scenes
    ]
    return assemble(drafts, parser="llm", title_page={"title": storyboard.title} if storyboard.title else {})


def _line(dialogue: LlmDialogue) -> DialogueLine:
    speaker, extension = split_cue(dialogue.speaker)
    parenthetical = dialogue.parenthetical.removeprefix("(").removesuffix(")").strip()
    return DialogueLine(speaker, dialogue.text, parenthetical, extension)


_THINKING = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|\Z)", re.DOTALL | re.IGNORECASE)


def _json_object(reply: str) -> str:
    """The JSON object in a reply that may wrap it in thinking, a Markdown fence or a sentence."""
    reply = _THINKING.sub("", reply)
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0:
        raise LlmParseFailed("its reply holds no JSON object")
    return reply[start : end + 1] if end > start else reply[start:]  # unclosed: the JSON parser says where


def _describe(exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            return f"its reply is not valid JSON: {first['msg'].removeprefix('Invalid JSON: ')}"
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'reply'}: {error['msg']}" for error in exc.errors()[:3]
        )
        more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        return f"its JSON does not match the storyboard schema: {problems}{more}"
    if isinstance(exc, LlmParseFailed | FailedPrecondition):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout_s:g}s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
