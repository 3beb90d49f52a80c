"""The Ray executor on a real local Ray cluster: a head started here with two simulated GPUs, tiny checkpoints.

The daemon's queue (real SQLite, JobService, Dispatcher) runs in-process on its own event loop and connects to the
head with `ray.init(address=...)`, as `milimo serve --executor ray --ray-address` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from milimo.config import DaemonConfig, daemon_config, load_file
from milimo.daemon.executors import executor_for
from milimo.daemon.executors.ray_executor import RayExecutor
from milimo.daemon.jobs.dispatcher import Dispatcher, ExecutorFactory
from milimo.daemon.jobs.model import EventRecord, EventType, JobRecord, JobStatus
from milimo.daemon.jobs.service import JobService, QueueLimits
from milimo.daemon.media_store import MediaStore
from milimo.daemon.store import catalog
from milimo.daemon.store.database import Database, create_engine, sqlite_url, upgrade_schema
from milimo.errors import InvalidArgument
from milimo.tasks.resources import WorkerSettings
from milimo.v1 import common_pb2, jobs_pb2
from tests.daemon_process import DaemonProcess

pytestmark = pytest.mark.timeout(300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """`ray start --head --block` with 2 CPUs and 2 declared GPUs; stopping it (SIGTERM) takes its processes down."""
    temp = Path(f"/tmp/mray{os.getpid()}")  # Ray's socket paths must stay short
    head, address = start_ray_head(temp)
    yield address
    stop_ray_head(head)
    shutil.rmtree(temp, ignore_errors=True)
    shutil.rmtree(worker_files_parent(), ignore_errors=True)


def start_ray_head(temp: Path, attempts: int = 3) -> tuple[subprocess.Popen, str]:
    """A head that said "Ray runtime started" (its node registered), and its address; started again from scratch
    when it did not: on 2 busy cores a raylet now and then misses Ray's fixed 30 s to register (see test_ray_nodes).
    Each failure is a warning with the end of `ray start`'s output."""
    ray_cli = Path(sys.executable).with_name("ray")
    output = temp.with_name(f"{temp.name}-start.log")
    for attempt in range(1, attempts + 1):
        port = free_port()
        command = [str(ray_cli), "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", "2"]
        command += ["--port", str(port), "--include-dashboard", "false", "--node-ip-address", "127.0.0.1"]
        command += ["--temp-dir", str(temp)]
        with output.open("wb") as log:
            head = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "MILIMO_RAY_FILES": str(worker_files_parent())},  # the workers inherit it
            )
        deadline = time.monotonic() + 90
        while head.poll() is None and time.monotonic() < deadline and b"Ray runtime started" not in output.read_bytes():
            time.sleep(0.2)
        said = output.read_bytes().decode(errors="replace")
        if head.poll() is None and "Ray runtime started" in said:
            output.unlink()
            return head, f"127.0.0.1:{port}"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # and whatever of the node it had started
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)
        warnings.warn(f"Ray head start {attempt} of {attempts} failed:\n{said[-3000:]}", stacklevel=1)
    raise AssertionError(f"the Ray head did not start in {attempts} attempts")


def stop_ray_head(head: subprocess.Popen) -> None:
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


def worker_files_parent() -> Path:
    """Where the test head's GPU workers keep their own files (`MILIMO_RAY_FILES`), away from any real host's."""
    return Path(f"/tmp/mray{os.getpid()}-files")


def ray_executor(config: DaemonConfig) -> ExecutorFactory:
    """The Ray executor with all of `config`'s Ray settings, `ray_media` included."""
    return lambda dispatcher: RayExecutor(dispatcher, config.ray_address, config.ray_media)


