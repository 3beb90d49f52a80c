"""ShotWriter: a shot encoded piece by piece on its own thread is the file encoding it whole gives."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from milimo.media.ops import MediaError, encode_frames, read_audio, read_frames
from milimo.tasks.chain import Piece
from milimo.tasks.context import TaskCancelled
from milimo.tasks.shot_writer import ShotWriter
from tests.task_context import RecordingContext

FPS, RATE = Fraction(24), 48_000
W, H, FRAMES = 64, 48, 30


def shot() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    frames = np.stack([np.full((H, W, 3), 8 * i, np.uint8) for i in range(FRAMES)])
    audio = rng.normal(0, 0.1, (2, FRAMES * RATE // 24)).astype(np.float32)
    return frames, audio


def pieces(frames: np.ndarray, audio: np.ndarray | None, cuts: list[int]) -> list[Piece]:
    """The shot cut at frame `cuts`, each piece's audio ending 9 frames before its frames do (the overlap's lag)."""
    bounds = [0, *cuts, FRAMES]
    audio_ends = [0, *(max(0, c - 9) * RATE // 24 for c in cuts), FRAMES * RATE // 24]
    return [
        Piece(
            frames[bounds[i] : bounds[i + 1]],
            None if audio is None else audio[:, audio_ends[i] : audio_ends[i + 1]],
            None if audio is None else RATE,
        )
        for i in range(len(bounds) - 1)
    ]


@pytest.mark.parametrize("with_audio", [True, False])
def test_pieces_encode_to_what_the_whole_shot_encodes_to(tmp_path: Path, with_audio: bool):
    frames, audio = shot()
    audio = audio if with_audio else None
    ctx = RecordingContext(tmp_path)
    with ShotWriter(tmp_path / "pieces.mp4", FPS, FRAMES, backlog=1) as writer:
        for piece in pieces(frames, audio, [17, 25]):
            writer.put(piece)
        info = writer.finish(ctx)
    whole = encode_frames(frames, tmp_path / "whole.mp4", FPS, audio=audio, audio_sample_rate=RATE)

    assert (info.frames, info.width, info.height, info.fps, info.has_audio) == (FRAMES, W, H, FPS, with_audio)
    assert np.array_equal(read_frames(tmp_path / "pieces.mp4"), read_frames(tmp_path / "whole.mp4"))
    if with_audio:
        assert info.audio_duration == whole.audio_duration
        (heard, _), (expected, _) = read_audio(tmp_path / "pieces.mp4"), read_audio(tmp_path / "whole.mp4")
        assert heard.shape == expected.shape and np.allclose(heard, expected, atol=1e-3)
    assert ctx.events[-1][:2] == (FRAMES, FRAMES)  # the encoding reported to the end


def test_a_cancel_while_encoding_leaves_nothing(tmp_path: Path):
    frames, audio = shot()
    target = tmp_path / "cancelled.mp4"
    with pytest.raises(TaskCancelled), ShotWriter(target, FPS, FRAMES) as writer:
        for piece in pieces(frames, audio, [17]):
            writer.put(piece)
        writer.finish(RecordingContext(tmp_path, cancel_after_checks=0))
    assert list(tmp_path.iterdir()) == []


def test_an_encoder_failure_reaches_the_task_and_leaves_nothing(tmp_path: Path):
    odd = np.zeros((FRAMES, H, W - 1, 3), np.uint8)  # H.264 in yuv420p needs even sizes
    with pytest.raises(MediaError, match="even dimensions"), ShotWriter(tmp_path / "odd.mp4", FPS, FRAMES) as writer:
        for piece in pieces(odd, None, [10, 20]):
            writer.put(piece)
        writer.finish(RecordingContext(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_long_shot_holds_no_more_than_its_backlog_of_pieces(tmp_path: Path):
    """Pieces made one after another, faster than they encode (as a model's chunks may be), are waited for at the
    backlog and let go once encoded: the shot's memory is a few pieces however long it is."""
    per_piece, count, side = 8, 40, 256
    piece_bytes = per_piece * side * side * 3
    tracemalloc.start()  # numpy reports its arrays to it
    try:
        with ShotWriter(tmp_path / "long.mp4", FPS, per_piece * count, backlog=2) as writer:
            for index in range(count):
                writer.put(Piece(np.full((per_piece, side, side, 3), 6 * index, np.uint8), None, None))
            info = writer.finish(RecordingContext(tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.frames == per_piece * count
    # Two waiting, one being encoded, one being made, and room for the encoder's per-frame copies: not forty.
    assert peak < 6 * piece_bytes, f"peak {peak / piece_bytes:.1f} pieces"
