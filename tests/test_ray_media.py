"""GPU workers without the daemon's data directory: inputs sent and results fetched in chunks (`ray_media`).

One host, so every worker could read the data directory: `ray_media = "transfer"` makes the executor send the
files all the same, which is what a GPU host without shared storage gets under "auto". The Ray cluster, the
queue (real SQLite) and the tiny checkpoints are real, as in tests/test_ray_executor.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray
from PIL import Image

from milimo.config import DaemonConfig
from milimo.daemon.executors import ray_media, ray_pool, ray_worker_files
from milimo.daemon.executors.ray_slots import REFUSED, media_mode, probe_file
from milimo.daemon.executors.ray_worker_files import WorkerFiles, host_root, remove_orphans
from milimo.daemon.jobs.model import EventRecord, EventType, JobStatus
from milimo.daemon.media_service import MediaService
from milimo.daemon.media_store import sha256_of
from milimo.daemon.store import catalog
from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.v1 import jobs_pb2
from tests.test_ray_executor import (
    Queue,
    config_for,
    executor,
    image,
    ray_executor,
    ray_head,
    refused_serve,
    shot,
    wait_until,
    worker_files_parent,
)

pytestmark = pytest.mark.timeout(300)
__all__ = ["ray_head"]  # the module's own Ray head (a fixture)


def write_png(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def add_picture(queue: Queue, seed: int) -> str:
    """A PNG imported into the queue's media store as an asset; its id."""
    write_png(queue.media.root / "incoming" / f"picture-{seed}.png", seed)
    service = MediaService(queue.db, queue.media)
    return queue.call(service.import_path(f"incoming/picture-{seed}.png", "", "image/png")).id


def image_to_video(asset_id: str, seed: int = 3) -> jobs_pb2.JobRequest:
    return shot(seed=seed, conditions=[jobs_pb2.Conditioning(asset_id=asset_id)])


def logs(events: list[EventRecord]) -> list[str]:
    return [event.data["message"] for event in events if event.type == EventType.LOG]


def worker_of(events: list[EventRecord]) -> str:
    """Which GPU worker ran the job ("GPU worker 1"), from its "running on" log."""
    running = next(line for line in logs(events) if line.startswith("running on "))
    return running.removeprefix("running on ").split(" (")[0]


def worker_job_dirs() -> list[Path]:
    """Job dirs left on this host's GPU workers."""
    return list((host_root(worker_files_parent()) / "workers").glob("*/*"))


