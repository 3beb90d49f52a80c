"""The timeline commands of the `milimo` CLI: `milimo fill` and `milimo storyboard export --otio`.

milimo/cli.py and milimo/storyboard_cli.py register these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from milimo.cli_common import ConfigOption, console, fail, open_client, status_name
from milimo.client import Client
from milimo.client.batch import follow_batch
from milimo.errors import MilimoError
from milimo.otio import fill as fill_bookkeeping
from milimo.otio import fill_jobs, formats
from milimo.otio.export import storyboard_timeline
from milimo.v1 import jobs_pb2, media_pb2, storyboard_pb2

EXIT_JOBS_FAILED = 1  # the output was written, but some placeholders could not be generated


def fill(
    input_file: Annotated[
        Path, typer.Argument(metavar="INPUT", help="a timeline with placeholders: .otio, .edl, or FCP 7 .xml")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="where the filled timeline goes; its format follows the suffix")
    ],
    width: Annotated[int, typer.Option(help="width of placeholders whose request gives no size")] = 768,
    height: Annotated[int, typer.Option(help="height of placeholders whose request gives no size")] = 512,
    edl_rate: Annotated[float, typer.Option(help="the frame rate of an EDL input (an EDL does not say)")] = 24.0,
    priority: Annotated[int, typer.Option(help="higher runs first, -100..100")] = 0,
    config: ConfigOption = None,
) -> None:
    """Generate a timeline's placeholder shots and write the timeline with them filled in.

    The generated clips go to a folder beside OUTPUT (OUTPUT's name + "_media"). Running it again after an
    interruption picks up the jobs already queued and the files already downloaded."""
    try:
        plan = fill_bookkeeping.plan(input_file, output, size=(width, height), edl_rate=edl_rate)
        console.print(f"{input_file.name}: {len(plan.placeholders)} placeholders to fill")
        generated, failed = _generate(plan, priority, config) if plan.placeholders else ({}, [])
        differences = fill_bookkeeping.finish(plan, generated)
    except MilimoError as error:
        fail(str(error))
    if differences:
        shown = "\n  ".join(differences[:20])
        more = f"\n  … and {len(differences) - 20} more" if len(differences) > 20 else ""
        fail(f"{output} does not read back as the input did (besides the placeholders):\n  {shown}{more}")
    console.print(f"{len(generated)} of {len(plan.placeholders)} placeholders filled; wrote {output}")
    if failed:
        for placeholder, job in failed:
            console.print(
                f"[red]not filled:[/red] {placeholder.label}: job {job.id} {status_name(job.status)}: {job.reason}"
            )
        raise typer.Exit(EXIT_JOBS_FAILED)


def _generate(
    plan: fill_bookkeeping.FillPlan, priority: int, config: Path | None
) -> tuple[dict[str, fill_bookkeeping.Generated], list[tuple[fill_bookkeeping.Placeholder, jobs_pb2.Job]]]:
    """Queue the placeholders' jobs, follow them in one progress view, download what they made."""
    with open_client(config) as client:
        jobs = fill_jobs.submit(client, plan, priority=priority)
        finals = follow_batch(client, jobs, fill_jobs.labels(plan, jobs), console=console)
        with _file_bar("download") as on_file:
            return fill_jobs.download(client, plan, finals, jobs, on_file=on_file)


def export_storyboard(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT", help="the project (p-…)")],
    otio_file: Annotated[Path, typer.Option("--otio", help="write the storyboard as an OTIO timeline here")],
    video_model: Annotated[
        str, typer.Option(help="shots without a take become video placeholders for this model (default: animatics)")
    ] = "",
    config: ConfigOption = None,
) -> None:
    """Write a project's storyboard as a timeline: a clip per shot, a marker at each scene.

    Takes are downloaded to a folder beside the file (its name + "_media"); shots without one become
    placeholders that `milimo fill` renders."""
    try:
        formats.output_adapter(otio_file, "--otio")
        with open_client(config) as client:
            view = client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project_id))
            media = download_takes(client, view, otio_file.with_name(otio_file.stem + "_media"))
        timeline = storyboard_timeline(view, media, name=view.project.name or project_id, video_model=video_model)
        formats.write_timeline(timeline, otio_file, field="--otio")
    except MilimoError as error:
        fail(str(error))
    shots = sum(len(scene.shots) for scene in view.scenes) + len(view.shots_without_scene)
    console.print(f"wrote {otio_file}: {shots} shots, {len(media)} with takes, {shots - len(media)} placeholders")


def download_takes(client: Client, view: storyboard_pb2.StoryboardView, folder: Path) -> dict[str, Path]:
    """Each shot's take, downloaded once into `folder` (an asset never changes, so a file there is kept)."""
    shots = [shot for scene in view.scenes for shot in scene.shots] + list(view.shots_without_scene)
    with_takes = [shot for shot in shots if shot.asset_id]
    media = {}
    if with_takes:
        folder.mkdir(parents=True, exist_ok=True)
    with _file_bar("download takes") as on_file:
        for done, shot in enumerate(with_takes, start=1):
            asset = client.media.Stat(media_pb2.StatRequest(asset_id=shot.asset_id))
            target = folder / f"{shot.id}-{shot.asset_id}{Path(asset.filename).suffix or '.mp4'}"
            if not target.exists():
                client.download(shot.asset_id, target)
            media[shot.id] = target
            on_file(done, len(with_takes))
    return media


@contextmanager
def _file_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A bar counting files; the callback takes (files done, files in all)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(bar, completed=done, total=total)
