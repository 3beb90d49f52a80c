"""Long shots in chunks: the plan, each chunk's conditions, the assembly of decoded chunks, one progress bar.

A model makes at most a pass of frames at a time (`FrameRule.one_pass`), in counts it accepts (`step`k+1 for LTX).
A longer shot is made in chunks. Chunk i > 0 starts `overlap` frames before the end of chunk i - 1 and is
conditioned on those frames, so its first `overlap` decoded frames repeat them; assembly drops them (in decoded
frames, never by re-encoding) and drops the audio under them on the same side, the chunk's head, by the same
duration, so the sound stays on its pictures. Under the overlap the previous chunk's audio fades into the new
one's (the model conditions only the pictures, so the two tracks differ there; a hard cut would click).
Frames past the shot's end (the last pass is rounded up to a count the model takes) are dropped from the tail,
with their audio.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from milimo.models.requests import VideoCondition, VideoResult
from milimo.tasks.context import ContextView, TaskContext

DEFAULT_OVERLAP = 9  # ChainOptions.overlap_frames = 0
ETA_WINDOW = 16  # steps in the moving average of step times


@dataclass(frozen=True)
class FrameRule:
    """The frame counts a family generates: `step`k+1, and at most `one_pass` by default in one pass."""

    step: int
    one_pass: int

    def fit(self, frames: int) -> int:
        """The smallest count the model takes that holds `frames`."""
        return -(-(frames - 1) // self.step) * self.step + 1

    def floor(self, frames: int) -> int:
        """The largest count the model takes that is at most `frames` (at least 1)."""
        return max(0, frames - 1) // self.step * self.step + 1


# One place for each video family's frame rule (LTX-Video and LTX-2: 8k+1 frames, 121 = 5 s at 24 fps a pass).
FRAME_RULES: dict[str, FrameRule] = {
    "ltx-video": FrameRule(step=8, one_pass=121),
    "ltx2": FrameRule(step=8, one_pass=121),
}


@dataclass(frozen=True)
class Chunk:
    """One pass of the model: `frames` generated from shot frame `start`; the first `overlap` of them repeat the
    previous chunk's last ones and are dropped, the next `keep` become shot frames (the rest is past the end)."""

    index: int
    start: int
    frames: int
    overlap: int
    keep: int

    @property
    def first_kept(self) -> int:
        return self.start + self.overlap

    @property
    def end(self) -> int:
        """One past the last shot frame this chunk provides."""
        return self.first_kept + self.keep


@dataclass(frozen=True)
class ChainPlan:
    frames: int  # of the whole shot
    chunk_frames: int  # the longest pass
    overlap: int
    chunks: tuple[Chunk, ...]

    @property
    def chained(self) -> bool:
        return len(self.chunks) > 1

    def as_media(self, seed: int) -> dict[str, Any]:
        return {
            "chunk_frames": self.chunk_frames,
            "overlap_frames": self.overlap,
            "chunks": [
                {
                    "start": c.start,
                    "frames": c.frames,
                    "overlap": c.overlap,
                    "keep": c.keep,
                    "seed": chunk_seed(seed, c),
                }
                for c in self.chunks
            ],
        }


def chunk_seed(seed: int, chunk: Chunk) -> int:
    """Each chunk its own noise, reproducibly from the shot's seed (the first chunk's is the shot's)."""
    return seed + chunk.index


def plan_chain(frames: int, rule: FrameRule, *, chunk_frames: int = 0, overlap: int = 0) -> ChainPlan:
    """Chunks that make exactly `frames` shot frames.

    `chunk_frames` (0: the rule's one pass) is rounded up to a count the model takes, and is at least `step`+1 so
    every chunk adds frames; `overlap` (0: 9) is rounded down to one, and kept below the chunk. A shot that fits in
    one chunk is one pass of the next count the model takes, its extra frames dropped from the tail.
    """
    chunk = max(rule.fit(chunk_frames or rule.one_pass), rule.step + 1)
    if frames <= chunk:
        return ChainPlan(frames, chunk, 0, (Chunk(0, 0, rule.fit(frames), 0, frames),))
    overlap = rule.floor(min(overlap or DEFAULT_OVERLAP, chunk - 1))
    chunks = [Chunk(0, 0, chunk, 0, chunk)]
    covered = chunk
    while covered < frames:
        remaining = frames - covered
        length = min(chunk, rule.fit(remaining + overlap))
        keep = min(length - overlap, remaining)
        chunks.append(Chunk(len(chunks), covered - overlap, length, overlap, keep))
        covered += keep
    return ChainPlan(frames, chunk, overlap, tuple(chunks))


def conditions_in(chunk: Chunk, conditions: Sequence[VideoCondition]) -> tuple[VideoCondition, ...]:
    """The shot's conditions on the frames this chunk provides, at the chunk's own frame indices.

    A clip that spans chunks is split between them; conditions under a chunk's overlap belong to the chunk before.
    """
    found = []
    for condition in conditions:
        first = max(condition.frame_index, chunk.first_kept)
        stop = min(condition.frame_index + condition.frames.shape[0], chunk.end)
        if first < stop:
            frames = condition.frames[first - condition.frame_index : stop - condition.frame_index]
            found.append(VideoCondition(frames, first - chunk.start, condition.strength))
    return tuple(found)


def chunk_prompts(given: Sequence[str], count: int) -> list[str]:
    """One prompt per chunk from a list that may be shorter (its last prompt repeats) or longer (the rest unused)."""
    return [given[min(i, len(given) - 1)] for i in range(count)]