class Queue:
    """The daemon's job queue and dispatcher on a loop of their own, driven from the test thread."""

    def __init__(self, config: DaemonConfig, executor: ExecutorFactory | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.config = config
        self.executor = executor or executor_for(config)
        self.call(self._start())

    async def _start(self) -> None:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.media = MediaStore(config.data_dir)
        engine = create_engine(sqlite_url(config.data_dir / "milimo.db"))
        await asyncio.to_thread(upgrade_schema, engine)
        self.db = Database(engine)
        limits = QueueLimits(config.max_attempts, config.max_queued)
        self.jobs = JobService(self.db, self.media, limits, {model.name: model for model in config.models})
        self.dispatcher = Dispatcher(
            self.jobs,
            self.media,
            paused=False,
            cancel_grace_s=config.cancel_grace_s,
            settings=WorkerSettings.of(config),
            executor=self.executor,
        )
        self.dispatcher.start()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def submit(self, request: jobs_pb2.JobRequest) -> JobRecord:
        return self.call(self.jobs.submit(request))

    def events(self, job_id: str, timeout: float = 120) -> list[EventRecord]:
        """Every event of the job until it ends."""

        async def collect() -> list[EventRecord]:
            return [event async for event in self.jobs.watch(job_id, 0)]

        return self.call(collect(), timeout)

    def wait(self, job_id: str, timeout: float = 120) -> JobRecord:
        self.events(job_id, timeout)
        return self.call(self.jobs.get(job_id))

    def sha256(self, asset_id: str) -> str:
        return self.call(self.db.read(lambda conn: catalog.get_asset(conn, asset_id))).sha256

    def stop(self) -> None:
        async def stop() -> None:
            await self.dispatcher.stop()
            self.db.close()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


def config_for(tiny_models: Path, data_dir: Path, **fields: Any) -> DaemonConfig:
    return daemon_config(load_file(tiny_models), data_dir=data_dir, cancel_grace_s=5.0, **fields)


@pytest.fixture(scope="module")
def on_ray(ray_head: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Queue]:
    queue = Queue(
        config_for(tiny_models, tmp_path_factory.mktemp("ray") / "data", executor="ray", ray_address=ray_head)
    )
    yield queue
    queue.stop()


def shot(model: str = "tiny-ltx", **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, prompt="a paper boat on a rain puddle", width=64, height=64, frames=9, steps=2, seed=3)
    values.update(fields)
    return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(fps=common_pb2.Rational(num=24), **values))


def image(model: str = "tiny-flux", **fields: object) -> jobs_pb2.JobRequest:
    values = dict(model=model, prompt="a lighthouse at dusk", width=64, height=64, steps=2, seed=5)
    values.update(fields)
    return jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(**values))


def executor(queue: Queue) -> Any:
    return queue.dispatcher.executor


