"""Chained shots without a model: the chunk plan, conditions per chunk, assembly of synthetic chunks, progress."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from milimo.models.requests import VideoCondition, VideoResult
from milimo.tasks.chain import (
    Assembly,
    ChainPlan,
    ChunkProgress,
    FrameRule,
    chunk_prompts,
    conditions_in,
    format_duration,
    plan_chain,
    sample_at,
)
from tests.task_context import RecordingContext

LTX = FrameRule(step=8, one_pass=121)
FPS = Fraction(24)
RATE = 8000  # 333⅓ samples a frame: the rounding must not drift


def test_the_plan_of_a_three_chunk_shot():
    plan = plan_chain(33, LTX, chunk_frames=17, overlap=9)
    assert [(c.start, c.frames, c.overlap, c.keep) for c in plan.chunks] == [
        (0, 17, 0, 17),
        (8, 17, 9, 8),
        (16, 17, 9, 8),
    ]
    assert (plan.chunk_frames, plan.overlap, plan.chained) == (17, 9, True)


@pytest.mark.parametrize(("chunk_frames", "overlap"), [(0, 0), (17, 9), (20, 12), (9, 0), (33, 1), (2, 5)])
def test_every_frame_count_is_made_exactly(chunk_frames, overlap):
    for frames in range(2, 400):
        plan = plan_chain(frames, LTX, chunk_frames=chunk_frames, overlap=overlap)
        assert_consistent(plan, frames)
        assert plan.chunk_frames == max(LTX.fit(chunk_frames or LTX.one_pass), 9)
        assert all(c.frames <= plan.chunk_frames for c in plan.chunks) or plan.chunks[0].frames == LTX.fit(frames)


def assert_consistent(plan: ChainPlan, frames: int) -> None:
    assert plan.frames == frames and sum(c.keep for c in plan.chunks) == frames
    assert plan.chunks[0].start == 0 and plan.chunks[0].overlap == 0
    for before, chunk in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert chunk.first_kept == before.end  # no frame twice, none missing
        assert chunk.start + chunk.overlap <= before.start + before.frames  # conditioned on frames that exist
        assert chunk.overlap == plan.overlap and (chunk.overlap - 1) % 8 == 0
    for chunk in plan.chunks:
        assert (chunk.frames - 1) % 8 == 0 and 0 < chunk.keep <= chunk.frames - chunk.overlap
    assert plan.chunks[-1].end == frames


def test_a_short_shot_is_one_pass_trimmed_at_the_tail():
    plan = plan_chain(12, LTX)
    assert not plan.chained and [(c.start, c.frames, c.overlap, c.keep) for c in plan.chunks] == [(0, 17, 0, 12)]


def test_conditions_go_to_the_chunk_that_makes_their_frames():
    plan = plan_chain(33, LTX, chunk_frames=17, overlap=9)  # chunks provide frames 0-16, 17-24, 25-32
    clip = np.arange(12, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    last = np.full((1, 4, 4, 3), 200, np.uint8)
    conditions = [VideoCondition(clip, 10, 0.5), VideoCondition(last, 32, 1.0)]
    found = [conditions_in(chunk, conditions) for chunk in plan.chunks]
    # The clip's frames 10-16 stay in chunk 0; 17-21 go to chunk 1, at its own index 17 - 8 = 9.
    assert [(c.frame_index, c.frames.shape[0], c.strength) for c in found[0]] == [(10, 7, 0.5)]
    assert [(c.frame_index, c.frames.shape[0]) for c in found[1]] == [(9, 5)]
    assert found[1][0].frames[0, 0, 0, 0] == 7  # the clip's eighth frame
    assert [(c.frame_index, c.frames.shape[0]) for c in found[2]] == [(16, 1)]


def test_a_short_prompt_list_repeats_its_last_prompt():
    assert chunk_prompts(["dawn", "noon"], 4) == ["dawn", "noon", "noon", "noon"]
    assert chunk_prompts(["a", "b", "c"], 2) == ["a", "b"]


# ---- the seam, on synthetic chunks --------------------------------------------------------------


def scene(frame: int) -> np.ndarray:
    """A smooth pattern drifting right, 1.5 px a frame: what frame `frame` of the whole shot shows."""
    x = np.arange(48)
    row = 128 + 100 * np.sin(2 * np.pi * (x - 1.5 * frame) / 48)
    return np.repeat(np.repeat(row[None, :, None], 16, axis=0), 3, axis=2)


EVENTS = (5, 20, 30, 41, 52)  # frames where the soundtrack has a click


def synthetic_chunks(plan: ChainPlan, seed: int = 0) -> list[VideoResult]:
    """Chunks as a conditioned model makes them: each shows its stretch of the scene, its first frames repeating
    the previous chunk's last ones, with a little noise of its own; its audio clicks at the scene's events."""
    rng = np.random.default_rng(seed)
    chunks = []
    for chunk in plan.chunks:
        frames = np.stack([scene(chunk.start + f) for f in range(chunk.frames)])
        frames = np.clip(frames + rng.normal(0, 1.5, frames.shape), 0, 255).astype(np.uint8)
        audio = rng.normal(0, 0.01, (2, sample_at(chunk.frames, FPS, RATE) - 100)).astype(np.float32)  # a bit short
        for event in EVENTS:
            local = sample_at(event - chunk.start, FPS, RATE)
            if 0 <= local < audio.shape[1]:
                audio[:, local] = 1.0
        chunks.append(VideoResult(frames, FPS, audio, RATE))
    return chunks


def frame_steps(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference between each frame and the one before (index t: frames t-1 and t)."""
    diffs = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    return np.concatenate([[0.0], diffs])


