"""The prompt a job renders: elements, then the daemon's enhancer (Ollama over real HTTP, or the built-in Gemma 3
through the arbiter), falling back to the prompt it had with a warning; and the story continued chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from milimo.config import ModelConfig
from milimo.tasks import elements
from milimo.tasks.elements import ResolvedPrompt
from milimo.tasks.prompting import continue_story, prepare_prompt
from milimo.tasks.resources import WorkerResources, WorkerSettings
from tests.ollama_server import ENHANCED, closed_port
from tests.task_context import RecordingContext

PROMPT = "a red fox crossing a frozen lake at dawn"


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(tmp_path)


def resources(enhancer: str = "", host: str = "", models: tuple[ModelConfig, ...] = ()) -> WorkerResources:
    return WorkerResources(WorkerSettings(models=models, enhancer=enhancer, ollama_host=host, enhance_timeout_s=10))


def warnings(ctx: RecordingContext) -> list[str]:
    return [line for line in ctx.logs if line.startswith("warning:")]


FOX = {
    "id": "el-fox",
    "kind": "character",
    "name": "Fox",
    "trigger": "@fox",
    "description": "a red fox with a white-tipped tail",
    "reference_asset_ids": [],
}


@pytest.fixture
def mentions(tmp_path: Path) -> RecordingContext:
    """A job of a project with one element, as the daemon starts it (tests/test_elements_job.py tests the rest)."""
    return RecordingContext(tmp_path, facts={"elements": [FOX]})


def test_without_elements_prompts_pass_unchanged(ctx):
    assert elements.resolve("@fox at dawn", ctx) == ResolvedPrompt("@fox at dawn")


def test_elements_are_resolved_then_ollama_enhances(ollama, mentions):
    host, state = ollama
    text = prepare_prompt(
        "@fox crossing a lake",
        kind="video",
        enhance=True,
        ctx=mentions,
        resources=resources("ollama:llama3.2:3b", host),
    )
    assert text == ENHANCED and not warnings(mentions)
    [chat] = state.chats
    assert chat["model"] == "llama3.2:3b" and chat["keep_alive"] == 0
    assert "Fox (a red fox with a white-tipped tail) crossing a lake" in chat["messages"][-1]["content"]


def test_without_enhance_only_the_elements_change(ollama, mentions):
    host, state = ollama
    worker = resources("ollama:x", host)
    text = prepare_prompt("@fox sleeps", kind="image", enhance=False, ctx=mentions, resources=worker)
    assert text == "Fox (a red fox with a white-tipped tail) sleeps" and not state.chats and not warnings(mentions)


def test_a_vision_model_sees_the_first_frame(ollama, ctx):
    host, state = ollama
    frame = np.full((8, 8, 3), 200, np.uint8)
    prepare_prompt(
        PROMPT, kind="video", enhance=True, ctx=ctx, resources=resources("ollama:llava:7b", host), image=frame
    )
    assert len(state.chats[0]["messages"][-1]["images"]) == 1


def test_unreachable_ollama_falls_back_with_a_warning(ctx):
    host = f"http://127.0.0.1:{closed_port()}"
    text = prepare_prompt(PROMPT, kind="video", enhance=True, ctx=ctx, resources=resources("ollama:llava:7b", host))
    assert text == PROMPT
    [warning] = warnings(ctx)
    assert "not reachable" in warning and host in warning


def test_asking_to_enhance_without_an_enhancer_warns(ctx):
    assert prepare_prompt(PROMPT, kind="image", enhance=True, ctx=ctx, resources=resources()) == PROMPT
    [warning] = warnings(ctx)
    assert "no enhancer configured" in warning


def test_the_built_in_gemma_is_borrowed_from_the_arbiter(tmp_path, ctx):
    """The route to a configured gemma3 model (its generation is tested in tests/models/test_prompts.py): here
    without weights, so the arbiter's load fails and the job keeps its prompt, with the reason."""
    config = ModelConfig(name="gemma3-1b", family="gemma3", path=tmp_path / "absent", device="cpu")
    worker = resources("gemma3-1b", models=(config,))
    assert prepare_prompt(PROMPT, kind="video", enhance=True, ctx=ctx, resources=worker) == PROMPT
    [warning] = warnings(ctx)
    assert "with gemma failed" in warning and "milimo models pull gemma3-1b" in warning


# ---- the story, chunk by chunk ---------------------------------------------------------------------


def test_the_story_continues_with_a_prompt_per_chunk(storyteller, ctx):
    host, state = storyteller
    worker = resources("ollama:llama3.2:3b", host)
    prompts = [PROMPT]
    while len(prompts) < 3:
        prompts.append(continue_story(PROMPT, prompts, parts=3, ctx=ctx, resources=worker))
    assert prompts[1:] == [f"The fox walks on across the cracking ice, part {n} of 3." for n in (2, 3)]
    assert not warnings(ctx) and len(ctx.logs) == 2 and "part 3 of the story written by ollama" in ctx.logs[-1]
    system, user = state.chats[-1]["messages"]
    assert "one long, continuous shot in parts" in system["content"]
    assert f"Part 1: {PROMPT}" in user["content"] and f"Part 2: {prompts[1]}" in user["content"]


def test_the_story_falls_back_to_the_last_prompt(ctx):
    unreachable = resources("ollama:llama3.2:3b", f"http://127.0.0.1:{closed_port()}")
    assert continue_story(PROMPT, [PROMPT, "later"], parts=3, ctx=ctx, resources=unreachable) == "later"
    assert continue_story(PROMPT, [PROMPT], parts=3, ctx=ctx, resources=resources()) == PROMPT
    assert ["not reachable" in w for w in warnings(ctx)] == [True, False]
