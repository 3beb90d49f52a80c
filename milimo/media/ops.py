"""Media operations shared by every job kind: probe, extract, encode, concat, trim and mux.

Frames are decoded and encoded in-process with PyAV; operations that only copy streams (concatenating
compatible clips, muxing audio) run the ffmpeg binary. Time is exact everywhere: a frame rate is a
`Fraction` and positions are frame indices, so N frames written at F fps probe back as exactly N frames
at F fps. Every output is written to a hidden sibling file and renamed into place only when complete,
so a crash or a cancel never leaves a truncated file where a finished one is expected.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
from PIL import Image

__all__ = [
    "MediaError",
    "MediaInfo",
    "VideoWriter",
    "concat",
    "encode_frames",
    "extract_frame",
    "ffmpeg_exe",
    "iter_frames",
    "mux_audio",
    "probe",
    "read_audio",
    "read_frames",
    "trim",
    "write_png",
]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
FpsLike = Fraction | int | str

DEFAULT_AUDIO_RATE = 48_000
# Sample rates the AAC encoder accepts; anything else is resampled to DEFAULT_AUDIO_RATE.
_AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350})
_LAYOUTS = {1: "mono", 2: "stereo"}
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}
# FFmpeg enum values (stable ABI): BT.709 primaries/transfer/matrix and limited ("MPEG") range.
_AVCOL_BT709 = 1
_AVCOL_RANGE_MPEG = 1


class MediaError(ValueError):
    """A media file is missing, unreadable or not what an operation needs; the message says which."""


@dataclass(frozen=True)
class MediaInfo:
    """What the daemon needs to know about a clip; counts are exact, times are exact fractions."""

    width: int
    height: int
    fps: Fraction
    frames: int
    duration: Fraction
    video_codec: str
    pix_fmt: str
    has_audio: bool
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    # Exact length of the audio track from its packets (AAC priming and padding excluded).
    audio_duration: Fraction | None = None

    def as_media(self) -> dict[str, Any]:
        """The picture facts an asset records (JSON-friendly: fps as numerator and denominator)."""
        return {
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "fps_num": self.fps.numerator,
            "fps_den": self.fps.denominator,
            "has_audio": self.has_audio,
            "video_codec": self.video_codec,
        }


# --------------------------------------------------------------------------------------------- helpers


@functools.cache
def ffmpeg_exe() -> str:
    """Path of an ffmpeg binary: one on PATH if present, else the one bundled with imageio-ffmpeg."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run_ffmpeg(args: Sequence[str]) -> None:
    """Run ffmpeg quietly; failures become MediaError carrying the tail of ffmpeg's stderr."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise MediaError(f"ffmpeg failed (exit {proc.returncode}): {tail or '(no output)'}")


def _as_fps(fps: FpsLike) -> Fraction:
    """Exact frame rate; floats are refused because 29.97 is not 30000/1001."""
    if isinstance(fps, float):
        raise MediaError(f"fps must be exact (int, Fraction or 'num/den'), not float {fps!r}")
    try:
        value = Fraction(fps)
    except (TypeError, ValueError) as exc:
        raise MediaError(f"invalid fps {fps!r}") from exc
    if value <= 0:
        raise MediaError(f"fps must be positive, got {value}")
    return value


def _container_format(path: Path) -> str:
    """Muxer name for an output path; only MP4-family containers support +faststart."""
    fmt = _CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise MediaError(f"unsupported output container {path.suffix!r} for {path} (use .mp4, .m4v or .mov)")
    return fmt


def _temp_sibling(path: Path) -> Path:
    """A hidden file next to `path` (same filesystem, so the final rename is atomic)."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


