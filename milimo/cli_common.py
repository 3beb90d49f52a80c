"""What every `milimo` subcommand shares: the client from the config, errors, progress bars, uploads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from milimo import config as settings
from milimo.client import Client
from milimo.v1 import jobs_pb2

console = Console(stderr=True)

STATUS_NAMES = {value: name.removeprefix("JOB_STATUS_").lower() for name, value in jobs_pb2.JobStatus.items()}
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file", envvar=settings.CONFIG_ENV)]


def open_client(config_file: Path | None = None) -> Client:
    return Client(settings.client_config(settings.load_file(config_file)))


def fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, str(status))


def asset_id_of(client: Client, value: str, option: str, project: str) -> str:
    """An asset id as given, or the id of a local file after uploading it (with a progress bar)."""
    path = Path(value).expanduser()
    if path.is_file():
        size = path.stat().st_size
        with bytes_bar(f"upload {path.name}") as report:
            asset = client.upload(path, project_id=project, on_progress=report)
            report(size, size)  # bytes the daemon already held are not sent again
        return asset.id
    if not value.startswith("a-"):
        fail(f"{option}: {value!r} is neither a file nor an asset id (a-…)")
    return value


@contextmanager
def bytes_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transfer bar; the callback takes (bytes done, bytes in all)."""
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(bar, completed=done, total=total)


def follow(client: Client, job_ids: list[str], labels: dict[str, str] | None = None) -> dict[str, jobs_pb2.Job]:
    """Rich progress bars for jobs until each ends (labelled by `labels`, else by id); returns their final state."""
    finals: dict[str, jobs_pb2.Job] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[state]}"),
    )
    with Progress(*columns, console=console) as progress:
        labels = labels or {}
        bars = {job_id: progress.add_task(labels.get(job_id, job_id), total=None, state="queued") for job_id in job_ids}

        def track(job_id: str) -> None:
            for event in client.watch(job_id):
                bar = bars[job_id]
                if event.HasField("progress"):
                    progress.update(bar, completed=event.progress.step, total=event.progress.total or None)
                elif event.HasField("state"):
                    progress.update(bar, state=status_name(event.state.status))
            finals[job_id] = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id))

        threads = [threading.Thread(target=track, args=(job_id,), daemon=True) for job_id in job_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return finals
