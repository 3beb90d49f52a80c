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
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
)
from rich.table import Table

from milimo import config as settings
from milimo.cli_common import (
    ConfigOption,
    asset_id_of,
    bytes_bar,
    console,
    fail,
    follow,
    open_client,
    status_name,
)
from milimo.client import Client
from milimo.errors import MilimoError
from milimo.otio import commands as timeline_commands
from milimo.resolve_cli import resolve_app
from milimo.storyboard_cli import storyboard_app
from milimo.v1 import common_pb2, jobs_pb2, models_pb2

app = typer.Typer(help="Milimo: a local-first AI cinematic studio.", no_args_is_help=True)
submit_app = typer.Typer(help="Queue a job.", no_args_is_help=True)
queue_app = typer.Typer(help="Pause or resume the queue.", no_args_is_help=True)
models_app = typer.Typer(help="Configured models.", no_args_is_help=True)
app.add_typer(submit_app, name="submit")
app.add_typer(queue_app, name="queue")
app.add_typer(models_app, name="models")
app.add_typer(storyboard_app, name="storyboard")
app.add_typer(resolve_app, name="resolve")
app.command("fill")(timeline_commands.fill)

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="wait for the job and download its result here (several results: PATH-1, PATH-2 …)"),
]
PriorityOption = Annotated[int, typer.Option(help="higher runs first, -100..100")]
ProjectOption = Annotated[str, typer.Option("--project", help="project id")]
LoraOption = Annotated[
    list[str] | None, typer.Option("--lora", help="ASSET[:WEIGHT]: a LoRA (.safetensors asset or file); repeatable")
]
EnhanceOption = Annotated[bool, typer.Option("--enhance", help="rewrite the prompt with the daemon's enhancer first")]


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
    executor: Annotated[
        str | None, typer.Option(help="where jobs run: local (default) or ray (GPU jobs on a Ray cluster)")
    ] = None,
    ray_address: Annotated[str | None, typer.Option(help="the Ray head, HOST:PORT (with --executor ray)")] = None,
    ray_media: Annotated[
        str | None,
        typer.Option(help="how Ray GPU workers reach media: auto (default), shared (same path) or transfer"),
    ] = None,
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
            executor=executor,
            ray_address=ray_address,
            ray_media=ray_media,
        )
        daemon_config.check()
        asyncio.run(run_server(daemon_config, ready_file))
    except MilimoError as error:
        fail(str(error))


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
    priority: PriorityOption = 0,
    project: ProjectOption = "",
    out: OutOption = None,
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
    with open_client(config) as client:
        _submit(client, request, priority=priority, project=project, out=out)


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
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="ASSET[:FRAME[:STRENGTH]]: an image or clip (asset or file) the shot matches at FRAME; repeatable",
        ),
    ] = None,
    lora: LoraOption = None,
    control: Annotated[str, typer.Option(help="a control video (asset or file) for an IC-LoRA, LTX-2 only")] = "",
    control_strength: Annotated[float, typer.Option(help="0..1; 0 means 1")] = 0.0,
    enhance: EnhanceOption = False,
    upscale: Annotated[bool, typer.Option("--upscale", help="two stages, through the latent upsampler")] = False,
    chunk_frames: Annotated[int, typer.Option(help="a long shot is made in chunks of this many frames")] = 0,
    overlap_frames: Annotated[int, typer.Option(help="frames each chunk shares with the one before")] = 0,
    chunk_prompt: Annotated[
        list[str] | None, typer.Option("--chunk-prompt", help="the prompt of the next chunk, in order; repeatable")
    ] = None,
    continue_story: Annotated[
        bool, typer.Option("--continue-story", help="the prompt enhancer writes each next chunk's prompt")
    ] = False,
    priority: PriorityOption = 0,
    project: ProjectOption = "",
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue a generated shot; prints the job id. Local files given for assets are uploaded first."""
    rate = _frame_rate(fps)
    chained = bool(chunk_frames or overlap_frames or chunk_prompt or continue_story)
    chain = jobs_pb2.ChainOptions(
        chunk_frames=chunk_frames,
        overlap_frames=overlap_frames,
        chunk_prompts=chunk_prompt or [],
        continue_story=continue_story,
    )
    with open_client(config) as client:
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
                conditions=[_condition(client, spec, project) for spec in condition or []],
                loras=_loras(client, lora, project),
                control_asset_id=asset_id_of(client, control, "--control", project) if control else "",
                control_strength=control_strength,
                enhance_prompt=enhance,
                upscale=upscale,
                chain=chain if chained else None,
            )
        )
        _submit(client, request, priority=priority, project=project, out=out)


@submit_app.command("image")
def submit_image(
    model: Annotated[str, typer.Option(help="a configured image model (`milimo models list`)")],
    prompt: Annotated[str, typer.Option(help="what the image shows")],
    negative_prompt: str = "",
    width: Annotated[int, typer.Option(help="multiple of 16")] = 1024,
    height: Annotated[int, typer.Option(help="multiple of 16")] = 1024,
    steps: int = 28,
    guidance: float = 3.5,
    true_cfg: Annotated[float, typer.Option(help="> 1: true CFG with the negative prompt (twice the work)")] = 1.0,
    seed: int = 0,
    reference: Annotated[
        list[str] | None, typer.Option("--reference", help="a reference image (asset or file); repeatable")
    ] = None,
    init: Annotated[str, typer.Option("--init", help="image to image from this image (asset or file)")] = "",
    strength: Annotated[float, typer.Option(help="with --init: how much is repainted, 0..1")] = 0.8,
    lora: LoraOption = None,
    enhance: EnhanceOption = False,
    priority: PriorityOption = 0,
    project: ProjectOption = "",
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue a still image (a PNG); prints the job id. Local files given for assets are uploaded first."""
    with open_client(config) as client:
        request = jobs_pb2.JobRequest(
            image=jobs_pb2.ImageRequest(
                model=model,
                prompt=prompt,
                negative_prompt=negative_prompt,
                width=width,
                height=height,
                steps=steps,
                guidance=guidance,
                true_cfg=true_cfg,
                seed=seed,
                reference_asset_ids=[asset_id_of(client, ref, "--reference", project) for ref in reference or []],
                init_asset_id=asset_id_of(client, init, "--init", project) if init else "",
                strength=strength if init else 0.0,
                loras=_loras(client, lora, project),
                enhance_prompt=enhance,
            )
        )
        _submit(client, request, priority=priority, project=project, out=out)


