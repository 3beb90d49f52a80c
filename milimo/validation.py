"""Field rules shared by every request. Each check names the field and the rule it enforces."""

from __future__ import annotations

import re
from fractions import Fraction

from milimo.errors import InvalidArgument

DIMENSION_MIN, DIMENSION_MAX, DIMENSION_STEP = 64, 4096, 32
FRAMES_MIN, FRAMES_MAX = 1, 1000
FPS_MIN, FPS_MAX = 1, 120
RATIONAL_TERM_MAX = 2**31 - 1  # stored as 32-bit integers, and FFmpeg's rationals are 32-bit too
PROMPT_MAX = 10_000
TEXT_MAX = 10_000
NAME_MAX = 200
PRIORITY_MIN, PRIORITY_MAX = -100, 100
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 100, 1000
LABELS_MAX, LABEL_KEY_MAX, LABEL_VALUE_MAX = 32, 64, 256
CLIENT_REQUEST_ID_MAX = 128
ID_PATTERN = re.compile(r"^[a-z]-[0-9a-f]{16}\Z")  # \Z: `$` would accept a trailing newline


def dimension(field: str, value: int) -> int:
    if not DIMENSION_MIN <= value <= DIMENSION_MAX or value % DIMENSION_STEP:
        raise InvalidArgument(
            field, f"must be a multiple of {DIMENSION_STEP} from {DIMENSION_MIN} to {DIMENSION_MAX} (got {value})"
        )
    return value


def frames(field: str, value: int) -> int:
    if not FRAMES_MIN <= value <= FRAMES_MAX:
        raise InvalidArgument(field, f"must be from {FRAMES_MIN} to {FRAMES_MAX} (got {value})")
    return value


def fps(field: str, num: int, den: int) -> Fraction:
    """A frame rate as an exact fraction; a zero denominator means a whole rate."""
    if den < 0 or num <= 0:
        raise InvalidArgument(field, f"must be a positive rate from {FPS_MIN} to {FPS_MAX} (got {num}/{den})")
    rate = Fraction(num, den or 1)
    if not FPS_MIN <= rate <= FPS_MAX:
        raise InvalidArgument(field, f"must be from {FPS_MIN} to {FPS_MAX} frames per second (got {rate})")
    if max(rate.numerator, rate.denominator) > RATIONAL_TERM_MAX:
        raise InvalidArgument(field, f"numerator and denominator (reduced) must be at most {RATIONAL_TERM_MAX}")
    return rate


def text(field: str, value: str, limit: int = TEXT_MAX) -> str:
    if len(value) > limit:
        raise InvalidArgument(field, f"must be at most {limit:,} characters (got {len(value):,})")
    if "\x00" in value:
        raise InvalidArgument(field, "must not contain NUL characters")
    return value


def prompt(field: str, value: str) -> str:
    return text(field, value, PROMPT_MAX)


def name(field: str, value: str, *, required: bool = True) -> str:
    if required and not value.strip():
        raise InvalidArgument(field, "must not be empty")
    return text(field, value, NAME_MAX)


def in_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidArgument(field, f"must be from {low} to {high} (got {value})")
    return value


def optional_id(field: str, value: str) -> str | None:
    """An id that may be empty; a malformed one is refused here rather than looked up."""
    if not value:
        return None
    if not ID_PATTERN.match(value):
        raise InvalidArgument(field, f"is not a Milimo id (got {value[:40]!r})")
    return value


def labels(field: str, value: dict[str, str]) -> dict[str, str]:
    if len(value) > LABELS_MAX:
        raise InvalidArgument(field, f"at most {LABELS_MAX} labels")
    for key, item in value.items():
        text(f"{field}[{key[:20]!r}]", key, LABEL_KEY_MAX)
        text(f"{field}[{key[:20]!r}]", item, LABEL_VALUE_MAX)
    return dict(value)


def page_size(field: str, value: int) -> int:
    if value == 0:
        return PAGE_SIZE_DEFAULT
    return in_range(field, value, 1, PAGE_SIZE_MAX)


def real_range(field: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:  # also refuses NaN
        raise InvalidArgument(field, f"must be from {low:g} to {high:g} (got {value})")
    return value


def asset_id(field: str, value: str) -> str:
    """A required asset id (`a-` and 16 hex digits)."""
    if not value:
        raise InvalidArgument(field, "must name an asset (a-…)")
    if not ID_PATTERN.match(value) or not value.startswith("a-"):
        raise InvalidArgument(field, f"is not an asset id (got {value[:40]!r})")
    return value