def _commit(tmp: Path, path: Path) -> None:
    """Flush `tmp` to disk and atomically move it to `path`."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextmanager
def _atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a temp path to write; it replaces `path` only if the block finishes without error."""
    target = Path(path)
    _container_format(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(target)
    try:
        yield tmp
        _commit(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _open_input(path: PathLike) -> Iterator[av.container.InputContainer]:
    """Open a media file for reading, mapping FFmpeg errors to MediaError."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"media file not found: {p}")
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"cannot read {p} as media: {exc}") from exc
    try:
        yield container
    except av.FFmpegError as exc:
        raise MediaError(f"error while reading {p}: {exc}") from exc
    finally:
        container.close()


def _aac_rate(rate: int | None) -> int:
    """The source rate if AAC can carry it, else the default rate (resampled)."""
    return rate if rate in _AAC_RATES else DEFAULT_AUDIO_RATE


def _sample_at(frame: int, fps: Fraction, rate: int) -> int:
    """Audio sample index at the start of video frame `frame` (exact rational, then rounded)."""
    return round(Fraction(frame) * rate / fps)


def _seconds(value: Fraction, places: int = 9) -> str:
    """Decimal seconds for ffmpeg arguments, without going through a float."""
    scaled = round(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def _check_size(width: int, height: int) -> tuple[int, int]:
    if not (isinstance(width, int) and isinstance(height, int)) or width <= 0 or height <= 0:
        raise MediaError(f"width and height must be positive integers, got {width!r}x{height!r}")
    if width % 2 or height % 2:
        raise MediaError(f"H.264 yuv420p needs even dimensions, got {width}x{height}")
    return width, height


def _check_audio(audio: np.ndarray | None, rate: int) -> np.ndarray | None:
    """Validate an audio track: float samples shaped (channels, samples), mono or stereo."""
    if audio is None:
        return None
    arr = np.asarray(audio)
    if arr.ndim != 2 or arr.shape[0] not in _LAYOUTS:
        raise MediaError(f"audio must have shape (channels, samples) with 1 or 2 channels, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise MediaError(f"audio samples must be floating point in [-1, 1], got {arr.dtype}")
    if rate not in _AAC_RATES:
        raise MediaError(f"audio sample rate {rate} is not supported by AAC; use one of {sorted(_AAC_RATES)}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _frame_rgb(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """Decoded frame as RGB of exactly (height, width): identity, a 1-px crop to even size, or a letterbox."""
    fw, fh = frame.width, frame.height
    if (fw, fh) == (width, height):
        return frame.to_ndarray(format="rgb24")
    if 0 <= fw - width <= 1 and 0 <= fh - height <= 1:
        return frame.to_ndarray(format="rgb24")[:height, :width]
    scale = min(Fraction(width, fw), Fraction(height, fh))
    sw, sh = min(width, _even(round(fw * scale))), min(height, _even(round(fh * scale)))
    scaled = frame.reformat(width=sw, height=sh, format="rgb24", interpolation="BICUBIC").to_ndarray()
    canvas = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - sh) // 2, (width - sw) // 2
    canvas[y0 : y0 + sh, x0 : x0 + sw] = scaled
    return canvas


def _iter_frames(path: PathLike, start: int, stop: int, width: int, height: int) -> Iterator[np.ndarray]:
    """Decode frames [start, stop) of `path` as RGB (height, width, 3), in presentation order."""
    count = 0
    with _open_input(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if count >= stop:
                return
            if count >= start:
                yield _frame_rgb(frame, width, height)
            count += 1
    if count < stop:
        raise MediaError(f"{path}: decoder produced only {count} frames, needed frames up to {stop}")


def _read_audio(path: PathLike, rate: int, channels: int, start: int, stop: int, limit: int) -> np.ndarray:
    """Samples [start, stop) of the first audio track, resampled to `rate`/`channels`, float32.

    Samples at or past `limit` (the track's exact length, which excludes the AAC end padding the
    decoder still emits) and anywhere the track has no data are silence.
    """
    out = np.zeros((channels, max(0, stop - start)), np.float32)
    stop = min(stop, limit)
    if stop <= start:
        return out
    with _open_input(path) as container:
        if not container.streams.audio:
            return out
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout=_LAYOUTS[channels], rate=rate)
        pos: int | None = None

        def place(frames: list[av.AudioFrame]) -> None:
            nonlocal pos
            for rf in frames:
                data = rf.to_ndarray()
                assert pos is not None
                lo, hi = max(pos, start), min(pos + data.shape[1], stop)
                if hi > lo:
                    out[:, lo - start : hi - start] = data[:, lo - pos : hi - pos]
                pos += data.shape[1]

        for frame in container.decode(stream):
            if pos is None:
                pos = round(frame.pts * frame.time_base * rate) if frame.pts is not None else 0
            place(resampler.resample(frame))
            if pos >= stop:
                break
        else:
            if pos is not None:
                place(resampler.resample(None))
    return out


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write float samples (channels, n) to a float WAV, the lossless hand-off to ffmpeg."""
    layout = _LAYOUTS[audio.shape[0]]
    with av.open(str(path), mode="w", format="wav") as container:
        stream = container.add_stream("pcm_f32le", rate=rate)
        stream.layout = layout
        step = 1 << 16
        for pos in range(0, audio.shape[1], step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio[:, pos : pos + step]), format="fltp", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = pos
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _audio_rate(path: PathLike) -> int:
    with _open_input(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path} has no audio stream")
        return int(container.streams.audio[0].codec_context.sample_rate)


def _mux_ffmpeg(video: Path, audio: Path, out: Path, fmt: str, samples: int, in_rate: int, rate: int) -> None:
    """Copy the video stream of `video` and encode `audio` to AAC of exactly `samples` samples."""
    filters = [f"aresample={rate}"] if in_rate != rate else []
    filters += [f"apad=whole_len={samples}", f"atrim=end_sample={samples}"]
    _run_ffmpeg(
        [
            "-i", str(video), "-i", str(audio),
            "-map", "0:v:0", "-map", "1:a:0",
            "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-af", ",".join(filters),
            "-movflags", "+faststart", "-f", fmt, str(out),
        ]
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ public API


def probe(path: PathLike) -> MediaInfo:
    """Describe a clip. Frames are counted by demuxing (no decode), so the count is exact even when
    the container header is wrong or absent."""
    with _open_input(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = next((Fraction(r) for r in (video.average_rate, video.guessed_rate, video.base_rate) if r), None)
        if not fps or fps <= 0:
            raise MediaError(f"{path}: cannot determine the frame rate")
        frames = 0
        a_start: int | None = None
        a_end: int | None = None
        for packet in container.demux(*([video, audio] if audio is not None else [video])):
            if packet.size == 0 or packet.is_discard:  # flush packets / AAC priming / edit-list lead-in
                continue
            if packet.stream_index == video.index:
                frames += 1
            elif packet.pts is not None:
                a_start = packet.pts if a_start is None else min(a_start, packet.pts)
                end = packet.pts + (packet.duration or 0)
                a_end = end if a_end is None else max(a_end, end)
        if frames == 0:
            raise MediaError(f"{path} has a video stream without frames")
        cc = video.codec_context
        info = MediaInfo(
            width=cc.width,
            height=cc.height,
            fps=fps,
            frames=frames,
            duration=Fraction(frames) / fps,
            video_codec=cc.name,
            pix_fmt=cc.format.name if cc.format is not None else "unknown",
            has_audio=audio is not None,
        )
        if audio is None:
            return info
        if a_start is not None and a_end is not None:
            a_dur: Fraction | None = (a_end - a_start) * audio.time_base
        elif audio.duration:
            a_dur = audio.duration * audio.time_base
        else:
            a_dur = None
        acc = audio.codec_context
        return replace(
            info,
            audio_codec=acc.name,
            audio_sample_rate=int(acc.sample_rate) or None,
            audio_channels=acc.layout.nb_channels or None,
            audio_duration=Fraction(a_dur) if a_dur is not None else None,
        )


def extract_frame(path: PathLike, index: int) -> np.ndarray:
    """Frame `index` (negative counts from the end) as RGB uint8 (H, W, 3).

    Decodes sequentially from the start rather than seeking: seeking maps timestamps to frames,
    which is only exact for constant-frame-rate files, and the count must be exact."""
    info = probe(path)
    i = index + info.frames if index < 0 else index
    if not 0 <= i < info.frames:
        raise MediaError(f"frame index {index} out of range for {path}, which has {info.frames} frames")
    for frame in _iter_frames(path, i, i + 1, info.width, info.height):
        return frame
    raise MediaError(f"{path}: could not decode frame {index}")  # pragma: no cover - _iter_frames raises


def read_frames(path: PathLike, start: int = 0, count: int | None = None) -> np.ndarray:
    """Frames [start, start + count) of a clip (to its end when count is None) as RGB uint8 (F, H, W, 3)."""
    return np.stack(list(iter_frames(path, start, None if count is None else start + count)))


def iter_frames(
    path: PathLike, start: int = 0, stop: int | None = None, *, width: int | None = None, height: int | None = None
) -> Iterator[np.ndarray]:
    """Frames [start, stop) of a clip (to its end when stop is None), one RGB uint8 (H, W, 3) array at a time.

    Given `width` and `height`, each frame is fitted to that size: scaled to fit and letterboxed in black, so
    clips of any size can be written into one stream. Decoding is sequential, so the count is exact."""
    if (width is None) != (height is None):
        raise MediaError(f"give both width and height to fit frames to, or neither (got {width}x{height})")
    info = probe(path)
    stop = info.frames if stop is None else stop
    if not 0 <= start < stop <= info.frames:
        raise MediaError(f"frames [{start}, {stop}) out of range for {path}, which has {info.frames} frames")
    yield from _iter_frames(path, start, stop, width or info.width, height or info.height)


def read_audio(
    path: PathLike,
    start_frame: int = 0,
    end_frame: int | None = None,
    *,
    rate: int | None = None,
    channels: int | None = None,
) -> tuple[np.ndarray, int] | None:
    """The audio under frames [start_frame, end_frame) as float32 (channels, samples) and its rate; None if silent.

    By default the samples keep the clip's own rate (or DEFAULT_AUDIO_RATE where AAC cannot carry it) and
    channels (at most 2); give `rate` and `channels` to resample, e.g. to join clips into one track."""
    info = probe(path)
    if not (info.has_audio and info.audio_sample_rate):
        return None
    end_frame = info.frames if end_frame is None else end_frame
    rate = rate or _aac_rate(info.audio_sample_rate)
    channels = channels or min(info.audio_channels or 2, 2)
    if channels not in _LAYOUTS:
        raise MediaError(f"audio channels must be 1 or 2, got {channels}")
    limit = round((info.audio_duration or 0) * rate)
    s0, s1 = _sample_at(start_frame, info.fps, rate), _sample_at(end_frame, info.fps, rate)
    return _read_audio(path, rate, channels, s0, s1, limit), rate


def write_png(path: PathLike, image: np.ndarray) -> Path:
    """Write an RGB (H, W, 3) or grayscale (H, W) uint8 image as a PNG, atomically (hidden sibling, then rename)."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise MediaError(f"a PNG needs a uint8 (H, W, 3) or (H, W) array, got {arr.dtype} {arr.shape}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(target)
    try:
        Image.fromarray(np.ascontiguousarray(arr)).save(tmp, format="PNG")
        _commit(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


class VideoWriter:
    """Stream RGB frames into an H.264/yuv420p MP4 (plus optional AAC audio), atomically.

    The time base is exactly 1/fps and every frame lasts one tick, so the file probes back with the
    same fps and frame count. Output goes to a hidden sibling and is renamed onto `path` on a clean
    `close()`; `abort()` (or an exception inside `with`) deletes it, so `path` never holds a partial file.
    Audio is given whole at the start, or opened with a (channels, 0) array and fed as it becomes final
    (`extend_audio`); either way it is interleaved with the frames as far as it reaches.
    """

    def __init__(
        self,
        path: PathLike,
        width: int,
        height: int,
        fps: FpsLike,
        *,
        crf: int = 18,
        preset: str = "medium",
        audio: np.ndarray | None = None,
        audio_sample_rate: int = DEFAULT_AUDIO_RATE,
    ) -> None:
        self.path = Path(path)
        self.width, self.height = _check_size(width, height)
        self.fps = _as_fps(fps)
        fmt = _container_format(self.path)
        self._audio = _check_audio(audio, audio_sample_rate)  # the samples not written yet
        self._rate = audio_sample_rate
        self._audio_pos = 0  # samples written
        self._frames = 0
        self._done = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = _temp_sibling(self.path)
        try:
            self._container = av.open(
                str(self._tmp), mode="w", format=fmt, container_options={"movflags": "+faststart"}
            )
            self._video = self._container.add_stream(
                "libx264", rate=self.fps, time_base=1 / self.fps, width=width, height=height
            )
            self._video.pix_fmt = "yuv420p"
            self._video.options = {"crf": str(crf), "preset": preset}
            cc = self._video.codec_context
            cc.color_primaries = cc.color_trc = cc.colorspace = _AVCOL_BT709
            cc.color_range = _AVCOL_RANGE_MPEG
            self._astream = None
            if self._audio is not None:
                self._astream = self._container.add_stream("aac", rate=audio_sample_rate)
                self._astream.layout = _LAYOUTS[self._audio.shape[0]]
                self._astream.bit_rate = 96_000 * self._audio.shape[0]
        except Exception as exc:
            self.abort()
            raise MediaError(f"cannot open {self.path} for writing: {exc}") from exc

    @property
    def frames_written(self) -> int:
        return self._frames

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of shape (height, width, 3)."""
        if self._done:
            raise MediaError(f"VideoWriter for {self.path} is already closed")
        arr = np.asarray(frame)
        if arr.dtype != np.uint8 or arr.shape != (self.height, self.width, 3):
            raise MediaError(
                f"frame must be uint8 of shape ({self.height}, {self.width}, 3), got {arr.dtype} {arr.shape}"
            )
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
        vf = vf.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        vf.pts = self._frames
        vf.time_base = 1 / self.fps
        vf.duration = 1
        try:
            for packet in self._video.encode(vf):
                self._container.mux(packet)
            self._frames += 1
            # Interleave: audio up to the end of this frame goes in now, not all at close.
            self._write_audio(_sample_at(self._frames, self.fps, self._rate))
        except av.FFmpegError as exc:
            raise MediaError(f"encoding {self.path} failed: {exc}") from exc

    def extend_audio(self, samples: np.ndarray) -> None:
        """Append samples (channels, n) that are now final to the audio track opened at construction."""
        if self._audio is None:
            raise MediaError(f"VideoWriter for {self.path} was opened without audio")
        more = _check_audio(samples, self._rate)
        if more is None or more.shape[0] != self._audio.shape[0]:
            raise MediaError(f"audio for {self.path} must have {self._audio.shape[0]} channels")
        self._audio = np.concatenate([self._audio, more], axis=1)

    def _write_audio(self, until: int) -> None:
        if self._audio is None or self._astream is None:
            return
        count = min(until - self._audio_pos, self._audio.shape[1])
        if count <= 0:
            return
        af = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(self._audio[:, :count]),
            format="fltp",
            layout=_LAYOUTS[self._audio.shape[0]],
        )
        af.sample_rate = self._rate
        af.pts = self._audio_pos
        af.time_base = Fraction(1, self._rate)
        for packet in self._astream.encode(af):
            self._container.mux(packet)
        self._audio = self._audio[:, count:]
        self._audio_pos += count

    def close(self) -> None:
        """Flush the encoders and move the finished file onto `path`."""
        if self._done:
            return
        if self._frames == 0:
            self.abort()
            raise MediaError(f"no frames were written to {self.path}")
        try:
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio is not None and self._astream is not None:
                self._write_audio(self._audio_pos + self._audio.shape[1])
                for packet in self._astream.encode(None):
                    self._container.mux(packet)
            self._container.close()
            _commit(self._tmp, self.path)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, av.FFmpegError):
                raise MediaError(f"finishing {self.path} failed: {exc}") from exc
            raise
        self._done = True

    def abort(self) -> None:
        """Discard everything written so far; `path` is left untouched."""
        self._done = True
        container = getattr(self, "_container", None)
        if container is not None:
            with contextlib.suppress(Exception):  # the file is being thrown away anyway
                container.close()
        self._tmp.unlink(missing_ok=True)


def encode_frames(
    frames: Iterable[np.ndarray],
    path: PathLike,
    fps: FpsLike,
    *,
    crf: int = 18,
    preset: str = "medium",
    audio: np.ndarray | None = None,
    audio_sample_rate: int = DEFAULT_AUDIO_RATE,
) -> MediaInfo:
    """Encode an iterable of RGB frames (size taken from the first) and return the probed result."""
    it = iter(frames)
    try:
        first = np.asarray(next(it))
    except StopIteration:
        raise MediaError(f"no frames given for {path}") from None
    if first.ndim != 3:
        raise MediaError(f"frames must be (height, width, 3) arrays, got shape {first.shape}")
    height, width = first.shape[:2]
    with VideoWriter(
        path, width, height, fps, crf=crf, preset=preset, audio=audio, audio_sample_rate=audio_sample_rate
    ) as writer:
        writer.write(first)
        for frame in it:
            writer.write(frame)
    return probe(path)


def trim(
    path: PathLike,
    out_path: PathLike,
    start_frame: int,
    end_frame: int,
    *,
    crf: int = 18,
    preset: str = "medium",
    on_frame: Callable[[int], None] | None = None,
) -> MediaInfo:
    """Frames [start_frame, end_frame) of `path`, re-encoded so the cut is frame-exact (stream copy can
    only cut on keyframes). Audio is cut to the same time range.

    `on_frame(written)` is called after each frame, for progress; if it raises (a cancel), nothing is left
    at `out_path`."""
    info = probe(path)
    if not (0 <= start_frame < end_frame <= info.frames):
        raise MediaError(f"invalid trim range [{start_frame}, {end_frame}) for {path} with {info.frames} frames")
    audio = None
    rate = DEFAULT_AUDIO_RATE
    if info.has_audio and info.audio_sample_rate:
        rate = _aac_rate(info.audio_sample_rate)
        channels = min(info.audio_channels or 2, 2)
        limit = round((info.audio_duration or 0) * rate)
        s0, s1 = _sample_at(start_frame, info.fps, rate), _sample_at(end_frame, info.fps, rate)
        audio = _read_audio(path, rate, channels, s0, min(s1, limit), limit)
        if audio.shape[1] == 0:
            audio = None
    width, height = _even(info.width), _even(info.height)
    with VideoWriter(
        out_path, width, height, info.fps, crf=crf, preset=preset, audio=audio, audio_sample_rate=rate
    ) as writer:
        for frame in _iter_frames(path, start_frame, end_frame, width, height):
            writer.write(frame)
            if on_frame is not None:
                on_frame(writer.frames_written)
    return probe(out_path)


def mux_audio(video_path: PathLike, audio_path: PathLike, out_path: PathLike) -> MediaInfo:
    """Put the audio of `audio_path` under the video of `video_path`: video stream-copied, audio AAC,
    cut (or padded with silence) to exactly the video's duration so clips stay in sync when joined."""
    info = probe(video_path)
    in_rate = _audio_rate(audio_path)
    rate = _aac_rate(in_rate)
    samples = round(info.duration * rate)
    target = Path(out_path)
    with _atomic_output(target) as tmp:
        _mux_ffmpeg(Path(video_path), Path(audio_path), tmp, _container_format(target), samples, in_rate, rate)
        _expect_frames(tmp, info.frames)
    return probe(target)


def _expect_frames(path: Path, frames: int) -> None:
    got = probe(path).frames
    if got != frames:
        raise MediaError(f"{path}: expected {frames} frames after processing, got {got}")


def _same_video_params(paths: Sequence[PathLike], infos: Sequence[MediaInfo]) -> bool:
    """True if the clips' video streams can be joined by stream copy: identical codec parameters,
    including the codec headers (SPS/PPS) since MP4 stores a single copy of them per track."""
    keys = {(i.video_codec, i.width, i.height, i.fps, i.pix_fmt) for i in infos}
    if len(keys) != 1:
        return False
    headers = set()
    for p in paths:
        with _open_input(p) as container:
            headers.add(bytes(container.streams.video[0].codec_context.extradata or b""))
    return len(headers) == 1


def _concat_copy(paths: Sequence[PathLike], infos: Sequence[MediaInfo], out: Path, workdir: Path) -> None:
    """Join video streams with ffmpeg's concat demuxer (no re-encode). Each entry states its exact
    duration so the next clip starts on the frame grid even when its audio ran a little longer."""
    lines = ["ffconcat version 1.0"]
    for p, info in zip(paths, infos, strict=True):
        quoted = str(Path(p).resolve()).replace("'", "'\\''")
        lines += [f"file '{quoted}'", f"duration {_seconds(info.duration)}"]
    listing = workdir / "concat.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _run_ffmpeg(
        [
            "-f", "concat", "-safe", "0", "-i", str(listing),
            "-map", "0:v:0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", str(out),
        ]
    )  # fmt: skip


def _concat_reencode(paths: Sequence[PathLike], infos: Sequence[MediaInfo], out: Path, crf: int, preset: str) -> None:
    """Decode every clip and encode one stream at the first clip's size and fps (others letterboxed;
    each input frame becomes one output frame, so counts add up)."""
    width, height, fps = _even(infos[0].width), _even(infos[0].height), infos[0].fps
    with VideoWriter(out, width, height, fps, crf=crf, preset=preset) as writer:
        for p, info in zip(paths, infos, strict=True):
            for frame in _iter_frames(p, 0, info.frames, width, height):
                writer.write(frame)


def concat(paths: Sequence[PathLike], out_path: PathLike, *, crf: int = 18, preset: str = "medium") -> MediaInfo:
    """Join clips frame-accurately; output frames = sum of input frames.

    Video is stream-copied when all clips share codec, size, fps, pix_fmt and codec headers, else
    re-encoded. Audio (if any clip has some) is rebuilt from decoded samples: each clip contributes
    exactly its video duration of audio (silence for clips without audio), then encoded once to AAC.
    Copying AAC packets would carry each clip's encoder priming and rounding into the join and let
    audio drift by ~20 ms per cut.
    """
    if not paths:
        raise MediaError("concat needs at least one input")
    infos = [probe(p) for p in paths]
    total = sum(i.frames for i in infos)
    target = Path(out_path)
    fmt = _container_format(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".concat-", dir=target.parent) as td:
        work = Path(td)
        video = work / "video.mp4"
        copied = False
        if _same_video_params(paths, infos):
            try:
                _concat_copy(paths, infos, video, work)
                _expect_frames(video, total)
                copied = True
            except MediaError as exc:
                log.warning("stream-copy concat failed, re-encoding instead: %s", exc)
        if not copied:
            video.unlink(missing_ok=True)
            _concat_reencode(paths, infos, video, crf, preset)
        with _atomic_output(target) as tmp:
            if any(i.has_audio for i in infos):
                with_audio = [i for i in infos if i.has_audio and i.audio_sample_rate]
                rate = _aac_rate(with_audio[0].audio_sample_rate)
                channels = max(min(i.audio_channels or 2, 2) for i in with_audio)
                fps = infos[0].fps
                bounds = [0]
                for info in infos:
                    bounds.append(bounds[-1] + info.frames)
                bounds = [_sample_at(b, fps, rate) for b in bounds]
                audio = np.zeros((channels, bounds[-1]), np.float32)
                for k, (p, info) in enumerate(zip(paths, infos, strict=True)):
                    if info.has_audio:
                        n = bounds[k + 1] - bounds[k]
                        limit = round((info.audio_duration or 0) * rate)
                        audio[:, bounds[k] : bounds[k + 1]] = _read_audio(p, rate, channels, 0, n, limit)
                wav = work / "audio.wav"
                _write_wav(wav, audio, rate)
                del audio
                _mux_ffmpeg(video, wav, tmp, fmt, bounds[-1], rate, rate)
            elif fmt == "mp4":
                os.replace(video, tmp)
            else:
                _run_ffmpeg(["-i", str(video), "-c", "copy", "-movflags", "+faststart", "-f", fmt, str(tmp)])
            _expect_frames(tmp, total)
    return probe(target)
