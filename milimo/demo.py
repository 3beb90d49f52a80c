"""`make demo`: start the daemon, render a shot list as animatic jobs with live progress, cut it.

It talks to the daemon only through the client library, as an editor plugin would. If a daemon
already answers at MILIMO_ADDRESS (default 127.0.0.1:50051) it uses that one; otherwise it starts
one on 127.0.0.1:50051 with its data in .milimo-data/ and stops it at the end.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tomllib
from fractions import Fraction
from pathlib import Path

import grpc
from rich.console import Console

from milimo.cli_common import follow
from milimo.client import Client
from milimo.config import client_config, load_file
from milimo.media import ops
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2

ROOT = Path(__file__).resolve().parent.parent
SHOT_LIST = ROOT / "examples" / "demo_shots.toml"
console = Console(stderr=True)


def start_daemon(data_dir: Path, address: str) -> subprocess.Popen:
    host, port = address.rsplit(":", 1)
    ready = Path(tempfile.mkdtemp()) / "port"
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
    plan = tomllib.loads(SHOT_LIST.read_text())
    out_dir = ROOT / "out"
    shots_dir = out_dir / "shots"
    shots_dir.mkdir(parents=True, exist_ok=True)
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
        render(client, plan, shots_dir, out_dir / "cut.mp4")
    finally:
        client.close()
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)


def render(client: Client, plan: dict, shots_dir: Path, cut_path: Path) -> None:
    fps = Fraction(plan["fps"])
    project = client.projects.CreateProject(
        projects_pb2.CreateProjectRequest(
            project=projects_pb2.Project(
                name=plan["title"],
                width=plan["width"],
                height=plan["height"],
                fps=common_pb2.Rational(num=fps.numerator, den=fps.denominator),
            )
        )
    )
    jobs = []
    labels = {}
    start_frame = 0
    for number, entry in enumerate(plan["shots"], start=1):
        frames = round(Fraction(str(entry["seconds"])) * fps)
        shot = client.projects.CreateShot(
            projects_pb2.CreateShotRequest(
                shot=projects_pb2.Shot(
                    project_id=project.id,
                    name=f"{entry['scene']}.{number}",
                    description=entry["description"],
                    duration_frames=frames,
                )
            )
        )
        request = jobs_pb2.JobRequest(
            animatic=jobs_pb2.AnimaticRequest(
                width=plan["width"],
                height=plan["height"],
                frames=frames,
                fps=common_pb2.Rational(num=fps.numerator, den=fps.denominator),
                scene_heading=entry["heading"],
                description=entry["description"],
                characters=entry.get("characters", []),
                scene_number=entry["scene"],
                shot_number=number,
                start_frame=start_frame,
                seed=number,
            )
        )
        jobs.append(client.submit(request, project_id=project.id, shot_id=shot.id))
        labels[jobs[-1].id] = f"shot {shot.name:>4}  {entry['heading'][:32]:<32}"
        start_frame += frames

    console.print(f"rendering {len(jobs)} animatic shots for project {project.id}")
    finals = follow(client, [job.id for job in jobs], labels)
    failed = [job for job in finals.values() if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED]
    if failed:
        sys.exit(f"{len(failed)} shots failed: {failed[0].reason}")

    clips = []
    for index, job in enumerate(jobs, start=1):
        clip = shots_dir / f"shot-{index:02d}.mp4"
        client.download(finals[job.id].result_asset_ids[0], clip)
        clips.append(clip)
    info = ops.concat(clips, cut_path)
    console.print(f"cut: {info.frames} frames at {info.fps} fps, {info.width}x{info.height}")
    print(cut_path)


if __name__ == "__main__":
    main()