def test_chunk_boundaries_are_as_smooth_as_the_chunks_and_sound_stays_on_its_frames():
    plan = plan_chain(57, LTX, chunk_frames=25, overlap=9)
    assert len(plan.chunks) == 3
    assembly = Assembly(plan, FPS)
    pieces = [assembly.add(chunk, result) for chunk, result in zip(plan.chunks, synthetic_chunks(plan), strict=True)]
    frames = np.concatenate([piece.frames for piece in pieces])
    audio = np.concatenate([piece.audio for piece in pieces], axis=1)
    # Each piece's sound is final: it ends where the next chunk's begins (its fade), the last one at the shot's end.
    ends = np.cumsum([piece.audio.shape[1] for piece in pieces])
    assert list(ends) == [sample_at(chunk.start, FPS, RATE) for chunk in plan.chunks[1:]] + [sample_at(57, FPS, RATE)]
    assert np.array_equal(audio, assembly.audio)

    assert frames.shape == (57, 16, 48, 3)
    steps = frame_steps(frames)
    seams = [chunk.first_kept for chunk in plan.chunks[1:]]
    within = np.delete(steps[1:], [s - 1 for s in seams])
    assert steps[seams].max() <= within.max()

    assert audio.shape == (2, sample_at(57, FPS, RATE))  # as long as the pictures
    clicks = np.flatnonzero(audio[0] > 0.5)
    heard = sorted({round(Fraction(int(s)) * FPS / RATE) for s in clicks})
    assert len(heard) == len(EVENTS) and all(abs(h - e) <= 1 for h, e in zip(heard, EVENTS, strict=True))


def test_the_seam_test_catches_a_trim_on_the_wrong_side():
    """Dropping chunks' last frames instead of their first ones repeats a stretch of the scene: a jump back."""
    plan = plan_chain(57, LTX, chunk_frames=25, overlap=9)
    chunks = synthetic_chunks(plan)
    wrong = np.concatenate([c.frames[: chunk.keep] for chunk, c in zip(plan.chunks, chunks, strict=True)])
    steps = frame_steps(wrong)
    seams = [chunk.first_kept for chunk in plan.chunks[1:]]
    assert steps[seams].max() > 3 * np.delete(steps[1:], [s - 1 for s in seams]).max()


# ---- one progress bar ------------------------------------------------------------------------------


def test_progress_is_one_bar_over_all_chunks(tmp_path):
    ctx = RecordingContext(tmp_path)
    plan = plan_chain(33, LTX, chunk_frames=17, overlap=9)
    progress = ChunkProgress(ctx, len(plan.chunks))
    for chunk in plan.chunks:
        progress.begin(chunk)
        for step in range(1, 4):
            progress.progress(step, 3, "denoising")
    assert ctx.steps == [(step, 9) for step in range(1, 10)]
    messages = [message for _, _, message, _ in ctx.events]
    assert messages[4].startswith("chunk 2/3 · step 2/3 · ETA ")
    assert messages[-1] == "chunk 3/3 · step 3/3"


def test_durations_read_as_people_write_them():
    assert [format_duration(s) for s in (0.4, 42, 80, 3725)] == ["0s", "42s", "1m20s", "1h02m"]
