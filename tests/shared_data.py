"""The project's shared real-world data (timelines, screenplays made by other tools), beside the checkout.

It lives in `../shared/data` (or $MILIMO_SHARED_DATA) and is never copied into the repository; tests that read
it are skipped, saying why, on a machine that does not have it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("MILIMO_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"the shared data is not at {SHARED_DATA} (set MILIMO_SHARED_DATA)"
)
