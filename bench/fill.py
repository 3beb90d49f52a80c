"""`milimo fill`'s bookkeeping on a 1,000-clip timeline, generation left out (goal: at most 1 s).

The timeline: four video tracks of 250 clips each, a dissolve every tenth cut, a marker on every third clip,
an effect on every seventh, and 200 placeholders. Timed: read it, find and check the placeholders, build
their requests with idempotency keys, fill them with files (paths made up front, as downloads would leave
them), write the result, read it back and compare it item by item with the input. Median of 5 after one
warm-up. Baseline: OTIO's own read and write of the same file, the part of the work that is not ours.
"""

from __future__ import annotations

import time
from pathlib import Path

import opentimelineio as otio

from bench.common import Result, Suite, median
from milimo.otio import conventions, fill
from milimo.v1 import common_pb2, jobs_pb2

NAME = "fill"
TITLE = "milimo fill bookkeeping, 1,000 clips"
GOAL_S = 1.0
TRACKS, CLIPS_PER_TRACK, PLACEHOLDER_EVERY = 4, 250, 5
RUNS = 5
RATE = 24


def timeline() -> otio.schema.Timeline:
    def span(frames: int) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(otio.opentime.RationalTime(0, RATE), otio.opentime.RationalTime(frames, RATE))

    cut = otio.schema.Timeline(name="bench cut", global_start_time=otio.opentime.RationalTime(86400, RATE))
    for number in range(TRACKS):
        track = otio.schema.Track(name=f"V{number + 1}")
        for index in range(CLIPS_PER_TRACK):
            frames = 24 + index % 48
            if index % PLACEHOLDER_EVERY == 0:
                request = jobs_pb2.JobRequest(
                    animatic=jobs_pb2.AnimaticRequest(
                        width=64, height=64, fps=common_pb2.Rational(num=RATE), description=f"shot {number}.{index}"
                    )
                )
                clip = conventions.make_placeholder(
                    f"shot {number}.{index}", request, span(frames).duration, bookkeeping={"shot": index}
                )
            else:
                reference = otio.schema.ExternalReference(target_url=f"file:///media/{number}/{index}.mov")
                clip = otio.schema.Clip(
                    name=f"clip {number}.{index}", media_reference=reference, source_range=span(frames)
                )
            if index % 3 == 0:
                clip.markers.append(otio.schema.Marker(name=f"note {index}", marked_range=span(0)))
            if index % 7 == 0:
                clip.effects.append(otio.schema.Effect(name="grade", effect_name="ColorCorrect", metadata={"n": index}))
            if index % 10 == 9:
                half = otio.opentime.RationalTime(2, RATE)
                track.append(otio.schema.Transition(in_offset=half, out_offset=half))
            track.append(clip)
        cut.tracks.append(track)
    return cut


def bookkeeping(source: Path, output: Path, media: Path) -> float:
    """Seconds for one fill with every placeholder's file already downloaded."""
    start = time.perf_counter()
    plan = fill.plan(source, output, size=(64, 64))
    assert len(fill.submissions(plan)) == len(plan.placeholders)
    made = {
        placeholder.path: fill.Generated(
            media / f"{index}.mp4", jobs_pb2.Job(id=f"j-{index:016x}", result_asset_ids=[f"a-{index:016x}"])
        )
        for index, placeholder in enumerate(plan.placeholders)
    }
    differences = fill.finish(plan, made)
    elapsed = time.perf_counter() - start
    assert differences == [] and len(plan.placeholders) == TRACKS * CLIPS_PER_TRACK // PLACEHOLDER_EVERY, differences
    return elapsed


def otio_alone(source: Path, output: Path) -> float:
    start = time.perf_counter()
    otio.adapters.write_to_file(otio.adapters.read_from_file(str(source)), str(output))
    return time.perf_counter() - start


def run(suite: Suite) -> Result:
    folder = suite.path("fill")
    folder.mkdir(parents=True)
    source = folder / "cut.otio"
    otio.adapters.write_to_file(timeline(), str(source))
    ours = [bookkeeping(source, folder / "filled.otio", folder / "media") for _ in range(RUNS + 1)][1:]
    library = [otio_alone(source, folder / "copy.otio") for _ in range(RUNS + 1)][1:]
    ours_s, library_s = median(ours), median(library)
    clips = TRACKS * CLIPS_PER_TRACK
    return Result(
        name=NAME,
        title=TITLE,
        figure=f"{ours_s:.3f} s",
        goal=f"≤ {GOAL_S:g} s",
        met=ours_s <= GOAL_S,
        baseline=f"OTIO alone reading and writing the same file: {library_s:.3f} s",
        ratio=f"{ours_s / library_s:.2f}x OTIO's read and write",
        details=[
            f"{clips} clips on {TRACKS} tracks, {clips // PLACEHOLDER_EVERY} placeholders, "
            f"{source.stat().st_size // 1024} KiB of OTIO JSON",
            f"median of {RUNS} fills after one warm-up: read, check, requests, fill, write, read back, compare",
        ],
    )
