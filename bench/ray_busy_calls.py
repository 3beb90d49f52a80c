"""A click in one person's viewer while another person's tracking propagation runs, on a Ray cluster.

Two clients of one daemon (`--executor ray`, a local Ray head): the first propagates a tracking session over a
clip (tiny SAM 2, 64x64, `FRAMES` frames), the second makes `Segment` calls on a still meanwhile, one after the
other, timed from the client. A GPU worker answers its calls one at a time, so a click that lands on the
propagating worker waits for the whole propagation. With 2 simulated GPUs the click goes to the idle worker
(`RayCalls.pick`); the baseline is the same run with 1 GPU, which is also what 2 GPUs gave before calls were
spread (every call went to one worker). Run it with `.venv/bin/python -m bench ray_busy_calls`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import Result, Suite, median, ms
from bench.ray_calls import MODEL, tiny_sam_config
from bench.ray_dispatch import daemon, ray_head
from milimo.client import Client
from milimo.media import ops
from milimo.v1 import jobs_pb2
from milimo.v1 import segmentation_pb2 as seg

NAME = "ray_busy_calls"
TITLE = "Ray executor: a click while another session propagates, 2 GPU workers vs 1"
GOAL_RATIO = 0.10  # a click beside a propagation should cost at most a tenth of waiting behind it
FRAMES = 150
CLICK = [jobs_pb2.PointPrompt(x=20, y=28, label=1)]


def square(frame: int) -> np.ndarray:
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    offset = frame % 32
    pixels[16:40, offset : offset + 24] = 255
    return pixels


def clicks_during_propagation(client: Client, clip: Path, still: Path) -> tuple[list[float], float]:
    """Seconds of each Segment round trip made while a propagation runs, and how long the propagation took."""
    segment = seg.SegmentRequest(model=MODEL, image=seg.ImageSource(asset_id=client.upload(still).id), points=CLICK)
    client.segmentation.Segment(segment)  # loads the model on the worker that answers
    session = client.segmentation.StartTracking(
        seg.StartTrackingRequest(model=MODEL, asset_id=client.upload(clip).id, idle_timeout_s=600)
    )
    prompt = seg.AddTrackingPromptRequest(session_id=session.id, frame_index=0, object_id=1, points=CLICK)
    client.segmentation.AddTrackingPrompt(prompt)

    started, ended = threading.Event(), threading.Event()
    took = [0.0]

    def propagate() -> None:
        start = time.perf_counter()
        for event in client.segmentation.Propagate(seg.PropagateRequest(session_id=session.id)):
            if event.done >= 1:
                started.set()
        took[0] = time.perf_counter() - start
        ended.set()

    thread = threading.Thread(target=propagate)
    thread.start()
    started.wait(timeout=300)
    times = []
    while not ended.is_set():
        start = time.perf_counter()
        client.segmentation.Segment(segment)
        if not ended.is_set() or not times:  # a click that waited for the end still counts once
            times.append(time.perf_counter() - start)
    thread.join()
    return times, took[0]


def run(suite: Suite) -> Result:
    folder = suite.path("ray-busy-calls")
    folder.mkdir(parents=True)
    config = tiny_sam_config(folder)
    still, clip = folder / "still.png", folder / "clip.mp4"
    Image.fromarray(square(0)).save(still)
    ops.encode_frames((square(n) for n in range(FRAMES)), clip, 24)

    measured = {}
    for gpus in (1, 2):
        with ray_head(gpus=gpus) as head, daemon(suite, config, head.address) as client:
            measured[gpus] = clicks_during_propagation(client, clip, still)
    (one, one_took), (two, two_took) = measured[1], measured[2]
    one_s, two_s = median(one), median(two)
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"a click takes {ms(two_s)} beside the propagation (median of {len(two)})",
        goal=f"≤ {GOAL_RATIO:.2f}x the click that waits behind the propagation",
        met=two_s <= GOAL_RATIO * one_s,
        baseline=f"1 GPU worker: {ms(one_s)} (median of {len(one)}), as 2 gave before calls were spread",
        ratio=f"{two_s / one_s:.3f}x",
        details=[
            f"propagation of {FRAMES} frames: {one_took:.1f} s with 1 worker, {two_took:.1f} s with 2",
            f"  clicks min/max: 1 worker {ms(min(one))}/{ms(max(one))}, 2 workers {ms(min(two))}/{ms(max(two))}",
            f"  the first click with 2 workers: {ms(two[0])} (it loads the model on the idle worker)",
        ],
    )
