"""Real encode/decode round trips for milimo.media.ops (no mocks: every test writes and reads files)."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from milimo.media.ops import (
    MediaError,
    VideoWriter,
    concat,
    encode_frames,
    extract_frame,
    ffmpeg_exe,
    mux_audio,
    probe,
    trim,
)

W, H = 128, 96
RATE = 48_000


def pattern(i: int, width: int = W, height: int = H) -> np.ndarray:
    """A frame that is easy to tell apart from its neighbours: gradient, moving bar, index-coded block."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    frame[..., 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    frame[..., 2] = (i * 37) % 256
    x = (i * 5) % (width - 12)
    frame[height // 4 : height // 2, x : x + 12] = 255
    return frame


def clip(path: Path, frames: int, fps: Fraction | int = 24, *, width: int = W, height: int = H, **kw) -> Path:
    info = encode_frames((pattern(i, width, height) for i in range(frames)), path, fps, **kw)
    assert info.frames == frames
    return path


def tone(seconds: Fraction, channels: int = 2, extra: int = 0) -> np.ndarray:
    n = round(seconds * RATE) + extra
    t = np.arange(n, dtype=np.float32) / RATE
    return np.tile((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), (channels, 1))


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def decoded_audio(path: Path) -> np.ndarray:
    """All decoded samples of the first audio track, mono-mixed (includes AAC end padding)."""
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)]
    return np.concatenate(chunks)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def write_wav(path: Path, seconds: Fraction, rate: int = 44_100) -> Path:
    n = round(seconds * rate)
    samples = (np.sin(np.arange(n) / 7.0) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


# ------------------------------------------------------------------------------------- encode / probe


@pytest.mark.parametrize("fps", [Fraction(24), Fraction(25), Fraction(30000, 1001)], ids=str)
def test_encode_probe_extract_round_trip(tmp_path: Path, fps: Fraction) -> None:
    n = 24
    info = encode_frames((pattern(i) for i in range(n)), tmp_path / "c.mp4", fps)
    assert info == probe(tmp_path / "c.mp4")
    assert (info.width, info.height, info.frames, info.fps) == (W, H, n, fps)
    assert isinstance(info.fps, Fraction)
    assert info.duration == Fraction(n) / fps
    assert (info.video_codec, info.pix_fmt, info.has_audio) == ("h264", "yuv420p", False)
    for index, expected in [(0, 0), (n // 2, n // 2), (n - 1, n - 1), (-1, n - 1), (-n, 0)]:
        got = extract_frame(tmp_path / "c.mp4", index)
        assert got.shape == (H, W, 3) and got.dtype == np.uint8
        assert diff(got, pattern(expected)) < 4, index
        assert diff(got, pattern(expected + 1)) > 10  # and it is not a neighbouring frame


def test_extract_frame_out_of_range(tmp_path: Path) -> None:
    clip(tmp_path / "c.mp4", 5)
    for bad in (5, 99, -6):
        with pytest.raises(MediaError, match=rf"{bad}.*5 frames"):
            extract_frame(tmp_path / "c.mp4", bad)


def test_probe_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        probe(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video" * 10)
    with pytest.raises(MediaError):
        probe(tmp_path / "junk.mp4")
    with pytest.raises(MediaError, match="no video"):
        probe(write_wav(tmp_path / "a.wav", Fraction(1, 2)))


def test_writer_is_atomic_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(out, W, H, 24) as writer:
        for i in range(5):
            writer.write(pattern(i))
        assert not out.exists()  # never under the final name while writing
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_validates(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError, match="even"):
        VideoWriter(out, 127, 96, 24)
    with pytest.raises(MediaError, match="float"):
        VideoWriter(out, W, H, 29.97)  # type: ignore[arg-type]
    with pytest.raises(MediaError, match="container"):
        VideoWriter(tmp_path / "out.avi", W, H, 24)
    with pytest.raises(MediaError, match="shape"), VideoWriter(out, W, H, 24) as writer:
        writer.write(np.zeros((H, W, 4), np.uint8))
    with pytest.raises(MediaError, match="uint8"), VideoWriter(out, W, H, 24) as writer:
        writer.write(np.zeros((H, W, 3), np.float32))
    with pytest.raises(MediaError, match="no frames"), VideoWriter(out, W, H, 24):
        pass
    assert list(tmp_path.iterdir()) == []


def test_audio_track_keeps_exact_length(tmp_path: Path) -> None:
    fps = Fraction(24)
    audio = tone(Fraction(10) / fps, extra=77)  # deliberately not a multiple of the AAC frame size
    info = probe(clip(tmp_path / "a.mp4", 10, fps, audio=audio, audio_sample_rate=RATE))
    assert info.frames == 10
    assert info.has_audio and info.audio_codec == "aac"
    assert (info.audio_sample_rate, info.audio_channels) == (RATE, 2)
    assert info.audio_duration == Fraction(audio.shape[1], RATE)


# ---------------------------------------------------------------------------------------------- concat


def test_concat_same_params_is_a_stream_copy(tmp_path: Path) -> None:
    a, b, c = (clip(tmp_path / f"{k}.mp4", n) for k, n in (("a", 12), ("b", 7), ("c", 10)))
    info = concat([a, b, c, a], tmp_path / "out.mp4")
    assert info.frames == 12 + 7 + 10 + 12
    assert (info.width, info.height, info.fps, info.has_audio) == (W, H, 24, False)
    # Stream copy: the encoded packets are the inputs' packets, byte for byte (ffmpeg only repeats the
    # parameter sets inside each clip's first keyframe).
    expected = video_packets(a) + video_packets(b) + video_packets(c) + video_packets(a)
    got = video_packets(tmp_path / "out.mp4")
    assert len(got) == len(expected)
    assert sum(x != y for x, y in zip(got, expected, strict=True)) <= 4
    assert diff(extract_frame(tmp_path / "out.mp4", 12), pattern(0)) < 4
    assert diff(extract_frame(tmp_path / "out.mp4", 18), pattern(6)) < 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4", "c.mp4", "out.mp4"]


def test_concat_ntsc_rate_stays_on_the_frame_grid(tmp_path: Path) -> None:
    fps = Fraction(30000, 1001)
    a = clip(tmp_path / "a.mp4", 11, fps)
    info = concat([a, a, a], tmp_path / "out.mp4")
    assert (info.frames, info.fps) == (33, fps)
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts * stream.time_base for p in container.demux(stream) if p.size)
    assert pts == [Fraction(i) / fps for i in range(33)]


def test_concat_mismatched_sizes_reencodes(tmp_path: Path) -> None:
    a = clip(tmp_path / "a.mp4", 8, 24)
    b = clip(tmp_path / "b.mp4", 6, 25, width=64, height=48)
    info = concat([a, b], tmp_path / "out.mp4")
    assert (info.frames, info.width, info.height, info.fps) == (14, W, H, 24)
    assert diff(extract_frame(tmp_path / "out.mp4", 3), pattern(3)) < 4
    # The small clip is scaled up to fill the frame (same aspect ratio, so no bars).
    small = Image.fromarray(extract_frame(tmp_path / "out.mp4", 8 + 2)).resize((64, 48), Image.BILINEAR)
    assert diff(np.asarray(small), pattern(2, 64, 48)) < 8


def test_concat_mixes_clips_with_and_without_audio(tmp_path: Path) -> None:
    fps = Fraction(24)
    a = clip(tmp_path / "a.mp4", 12, fps, audio=tone(Fraction(12) / fps), audio_sample_rate=RATE)
    b = clip(tmp_path / "b.mp4", 12, fps)
    info = concat([a, b, a], tmp_path / "out.mp4")
    assert info.frames == 36 and info.has_audio
    assert info.audio_duration == info.duration == Fraction(36, 24)
    samples = decoded_audio(tmp_path / "out.mp4")
    half = RATE // 2
    rms = [float(np.sqrt(np.mean(samples[k * half + 2000 : (k + 1) * half - 2000] ** 2))) for k in range(3)]
    assert rms[0] > 0.1 and rms[2] > 0.1  # the tone
    assert rms[1] < 0.01  # silence where the clip had no audio


def test_concat_rejects_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        concat([], tmp_path / "out.mp4")
    with pytest.raises(MediaError, match="not found"):
        concat([tmp_path / "nope.mp4"], tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


# ------------------------------------------------------------------------------------------ trim / mux


def test_trim_is_frame_exact_with_audio(tmp_path: Path) -> None:
    fps = Fraction(24)
    src = clip(tmp_path / "src.mp4", 40, fps, audio=tone(Fraction(40) / fps), audio_sample_rate=RATE)
    info = trim(src, tmp_path / "t.mp4", 10, 25)
    assert (info.frames, info.fps, info.width, info.height) == (15, fps, W, H)
    assert diff(extract_frame(tmp_path / "t.mp4", 0), pattern(10)) < 4
    assert diff(extract_frame(tmp_path / "t.mp4", -1), pattern(24)) < 4
    assert info.has_audio and info.audio_duration == Fraction(15) / fps
    for start, end in [(-1, 5), (5, 5), (30, 20), (0, 41)]:
        with pytest.raises(MediaError, match="range"):
            trim(src, tmp_path / "bad.mp4", start, end)
    assert not (tmp_path / "bad.mp4").exists()


def test_mux_audio_cuts_or_pads_to_video(tmp_path: Path) -> None:
    video = clip(tmp_path / "v.mp4", 30, 24)
    long_audio = write_wav(tmp_path / "long.wav", Fraction(3))
    info = mux_audio(video, long_audio, tmp_path / "m.mp4")
    assert info.frames == 30 and info.has_audio and info.audio_codec == "aac"
    assert info.audio_sample_rate == 44_100
    assert info.audio_duration == info.duration == Fraction(30, 24)
    assert video_packets(tmp_path / "m.mp4") == video_packets(video)  # video is copied, not re-encoded
    short = mux_audio(video, write_wav(tmp_path / "short.wav", Fraction(1, 2)), tmp_path / "s.mp4")
    assert short.audio_duration == short.duration
    with pytest.raises(MediaError, match="no audio"):
        mux_audio(video, video, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_ffmpeg_exe_runs() -> None:
    assert Path(ffmpeg_exe()).exists()
