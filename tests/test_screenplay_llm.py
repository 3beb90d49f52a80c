"""The LLM mode through `OllamaBackend` against a local server speaking Ollama's /api/chat (the one the
prompt-enhancement tests run): the LLM's structure when its JSON is valid, and the rule parser's, with the
fallback reported, when it is not."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from milimo.models.prompts import OllamaBackend
from milimo.storyboard import Setting, parse_screenplay
from milimo.storyboard.llm import MAX_LLM_CHARS, SYSTEM_PROMPT
from milimo.storyboard.screenplay import DialogueLine
from tests.ollama_server import closed_port
from tests.shared_data import SHARED_DATA, needs_shared_data
from tests.task_context import RecordingContext

SCRIPT = (Path(__file__).parent / "data" / "screenplays" / "night_shift.fountain").read_text()

STORYBOARD = {
    "title": "Night Shift",
    "scenes": [
        {
            "heading": "INT. HARBOUR DINER - NIGHT",
            "shots": [
                {"action": "Rain streaks the windows.", "characters": []},
                {
                    "action": "MARA stacks chairs on tables.",
                    "dialogue": [{"speaker": "MARA", "parenthetical": "(to herself)", "text": "One more hour."}],
                    "characters": ["MARA"],
                },
                {
                    "action": "A STRANGER in a soaked coat steps in.",
                    "dialogue": [{"speaker": "STRANGER", "text": "Are you still open?"}],
                },
            ],
        },
        {
            "heading": "INT./EXT. MARA'S CAR - MOVING - LATER",
            "shots": [{"dialogue": [{"speaker": "MARA (V.O.)", "text": "I should have asked his name."}]}],
            "mood": "quiet",  # extra keys are ignored
        },
    ],
}


def backend(host: str) -> OllamaBackend:
    return OllamaBackend("llama3.2:3b", host=host, max_tokens=4096)


def structure(screenplay) -> list:
    """What a storyboard is made of, without who parsed it and what it warned."""
    return [dataclasses.asdict(scene) for scene in screenplay.scenes]


@pytest.fixture
def ctx(tmp_path: Path) -> RecordingContext:
    return RecordingContext(tmp_path)


@pytest.mark.parametrize(
    "wrap", ["{}", "```json\n{}\n```", "<think>Two scenes.</think>Here is the storyboard:\n{}"], ids=str.split
)
def test_valid_json_gives_the_llms_structure(ollama, ctx, wrap):
    host, state = ollama
    state.reply = wrap.replace("{}", json.dumps(STORYBOARD, indent=1))
    script = parse_screenplay(SCRIPT, "llm", backend=backend(host), llm_timeout_s=10, on_fallback=ctx.log)
    assert (script.parser, script.warnings, ctx.logs) == ("llm", (), [])
    assert script.title == "Night Shift"
    diner, car = script.scenes
    assert (diner.setting, diner.location, diner.time_of_day) == (Setting.INTERIOR, "HARBOUR DINER", "NIGHT")
    assert [shot.action for shot in diner.shots] == [
        "Rain streaks the windows.", "MARA stacks chairs on tables.", "A STRANGER in a soaked coat steps in.",
    ]  # fmt: skip
    assert diner.shots[1].dialogue == (DialogueLine("MARA", "One more hour.", "to herself"),)
    assert [shot.characters for shot in diner.shots] == [(), ("MARA",), ("STRANGER",)]
    assert (car.setting, car.location) == (Setting.BOTH, "MARA'S CAR - MOVING")
    [voice_over] = car.shots
    assert voice_over.dialogue == (DialogueLine("MARA", "I should have asked his name.", extension="V.O."),)
    assert voice_over.characters == ()  # heard, not seen
    assert all(shot.duration_s >= 2.0 for scene in script.scenes for shot in scene.shots)

    [chat] = state.chats
    system, user = chat["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user" and SCRIPT in user["content"]
    assert chat["keep_alive"] == 0


def assert_fell_back(script, ctx, *reason: str) -> None:
    """The rule parser's storyboard, with the reason in the warnings and the job's log."""
    assert script.parser == "fountain"
    assert structure(script) == structure(parse_screenplay(SCRIPT))
    [warning] = script.warnings
    assert warning.endswith("; used the rule parser")
    assert all(part in warning for part in reason), warning
    assert ctx.logs == [warning]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ('{"scenes": [{"heading": "INT. DINER", "shots": [', "its reply is not valid JSON"),
        ("I could not find any scenes in this text.", "its reply holds no JSON object"),
        ('{"scenes": []}', "does not match the storyboard schema: scenes: List should have at least 1 item"),
        ('{"scenes": [{"heading": "INT. DINER", "shots": [{}]}]}', "scenes.0.shots.0: Value error, a shot needs"),
        ('{"scenes": [{"heading": "X", "shots": [{"dialogue": [{"text": "Hi"}]}]}]}', "speaker: Field required"),
        ('{"scenes": [{"heading": "X", "shots": "one wide shot"}]}', "scenes.0.shots: Input should be a valid array"),
    ],
    ids=["truncated", "prose", "no-scenes", "empty-shot", "no-speaker", "wrong-type"],
)
def test_malformed_or_invalid_json_falls_back_to_the_rules(ollama, ctx, reply, reason):
    host, state = ollama
    state.reply = reply
    script = parse_screenplay(SCRIPT, "llm", backend=backend(host), llm_timeout_s=10, on_fallback=ctx.log)
    assert_fell_back(script, ctx, "the LLM (ollama) could not structure the screenplay", reason)


def test_an_unreachable_server_falls_back(ctx):
    host = f"http://127.0.0.1:{closed_port()}"
    script = parse_screenplay(SCRIPT, "llm", backend=backend(host), llm_timeout_s=5, on_fallback=ctx.log)
    assert_fell_back(script, ctx, "not reachable", host)


def test_an_ollama_error_or_a_slow_answer_falls_back(ollama, ctx):
    host, state = ollama
    state.status = 500
    script = parse_screenplay(SCRIPT, "llm", backend=backend(host), llm_timeout_s=5, on_fallback=ctx.log)
    assert_fell_back(script, ctx, "500")

    state.status, state.delay_s = 200, 30
    ctx.logs.clear()
    script = parse_screenplay(SCRIPT, "llm", backend=backend(host), llm_timeout_s=0.5, on_fallback=ctx.log)
    assert_fell_back(script, ctx, "timed out")


def test_no_llm_or_too_long_a_script_falls_back_without_asking(ollama, ctx):
    host, state = ollama
    script = parse_screenplay(SCRIPT, "llm", backend=None, on_fallback=ctx.log)
    assert_fell_back(script, ctx, "no LLM is configured")

    ctx.logs.clear()
    long_script = SCRIPT + "\n\nWaves.\n" * (MAX_LLM_CHARS // 8)
    script = parse_screenplay(long_script, "llm", backend=backend(host), on_fallback=ctx.log)
    assert script.parser == "fountain" and "more than the 60,000 it takes" in script.warnings[0]
    assert state.chats == []


@needs_shared_data
def test_the_fallback_reads_final_draft_too(ctx):
    fdx = (SHARED_DATA / "fdx" / "TestFDX-FI.fdx").read_bytes()
    script = parse_screenplay(fdx, "llm", backend=None, on_fallback=ctx.log)
    assert script.parser == "fdx" and len(script.scenes) == 2 and len(ctx.logs) == 1