def sample_at(frame: int, fps: Fraction, rate: int) -> int:
    """The audio sample at the start of shot frame `frame`."""
    return round(Fraction(frame) * rate / fps)


@dataclass(frozen=True)
class Piece:
    """What one chunk makes final: the shot's next frames, and the audio that no later chunk will change (it lags the
    frames by the overlap, which the next chunk's audio fades over); None when the model makes no sound."""

    frames: np.ndarray
    audio: np.ndarray | None
    sample_rate: int | None


class Assembly:
    """The shot put together from its chunks' decoded frames and audio, as they come (see the module's notes).

    Each chunk's kept frames are handed on at once as a `Piece`, so a long shot is never whole in memory; only its
    audio, which is small, is kept here.
    """

    def __init__(self, plan: ChainPlan, fps: Fraction) -> None:
        self.plan = plan
        self.fps = fps
        self.audio: np.ndarray | None = None
        self.sample_rate: int | None = None
        self._audio_final = 0  # samples already handed on

    def add(self, chunk: Chunk, result: VideoResult) -> Piece:
        if result.frames.shape[0] != chunk.frames:
            raise ValueError(f"chunk {chunk.index} has {result.frames.shape[0]} frames, not the {chunk.frames} planned")
        if result.audio is not None and result.audio_sample_rate:
            self._add_audio(chunk, result.audio, result.audio_sample_rate)
        kept = result.frames[chunk.overlap : chunk.overlap + chunk.keep]
        return Piece(kept, self._final_audio(chunk), self.sample_rate)

    def _final_audio(self, chunk: Chunk) -> np.ndarray | None:
        """The samples from the last piece's end up to where the next chunk's audio begins (the shot's end)."""
        if self.audio is None or self.sample_rate is None:
            return None
        following = self.plan.chunks[chunk.index + 1 :]
        until = sample_at(following[0].start, self.fps, self.sample_rate) if following else self.audio.shape[1]
        final = self.audio[:, self._audio_final : until].copy()
        self._audio_final = until
        return final

    def _add_audio(self, chunk: Chunk, audio: np.ndarray, rate: int) -> None:
        if self.audio is None:
            self.sample_rate = rate
            self.audio = np.zeros((audio.shape[0], sample_at(self.plan.frames, self.fps, rate)), np.float32)
        elif rate != self.sample_rate:
            raise ValueError(f"chunk {chunk.index} has audio at {rate} Hz, the shot at {self.sample_rate} Hz")
        # The chunk's sample j plays at shot sample origin + j, as its frame f plays at shot frame start + f.
        origin = sample_at(chunk.start, self.fps, rate)
        fade_from, kept_from = origin, sample_at(chunk.first_kept, self.fps, rate)
        kept_to = sample_at(chunk.end, self.fps, rate)
        track = np.zeros((audio.shape[0], kept_to - origin), np.float32)  # models may make a little less audio
        available = min(track.shape[1], audio.shape[1])
        track[:, :available] = audio[:, :available]
        if kept_from > fade_from:
            fade_in = np.linspace(0.0, 1.0, kept_from - fade_from, endpoint=False, dtype=np.float32)
            under = self.audio[:, fade_from:kept_from]
            self.audio[:, fade_from:kept_from] = under * (1 - fade_in) + track[:, : kept_from - origin] * fade_in
        self.audio[:, kept_from:kept_to] = track[:, kept_from - origin :]


# ---- one progress bar over all chunks ------------------------------------------------------------


class StepClock:
    """Seconds per step, as the moving average of the last `window` measured steps."""

    def __init__(self, window: int = ETA_WINDOW) -> None:
        self._durations: deque[float] = deque(maxlen=window)
        self._last: tuple[int, float] | None = None

    def tick(self, done: int) -> None:
        now = time.monotonic()
        if self._last is None:
            self._last = (done, now)
        elif done > self._last[0]:
            self._durations.append((now - self._last[1]) / (done - self._last[0]))
            self._last = (done, now)

    def eta(self, steps_left: int) -> float | None:
        if not self._durations:
            return None
        return steps_left * sum(self._durations) / len(self._durations)


def format_duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class ChunkProgress(ContextView):
    """The TaskContext a chunk's generation reports to: its steps become one bar over all chunks, e.g.
    "chunk 2/3 · step 5/30 · ETA 1m20s", the ETA from measured step times."""

    def __init__(self, ctx: TaskContext, chunks: int) -> None:
        super().__init__(ctx)
        self._chunks = chunks
        self._index = 0
        self._clock = StepClock()
        self._clock.tick(0)  # the first step is timed from here, so make this just before the first chunk

    def begin(self, chunk: Chunk) -> None:
        self._index = chunk.index

    def progress(self, step: int, total: int, message: str = "", preview: bytes | None = None) -> None:
        done, overall = self._index * total + step, self._chunks * total
        self._clock.tick(done)
        parts = [f"chunk {self._index + 1}/{self._chunks}"] if self._chunks > 1 else []
        parts.append(f"step {step}/{total}")
        if message and message != "denoising":
            parts.append(message)  # a stage of the two-stage upscale
        eta = self._clock.eta(overall - done)
        if eta is not None and done < overall:
            parts.append(f"ETA {format_duration(eta)}")
        self._ctx.progress(done, overall, " · ".join(parts), preview)