def remove_worker_files() -> None:
    """Once the stopped workers' processes are gone, their job dirs go too (as the next worker on the host would
    see to); then the input cache, which a real host keeps."""
    root = host_root(worker_files_parent())

    def gone() -> bool:
        remove_orphans(root)
        return not list((root / "workers").glob("*/*"))

    wait_until(gone)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def shared_result(ray_head: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image-to-video shot rendered by workers that share the data directory ("auto" on one host): its sha256."""
    config = config_for(tiny_models, tmp_path_factory.mktemp("shared") / "data", executor="ray", ray_address=ray_head)
    queue = Queue(config, ray_executor(config))
    try:
        job = queue.submit(image_to_video(add_picture(queue, seed=1)))
        events = queue.events(job.id)
        done = queue.call(queue.jobs.get(job.id))
        assert done.status == JobStatus.SUCCEEDED, done.reason
        assert any("media shared" in line for line in logs(events))
        return queue.sha256(done.result_asset_ids[0])
    finally:
        queue.stop()


@pytest.fixture(scope="module")
def on_transfer(
    shared_result: str, ray_head: str, tiny_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Queue]:
    # After `shared_result`, whose queue has given the cluster's GPUs back.
    data = tmp_path_factory.mktemp("transfer") / "data"
    config = config_for(tiny_models, data, executor="ray", ray_address=ray_head, ray_media="transfer")
    queue = Queue(config, ray_executor(config))
    yield queue
    queue.stop()
    remove_worker_files()


@contextlib.contextmanager
def probe_seen_from_another_host(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """The probe as a GPU host sees it that has a directory of its own at the data directory's path (an unmounted
    mount point, say): the file is there on this host, but not what the daemon wrote."""
    with probe_file(data_dir) as (path, token):
        yield path, token[::-1]


def test_shared_media_refuses_to_start_with_workers_that_cannot_read_the_data_dir(
    ray_head, tiny_models, tmp_path, monkeypatch
):
    # Before the module's queues: this one needs the cluster's two GPUs free.
    monkeypatch.setattr(ray_pool, "probe_file", probe_seen_from_another_host)
    config = config_for(tiny_models, tmp_path / "data", executor="ray", ray_address=ray_head, ray_media="shared")
    with pytest.raises(FailedPrecondition, match=r"GPU workers \[0, 1\] cannot read the data directory .*ray_media"):
        Queue(config, ray_executor(config))
    assert not ray.is_initialized()  # its actors were killed and the cluster let go, so the GPUs are free again


def test_under_shared_media_a_replacement_that_cannot_read_the_data_dir_stays_idle(
    ray_head, tiny_models, tmp_path, monkeypatch
):
    config = config_for(tiny_models, tmp_path / "data", executor="ray", ray_address=ray_head, ray_media="shared")
    queue = Queue(config, ray_executor(config))
    try:
        nodes = executor(queue).worker_nodes()
        assert len(nodes) == 2
        monkeypatch.setattr(ray_pool, "probe_file", probe_seen_from_another_host)
        ray.kill(executor(queue).slots[0].actor, no_restart=True)  # its replacement "lands on another host"
        wait_until(lambda: executor(queue).slots[0].state == REFUSED)
        assert executor(queue).worker_nodes() == nodes[1:]
        job = queue.submit(image())
        assert queue.wait(job.id).status == JobStatus.SUCCEEDED  # on the worker that reads it
        assert worker_of(queue.events(job.id)) == "GPU worker 1"
    finally:
        queue.stop()


def test_an_image_to_video_shot_sends_its_image_and_gives_what_shared_media_gives(on_transfer, shared_result):
    job = on_transfer.submit(image_to_video(add_picture(on_transfer, seed=1)))
    events = on_transfer.events(job.id)
    done = on_transfer.call(on_transfer.jobs.get(job.id))
    assert done.status == JobStatus.SUCCEEDED, done.reason
    assert on_transfer.sha256(done.result_asset_ids[0]) == shared_result
    lines = logs(events)
    assert any("inputs sent to it" in line for line in lines)
    assert any(line.startswith("sending 1 input,") for line in lines)
    assert worker_job_dirs() == []  # removed before the job settles
    wait_until(lambda: not list(on_transfer.media.scratch.iterdir()))  # removed after it settles


def test_an_input_crosses_to_a_worker_once(on_transfer):
    picture = add_picture(on_transfer, seed=2)
    first = on_transfer.submit(image_to_video(picture, seed=4))
    first_events = on_transfer.events(first.id)
    again = on_transfer.submit(image_to_video(add_picture(on_transfer, seed=2), seed=5))  # same bytes, new asset
    again_events = on_transfer.events(again.id)
    assert {on_transfer.wait(job.id).status for job in (first, again)} == {JobStatus.SUCCEEDED}
    worker = worker_of(first_events)
    assert any(line.startswith("sending 1 input,") and line.endswith(f"to {worker}") for line in logs(first_events))
    assert worker_of(again_events) == worker  # model affinity: the worker that holds tiny-ltx
    assert not any(line.startswith("sending") for line in logs(again_events))
    assert f"1 input already on {worker}" in logs(again_events)


def test_transfers_show_as_progress(on_transfer, monkeypatch):
    monkeypatch.setattr(ray_media, "REPORT_AFTER_S", 0.0)  # report every chunk, however fast the transfer
    monkeypatch.setattr(ray_media, "REPORT_EVERY_S", 0.0)
    monkeypatch.setattr(ray_media, "CHUNK_BYTES", 4096)
    job = on_transfer.submit(image_to_video(add_picture(on_transfer, seed=3)))
    events = on_transfer.events(job.id)
    assert on_transfer.call(on_transfer.jobs.get(job.id)).status == JobStatus.SUCCEEDED
    messages = [event.data["message"] for event in events if event.type == EventType.PROGRESS]
    sent = [m for m in messages if m.startswith("sending inputs to GPU worker")]
    fetched = [m for m in messages if m.startswith("fetching results from GPU worker")]
    assert len(sent) > 1 and fetched
    for last in (sent[-1], fetched[-1]):
        done, total = last.split(": ")[1].split(" of ")
        assert done == total  # "…: 12 kB of 12 kB": all of it


def test_results_cut_off_by_a_dying_worker_are_fetched_again_not_rendered_again(on_transfer, monkeypatch):
    monkeypatch.setattr(ray_media, "CHUNK_BYTES", 64)  # many chunks, so the worker dies in the middle
    reads = []

    def read_then_kill(actor, path, offset, length):
        reads.append(offset)
        if len(reads) == 2:
            ray.kill(actor, no_restart=True)
        return real_read_chunk(actor, path, offset, length)

    real_read_chunk = ray_media.read_chunk
    monkeypatch.setattr(ray_media, "read_chunk", read_then_kill)
    job = on_transfer.submit(image(seed=11))
    events = on_transfer.events(job.id, timeout=180)
    done = on_transfer.call(on_transfer.jobs.get(job.id))
    assert done.status == JobStatus.SUCCEEDED, done.reason
    states = [(event.data["status"], event.data.get("reason", "")) for event in events if event.type == EventType.STATE]
    interrupted = [reason for status, reason in states if status == "interrupted"]
    assert len(interrupted) == 1 and "died" in interrupted[0] and done.attempts == 2
    logs = [event.data["message"] for event in events if event.type == EventType.LOG]
    assert len([m for m in logs if m.startswith("running on")]) == 1  # rendered once
    assert len([m for m in logs if m.startswith("fetching the results of attempt 1 again")]) == 1
    assert reads.count(0) == 2 and len(reads) > 3  # a pull cut off after its first chunk, then a whole one
    assets = on_transfer.call(
        on_transfer.db.read(
            lambda conn: catalog.list_assets(conn, project_id="", job_id=job.id, limit=10, before_pk=None)
        )
    )
    assert [asset.id for _, asset in assets] == done.result_asset_ids  # the cut-off attempt left nothing
    wait_until(lambda: not list(on_transfer.media.scratch.iterdir()))
    assert not list(host_root(worker_files_parent()).glob(f"workers/*/{job.id}-*"))  # nor on the worker's host


def test_a_send_cut_off_by_a_dying_worker_goes_on_where_it_stopped(on_transfer, monkeypatch):
    mib = 1024 * 1024
    monkeypatch.setattr(ray_media, "CHUNK_BYTES", mib)
    writes = []

    def write_then_kill(actor, sha, offset, data):
        writes.append(offset)
        if len(writes) == 10:  # chunks 0-7 are written for sure, the 9th perhaps
            ray.kill(actor, no_restart=True)
        return real_write_chunk(actor, sha, offset, data)

    real_write_chunk = ray_media.write_chunk
    monkeypatch.setattr(ray_media, "write_chunk", write_then_kill)
    big = write_png(on_transfer.media.root / "incoming" / "big.png", seed=0)  # makes the folder
    Image.fromarray(np.random.default_rng(7).integers(0, 256, (2048, 2048, 3), dtype=np.uint8)).save(big)
    picture = on_transfer.call(MediaService(on_transfer.db, on_transfer.media).import_path("incoming/big.png", "", ""))
    job = on_transfer.submit(image_to_video(picture.id))
    events = on_transfer.events(job.id, timeout=180)
    done = on_transfer.call(on_transfer.jobs.get(job.id))
    assert done.status == JobStatus.SUCCEEDED and done.attempts == 2, done.reason
    again = next(n for n in range(1, len(writes)) if writes[n] <= writes[n - 1])
    assert writes[again] == 8 * mib  # two whole 4 MiB blocks were there and right: the rest crossed
    assert writes[again:] == list(range(8 * mib, big.stat().st_size, mib))
    assert "8.4 MB of it already on" in " ".join(logs(events))


# ---- the worker's files, without Ray ---------------------------------------------------------


def receive(files: WorkerFiles, job: str, data: bytes) -> str:
    """Send `data` to `files` as an input of `job`, as the daemon does; its sha256."""
    sha = hashlib.sha256(data).hexdigest()
    files.write_input(sha, 0, data)
    files.finish_input(sha, len(data), job)
    return sha


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_an_input_is_checked_before_it_enters_the_cache(tmp_path):
    files = WorkerFiles(tmp_path)
    data = bytes(range(256)) * 40
    sha = hashlib.sha256(data).hexdigest()
    place = files.new_job("j-1-1", {sha: len(data)})
    assert place.missing == {sha: 0}
    for offset in (8192, 0, 4096):  # in any order
        files.write_input(sha, offset, data[offset : offset + 4096])
    assert not (place.inputs / sha).exists() and not (files.cache / sha).exists()  # nothing half-received shows
    files.finish_input(sha, len(data), "j-1-1")
    assert sha256_of(place.inputs / sha) == sha
    assert files.new_job("j-2-1", {sha: len(data)}).missing == {}

    other = "0" * 64
    files.new_job("j-3-1", {other: 3})
    files.write_input(other, 0, b"abc")
    with pytest.raises(ValueError, match="not 3"):
        files.finish_input(other, 3, "j-3-1")
    assert sorted(path.name for path in files.cache.iterdir()) == [sha]


def test_the_input_cache_drops_least_recently_used_inputs_but_never_a_jobs(tmp_path):
    files = WorkerFiles(tmp_path, cache_bytes=3000)
    shas = []
    for n in range(3):
        sha = hashlib.sha256(bytes([n]) * 1000).hexdigest()
        files.new_job(f"j-{n}-1", {sha: 1000})
        shas.append(receive(files, f"j-{n}-1", bytes([n]) * 1000))
    incoming = "f" * 64
    place = files.new_job("j-9-1", {shas[0]: 1000, incoming: 1000})  # needs the oldest; room for one more
    assert place.missing == {incoming: 0}
    assert sorted(path.name for path in files.cache.iterdir()) == sorted([shas[0], shas[2]])

    neighbour = WorkerFiles(tmp_path, cache_bytes=0)  # another worker on the host, evicting all it can
    neighbour._make_room(1, keep=set())
    assert not (files.cache / shas[0]).exists()
    assert (place.inputs / shas[0]).read_bytes() == bytes([0]) * 1000  # the job's own link still holds it


def test_workers_on_one_host_share_the_cache(tmp_path):
    first = WorkerFiles(tmp_path)
    sha = hashlib.sha256(b"picture").hexdigest()
    first.new_job("j-1-1", {sha: 7})
    receive(first, "j-1-1", b"picture")
    second = WorkerFiles(tmp_path)  # a replacement worker, or the host's other GPU
    place = second.new_job("j-2-1", {sha: 7})
    assert place.missing == {} and (place.inputs / sha).read_bytes() == b"picture"


def test_a_cut_off_send_is_adopted_and_checked_block_by_block(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_worker_files, "RESUME_BLOCK_BYTES", 4)
    data = b"0123456789abcdef!"
    sha = hashlib.sha256(data).hexdigest()
    files = WorkerFiles(tmp_path)
    files.new_job("j-1-1", {})
    left = files.cache / f".{sha}.{dead_pid()}.part"  # a worker died 10 bytes into the send
    left.write_bytes(data[:6] + b"\0\0" + data[8:10])  # a chunk it was sent last never arrived: a hole
    place = files.new_job("j-1-2", {sha: len(data)})
    assert place.missing == {sha: 10} and not left.exists()
    theirs = files.part_blocks(sha)
    assert len(theirs) == 2 and theirs[0] == hashlib.sha256(data[:4]).digest() != theirs[1]
    source = tmp_path / "source"
    source.write_bytes(data)
    assert ray_worker_files.block_digests(source, 2)[0] == theirs[0]  # so the daemon sends from byte 4
    files.write_input(sha, 4, data[4:])
    files.finish_input(sha, len(data), "j-1-2")
    assert (place.inputs / sha).read_bytes() == data


def test_a_part_another_worker_is_writing_is_left_to_it_unless_it_stalled(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_worker_files, "OWNER_EXIT_WAIT_S", 0.2)
    sha = hashlib.sha256(b"x").hexdigest()
    files = WorkerFiles(tmp_path)
    files.new_job("j-1-1", {})
    busy = files.cache / f".{sha}.1.part"  # pid 1 (init) always runs
    busy.write_bytes(b"partial")
    assert files.new_job("j-1-2", {sha: 1}).missing == {sha: 0} and busy.exists()
    stalled = time.time() - ray_worker_files.ABANDONED_PART_S - 1
    os.utime(busy, (stalled, stalled))
    assert files.new_job("j-1-3", {sha: 1}).missing == {sha: 7} and not busy.exists()


def test_a_part_whose_worker_is_still_exiting_is_adopted_once_it_has(tmp_path):
    sha = hashlib.sha256(b"x").hexdigest()
    files = WorkerFiles(tmp_path)
    files.new_job("j-1-1", {})
    exiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    (files.cache / f".{sha}.{exiting.pid}.part").write_bytes(b"partial")
    assert files.new_job("j-1-2", {sha: 1}).missing == {sha: 7}
    exiting.wait()


def test_a_new_job_starts_with_an_empty_scratch_and_results_are_read_only_from_scratch(tmp_path):
    files = WorkerFiles(tmp_path)
    first = files.new_job("j-1-1", {})
    (first.scratch / "out.png").write_bytes(b"12345")
    assert files.read_output(str(first.scratch / "out.png"), 1, 3) == b"234"
    for elsewhere in (tmp_path / "elsewhere", first.inputs / "x", files.cache / "x"):
        with pytest.raises(PermissionError):
            files.read_output(str(elsewhere), 0, 1)
    second = files.new_job("j-2-1", {})
    assert not first.scratch.exists() and second.scratch.is_dir()
    files.drop_job("j-2-1")
    assert not second.scratch.exists()


def test_an_interactive_calls_dir_lives_beside_the_job(tmp_path):
    files = WorkerFiles(tmp_path)
    job = files.new_job("j-1-1", {})
    call = files.new_job("call-5e1f-0", {})
    assert job.scratch.is_dir()  # a call arriving mid-job leaves the job's files alone
    (call.scratch / "s.track.zip").write_bytes(b"track")
    files.new_job("j-2-1", {})
    assert call.scratch.is_dir() and not job.scratch.exists()  # the next job clears the last one, not the call
    described = files.describe_output(str(call.scratch / "s.track.zip"))
    assert described == (5, hashlib.sha256(b"track").hexdigest())
    with pytest.raises(PermissionError):
        files.describe_output(str(tmp_path / "elsewhere"))


def test_job_dirs_of_workers_that_are_gone_are_removed(tmp_path):
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exited, not reaped: as a killed actor can be
    wait_until(lambda: Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z")
    workers = host_root(tmp_path) / "workers"
    for pid in (dead_pid(), zombie.pid):
        (workers / str(pid) / "j-1-1" / "scratch").mkdir(parents=True)
    (workers / "1").mkdir()  # init: always running
    WorkerFiles(tmp_path).new_job("j-1-1", {})
    assert sorted(path.name for path in workers.iterdir()) == sorted(["1", str(os.getpid())])
    zombie.wait()


def test_results_of_a_worker_that_is_gone_are_kept_a_while_for_another_worker_to_adopt(tmp_path, monkeypatch):
    gone = WorkerFiles(tmp_path)
    gone_dir = gone.own_dir.with_name(str(dead_pid()))  # as if another process, now dead, had made them
    gone.own_dir.rename(gone_dir)
    for name in ("j-1-1", "j-2-1", "j-3-1"):
        (gone_dir / name / "inputs").mkdir(parents=True)
        (gone_dir / name / "scratch").mkdir()
        (gone_dir / name / "scratch" / "out.png").write_bytes(name.encode())
    gone.keep_results(gone_dir / "j-1-1" / "scratch")  # refused: not its own dir
    files = WorkerFiles(tmp_path)
    files.keep_results(files.own_dir / "j-1-1" / "scratch")  # nothing there yet: nothing to keep
    for name in ("j-1-1", "j-3-1"):
        (gone_dir / name / ray_worker_files.FINISHED).touch()  # what `keep_results` leaves in a job's dir
    stale = time.time() - ray_worker_files.KEEP_RESULTS_S - 1
    os.utime(gone_dir / "j-3-1" / ray_worker_files.FINISHED, (stale, stale))

    files.new_job("j-4-1", {})  # removes what workers that are gone left, but for results still worth fetching
    assert sorted(path.name for path in gone_dir.iterdir()) == ["j-1-1"]
    assert not (gone_dir / "j-1-1" / "inputs").exists()  # hard links that would hold evicted inputs on the disk
    assert files.adopt_results("j-2-1") is None and files.adopt_results("j-9-1") is None
    scratch = Path(files.adopt_results("j-1-1"))
    assert scratch == files.own_dir / "j-1-1" / "scratch" and not gone_dir.exists()
    assert files.describe_output(str(scratch / "out.png")) == (5, hashlib.sha256(b"j-1-1").hexdigest())
    with pytest.raises(ValueError, match="plain directory name"):
        files.adopt_results("../j-1-1")


# ---- the setting -----------------------------------------------------------------------------


def test_media_mode_follows_the_setting():
    assert media_mode("auto", True) == "shared" and media_mode("auto", False) == "transfer"
    assert media_mode("shared", True) == "shared" and media_mode("shared", False) is None
    assert media_mode("transfer", True) == media_mode("transfer", False) == "transfer"


def test_the_ray_media_setting_names_the_field(tmp_path):
    with pytest.raises(InvalidArgument, match="ray_media"):
        DaemonConfig(data_dir=tmp_path, ray_media="nfs").check()
    assert "ray_media" in refused_serve(tmp_path, "--ray-media", "nfs")