@submit_app.command("inpaint")
def submit_inpaint(
    model: Annotated[str, typer.Option(help="a configured image model (FLUX.1 Fill, Flux 2 Klein)")],
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="the image or clip to fill (asset or file)")],
    prompt: Annotated[str, typer.Option(help="what fills the mask")],
    mask: Annotated[str, typer.Option(help="a mask PNG of the source's size (asset or file); white is repainted")] = "",
    track: Annotated[str, typer.Option(help="a saved track of this clip (asset or file)")] = "",
    object_id: Annotated[
        list[int] | None, typer.Option("--object", help="with --track: an object to fill; repeatable (default all)")
    ] = None,
    segment_model: Annotated[str, typer.Option(help="segment the mask with this model (sam3, sam2)")] = "",
    point: Annotated[
        list[str] | None, typer.Option("--point", help="X,Y[,LABEL] in pixels; label 1 is the object, 0 is not")
    ] = None,
    box: Annotated[str, typer.Option(help="X0,Y0,X1,Y1 in pixels")] = "",
    text: Annotated[str, typer.Option(help="what to segment, in words (sam3)")] = "",
    segment_frame: Annotated[int, typer.Option(help="the frame of a clip the segmentation prompt is on")] = 0,
    grow: Annotated[int, typer.Option(help="dilate the mask by this many pixels, 0..64")] = 0,
    steps: int = 28,
    guidance: Annotated[float, typer.Option(help="0 means the model's default")] = 0.0,
    seed: int = 0,
    strength: Annotated[float, typer.Option(help="0..1; 0 means 1")] = 0.0,
    lora: LoraOption = None,
    priority: PriorityOption = 0,
    project: ProjectOption = "",
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue the filling of an image's or clip's masked part; prints the job id.

    Give one mask: --mask, --track, or --segment-model with --point/--box/--text."""
    segmenting = bool(segment_model or point or box or text)
    if sum((bool(mask), bool(track), segmenting)) != 1:
        fail("give one mask: --mask, --track, or --segment-model with --point/--box/--text")
    with open_client(config) as client:
        inpaint = jobs_pb2.InpaintRequest(
            model=model,
            asset_id=asset_id_of(client, source, "SOURCE", project),
            prompt=prompt,
            segment_frame=segment_frame,
            object_ids=object_id or [],
            grow_pixels=grow,
            steps=steps,
            guidance=guidance,
            seed=seed,
            strength=strength,
            loras=_loras(client, lora, project),
        )
        if mask:
            inpaint.mask_asset_id = asset_id_of(client, mask, "--mask", project)
        elif track:
            inpaint.track_asset_id = asset_id_of(client, track, "--track", project)
        else:
            inpaint.segment.CopyFrom(_segmentation_prompt(segment_model, point or [], box, text))
        _submit(client, jobs_pb2.JobRequest(inpaint=inpaint), priority=priority, project=project, out=out)


@submit_app.command("last-frame")
def submit_last_frame(
    clip: Annotated[str, typer.Argument(metavar="CLIP", help="a video (asset or file)")],
    from_end: Annotated[int, typer.Option("--from-end", help="0 is the last frame, 1 the one before it …")] = 0,
    priority: PriorityOption = 0,
    project: ProjectOption = "",
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue the extraction of a clip's last frame as a PNG ("continue from here"); prints the job id."""
    with open_client(config) as client:
        request = jobs_pb2.JobRequest(
            last_frame=jobs_pb2.LastFrameRequest(
                asset_id=asset_id_of(client, clip, "CLIP", project), frames_from_end=from_end
            )
        )
        _submit(client, request, priority=priority, project=project, out=out)


