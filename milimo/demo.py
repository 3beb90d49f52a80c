"""`make demo`: the main job end to end. The sample screenplay in examples/ becomes a storyboard, every shot is
rendered, and the result is an .otio timeline and an .mp4 cut in out/, with progress bars all along.

Shots are animatics unless the daemon has a video model whose weights are on disk: then every shot is generated
with it (the first such model in `milimo models list`). The demo talks to the daemon only through the client
library, as an editor plugin would. If a daemon already answers at MILIMO_ADDRESS (default 127.0.0.1:50051) it
uses that one; otherwise it starts one on 127.0.0.1:50051 with its data in .milimo-data/ and stops it at the end.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import grpc
import opentimelineio as otio
from rich.console import Console

from milimo.cli_common import bytes_bar, follow
from milimo.client import Client
from milimo.client.batch import follow_batch
from milimo.config import client_config, load_file
from milimo.otio.commands import download_takes
from milimo.otio.export import storyboard_timeline
from milimo.storyboard_cli import job_warnings, new_project, shot_template, show_board
from milimo.tasks.registry import VIDEO_FAMILIES
from milimo.v1 import jobs_pb2, models_pb2, storyboard_pb2

ROOT = Path(__file__).resolve().parent.parent
SCREENPLAY = ROOT / "examples" / "the_last_ferry.fountain"
WIDTH, HEIGHT, FPS = 640, 352, "24"
READY = (models_pb2.MODEL_STATE_ON_DISK, models_pb2.MODEL_STATE_IN_RAM, models_pb2.MODEL_STATE_ON_ACCELERATOR)
console = Console(stderr=True)


def start_daemon(data_dir: Path, address: str) -> subprocess.Popen:
    host, port = address.rsplit(":", 1)
    ready = data_dir.parent / "daemon.ready"
    ready.unlink(missing_ok=True)  # a previous demo's
    log = (data_dir.parent / "daemon.log").open("ab")
    command = [sys.executable, "-m", "milimo", "serve", "--host", host, "--port", port, "--data", str(data_dir)]
    process = subprocess.Popen([*command, "--ready-file", str(ready)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the daemon did not start; see {log.name}")
        time.sleep(0.05)
    return process


def daemon_answers(client: Client) -> bool:
    try:
        return client.serving(timeout=1.0)
    except grpc.RpcError:
        return False


def main() -> None:
    out_dir = ROOT / "out"
    data_dir = ROOT / ".milimo-data" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = client_config(load_file())
    client = Client(config)
    daemon = None
    if daemon_answers(client):
        console.print(f"using the daemon already serving at {config.address}")
    else:
        console.print(f"starting the daemon on {config.address} (data in {data_dir})")
        daemon = start_daemon(data_dir, config.address)
        client.wait_until_serving()
    try:
        board_to_cut(client, SCREENPLAY, out_dir)
    finally:
        client.close()
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)


def board_to_cut(client: Client, screenplay: Path, out_dir: Path) -> None:
    """Screenplay → storyboard → a take per shot → out/<title>.otio and out/<title>.mp4."""
    project = new_project(client, screenplay.stem.replace("_", " ").title(), WIDTH, HEIGHT, FPS)
    with bytes_bar(f"upload {screenplay.name}") as report:
        script = client.upload(screenplay, project_id=project.id, on_progress=report)
    request = jobs_pb2.JobRequest(
        screenplay=jobs_pb2.ScreenplayRequest(project_id=project.id, asset_id=script.id, create_elements=True)
    )
    job = client.submit(request, project_id=project.id)
    finished = follow(client, job.id, f"reading {screenplay.name}")
    if finished.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        sys.exit(f"the screenplay did not import: {finished.reason}")
    for warning in job_warnings(client, job.id):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    show_board(client, project.id)

    model = video_model(client)
    kind = "video" if model else "animatic"
    console.print(f"rendering every shot as {'video with ' + model if model else 'an animatic'}")
    batch = client.storyboard.GenerateShots(
        storyboard_pb2.GenerateShotsRequest(project_id=project.id, template=shot_template(kind, model, 0, 0, ""))
    )
    finals = follow_batch(client, list(batch.jobs))
    failed = [job for job in finals.values() if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED]
    if failed:
        sys.exit(f"{len(failed)} shots failed; the first: {failed[0].reason}")

    stem = out_dir / screenplay.stem
    shots_dir = out_dir / f"{screenplay.stem}_shots"
    shots_dir.mkdir(parents=True, exist_ok=True)
    view = client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project.id))
    media = download_takes(client, view, shots_dir)
    otio.adapters.write_to_file(storyboard_timeline(view, media, name=view.project.name), f"{stem}.otio")
    console.print(f"timeline: {stem}.otio ({len(media)} clips)")

    cut = client.submit(
        jobs_pb2.JobRequest(render_cut=jobs_pb2.RenderCutRequest(project_id=project.id)), project_id=project.id
    )
    done = follow(client, cut.id, "cutting the board")
    if done.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        sys.exit(f"the cut failed: {done.reason}")
    with bytes_bar(f"download {stem.name}.mp4") as report:
        client.download(done.result_asset_ids[0], Path(f"{stem}.mp4"), on_progress=report)
    console.print(f"cut: {stem}.mp4")
    print(f"{stem}.otio")
    print(f"{stem}.mp4")


def video_model(client: Client) -> str:
    """The first configured video model whose weights are on disk, or "" (then the shots are animatics)."""
    models = client.models.ListModels(models_pb2.ListModelsRequest()).models
    return next((m.name for m in models if m.family in VIDEO_FAMILIES and m.state in READY), "")


if __name__ == "__main__":
    main()
