"""3. Upload then download of a 200 MB file over loopback, against a plain file copy (goal: each
direction at least half the copy's throughput).

Client.upload and Client.download do all a real client does: hash the file, stream 1 MiB chunks,
and (download) check the sha256 of what arrived; the daemon hashes and fsyncs the upload. Baseline:
shutil.copyfile of the same file on the same disk, in the same run (page cache left as it is).
"""

from __future__ import annotations

import os
import shutil
import time

from bench.common import Daemon, Result, Suite

NAME = "transfer"
TITLE = "Upload then download of a 200 MB file over loopback, against a plain file copy"
GOAL_RATIO = 0.5
SIZE = 200 * 1000 * 1000
MB = 1e6


def run(suite: Suite) -> Result:
    work = suite.path("transfer")
    work.mkdir(parents=True)
    source = work / "source.bin"
    with source.open("wb") as f:
        for _ in range(SIZE // (4 * 1000 * 1000)):
            f.write(os.urandom(4 * 1000 * 1000))

    start = time.perf_counter()
    shutil.copyfile(source, work / "copy.bin")
    copy_s = time.perf_counter() - start
    (work / "copy.bin").unlink()
    # Context only: a copy that, like the daemon's upload, is on disk (fsync) before it counts.
    start = time.perf_counter()
    shutil.copyfile(source, work / "copy.bin")
    with (work / "copy.bin").open("rb+") as f:
        os.fsync(f.fileno())
    durable_s = time.perf_counter() - start
    (work / "copy.bin").unlink()

    with Daemon(suite.new_store("transfer")) as daemon:
        client = daemon.client()
        start = time.perf_counter()
        asset = client.upload(source)
        upload_s = time.perf_counter() - start
        start = time.perf_counter()
        client.download(asset.id, work / "downloaded.bin")
        download_s = time.perf_counter() - start
    assert (work / "downloaded.bin").stat().st_size == SIZE

    copy, up, down = SIZE / copy_s / MB, SIZE / upload_s / MB, SIZE / download_s / MB
    round_trip = 2 * SIZE / (upload_s + download_s) / MB
    worst = min(up, down) / copy
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"upload {up:.0f} MB/s, download {down:.0f} MB/s (round trip {round_trip:.0f} MB/s)",
        goal=f"each ≥ {GOAL_RATIO} x the copy",
        met=worst >= GOAL_RATIO,
        baseline=f"shutil.copyfile: {copy:.0f} MB/s",
        ratio=f"upload {up / copy:.2f}, download {down / copy:.2f}, round trip {round_trip / copy:.2f} of the copy",
        details=[
            f"times: copy {copy_s:.2f} s, upload {upload_s:.2f} s, download {download_s:.2f} s ({SIZE // 10**6} MB)",
            f"context: copyfile + fsync {SIZE / durable_s / MB:.0f} MB/s (upload {upload_s / durable_s:.1f}x its time)",
        ],
    )
