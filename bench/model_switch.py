"""Model switch video -> image -> video: warm from the arbiter's RAM cache vs cold from disk (goal: warm/cold <= 0.25).

Tiny LTX-Video and FLUX.1 checkpoints are built in the real on-disk formats and loaded through the
real families. Cold: an arbiter with no RAM budget, so every switch loads from disk. Warm: the
default budget, so a switch moves the parked model back from RAM. Each switch is timed from
`acquire` to the model being ready (no generation). Run it with `.venv/bin/python -m bench model_switch`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Result, Suite

NAME = "model_switch"
TITLE = "Model switch video -> image -> video, warm (RAM) vs cold (disk), tiny checkpoints"
GOAL = 0.25
ROUNDS = 5


def _switch_times(arbiter) -> list[float]:
    times = []
    for name in ("video", "image", "video"):
        start = time.perf_counter()
        with arbiter.acquire(name):
            times.append(time.perf_counter() - start)
    return times


def run(suite: Suite) -> Result:
    from milimo.config import ModelConfig
    from milimo.models.arbiter import Arbiter
    from milimo.models.families import family

    with tempfile.TemporaryDirectory(prefix="milimo-switch-") as tmp:
        configs = {}
        for name, family_name in (("video", "ltx-video"), ("image", "flux")):
            family(family_name).make_tiny(Path(tmp) / name)
            configs[name] = ModelConfig(name=name, family=family_name, path=Path(tmp) / name, device="cpu")
        cold, warm = [], []
        for _ in range(ROUNDS):
            cold_arbiter = Arbiter(configs, device="cpu", ram_budget_bytes=0)
            cold += _switch_times(cold_arbiter)[1:]  # image and video again: both from disk
            warm_arbiter = Arbiter(configs, device="cpu")
            _switch_times(warm_arbiter)  # loads both once
            warm += _switch_times(warm_arbiter)[1:]  # image and video again: both from RAM
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    ratio = warm_s / cold_s
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"warm switch {warm_s * 1000:.1f} ms (median of {len(warm)})",
        goal=f"warm/cold ≤ {GOAL}",
        met=ratio <= GOAL,
        baseline=f"cold switch from disk {cold_s * 1000:.1f} ms (median of {len(cold)})",
        ratio=f"{ratio:.3f}",
        details=["tiny checkpoints only; the mid-size variant (about 1 s a step) is not built yet"],
    )
