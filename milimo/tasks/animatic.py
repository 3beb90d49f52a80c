"""The embedded default backend: an animatic card clip, rendered on the CPU.

An animatic lets an editor time a cut before any GPU time is spent, so it must have exactly the
requested frames, size and rate, and it must read as video in an editor: a dark card with the scene
heading, the shot description, characters, scene/shot numbers and duration, a per-frame timecode
burn-in, a progress bar and a slowly drifting background.

Speed: everything static (background, text) is rasterised once; each frame is a crop of the
oversized background plus a few small alpha blends in numpy, so the encoder dominates the cost.
"""

from __future__ import annotations

import colorsys
import functools
import io
import math
import time
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from milimo.media.ops import MediaInfo, VideoWriter, probe
from milimo.tasks.context import TaskContext

__all__ = ["AnimaticSpec", "render_animatic", "render_animatic_frame", "timecode"]

_PROGRESS_INTERVAL_S = 0.1
_PREVIEW_INTERVAL_S = 1.0
_PREVIEW_MAX_PX = 256
# A draft: fast preset, and the flat card compresses well even at this quality.
_CRF = 20
_PRESET = "veryfast"

_WHITE = (242, 240, 235)
_TEXT = (200, 204, 212)
_MUTED = (128, 136, 150)
_CHIP = (6, 8, 11)

# The font bundled with Pillow is an ASCII-centric subset; map common typography onto glyphs it has.
_SUBSTITUTES = {
    "\u2014": " - ",  # em dash
    "\u2013": "-",  # en dash
    "\u2212": "-",  # minus
    "\u2022": "\u00b7",  # bullet -> middle dot
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
    "\u00d7": "x",
    "\u2192": "->",
    "\u20ac": "EUR",
    "\u00a0": " ",
}