def wait_until(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_milimo_serve_with_the_ray_executor_answers_over_grpc(ray_head, tiny_models, tmp_path):
    # First in the file: its daemon's actors must be gone (with its Ray connection) before `on_ray` takes both GPUs.
    daemon = DaemonProcess(
        tmp_path / "data",
        extra_args=("--config", str(tiny_models), "--executor", "ray", "--ray-address", ray_head),
    )
    daemon.start(timeout=120)
    try:
        with daemon.client() as client:
            request = jobs_pb2.JobRequest(
                image=jobs_pb2.ImageRequest(model="tiny-flux", prompt="a lamp", width=64, height=64, steps=1, seed=5)
            )
            done = client.wait(client.submit(request).id)
        assert done.status == jobs_pb2.JOB_STATUS_SUCCEEDED, done.reason
    finally:
        daemon.stop()


def test_a_shot_runs_on_a_gpu_actor_with_progress(on_ray):
    job = on_ray.submit(shot())
    events = on_ray.events(job.id)
    done = on_ray.call(on_ray.jobs.get(job.id))
    assert done.status == JobStatus.SUCCEEDED, done.reason
    assert any(event.type == EventType.PROGRESS for event in events)
    assert done.result_asset_ids and on_ray.media.has_blob(on_ray.sha256(done.result_asset_ids[0]))
    assert on_ray.dispatcher.model_states().get("tiny-ltx") in ("on_accelerator", "in_ram")


def resident(states: dict[str, str]) -> set[str]:
    return {name for name, state in states.items() if state in ("on_accelerator", "in_ram")}


def test_two_actors_keep_their_models_and_jobs_follow_them(on_ray):
    on_ray.wait(on_ray.submit(shot()).id)  # one actor holds tiny-ltx now
    # Two jobs at once: tiny-ltx's goes to its holder, so the other actor loads tiny-flux.
    first, second = on_ray.submit(shot(seed=4)), on_ray.submit(image())
    assert {on_ray.wait(job.id).status for job in (first, second)} == {JobStatus.SUCCEEDED}
    # Affinity: each model's next jobs go to the actor that holds it, so neither actor ever loads the other's.
    for request in (shot(seed=6), image(seed=7), shot(seed=8), image(seed=9)):
        assert on_ray.wait(on_ray.submit(request).id).status == JobStatus.SUCCEEDED
    held = sorted(resident(states) for states in executor(on_ray).worker_states())
    assert held == sorted([{"tiny-ltx"}, {"tiny-flux"}])


def slow_shot() -> jobs_pb2.JobRequest:
    return shot(steps=200, frames=33, seed=9)  # long enough to be caught running, even on a loaded machine


def test_cancel_reaches_the_actor(on_ray):
    job = on_ray.submit(slow_shot())
    wait_until(lambda: on_ray.call(on_ray.jobs.get(job.id)).progress_step >= 1)
    on_ray.call(on_ray.jobs.cancel(job.id))
    done = on_ray.wait(job.id)
    assert done.status == JobStatus.CANCELLED
    assert done.reason == "cancelled while it ran"  # the task stopped at a step; the actor was not killed


def test_a_killed_actor_requeues_its_job_which_then_succeeds(on_ray):
    import ray

    job = on_ray.submit(slow_shot())
    wait_until(lambda: on_ray.call(on_ray.jobs.get(job.id)).progress_step >= 1)
    ray.kill(executor(on_ray).actor_running(job.id))
    events = on_ray.events(job.id, timeout=180)
    done = on_ray.call(on_ray.jobs.get(job.id))
    assert done.status == JobStatus.SUCCEEDED, done.reason
    statuses = [event.data["status"] for event in events if event.type == EventType.STATE]
    assert statuses.count("running") == 2 and "interrupted" in statuses
    assert done.attempts == 2


def test_the_same_seed_gives_what_the_local_executor_gives(on_ray, tiny_models, tmp_path):
    on_ray_job = on_ray.wait(on_ray.submit(image(seed=21)).id)
    local = Queue(config_for(tiny_models, tmp_path / "local"))
    try:
        local_job = local.wait(local.submit(image(seed=21)).id)
        assert local_job.status == on_ray_job.status == JobStatus.SUCCEEDED
        assert local.sha256(local_job.result_asset_ids[0]) == on_ray.sha256(on_ray_job.result_asset_ids[0])
    finally:
        local.stop()


def test_settings_name_the_field(tmp_path, ray_head):
    with pytest.raises(InvalidArgument, match="ray_address"):
        DaemonConfig(data_dir=tmp_path, executor="ray").check()
    with pytest.raises(InvalidArgument, match="executor"):
        DaemonConfig(data_dir=tmp_path, executor="slurm").check()
    with pytest.raises(InvalidArgument, match="ray_address"):
        DaemonConfig(data_dir=tmp_path, ray_address=ray_head).check()


def refused_serve(data_dir: Path, *args: str) -> str:
    """What `milimo serve --data DATA_DIR ARGS` says as it refuses to start (it must exit non-zero)."""
    run = subprocess.run(
        [sys.executable, "-m", "milimo", "serve", "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    return run.stderr + run.stdout


def test_the_cli_refuses_ray_without_an_address(tmp_path):
    assert "ray_address" in refused_serve(tmp_path, "--executor", "ray")