@submit_app.command("split")
def submit_split(
    clip: Annotated[str, typer.Argument(metavar="CLIP", help="a video (asset or file)")],
    frame: Annotated[int, typer.Option(help="the first frame of the second part, 1..frames-1")],
    priority: PriorityOption = 0,
    project: ProjectOption = "",
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue a split of a clip before a frame into two clips; prints the job id."""
    with open_client(config) as client:
        request = jobs_pb2.JobRequest(
            split_shot=jobs_pb2.SplitShotRequest(asset_id=asset_id_of(client, clip, "CLIP", project), frame=frame)
        )
        _submit(client, request, priority=priority, project=project, out=out)


@submit_app.command("cut")
def submit_cut(
    project_id: Annotated[str, typer.Argument(metavar="PROJECT", help="the project whose shots are cut (p-…)")],
    include_missing: Annotated[
        bool, typer.Option("--include-missing", help="shots without a take become black slates")
    ] = False,
    priority: PriorityOption = 0,
    out: OutOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue the render of a project's cut: its shots' takes in order, as one mp4 with sound; prints the job id."""
    request = jobs_pb2.JobRequest(
        render_cut=jobs_pb2.RenderCutRequest(project_id=project_id, include_missing=include_missing)
    )
    with open_client(config) as client:
        _submit(client, request, priority=priority, project=project_id, out=out)


def _submit(client: Client, request: jobs_pb2.JobRequest, *, priority: int, project: str, out: Path | None) -> None:
    """Submit and print the job id; with `out`, follow it with a progress bar and download its results."""
    job = client.submit(request, priority=priority, project_id=project)
    print(job.id, flush=True)
    if out is None:
        return
    done = follow(client, job.id)
    if done.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        fail(f"job {job.id} {status_name(done.status)}: {done.reason}")
    for index, asset_id in enumerate(done.result_asset_ids, start=1):
        target = out if len(done.result_asset_ids) == 1 else out.with_name(f"{out.stem}-{index}{out.suffix}")
        with bytes_bar(f"download {target.name}") as report:
            client.download(asset_id, target, on_progress=report)
        console.print(f"wrote {target}")


def _split_spec(spec: str, numbers: int) -> tuple[str, list[str]]:
    """`NAME[:N1[:N2]]` as (NAME, [N1, N2]): up to `numbers` trailing numeric parts (paths may hold colons)."""
    if Path(spec).expanduser().is_file():
        return spec, []
    parts = spec.split(":")
    tail: list[str] = []
    while len(parts) > 1 and len(tail) < numbers and _is_number(parts[-1]):
        tail.insert(0, parts.pop())
    return ":".join(parts), tail


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _condition(client: Client, spec: str, project: str) -> jobs_pb2.Conditioning:
    """`ASSET[:FRAME[:STRENGTH]]` as a conditioning at FRAME (default 0) with STRENGTH (default 1)."""
    name, numbers = _split_spec(spec, 2)
    frame, strength = [*numbers, "0", "0"][:2]
    if not frame.isdigit():
        fail(f"--condition {spec!r}: the frame must be a whole number")
    asset_id = asset_id_of(client, name, "--condition", project)
    return jobs_pb2.Conditioning(asset_id=asset_id, frame_index=int(frame), strength=float(strength))


def _loras(client: Client, specs: list[str] | None, project: str) -> list[jobs_pb2.LoraRef]:
    """Each `ASSET[:WEIGHT]` as a LoRA reference (weight 0 means 1)."""
    loras = []
    for spec in specs or []:
        name, numbers = _split_spec(spec, 1)
        weight = float(numbers[0]) if numbers else 0.0
        loras.append(jobs_pb2.LoraRef(asset_id=asset_id_of(client, name, "--lora", project), weight=weight))
    return loras


def _segmentation_prompt(model: str, points: list[str], box: str, text: str) -> jobs_pb2.SegmentationPrompt:
    prompt = jobs_pb2.SegmentationPrompt(model=model, text=text)
    for spec in points:
        values = _numbers("--point", spec, (2, 3))
        label = int(values[2]) if len(values) == 3 else 1
        prompt.points.append(jobs_pb2.PointPrompt(x=values[0], y=values[1], label=label))
    if box:
        x0, y0, x1, y1 = _numbers("--box", box, (4,))
        prompt.box.CopyFrom(jobs_pb2.Box(x0=x0, y0=y0, x1=x1, y1=y1))
    return prompt


def _numbers(option: str, text: str, counts: tuple[int, ...]) -> list[float]:
    """Comma-separated numbers, as many as one of `counts`."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in counts:
        fail(f"{option}: {text!r} must be {' or '.join(str(c) for c in counts)} comma-separated numbers")
    return values


def _frame_rate(text: str) -> Fraction:
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        fail(f"--fps: {text!r} is not a frame rate")
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
            fail(f"--status: unknown status {name!r}")
        wanted.append(value.number)
    with open_client(config) as client:
        reply = client.jobs.List(jobs_pb2.ListJobsRequest(statuses=wanted, page={"page_size": limit}))
    table = Table("id", "kind", "status", "progress", "attempts", "reason")
    for job in reply.jobs:
        progress = f"{job.progress.step}/{job.progress.total}" if job.progress.total else ""
        table.add_row(job.id, job.kind, status_name(job.status), progress, str(job.attempts), job.reason)
    Console().print(table)


@app.command()
def watch(job_id: str, config: ConfigOption = None) -> None:
    """Follow a job with a progress bar; exits non-zero unless it succeeds."""
    with open_client(config) as client:
        job = follow(client, job_id)
    name = status_name(job.status)
    if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        fail(f"job {job_id} {name}: {job.reason}")
    console.print(f"job {job_id} {name}: {', '.join(job.result_asset_ids)}")


@app.command()
def cancel(job_id: str, config: ConfigOption = None) -> None:
    """Cancel a queued or running job."""
    with open_client(config) as client:
        job = client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id))
    state = "cancel requested" if job.status == jobs_pb2.JOB_STATUS_RUNNING else status_name(job.status)
    console.print(f"job {job_id}: {state}")


@app.command()
def retry(job_id: str, config: ConfigOption = None) -> None:
    """Queue a failed or cancelled job again; prints the new job id."""
    with open_client(config) as client:
        print(client.jobs.Retry(jobs_pb2.RetryJobRequest(job_id=job_id)).id)


@app.command()
def get(
    job_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the result")],
    config: ConfigOption = None,
) -> None:
    """Download a finished job's result."""
    with open_client(config) as client:
        job = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id))
        if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED or not job.result_asset_ids:
            fail(f"job {job_id} is {status_name(job.status)}; it has no result yet")
        client.download(job.result_asset_ids[0], output)
    console.print(f"wrote {output}")


@queue_app.command("pause")
def queue_pause(config: ConfigOption = None) -> None:
    """Stop starting new jobs (running ones finish)."""
    with open_client(config) as client:
        state = client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    console.print(f"queue paused: {state.queued} queued, {state.running} running")


@queue_app.command("resume")
def queue_resume(config: ConfigOption = None) -> None:
    """Start queued jobs again."""
    with open_client(config) as client:
        state = client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    console.print(f"queue running: {state.queued} queued, {state.running} running")


@models_app.command("list")
def models_list(config: ConfigOption = None) -> None:
    """Show configured models and where each one is."""
    with open_client(config) as client:
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
        fail(f"model {name!r} is not in the config; configured: {', '.join(m.name for m in daemon.models) or 'none'}")
    if not chosen.repo_id:
        fail(f"model {name!r} has no repo_id in the config to pull from")
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
