"""The embedded animatic backend: real renders, probed back, with a concrete TaskContext."""

from __future__ import annotations

import io
import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from milimo.media.ops import extract_frame, probe
from milimo.tasks.animatic import AnimaticSpec, render_animatic, render_animatic_frame, timecode
from milimo.tasks.context import TaskCancelled, TaskContext
from tests.task_context import RecordingContext


def spec(width: int = 128, height: int = 96, frames: int = 12, fps: Fraction | int = 24, **kw) -> AnimaticSpec:
    fields = {
        "scene_heading": "INT. KITCHEN — NIGHT",
        "description": "Anna stands at the window, rain streaking the glass. She turns as Ben enters.",
        "characters": ("Anna", "Ben"),
        "scene_number": 3,
        "shot_number": 2,
    }
    return AnimaticSpec(width, height, frames, Fraction(fps), **{**fields, **kw})


def test_context_satisfies_protocol(tmp_path: Path) -> None:
    ctx: TaskContext = RecordingContext(tmp_path)
    assert ctx.scratch_dir == tmp_path and not ctx.cancelled


@pytest.mark.parametrize(
    ("width", "height", "frames", "fps"),
    [(64, 64, 10, Fraction(24)), (128, 96, 14, Fraction(30000, 1001)), (96, 160, 9, Fraction(25))],
    ids=["64x64", "128x96-ntsc", "96x160-portrait"],
)
def test_render_is_exact(tmp_path: Path, width: int, height: int, frames: int, fps: Fraction) -> None:
    s = spec(width, height, frames, fps, seed=width)
    ctx = RecordingContext(tmp_path)
    out = tmp_path / "shot.mp4"
    info = render_animatic(s, out, ctx)
    assert info == probe(out)
    assert (info.width, info.height, info.frames, info.fps) == (width, height, frames, fps)
    assert info.duration == Fraction(frames) / fps and not info.has_audio
    # The file holds what render_animatic_frame draws.
    for index in (0, frames - 1):
        got = extract_frame(out, index).astype(np.int16)
        assert np.abs(got - render_animatic_frame(s, index)).mean() < 4
    assert ctx.events[-1][:3] == (frames, frames, "rendering")
    steps = [e[0] for e in ctx.events]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert ctx.logs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.mp4"]


def test_frames_change_every_frame() -> None:
    s = spec(160, 90, 48, start_frame=100)
    frames = [render_animatic_frame(s, i) for i in (0, 1, 2, 47)]
    for a, b in itertools.pairwise(frames):
        assert a.shape == (90, 160, 3) and a.dtype == np.uint8
        assert not np.array_equal(a, b)
    assert np.array_equal(render_animatic_frame(s, -1), frames[-1])
    with pytest.raises(IndexError):
        render_animatic_frame(s, 48)


def test_timecode() -> None:
    assert timecode(0, Fraction(24)) == "00:00:00:00"
    assert timecode(23, Fraction(24)) == "00:00:00:23"
    assert timecode(24 * 3600 + 24 * 61 + 5, Fraction(24)) == "01:01:01:05"
    assert timecode(30, Fraction(30000, 1001)) == "00:00:01:00"  # counts at nominal 30
    assert timecode(24, Fraction(24000, 1001)) == "00:00:01:00"
    assert timecode(25 * 86400, Fraction(25)) == "00:00:00:00"  # wraps at 24 h
    assert timecode(3, Fraction(1, 2)) == "00:00:03:00"


def test_timecode_burn_in_moves_only_the_dynamic_parts() -> None:
    """Text is static: between two frames only background drift, timecode and progress bar change."""
    s = spec(1280, 720, 240, 24)
    a, b = render_animatic_frame(s, 0), render_animatic_frame(s, 1)
    assert a.shape == (720, 1280, 3)
    assert a.std() > 10  # not a blank card
    bottom_right = (slice(540, 700), slice(900, 1240))
    assert np.abs(a[bottom_right].astype(np.int16) - b[bottom_right]).max() > 100  # the timecode digits


def test_cancel_leaves_no_output(tmp_path: Path) -> None:
    ctx = RecordingContext(tmp_path, cancel_after_checks=5 + 1)  # one check before the first frame
    out = tmp_path / "shot.mp4"
    with pytest.raises(TaskCancelled):
        render_animatic(spec(frames=40), out, ctx)
    assert ctx.checks == 5 + 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_preview_is_a_small_jpeg(tmp_path: Path) -> None:
    ctx = RecordingContext(tmp_path)
    render_animatic(spec(640, 360, 6), tmp_path / "shot.mp4", ctx)
    previews = [e[3] for e in ctx.events if e[3] is not None]
    assert previews  # the first report carries one
    img = Image.open(io.BytesIO(previews[0]))
    assert img.format == "JPEG" and img.width <= 256 and img.size == (256, 144)


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="even"):
        AnimaticSpec(127, 96, 10, Fraction(24))
    with pytest.raises(ValueError, match="frames"):
        AnimaticSpec(128, 96, 0, Fraction(24))
    with pytest.raises(ValueError, match="float"):
        AnimaticSpec(128, 96, 10, 23.976)  # type: ignore[arg-type]
    assert AnimaticSpec(128, 96, 10, 24).fps == Fraction(24)  # type: ignore[arg-type]


def test_unusual_text_is_rendered_without_errors() -> None:
    s = spec(
        320,
        180,
        4,
        scene_heading="",
        description="Café — naïve “quotes”, ß, 東京, and a veryveryveryveryveryveryveryverylongwordthatmustbreak " * 5,
        characters=("Élodie", "", "Zoë"),
        scene_number=0,
    )
    assert render_animatic_frame(s, 0).shape == (180, 320, 3)
