"""The `milimo` command: serve the daemon, submit and follow jobs, move media."""

from __future__ import annotations

import asyncio
import logging
import sys
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import grpc
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from milimo import config as settings
from milimo.client import Client
from milimo.errors import MilimoError
from milimo.v1 import common_pb2, jobs_pb2, models_pb2

app = typer.Typer(help="Milimo: a local-first AI cinematic studio.", no_args_is_help=True)
submit_app = typer.Typer(help="Queue a job.", no_args_is_help=True)
queue_app = typer.Typer(help="Pause or resume the queue.", no_args_is_help=True)
models_app = typer.Typer(help="Configured models.", no_args_is_help=True)
app.add_typer(submit_app, name="submit")
app.add_typer(queue_app, name="queue")
app.add_typer(models_app, name="models")
console = Console(stderr=True)

STATUS_NAMES = {value: name.removeprefix("JOB_STATUS_").lower() for name, value in jobs_pb2.JobStatus.items()}
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file", envvar=settings.CONFIG_ENV)]


def _client(config_file: Path | None = None) -> Client:
    return Client(settings.client_config(settings.load_file(config_file)))


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, str(status))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 50051; 0 picks a free one)")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="data directory")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default SQLite in --data)")] = None,
    token: Annotated[str | None, typer.Option(help="required bearer token", envvar="MILIMO_TOKEN")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM)")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
    allow_insecure: Annotated[bool, typer.Option(help="beyond loopback without TLS")] = False,
    paused: Annotated[bool, typer.Option("--paused", help="start with the queue paused")] = False,
    max_attempts: Annotated[int | None, typer.Option(help="runs before an interrupted job is quarantined")] = None,
    max_queued: Annotated[int | None, typer.Option(help="queued jobs before Submit is refused")] = None,
    ready_file: Annotated[Path | None, typer.Option(help="write the bound port here once serving")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the render daemon in the foreground."""
    from milimo.daemon.server import serve as run_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        daemon_config = settings.daemon_config(
            settings.load_file(config),
            host=host,
            port=port,
            data_dir=data,
            database_url=database_url,
            token=token,
            tls_cert=tls_cert,
            tls_key=tls_key,
            allow_insecure=allow_insecure or None,
            start_paused=paused or None,
            max_attempts=max_attempts,
            max_queued=max_queued,
        )
        daemon_config.check()
        asyncio.run(run_server(daemon_config, ready_file))
    except MilimoError as error:
        _fail(str(error))


@submit_app.command("animatic")
def submit_animatic(
    text: Annotated[str, typer.Option("--text", help="shot description")] = "",
    heading: Annotated[str, typer.Option(help="scene heading, e.g. 'INT. KITCHEN - NIGHT'")] = "",
    character: Annotated[list[str] | None, typer.Option("--character", help="a character in the shot")] = None,
    scene: int = 0,
    shot: int = 0,
    frames: int = 48,
    width: int = 1024,
    height: int = 576,
    fps: Annotated[str, typer.Option(help="frame rate: 24, 25, 30000/1001 …")] = "24",
    priority: int = 0,
    project: Annotated[str, typer.Option(help="project id")] = "",
    config: ConfigOption = None,
) -> None:
    """Queue an animatic card clip; prints the job id."""
    rate = _frame_rate(fps)
    request = jobs_pb2.JobRequest(
        animatic=jobs_pb2.AnimaticRequest(
            width=width,
            height=height,
            frames=frames,
            fps=common_pb2.Rational(num=rate.numerator, den=rate.denominator),
            scene_heading=heading,
            description=text,
            characters=character or [],
            scene_number=scene,
            shot_number=shot,
        )
    )
    with _client(config) as client:
        job = client.submit(request, priority=priority, project_id=project)
    print(job.id)


@submit_app.command("video")
def submit_video(
    model: Annotated[str, typer.Option(help="a configured video model (`milimo models list`)")],
    prompt: Annotated[str, typer.Option(help="what the shot shows")],
    negative_prompt: str = "",
    frames: Annotated[int, typer.Option(help="LTX models take 8k+1 frames")] = 97,
    width: int = 768,
    height: int = 512,
    fps: Annotated[str, typer.Option(help="frame rate: 24, 25, 30000/1001 …")] = "24",
    steps: int = 30,
    guidance: float = 3.0,
    seed: int = 0,
    priority: int = 0,
    project: Annotated[str, typer.Option(help="project id")] = "",
    config: ConfigOption = None,
) -> None:
    """Queue a generated shot; prints the job id."""
    rate = _frame_rate(fps)
    request = jobs_pb2.JobRequest(
        video=jobs_pb2.VideoShotRequest(
            model=model,
            prompt=prompt,
            negative_prompt=negative_prompt,
            width=width,
            height=height,
            frames=frames,
            fps=common_pb2.Rational(num=rate.numerator, den=rate.denominator),
            steps=steps,
            guidance=guidance,
            seed=seed,
        )
    )
    with _client(config) as client:
        job = client.submit(request, priority=priority, project_id=project)
    print(job.id)


def _frame_rate(text: str) -> Fraction:
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        _fail(f"--fps: {text!r} is not a frame rate")
        raise


@app.command()
def jobs(
    status: Annotated[list[str] | None, typer.Option(help="only these statuses")] = None,
    limit: int = 50,
    config: ConfigOption = None,
) -> None:
    """List jobs, newest first."""
    wanted = []
    for name in status or []:
        value = jobs_pb2.JobStatus.DESCRIPTOR.values_by_name.get(f"JOB_STATUS_{name.upper()}")
        if value is None:
            _fail(f"--status: unknown status {name!r}")
        wanted.append(value.number)
    with _client(config) as client:
        reply = client.jobs.List(jobs_pb2.ListJobsRequest(statuses=wanted, page={"page_size": limit}))
    table = Table("id", "kind", "status", "progress", "attempts", "reason")
    for job in reply.jobs:
        progress = f"{job.progress.step}/{job.progress.total}" if job.progress.total else ""
        table.add_row(job.id, job.kind, status_name(job.status), progress, str(job.attempts), job.reason)
    Console().print(table)


def follow(client: Client, job_ids: list[str], labels: dict[str, str] | None = None) -> dict[str, jobs_pb2.Job]:
    """Rich progress bars for jobs until each ends (labelled by `labels`, else by id); returns their final state."""
    import threading

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


@app.command()
def watch(job_id: str, config: ConfigOption = None) -> None:
    """Follow a job with a progress bar; exits non-zero unless it succeeds."""
    with _client(config) as client:
        job = follow(client, [job_id])[job_id]
    name = status_name(job.status)
    if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        _fail(f"job {job_id} {name}: {job.reason}")
    console.print(f"job {job_id} {name}: {', '.join(job.result_asset_ids)}")


@app.command()
def cancel(job_id: str, config: ConfigOption = None) -> None:
    """Cancel a queued or running job."""
    with _client(config) as client:
        job = client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id))
    state = "cancel requested" if job.status == jobs_pb2.JOB_STATUS_RUNNING else status_name(job.status)
    console.print(f"job {job_id}: {state}")


@app.command()
def retry(job_id: str, config: ConfigOption = None) -> None:
    """Queue a failed or cancelled job again; prints the new job id."""
    with _client(config) as client:
        print(client.jobs.Retry(jobs_pb2.RetryJobRequest(job_id=job_id)).id)


@app.command()
def get(
    job_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the result")],
    config: ConfigOption = None,
) -> None:
    """Download a finished job's result."""
    with _client(config) as client:
        job = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id))
        if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED or not job.result_asset_ids:
            _fail(f"job {job_id} is {status_name(job.status)}; it has no result yet")
        client.download(job.result_asset_ids[0], output)
    console.print(f"wrote {output}")


