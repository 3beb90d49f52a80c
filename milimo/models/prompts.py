"""Prompt enhancement: a local LLM rewrites a short idea as one cinematic paragraph for the render model.

Two backends: Ollama (`OllamaBackend`, any model the user has pulled, vision models included) and the
built-in Gemma 3 (`milimo.models.gemma.GemmaBackend`). Enhancement is a nicety, never a reason to fail
a job: `enhance_prompt` returns the user's prompt unchanged, with a warning (also logged to the job),
whenever the backend cannot be reached, is too slow, or answers with nothing usable.

Ollama is asked with `keep_alive=0` so it unloads its model right after answering: the accelerator is
needed for the video model next.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from milimo.errors import FailedPrecondition
from milimo.tasks.context import TaskContext

log = logging.getLogger(__name__)

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"

Kind = Literal["video", "image"]
Source = Literal["ollama", "gemma", "original"]

T = TypeVar("T")

_COMMON_RULES = (
    "Keep the user's subject and every element they name (people, creatures, objects, places, colors, styles, "
    "and any quoted text) exactly as given; do not replace or remove any of them, and do not change what "
    "happens. Enrich only how it looks. If the idea is already detailed, keep its wording and add only what is "
    "missing. Describe only what can be seen: no sound, no dialogue, no text overlays unless the user asked for "
    "them. Write plain, concrete language in the present tense. Reply with the prompt itself and nothing else: "
    "one paragraph, no title, no preamble such as 'Here is', no quotation marks around it, no lists, no "
    "markdown, no notes or explanations afterwards."
)

SYSTEM_PROMPTS: dict[str, str] = {
    "video": (
        "You write prompts for a text-to-video model. Rewrite the user's idea as a single cinematic paragraph of "
        "60 to 150 words describing one continuous shot. Cover, in this order: the main subject and its action, "
        "with clear, physically plausible motion; the setting and its details; the camera (shot size, angle, "
        "lens, and one camera movement such as a slow dolly-in, pan, tracking shot, crane or handheld); the "
        "lighting (source, direction, quality, color temperature, time of day); and the mood and color grade. "
        "No cuts, no scene changes. " + _COMMON_RULES
    ),
    "image": (
        "You write prompts for a text-to-image model. Rewrite the user's idea as a single paragraph of 40 to 120 "
        "words describing one still frame. Cover: the main subject and its pose or expression; the setting; the "
        "composition and framing (shot size, angle, lens, depth of field); the lighting (source, direction, "
        "quality, color temperature, time of day); the color palette, textures and style. " + _COMMON_RULES
    ),
}

_IMAGE_NOTES: dict[str, str] = {
    "video": (
        " An image is attached: it is the first frame of the shot. Describe what it shows faithfully (subject, "
        "setting, lighting, style) and then how the scene moves from it."
    ),
    "image": (
        " An image is attached as a reference: keep its subject and style, and describe the picture the user asks for."
    ),
}


def system_prompt(kind: Kind, *, with_image: bool = False) -> str:
    """The instructions the enhancer gives the LLM for a video or an image prompt."""
    return SYSTEM_PROMPTS[kind] + (_IMAGE_NOTES[kind] if with_image else "")


def user_message(prompt: str) -> str:
    if not prompt.strip():
        return "There is no text: write the prompt from the attached image."
    return f"Rewrite this idea as the prompt:\n\n{prompt.strip()}"


@dataclass(frozen=True)
class EnhancedPrompt:
    """The prompt to render. `source` says who wrote it ("original": the user's own, unchanged).

    `warning` says why enhancement fell back to the original; it can also be set with an enhanced text,
    for a lesser problem (the image could not be shown to a text-only model).
    """

    text: str
    source: Source
    warning: str | None = None


class EnhancementFailed(Exception):
    """A backend could not produce an enhanced prompt; `enhance_prompt` turns it into a warning."""


class PromptBackend(Protocol):
    """An LLM that can rewrite prompts. `deadline` is a `time.monotonic()` value."""

    source: str  # "ollama" | "gemma"

    def accepts_images(self, deadline: float) -> bool:
        """Whether `complete` can show the model an image."""

    def complete(self, system: str, user: str, *, image: bytes | None, deadline: float) -> tuple[str, bool]:
        """The model's reply, and whether it was cut off at the token limit; raises on any failure."""


# ---- the service --------------------------------------------------------------------------------


def enhance_prompt(
    prompt: str,
    *,
    kind: Kind,
    backend: PromptBackend | None,
    timeout_s: float,
    ctx: TaskContext | None,
    image: bytes | None = None,
) -> EnhancedPrompt:
    """Rewrite `prompt` as a cinematic prompt with `backend` within `timeout_s`; never raises.

    With `image` (the start frame of an image-to-video job, or a reference), a vision model sees it;
    a text-only one enhances from the text alone, with a warning. `backend` None: enhancement is off.
    """
    if backend is None:
        return EnhancedPrompt(prompt, "original")
    source = getattr(backend, "source", type(backend).__name__)
    start = time.monotonic()
    deadline = start + timeout_s
    note: str | None = None
    try:
        if kind not in SYSTEM_PROMPTS:
            raise EnhancementFailed(f"unknown prompt kind {kind!r} (video or image)")
        if not prompt.strip() and image is None:
            raise EnhancementFailed("the prompt is empty")
        if timeout_s <= 0:
            raise EnhancementFailed(f"no time allowed (timeout {timeout_s}s)")
        if image is not None and not backend.accepts_images(deadline):
            note = f"the {source} model cannot see images; the prompt was enhanced from its text alone"
            image = None
        reply, truncated = backend.complete(
            system_prompt(kind, with_image=image is not None), user_message(prompt), image=image, deadline=deadline
        )
        if time.monotonic() > deadline + 0.5:
            raise EnhancementFailed(f"timed out after {timeout_s:g}s")
        text = clean_reply(reply)
        if truncated:
            text = _trim_to_sentence(text)
        if not text:
            raise EnhancementFailed("the model's reply was empty")
    except Exception as exc:
        reason = _describe(exc, timeout_s)
        warning = f"prompt enhancement with {source} failed ({reason}); using the prompt as written"
        log.warning("%s", warning)
        _log(ctx, f"warning: {warning}")
        return EnhancedPrompt(prompt, "original", warning)
    if note:
        _log(ctx, f"warning: {note}")
    _log(ctx, f"prompt enhanced with {source} in {time.monotonic() - start:.1f}s: {text}")
    return EnhancedPrompt(text, source, note)


def _log(ctx: TaskContext | None, message: str) -> None:
    if ctx is None:
        return
    try:
        ctx.log(message)
    except Exception:  # the job log is best effort here; enhancement must not fail the job
        log.exception("could not log to the job: %s", message)


def _describe(exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, EnhancementFailed | FailedPrecondition):
        return str(exc)
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        return f"timed out after {timeout_s:g}s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# ---- cleaning the reply ---------------------------------------------------------------------------

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_LABEL = re.compile(
    r"^[\s*_#>]*(?:(?:sure|okay|ok|certainly|of course|absolutely)\s*[!.,]?\s+)?"
    r"(?:(?:here(?:'s| is| are)|below is)\b[^\n:]{0,100}:|(?:[a-z-]+\s+){0,3}?prompt\s*:)(?:[*_]+(?=\s))?\s*",
    re.IGNORECASE,
)
_AFTERWORD = re.compile(
    r"^\s*[(*_]*\s*(?:note|notes|explanation|this prompt|this version|i (?:have|added|kept|focused)|"
    r"let me know|feel free|hope)\b",
    re.IGNORECASE,
)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`"}


def clean_reply(reply: str) -> str:
    """The prompt inside an LLM's reply: one paragraph, without thinking, preamble, labels, quotes or notes."""
    text = _THINK.sub("", reply)
    text = _FENCE.sub("", text).strip()
    text = _LABEL.sub("", text, count=1)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    while len(paragraphs) > 1 and _AFTERWORD.match(paragraphs[-1]):
        paragraphs.pop()
    text = " ".join(" ".join(paragraphs).split())
    return _unquote(text)


def _unquote(text: str) -> str:
    while True:
        stripped = text.strip()
        for mark in ("**", "__", "*", "_"):
            if len(stripped) > 2 * len(mark) and stripped.startswith(mark) and stripped.endswith(mark):
                inner = stripped[len(mark) : -len(mark)]
                if mark not in inner:
                    stripped = inner.strip()
        if len(stripped) >= 2 and _QUOTES.get(stripped[0]) == stripped[-1]:
            inner = stripped[1:-1]
            if stripped[0] == "'":  # apostrophes are not quotes: "'a' and 'b'" is two quotations, not one
                one = "' " not in inner and " '" not in inner
            else:
                one = stripped[0] not in inner and stripped[-1] not in inner
            if one:
                stripped = inner.strip()
        if stripped == text:
            return text
        text = stripped


def _trim_to_sentence(text: str) -> str:
    """A reply cut off at the token limit, back to its last full sentence when that keeps most of it."""
    end = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    if text.endswith((".", "!", "?")):
        return text
    if end >= len(text) // 2:
        return text[: end + 1]
    return text


# ---- Ollama ---------------------------------------------------------------------------------------


class OllamaUnavailable(FailedPrecondition):
    """Ollama could not be reached or did not answer in time."""


def vision_message(text: str, image: bytes) -> dict[str, Any]:
    """A user message that shows `image` (PNG, JPEG or WebP bytes) to a vision model.

    The `ollama` client sends the bytes base64-encoded in the message's "images", as /api/chat documents.
    """
    return {"role": "user", "content": text, "images": [image]}


def _client(host: str, timeout_s: float) -> Any:
    try:
        import httpx
        import ollama
    except ImportError as exc:
        raise OllamaUnavailable(f"the `ollama` Python package is not installed ({exc})") from exc
    return ollama.Client(host=host, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)))


def _call_with_deadline(fn: Callable[[threading.Event], T], deadline: float, what: str) -> T:
    """Run `fn` on a helper thread and give up at `deadline`; `fn` should stop once the event is set.

    The HTTP timeouts bound how long the thread itself can linger after the caller gave up.
    """
    outcome: list[Any] = []
    abandon = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, fn(abandon)))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name=f"milimo-{what}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        abandon.set()
        raise TimeoutError(f"{what} did not answer in time")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _ollama_error(exc: Exception, host: str) -> Exception:
    try:
        import httpx
        import ollama
    except ImportError:
        return exc
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return OllamaUnavailable(f"Ollama is not reachable at {host}")
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(f"Ollama at {host} did not answer in time")
    if isinstance(exc, ollama.ResponseError):
        if exc.status_code < 0:  # an error reported inside the stream
            return EnhancementFailed(f"Ollama reported: {exc.error}")
        return EnhancementFailed(f"Ollama answered {exc.status_code}: {exc.error}")
    return exc


class OllamaBackend:
    """Prompt enhancement through an Ollama server, with the official `ollama` client.

    `options` are Ollama's model options (temperature, num_ctx…); `max_tokens` caps the reply.
    """

    source = "ollama"

    def __init__(
        self,
        model: str,
        *,
        host: str = DEFAULT_OLLAMA_HOST,
        max_tokens: int = 320,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.host = host
        self.options = {"temperature": 0.7, **(options or {}), "num_predict": max_tokens}
        self._capabilities: dict[str, list[str]] = {}

    def capabilities(self, model: str | None = None, *, timeout_s: float = 5.0) -> list[str]:
        """What /api/show says `model` (default: this backend's) can do, e.g. ["completion", "vision"]."""
        name = model or self.model
        if name not in self._capabilities:
            self._capabilities[name] = show_capabilities(name, host=self.host, timeout_s=timeout_s)
        return self._capabilities[name]

    def list_vision_models(self, *, timeout_s: float = 10.0) -> list[str]:
        return list_vision_models(self.host, timeout_s=timeout_s)

    def accepts_images(self, deadline: float) -> bool:
        return "vision" in self.capabilities(timeout_s=max(0.01, deadline - time.monotonic()))

    def _known_capabilities(self, deadline: float) -> list[str]:
        """The model's capabilities, or [] when they cannot be had (the chat will then report the problem)."""
        try:
            return self.capabilities(timeout_s=max(0.01, min(5.0, deadline - time.monotonic())))
        except Exception:
            return []

    def complete(self, system: str, user: str, *, image: bytes | None, deadline: float) -> tuple[str, bool]:
        messages = [
            {"role": "system", "content": system},
            vision_message(user, image) if image is not None else {"role": "user", "content": user},
        ]

        extra: dict[str, Any] = {}
        if "thinking" in self._known_capabilities(deadline):
            extra["think"] = False  # thinking would spend the token budget and the time before the answer

        def chat(abandon: threading.Event) -> tuple[str, bool]:
            parts: list[str] = []
            done_reason = None
            with _client(self.host, max(0.01, deadline - time.monotonic())) as client:
                stream = client.chat(
                    model=self.model, messages=messages, stream=True, keep_alive=0, options=self.options, **extra
                )
                try:
                    for chunk in stream:
                        if abandon.is_set() or time.monotonic() > deadline:
                            raise TimeoutError("Ollama did not finish in time")
                        if chunk.message is not None and chunk.message.content:
                            parts.append(chunk.message.content)
                        if chunk.done:
                            done_reason = chunk.done_reason
                            break
                finally:
                    stream.close()  # closing the response tells Ollama to stop generating
            return "".join(parts), done_reason == "length"

        try:
            return _call_with_deadline(chat, deadline, "ollama")
        except Exception as exc:
            raise _ollama_error(exc, self.host) from exc


def show_capabilities(model: str, *, host: str = DEFAULT_OLLAMA_HOST, timeout_s: float = 5.0) -> list[str]:
    """The capabilities /api/show reports for `model`, e.g. ["completion", "vision"]; [] from servers too old."""

    def show(abandon: threading.Event) -> list[str]:
        with _client(host, timeout_s) as client:
            return list(client.show(model).capabilities or [])

    try:
        return _call_with_deadline(show, time.monotonic() + timeout_s, "ollama")
    except Exception as exc:
        raise _ollama_error(exc, host) from exc


def list_vision_models(host: str = DEFAULT_OLLAMA_HOST, *, timeout_s: float = 10.0) -> list[str]:
    """The installed models whose /api/show capabilities include "vision", by name.

    Raises OllamaUnavailable (FAILED_PRECONDITION) when Ollama cannot be reached.
    """
    deadline = time.monotonic() + timeout_s

    def scan(abandon: threading.Event) -> list[str]:
        found = []
        with _client(host, timeout_s) as client:
            for entry in client.list().models:
                if abandon.is_set():
                    break
                if entry.model and "vision" in (client.show(entry.model).capabilities or []):
                    found.append(entry.model)
        return found

    try:
        return _call_with_deadline(scan, deadline, "ollama")
    except Exception as exc:
        raise _ollama_error(exc, host) from exc
