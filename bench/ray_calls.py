"""What a Ray cluster adds to an interactive segmentation call (a click in the editor's viewer).

A `Segment` call on a still (tiny SAM 2, 64x64, one point), timed from the client: the round trip through a daemon
with the local executor, then through one with `--executor ray` on a local Ray head with 1 simulated GPU whose
worker shares the data directory, then through one whose worker gets the picture by transfer (`--ray-media
transfer`: cached on the worker's host after the first call, so later calls only hash it and ask). Median of
`CALLS` after a warm-up that loads the model. Run it with `.venv/bin/python -m bench ray_calls`.
"""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from bench.common import Result, Suite, median, ms
from bench.ray_dispatch import daemon, ray_head
from milimo.client import Client
from milimo.v1 import jobs_pb2
from milimo.v1 import segmentation_pb2 as seg

NAME = "ray_calls"
TITLE = "Ray executor: a segmentation call's round trip on a GPU worker vs the daemon's own worker"
GOAL_ADDED_S = 0.050  # what a click may cost over the local round trip and still feel immediate
CALLS = 30
MODEL = "tiny-sam2"


def tiny_sam_config(folder: Path) -> Path:
    """A config naming one tiny random-weight SAM 2 checkpoint, built here."""
    from milimo.models.families import family

    family("sam2").make_tiny(folder / MODEL)
    config = folder / "milimo.toml"
    config.write_text(f'[[models]]\nname = "{MODEL}"\nfamily = "sam2"\npath = "{folder / MODEL}"\ndevice = "cpu"\n')
    return config


def call_times(client: Client, picture: Path) -> list[float]:
    """Seconds of each Segment round trip, after a warm-up call that loads the model."""
    request = seg.SegmentRequest(
        model=MODEL,
        image=seg.ImageSource(asset_id=client.upload(picture).id),
        points=[jobs_pb2.PointPrompt(x=20, y=28, label=1)],
    )
    client.segmentation.Segment(request)
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        client.segmentation.Segment(request)
        times.append(time.perf_counter() - start)
    return times


def run(suite: Suite) -> Result:
    folder = suite.path("ray-calls")
    folder.mkdir(parents=True)
    config = tiny_sam_config(folder)
    picture = folder / "still.png"
    Image.new("RGB", (64, 64), (90, 40, 200)).save(picture)

    with daemon(suite, config) as client:
        local = call_times(client, picture)
    with ray_head(gpus=1, worker_files=folder / "worker-files") as head:
        with daemon(suite, config, head.address) as client:
            shared = call_times(client, picture)
        with daemon(suite, config, head.address, "--ray-media", "transfer") as client:
            sent = call_times(client, picture)

    local_s, shared_s, sent_s = median(local), median(shared), median(sent)
    added = max(shared_s, sent_s) - local_s
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"Ray adds {ms(shared_s - local_s)} a call with shared media, {ms(sent_s - local_s)} by transfer",
        goal=f"≤ {GOAL_ADDED_S * 1000:.0f} ms added (our own bar for a click; the issue sets none)",
        met=added <= GOAL_ADDED_S,
        baseline=f"local executor {ms(local_s)} a call",
        ratio=f"Ray shared {shared_s / local_s:.2f}x, Ray transfer {sent_s / local_s:.2f}x the local round trip",
        details=[
            f"Segment ({MODEL}, 64x64 still, one point), median of {CALLS} after a warm-up: local {ms(local_s)}, "
            f"Ray shared {ms(shared_s)}, Ray transfer {ms(sent_s)}",
            f"  min/max: local {ms(min(local))}/{ms(max(local))}, shared {ms(min(shared))}/{ms(max(shared))}, "
            f"transfer {ms(min(sent))}/{ms(max(sent))}",
        ],
    )