@queue_app.command("pause")
def queue_pause(config: ConfigOption = None) -> None:
    """Stop starting new jobs (running ones finish)."""
    with _client(config) as client:
        state = client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    console.print(f"queue paused: {state.queued} queued, {state.running} running")


@queue_app.command("resume")
def queue_resume(config: ConfigOption = None) -> None:
    """Start queued jobs again."""
    with _client(config) as client:
        state = client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    console.print(f"queue running: {state.queued} queued, {state.running} running")


@models_app.command("list")
def models_list(config: ConfigOption = None) -> None:
    """Show configured models and where each one is."""
    with _client(config) as client:
        reply = client.models.ListModels(models_pb2.ListModelsRequest())
    table = Table("name", "family", "state", "path", "detail")
    for model in reply.models:
        state = models_pb2.ModelState.Name(model.state).removeprefix("MODEL_STATE_").lower()
        table.add_row(model.name, model.family, state, model.path, model.detail)
    Console().print(table)


@models_app.command("make-tiny")
def models_make_tiny(
    target: Annotated[Path, typer.Argument(help="folder to write one tiny checkpoint per family into")],
    family: Annotated[list[str] | None, typer.Option(help="only these families")] = None,
) -> None:
    """Build tiny random-weight checkpoints in the real on-disk formats (for tests and demos)."""
    from milimo.models.families import FAMILIES
    from milimo.models.families import family as family_of

    names = family or list(FAMILIES)
    lines = []
    with Progress(TextColumn("{task.description}"), BarColumn(), console=console) as progress:
        bar = progress.add_task("tiny checkpoints", total=len(names))
        for name in names:
            progress.update(bar, description=f"tiny {name}")
            family_of(name).make_tiny(target / name)
            lines.append(f'[[models]]\nname = "tiny-{name}"\nfamily = "{name}"\npath = "{target / name}"\n')
            progress.advance(bar)
    console.print(f"wrote {len(names)} checkpoints; add them to the daemon's config:")
    print("\n".join(lines))


@models_app.command("pull")
def models_pull(name: str, config: ConfigOption = None) -> None:
    """Download a configured model's weights from its `repo_id` (resumes an interrupted download)."""
    daemon = settings.daemon_config(settings.load_file(config))
    chosen = next((m for m in daemon.models if m.name == name), None)
    if chosen is None:
        _fail(f"model {name!r} is not in the config; configured: {', '.join(m.name for m in daemon.models) or 'none'}")
    if not chosen.repo_id:
        _fail(f"model {name!r} has no repo_id in the config to pull from")
    from huggingface_hub import snapshot_download

    console.print(f"downloading {chosen.repo_id} to {chosen.path}")
    snapshot_download(repo_id=chosen.repo_id, local_dir=chosen.path)
    console.print(f"{name}: ready at {chosen.path}")


def main() -> None:
    try:
        app()
    except grpc.RpcError as error:
        code = error.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            console.print("[red]error:[/red] cannot reach the daemon; is `milimo serve` running? (MILIMO_ADDRESS)")
        else:
            console.print(f"[red]error:[/red] {code.name}: {error.details()}")
        sys.exit(2)