@dataclass(frozen=True)
class AnimaticSpec:
    """What to render. `start_frame` offsets the timecode; `seed` picks the palette deterministically."""

    width: int
    height: int
    frames: int
    fps: Fraction
    scene_heading: str = ""
    description: str = ""
    characters: tuple[str, ...] = ()
    scene_number: int = 0
    shot_number: int = 0
    start_frame: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.fps, float):
            raise ValueError(f"fps must be exact (int or Fraction), not float {self.fps!r}")
        object.__setattr__(self, "fps", Fraction(self.fps))
        object.__setattr__(self, "characters", tuple(self.characters))
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be positive and even, got {self.width}x{self.height}")
        if self.frames < 1:
            raise ValueError(f"frames must be at least 1, got {self.frames}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.start_frame < 0:
            raise ValueError(f"start_frame must be >= 0, got {self.start_frame}")


def timecode(frame: int, fps: Fraction) -> str:
    """Non-drop SMPTE timecode HH:MM:SS:FF; non-integer rates count at their rounded nominal rate."""
    nominal = max(1, round(fps))
    seconds, ff = divmod(frame, nominal)
    minutes, ss = divmod(seconds, 60)
    hours, mm = divmod(minutes, 60)
    return f"{hours % 24:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def _fps_label(fps: Fraction) -> str:
    if fps.denominator == 1:
        return str(fps.numerator)
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


def _duration_label(spec: AnimaticSpec) -> str:
    seconds = Fraction(spec.frames) / spec.fps
    return f"{float(seconds):.1f} s \u00b7 {spec.frames} fr @ {_fps_label(spec.fps)} fps"


# ------------------------------------------------------------------------------------------------ text


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


@functools.cache
def _has_glyph(char: str) -> bool:
    """Whether the bundled font draws `char` (rather than a missing-glyph box)."""

    def raster(c: str) -> bytes:
        img = Image.new("L", (48, 48))
        ImageDraw.Draw(img).text((4, 4), c, font=_font(24), fill=255)
        return img.tobytes()

    return char.isspace() or raster(char) != raster("\U000e0000")


def _printable(text: str) -> str:
    """Text rewritten to glyphs the bundled font has: substitutions, then accents stripped, else '?'."""
    out = []
    for char in " ".join(text.split()):
        if _has_glyph(char):
            out.append(char)
            continue
        sub = _SUBSTITUTES.get(char)
        if sub is None:
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            sub = base if base and all(_has_glyph(c) for c in base) else "?"
        out.append(sub)
    return " ".join("".join(out).split())


def _text_width(text: str, font: ImageFont.FreeTypeFont, tracking: float = 0.0) -> float:
    return font.getlength(text) + tracking * max(0, len(text) - 1)


def _text_mask(text: str, font: ImageFont.FreeTypeFont, tracking: float = 0.0, stroke: int = 0) -> np.ndarray:
    """Coverage mask of one line; height is the font's ascent+descent so lines stack evenly."""
    ascent, descent = font.getmetrics()
    width = math.ceil(_text_width(text, font, tracking)) + 2 * stroke + 2
    img = Image.new("L", (max(1, width), ascent + descent + 2 * stroke))
    draw = ImageDraw.Draw(img)
    if tracking:
        x = float(stroke)
        for char in text:
            draw.text((x, stroke), char, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
            x += font.getlength(char) + tracking
    else:
        draw.text((stroke, stroke), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    return np.asarray(img)


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: float, tracking: float = 0.0) -> str:
    if _text_width(text, font, tracking) <= max_width:
        return text
    while text and _text_width(text.rstrip() + "\u2026", font, tracking) > max_width:
        text = text[:-1]
    return text.rstrip() + "\u2026" if text else ""


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; over-long words are broken, and the last kept line gets an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _ellipsize(lines[-1] + " \u2026", font, max_width)
    return lines


# ------------------------------------------------------------------------------------------- rendering


class _Sprite:
    """A static element: colour premultiplied by alpha, blended onto each frame at (x, y)."""

    __slots__ = ("fg", "inv", "x", "y")

    def __init__(self, x: int, y: int, mask: np.ndarray, color: tuple[int, int, int], frame_w: int, frame_h: int):
        # Clip to the frame so a tight layout can never index out of bounds.
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(frame_w, x + mask.shape[1]), min(frame_h, y + mask.shape[0])
        mask = mask[y0 - y : max(y0 - y, y1 - y), x0 - x : max(x0 - x, x1 - x)]
        alpha = mask.astype(np.uint16)[..., None]
        self.x, self.y = x0, y0
        self.fg = alpha * np.asarray(color, np.uint16)
        self.inv = 255 - alpha

    def blend(self, frame: np.ndarray) -> None:
        h, w = self.inv.shape[:2]
        if h and w:
            region = frame[self.y : self.y + h, self.x : self.x + w]
            region[:] = (region * self.inv + self.fg + 127) // 255


# Cinematic (background hue, accent hue) pairs: teal/amber, navy/gold, plum/peach, forest/rose,
# oxblood/cream, slate/cyan. The seed picks one and nudges it, so shots of a scene can differ.
_PALETTES = ((0.57, 0.08), (0.62, 0.12), (0.78, 0.05), (0.40, 0.97), (0.99, 0.11), (0.58, 0.50))


def _palette(seed: int) -> tuple[float, float]:
    bg, accent = _PALETTES[seed % len(_PALETTES)]
    jitter = ((seed // len(_PALETTES)) * 0.618034 % 1.0 - 0.5) * 0.04
    return (bg + jitter) % 1.0, (accent + jitter) % 1.0


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.asarray(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32) * 255.0


def _background(width: int, height: int, hue: float, accent_hue: float, seed: int) -> np.ndarray:
    """Dark graded backdrop with two soft glows and a vignette, dithered to avoid banding.

    Every term is separable in x and y (Gaussian glows, quadratic vignette), so it is built from 1-D
    profiles in horizontal strips: exact at any size, with small temporaries even at 4096x4096."""
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)
    aspect = width / height

    def gauss(t: np.ndarray, centre: float, radius: float) -> np.ndarray:
        return np.exp(-((t - centre) ** 2) / (2 * radius**2)).astype(np.float32)

    top, bottom = _hsv(hue, 0.50, 0.115), _hsv(hue, 0.55, 0.045)
    glow1, glow2 = _hsv(hue, 0.55, 0.22), _hsv(accent_hue, 0.65, 0.10)
    g1x, g1y = gauss(xs * aspect, 0.22 * aspect, 0.45), gauss(ys, 0.18, 0.45)
    g2x, g2y = gauss(xs * aspect, 0.92 * aspect, 0.35), gauss(ys, 1.0, 0.35)
    vx, vy = ((xs - 0.5) * 1.6) ** 2, ((ys - 0.5) * 1.6) ** 2
    out = np.empty((height, width, 3), np.uint8)
    rng = np.random.default_rng(seed)
    strip = max(1, (1 << 19) // width)
    for y0 in range(0, height, strip):
        rows = slice(y0, min(height, y0 + strip))
        y = ys[rows, None, None]
        img = top * (1 - y) + bottom * y  # (rows, 1, 3)
        img = img + glow1 * (g1y[rows, None] * g1x[None, :])[..., None]
        img = img + glow2 * (g2y[rows, None] * g2x[None, :])[..., None]
        img *= np.clip(1.0 - 0.55 * (vy[rows, None] + vx[None, :]), 0.35, 1.0)[..., None]
        shape = (img.shape[0], width, 1)
        img += rng.random(shape, dtype=np.float32) - rng.random(shape, dtype=np.float32) + 0.5
        out[rows] = np.clip(img, 0, 255)
    return out


class _Card:
    """Everything needed to produce any frame of one spec quickly."""

    def __init__(self, spec: AnimaticSpec) -> None:
        self.spec = spec
        w, h = spec.width, spec.height
        self.sprites: list[_Sprite] = []
        hue, accent_hue = _palette(spec.seed)
        self.accent = tuple(int(c) for c in _hsv(accent_hue, 0.55, 0.98))
        # Oversized background: each frame is a slowly drifting crop of it.
        self.pan_x, self.pan_y = max(1, round(w * 0.03)), max(1, round(h * 0.03))
        self.bg = _background(w + 2 * self.pan_x, h + 2 * self.pan_y, hue, accent_hue, spec.seed)
        # Font scale: the height, bounded by the width so tall frames do not overflow.
        self.base = min(h, w * 0.8)
        self.bar_h = max(1, round(self.base * 0.006))
        if self.base >= 150:
            self._layout_full()
        else:
            self._layout_compact()
        self._add(0, h - self.bar_h, np.full((self.bar_h, w), 46, np.uint8), _WHITE)

    # -- layout helpers

    def _px(self, fraction: float, minimum: int) -> int:
        return max(minimum, round(self.base * fraction))

    def _add(self, x: int, y: int, mask: np.ndarray, color: tuple[int, int, int]) -> None:
        self.sprites.append(_Sprite(x, y, mask, color, self.spec.width, self.spec.height))

    def _setup_timecode(self, size: int) -> None:
        """Pre-rasterise timecode glyphs in fixed-width cells so the burn-in never jitters."""
        font = _font(size)
        self.tc_cell = math.ceil(max(font.getlength(d) for d in "0123456789"))
        self.tc_colon = math.ceil(font.getlength(":") * 1.1)
        ascent, descent = font.getmetrics()
        self.tc_h = ascent + descent
        self.glyphs: dict[str, np.ndarray] = {}
        for char in "0123456789:":
            cell = self.tc_colon if char == ":" else self.tc_cell
            img = Image.new("L", (cell, self.tc_h))
            ImageDraw.Draw(img).text((cell / 2, 0), char, font=font, fill=255, anchor="ma")
            self.glyphs[char] = np.asarray(img)
        self.tc_w = 8 * self.tc_cell + 3 * self.tc_colon

    def _label(self) -> str:
        spec = self.spec
        parts = [
            f"SCENE {spec.scene_number}" if spec.scene_number else "",
            f"SHOT {spec.shot_number}" if spec.shot_number else "",
        ]
        return " \u00b7 ".join(p for p in parts if p)

    def _layout_full(self) -> None:
        spec, w, h = self.spec, self.spec.width, self.spec.height
        mx, my = round(w * 0.06), round(h * 0.075)
        safe_w = w - 2 * mx
        # Top row: shot label (accent, tracked caps) left; "ANIMATIC" tag right.
        label_font = _font(self._px(0.026, 8))
        track = label_font.size * 0.16
        tag_font = _font(self._px(0.021, 7))
        tag_track = tag_font.size * 0.2
        tag_pad_x, tag_pad_y = round(tag_font.size * 0.7), round(tag_font.size * 0.35)
        tag_mask = _text_mask("ANIMATIC", tag_font, tag_track)
        box_w, box_h = tag_mask.shape[1] + 2 * tag_pad_x, tag_mask.shape[0] + 2 * tag_pad_y
        row_h = max(label_font.getmetrics()[0] + label_font.getmetrics()[1], box_h)
        box_x, box_y = w - mx - box_w, my + (row_h - box_h) // 2
        box = Image.new("L", (box_w, box_h))
        ImageDraw.Draw(box).rounded_rectangle(
            (0, 0, box_w - 1, box_h - 1), radius=box_h // 4, outline=255, width=max(1, round(self.base / 600))
        )
        self._add(box_x, box_y, np.asarray(box), _MUTED)
        self._add(box_x + tag_pad_x, box_y + tag_pad_y, tag_mask, _MUTED)
        label = self._label()
        if label:
            text = _ellipsize(label, label_font, box_x - mx - label_font.size, track)
            mask = _text_mask(text, label_font, track)
            self._add(mx, my + (row_h - mask.shape[0]) // 2, mask, self.accent)
        top = my + row_h

        # Bottom row: duration left; timecode burn-in on a dark chip right; progress bar at the edge.
        self._setup_timecode(self._px(0.05, 9))
        pad_x, pad_y = round(self.tc_h * 0.45), round(self.tc_h * 0.18)
        chip_w, chip_h = self.tc_w + 2 * pad_x, self.tc_h + 2 * pad_y
        chip_x, chip_y = w - mx - chip_w, h - my - chip_h
        chip = Image.new("L", (chip_w, chip_h))
        ImageDraw.Draw(chip).rounded_rectangle((0, 0, chip_w - 1, chip_h - 1), radius=chip_h // 5, fill=150)
        self._add(chip_x, chip_y, np.asarray(chip), _CHIP)
        self.tc_xy = (chip_x + pad_x, chip_y + pad_y)
        dur_font = _font(self._px(0.026, 8))
        dur_text = _ellipsize(_duration_label(spec), dur_font, chip_x - mx - dur_font.size)
        if dur_text:
            mask = _text_mask(dur_text, dur_font)
            self._add(mx, chip_y + (chip_h - mask.shape[0]) // 2, mask, _MUTED)
        bottom = chip_y

        # Middle block: heading, accent rule, description, characters; centred in the free space.
        gap = round(self.base * 0.05)
        avail_top, avail_bottom = top + gap, bottom - gap
        head_font = _font(self._px(0.064, 10))
        head_stroke = max(0, round(head_font.size / 36))
        desc_font = _font(self._px(0.034, 8))
        cast_font = _font(self._px(0.024, 7))
        cast_track = cast_font.size * 0.14
        text_w = safe_w if w < h * 1.2 else min(safe_w, round(w * 0.64))
        head_line = head_font.getmetrics()[0] + head_font.getmetrics()[1] + 2 * head_stroke
        desc_line = round(desc_font.size * 1.45)
        rule_h, rule_gap = max(1, round(self.base * 0.004)), round(self.base * 0.032)

        heading_text = _printable(spec.scene_heading).upper()
        description = _printable(spec.description)
        if not heading_text and not description:
            heading_text = "UNTITLED SHOT"
        cast = " \u00b7 ".join(_printable(c).upper() for c in spec.characters if c.strip())

        budget = avail_bottom - avail_top
        cast_h = cast_font.getmetrics()[0] + cast_font.getmetrics()[1] if cast else 0
        heading = _wrap(heading_text, head_font, safe_w, 2) if heading_text else []
        fixed = len(heading) * head_line + (rule_gap * 2 + rule_h if heading else 0)
        fixed += (round(desc_line * 0.9) + cast_h) if cast else 0
        desc_lines = _wrap(description, desc_font, text_w, 8) if description else []
        max_desc = max(0, (budget - fixed) // desc_line)
        if len(desc_lines) > max_desc:
            desc_lines = _wrap(description, desc_font, text_w, max_desc) if max_desc else []
        if fixed + len(desc_lines) * desc_line > budget and cast:
            cast, fixed = "", fixed - round(desc_line * 0.9) - cast_h
        if fixed > budget and len(heading) > 1:
            heading = _wrap(heading_text, head_font, safe_w, 1)
            fixed -= head_line
        block_h = fixed + len(desc_lines) * desc_line
        y = avail_top + max(0, (budget - block_h) // 2)
        for line in heading:
            self._add(mx - head_stroke, y, _text_mask(line, head_font, stroke=head_stroke), _WHITE)
            y += head_line
        if heading:
            y += rule_gap
            rule_w = max(8, round(self.base * 0.09))
            self._add(mx, y, np.full((rule_h, rule_w), 255, np.uint8), self.accent)
            y += rule_h + rule_gap
        for line in desc_lines:
            self._add(mx, y, _text_mask(line, desc_font), _TEXT)
            y += desc_line
        if cast:
            y += round(desc_line * 0.9)
            text = _ellipsize(cast, cast_font, safe_w, cast_track)
            self._add(mx, y, _text_mask(text, cast_font, cast_track), _MUTED)

    def _layout_compact(self) -> None:
        """Thumbnail sizes: just the timecode (big enough to read) and the shot label if it fits."""
        w, h = self.spec.width, self.spec.height
        margin = max(2, round(min(w, h) * 0.06))
        size = max(6, min(round(h * 0.2), int((w - 2 * margin) / 6.4)))
        self._setup_timecode(size)
        while self.tc_w > w - 2 * margin and size > 6:
            size -= 1
            self._setup_timecode(size)
        label = self._label().replace("SCENE ", "SC ").replace("SHOT ", "SH ")
        label_font = _font(max(6, round(size * 0.75)))
        label_h, gap = sum(label_font.getmetrics()), margin // 2
        text = _ellipsize(label, label_font, w - 2 * margin) if label else ""
        if text and label_h + gap + self.tc_h + 2 * margin + self.bar_h <= h:
            # Centre label + timecode as one group.
            top = (h - label_h - gap - self.tc_h) // 2
            mask = _text_mask(text, label_font)
            self._add((w - mask.shape[1]) // 2, top, mask, self.accent)
            self.tc_xy = ((w - self.tc_w) // 2, top + label_h + gap)
        else:
            self.tc_xy = ((w - self.tc_w) // 2, (h - self.tc_h) // 2)

    # -- per frame

    def frame(self, index: int) -> np.ndarray:
        spec = self.spec
        t = index / float(spec.fps)
        ox = self.pan_x + round(self.pan_x * math.sin(2 * math.pi * t / 13.0))
        oy = self.pan_y + round(self.pan_y * math.sin(2 * math.pi * t / 9.0 + 0.7))
        out = self.bg[oy : oy + spec.height, ox : ox + spec.width].copy()
        for sprite in self.sprites:
            sprite.blend(out)
        tc = timecode(spec.start_frame + index, spec.fps)
        mask = np.concatenate([self.glyphs[c] for c in tc], axis=1)
        _Sprite(self.tc_xy[0], self.tc_xy[1], mask, _WHITE, spec.width, spec.height).blend(out)
        filled = round(spec.width * (index + 1) / spec.frames)
        out[spec.height - self.bar_h :, :filled] = self.accent
        return out


@functools.lru_cache(maxsize=1)
def _card(spec: AnimaticSpec) -> _Card:
    return _Card(spec)


def render_animatic_frame(spec: AnimaticSpec, index: int) -> np.ndarray:
    """Frame `index` (negative counts from the end) as RGB uint8 (height, width, 3)."""
    i = index + spec.frames if index < 0 else index
    if not 0 <= i < spec.frames:
        raise IndexError(f"frame index {index} out of range for an animatic of {spec.frames} frames")
    return _card(spec).frame(i)


def _preview_jpeg(frame: np.ndarray) -> bytes:
    img = Image.fromarray(frame)
    img.thumbnail((_PREVIEW_MAX_PX, _PREVIEW_MAX_PX), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=75)
    return buf.getvalue()


def render_animatic(spec: AnimaticSpec, out_path: Path, ctx: TaskContext) -> MediaInfo:
    """Render the card clip to `out_path` frame by frame; a cancel leaves no file behind."""
    ctx.log(f"animatic {spec.width}x{spec.height}, {spec.frames} frames @ {_fps_label(spec.fps)} fps")
    ctx.raise_if_cancelled()
    card = _Card(spec)
    total = spec.frames
    last_progress = last_preview = -math.inf
    with VideoWriter(out_path, spec.width, spec.height, spec.fps, crf=_CRF, preset=_PRESET) as writer:
        for i in range(total):
            ctx.raise_if_cancelled()
            frame = card.frame(i)
            writer.write(frame)
            now = time.monotonic()
            if now - last_progress >= _PROGRESS_INTERVAL_S or i == total - 1:
                preview = None
                if now - last_preview >= _PREVIEW_INTERVAL_S:
                    preview, last_preview = _preview_jpeg(frame), now
                ctx.progress(i + 1, total, "rendering", preview)
                last_progress = now
    return probe(out_path)
