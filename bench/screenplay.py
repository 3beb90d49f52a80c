"""Parsing a 120-page screenplay into scenes and shots (goal: at most 1 s).

The generated feature-length script of the tests (tests/data/screenplays/feature.py: 120 pages of 55
printed lines, about 200 scenes and 700 shots) written to a file as Fountain, Final Draft XML and
free-form text, each parsed from its path with `parse_screenplay(path)` (format detection included),
median of 7 after one warm-up. Baseline: the fountain-py library alone parsing the same Fountain text,
the part of the work that is not ours.
"""

from __future__ import annotations

from fountain import FountainParser

from bench.common import Result, Suite, median, timed
from milimo.storyboard import parse_screenplay
from tests.data.screenplays.feature import feature

NAME = "screenplay"
TITLE = "Parse a 120-page screenplay"
GOAL_S = 1.0
PAGES = 120
RUNS = 7


def run(suite: Suite) -> Result:
    script = feature(pages=PAGES)
    folder = suite.path("screenplay")
    folder.mkdir(parents=True)
    files = {"fountain": folder / "feature.fountain", "fdx": folder / "feature.fdx", "text": folder / "feature.txt"}
    files["fountain"].write_text(script.fountain)
    files["fdx"].write_bytes(script.fdx)
    files["text"].write_text(script.text)

    seconds: dict[str, float] = {}
    for kind, path in files.items():
        parsed = parse_screenplay(path)
        assert parsed.parser == kind and len(parsed.scenes) == len(script.scenes), (kind, len(parsed.scenes))
        seconds[kind] = median(timed(lambda path=path: parse_screenplay(path), RUNS))
    timed(lambda: FountainParser().parse(script.fountain), 1)
    library_s = median(timed(lambda: FountainParser().parse(script.fountain), RUNS))

    worst = max(seconds.values())
    labels = {"fountain": "Fountain", "fdx": "Final Draft", "text": "free-form text"}
    return Result(
        name=NAME,
        title=TITLE,
        figure="; ".join(f"{labels[kind]} {s:.3f} s" for kind, s in seconds.items()),
        goal=f"≤ {GOAL_S:g} s",
        met=worst <= GOAL_S,
        baseline=f"fountain-py alone on the Fountain text: {library_s:.3f} s",
        ratio=f"{seconds['fountain'] / library_s:.2f}x the library (Fountain)",
        details=[
            f"{len(script.scenes)} scenes, {script.shot_count} shots, {script.dialogue_count} dialogue lines; "
            f"{len(script.fountain.splitlines())} Fountain lines, {len(script.fdx) // 1024} KiB of Final Draft XML",
            f"median of {RUNS} parses from the file, after one warm-up",
        ],
    )
