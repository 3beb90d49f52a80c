"""Prompt enhancement: Ollama over real HTTP (a local server speaking Ollama's REST API), the built-in
Gemma 3 on a tiny random checkpoint, and the fallback to the user's prompt whenever either fails."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import torch

from milimo.config import ModelConfig
from milimo.models.arbiter import Arbiter
from milimo.models.base import LoadedModel, Placement
from milimo.models.gemma import Gemma3Family, GemmaBackend, generate
from milimo.models.prompts import (
    OllamaBackend,
    OllamaUnavailable,
    clean_reply,
    enhance_prompt,
    list_vision_models,
    system_prompt,
)
from tests.ollama_server import ENHANCED, closed_port
from tests.task_context import RecordingContext

PROMPT = "a red fox crossing a frozen lake at dawn"


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(tmp_path)


# ---- Ollama ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["video", "image"])
def test_ollama_enhances_with_keep_alive_zero_and_the_system_prompt(ollama, ctx, kind):
    host, state = ollama
    state.reply = f'Here is the enhanced prompt:\n\n"{ENHANCED}"\n\nNote: I added camera and lighting details.'
    result = enhance_prompt(PROMPT, kind=kind, backend=OllamaBackend("llama3.2:3b", host=host), timeout_s=10, ctx=ctx)
    assert (result.text, result.source, result.warning) == (ENHANCED, "ollama", None)
    [chat] = state.chats
    assert chat["model"] == "llama3.2:3b"
    assert chat["keep_alive"] == 0
    assert chat["stream"] is True
    assert chat["options"]["num_predict"] > 0
    assert "think" not in chat
    system, user = chat["messages"]
    assert system == {"role": "system", "content": system_prompt(kind)}
    assert ("camera" if kind == "video" else "composition") in system["content"]
    assert user["role"] == "user" and PROMPT in user["content"] and "images" not in user
    assert any("prompt enhanced with ollama" in line for line in ctx.logs)


def test_thinking_models_are_asked_not_to_think(ollama, ctx):
    host, state = ollama
    state.reply = f"<think>The user wants a fox.</think>{ENHANCED}"
    result = enhance_prompt(PROMPT, kind="video", backend=OllamaBackend("qwen3:4b", host=host), timeout_s=10, ctx=ctx)
    assert (result.text, result.source) == (ENHANCED, "ollama")
    assert state.chats[-1]["think"] is False


def test_vision_models_are_listed_and_see_the_image(ollama, ctx):
    host, state = ollama
    assert list_vision_models(host, timeout_s=10) == ["llava:7b", "gemma3:4b"]
    assert OllamaBackend("llava:7b", host=host).list_vision_models() == ["llava:7b", "gemma3:4b"]
    image = b"\x89PNG\r\n\x1a\n fake pixels"

    result = enhance_prompt(
        PROMPT, kind="video", backend=OllamaBackend("llava:7b", host=host), timeout_s=10, ctx=ctx, image=image
    )
    assert (result.text, result.source, result.warning) == (ENHANCED, "ollama", None)
    system, user = state.chats[-1]["messages"]
    assert system["content"] == system_prompt("video", with_image=True)
    assert user["images"] == [base64.b64encode(image).decode()]

    # A text-only model gets the text alone, and the result says so.
    result = enhance_prompt(
        PROMPT, kind="video", backend=OllamaBackend("llama3.2:3b", host=host), timeout_s=10, ctx=ctx, image=image
    )
    assert result.source == "ollama" and "cannot see images" in result.warning
    assert "images" not in state.chats[-1]["messages"][1]


def assert_fell_back(result, ctx, *reason: str) -> None:
    assert (result.text, result.source) == (PROMPT, "original")
    assert result.warning and all(part in result.warning for part in reason), result.warning
    assert [line for line in ctx.logs if line.startswith("warning:")] == [f"warning: {result.warning}"]


def test_unreachable_ollama_falls_back(ctx):
    host = f"http://127.0.0.1:{closed_port()}"
    result = enhance_prompt(PROMPT, kind="video", backend=OllamaBackend("llava:7b", host=host), timeout_s=5, ctx=ctx)
    assert_fell_back(result, ctx, "not reachable", host)
    with pytest.raises(OllamaUnavailable):
        list_vision_models(host, timeout_s=5)


@pytest.mark.parametrize("where", ["before_reply", "mid_stream"])
def test_slow_ollama_falls_back_at_the_timeout(ollama, ctx, where):
    host, state = ollama
    if where == "before_reply":
        state.delay_s = 30
    else:
        state.stall_after_first_chunk_s = 30
    result = enhance_prompt(PROMPT, kind="video", backend=OllamaBackend("llava:7b", host=host), timeout_s=0.5, ctx=ctx)
    assert_fell_back(result, ctx, "timed out")  # the server would have answered after 30 s


def test_ollama_error_or_empty_reply_falls_back(ollama, ctx):
    host, state = ollama
    state.status = 500
    result = enhance_prompt(PROMPT, kind="image", backend=OllamaBackend("llava:7b", host=host), timeout_s=5, ctx=ctx)
    assert_fell_back(result, ctx, "500", "llama runner process has terminated")

    state.status, state.reply = 200, '  ""  '
    ctx.logs.clear()
    result = enhance_prompt(PROMPT, kind="image", backend=OllamaBackend("llava:7b", host=host), timeout_s=5, ctx=ctx)
    assert_fell_back(result, ctx, "empty")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Sure! Here's a cinematic version of your prompt:\n\n**A fox in snow.**", "A fox in snow."),
        ("**Enhanced Prompt:** “A fox\nin snow.”", "A fox in snow."),
        ("<think>they want a fox</think>\n```\n'A fox in snow.'\n```", "A fox in snow."),
        ('A fox says "hello" to a "cat".', 'A fox says "hello" to a "cat".'),
        ("'The fox's den at dusk'", "The fox's den at dusk"),
    ],
)
def test_replies_lose_preambles_quotes_and_notes(reply, expected):
    assert clean_reply(reply) == expected


# ---- the built-in Gemma 3 -------------------------------------------------------------------------

CPU = Placement(device=torch.device("cpu"), dtype=torch.float32)


@pytest.fixture(scope="module")
def tiny_gemma(tmp_path_factory: pytest.TempPathFactory) -> ModelConfig:
    path = tmp_path_factory.mktemp("gemma-tiny")
    Gemma3Family().make_tiny(path)
    return ModelConfig(name="gemma-tiny", family="gemma3", path=path)


@pytest.fixture(scope="module")
def gemma(tiny_gemma: ModelConfig) -> LoadedModel:
    return Gemma3Family().load(tiny_gemma, CPU)


def test_tiny_gemma_is_a_real_checkpoint(tiny_gemma, gemma):
    files = {p.name for p in tiny_gemma.path.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"} <= files
    assert {"tokenizer_config.json", "chat_template.jinja"} <= files
    assert json.loads((tiny_gemma.path / "config.json").read_text())["model_type"] == "gemma3_text"
    assert type(gemma.modules["model"]).__name__ == "Gemma3ForCausalLM"
    tokenizer = gemma.modules["tokenizer"]
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "a fox"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text == "<bos><start_of_turn>user\nBe brief.\n\na fox<end_of_turn>\n<start_of_turn>model\n"
    ids = tokenizer("a fox, ünïcode")["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "a fox, ünïcode"


def test_gemma_generate_respects_max_new_tokens(gemma):
    messages = [{"role": "user", "content": PROMPT}]
    result = generate(gemma, messages, max_new_tokens=6, min_new_tokens=6, temperature=0)
    assert (result.new_tokens, result.stopped) == (6, "max_tokens")
    assert isinstance(result.text, str)
    assert generate(gemma, messages, max_new_tokens=4).new_tokens <= 4


def test_gemma_chat_template_without_a_system_role(gemma):
    tokenizer = gemma.modules["tokenizer"]
    original = tokenizer.chat_template
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}<end_of_turn>\n{% endfor %}"
        "<start_of_turn>model\n"
    )
    try:
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
        assert generate(gemma, messages, max_new_tokens=2, min_new_tokens=2).new_tokens == 2
    finally:
        tokenizer.chat_template = original


def test_gemma_generate_stops_at_the_deadline(gemma):
    result = generate(
        gemma, [{"role": "user", "content": PROMPT}], max_new_tokens=5000, min_new_tokens=5000, timeout_s=0.3
    )
    assert result.stopped == "deadline"
    assert 0 < result.new_tokens < 5000
    assert result.seconds >= 0.3


@pytest.mark.parametrize("via", ["arbiter", "config"])
def test_gemma_backend_enhances(tiny_gemma, ctx, via):
    options = {"max_new_tokens": 12, "temperature": 0}
    if via == "arbiter":
        arbiter = Arbiter({tiny_gemma.name: tiny_gemma}, device="cpu", loader=Gemma3Family().load)
        backend = GemmaBackend.from_arbiter(arbiter, tiny_gemma.name, **options)
    else:
        backend = GemmaBackend.from_config(tiny_gemma, CPU, **options)  # loaded for the call, released after
    result = enhance_prompt(PROMPT, kind="video", backend=backend, timeout_s=20, ctx=ctx, image=b"png")
    assert result.source == "gemma" and result.text.strip()  # random weights: gibberish, but text
    assert "cannot see images" in result.warning  # Gemma 3 text is text only
    if via == "arbiter":
        assert arbiter.state() == {tiny_gemma.name: "on_accelerator"}


def test_missing_gemma_weights_fall_back(tmp_path, ctx):
    config = ModelConfig(name="gemma3-1b", family="gemma3", path=tmp_path / "absent")
    result = enhance_prompt(PROMPT, kind="video", backend=GemmaBackend.from_config(config), timeout_s=5, ctx=ctx)
    assert_fell_back(result, ctx, "no weights", "milimo models pull gemma3-1b")
