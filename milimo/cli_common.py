"""What every `milimo` subcommand shares: the client from the config, errors, progress bars, uploads."""

from __future__ import annotations

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
from milimo.client.batch import status_name
from milimo.v1 import jobs_pb2

console = Console(stderr=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file", envvar=settings.CONFIG_ENV)]


def open_client(config_file: Path | None = None) -> Client:
    return Client(settings.client_config(settings.load_file(config_file)))


def fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


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


def follow(client: Client, job_id: str, label: str = "") -> jobs_pb2.Job:
    """A rich progress bar for the job until it ends (labelled `label`, else its id); returns its final state."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[state]}"),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task(label or job_id, total=None, state="queued")
        for event in client.watch(job_id):
            if event.HasField("progress"):
                progress.update(bar, completed=event.progress.step, total=event.progress.total or None)
            elif event.HasField("state"):
                progress.update(bar, state=status_name(event.state.status))
    return client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id))
