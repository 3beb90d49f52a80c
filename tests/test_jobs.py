"""Jobs end to end over loopback gRPC, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import grpc
import pytest

from milimo.v1 import jobs_pb2, media_pb2, projects_pb2
from tests.helpers import animatic, get, slow_animatic, wait_progress, wait_status

SUCCEEDED, CANCELLED, QUEUED, RUNNING = (
    jobs_pb2.JOB_STATUS_SUCCEEDED,
    jobs_pb2.JOB_STATUS_CANCELLED,
    jobs_pb2.JOB_STATUS_QUEUED,
    jobs_pb2.JOB_STATUS_RUNNING,
)


def probe(path: Path) -> tuple[int, int, int, Fraction]:
    """Decode every frame: (frames, width, height, fps) as a player would see them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, stream.codec_context.width, stream.codec_context.height, Fraction(stream.average_rate)


@pytest.mark.parametrize(
    ("frames", "width", "height", "fps"),
    [(24, 128, 96, (24, 1)), (31, 192, 64, (30000, 1001)), (1, 64, 64, (25, 1))],
)
def test_submit_watch_succeed_and_probe(client, tmp_path, frames, width, height, fps):
    job = client.submit(animatic(frames=frames, width=width, height=height, fps=fps))
    assert job.status == QUEUED and job.id.startswith("j-")
    events = list(client.watch(job.id))
    states = [e.state.status for e in events if e.HasField("state")]
    assert states == [QUEUED, RUNNING, SUCCEEDED]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    progress = [e.progress for e in events if e.HasField("progress")]
    assert progress and progress[-1].step == progress[-1].total == frames

    done = get(client, job.id)
    assert done.status == SUCCEEDED and done.attempts == 1 and len(done.result_asset_ids) == 1
    assert done.finished_at.ToMicroseconds() >= done.started_at.ToMicroseconds() >= done.created_at.ToMicroseconds()
    asset = client.media.Stat(media_pb2.StatRequest(asset_id=done.result_asset_ids[0]))
    assert asset.mime_type == "video/mp4" and asset.job_id == job.id
    assert (asset.media.frames, asset.media.width, asset.media.height) == (frames, width, height)

    out = client.download(asset.id, tmp_path / "clip.mp4")
    assert probe(out) == (frames, width, height, Fraction(*fps))
    # A client on the same host may read the file in place.
    assert Path(asset.local_path).read_bytes() == out.read_bytes()


def test_watch_resumes_after_reconnect_without_gaps_or_repeats(client):
    job = client.submit(animatic(frames=120, width=256, height=128))
    seen: list[jobs_pb2.JobEvent] = []
    stream = client.jobs.Watch(jobs_pb2.WatchJobRequest(job_id=job.id))
    for event in stream:
        seen.append(event)
        if len(seen) == 3:
            stream.cancel()  # the client goes away mid-job
            break
    rest = list(client.watch(job.id, after_sequence=seen[-1].sequence))
    sequences = [e.sequence for e in seen + rest]
    assert sequences == list(range(1, len(sequences) + 1))
    assert rest[-1].state.status == SUCCEEDED
    # A late watcher replays the very same history.
    assert [e.SerializeToString() for e in client.watch(job.id)] == [e.SerializeToString() for e in seen + rest]


def test_watch_many_merges_every_event_of_a_batch_once_and_ends_when_all_are_done(client):
    done_before = client.submit(animatic(frames=4))
    client.wait(done_before.id)
    batch = [done_before.id, *(client.submit(animatic(frames=12 + i)).id for i in range(4))]
    events = list(client.jobs.WatchMany(jobs_pb2.WatchManyRequest(job_ids=batch)))

    for job_id in batch:
        own = [e for e in events if e.job_id == job_id]
        # Each job's own history, in order, without gaps except the previews left out, ending in success.
        assert [e.SerializeToString() for e in own] == [
            e.SerializeToString() for e in client.watch(job_id) if not e.HasField("preview")
        ]
        assert own[-1].state.status == SUCCEEDED
    # The client's reconnecting form yields the same events.
    assert sorted(e.SerializeToString() for e in client.watch_many(batch)) == sorted(
        e.SerializeToString() for e in events
    )


@pytest.mark.parametrize(
    ("job_ids", "code", "words"),
    [
        ([], grpc.StatusCode.INVALID_ARGUMENT, "job_ids: must name 1 to 1000"),
        (["j-0123456789abcdef", "j-0123456789abcdef"], grpc.StatusCode.INVALID_ARGUMENT, "twice"),
        (["nope"], grpc.StatusCode.INVALID_ARGUMENT, "job_ids[0]"),
        (["j-0123456789abcdef"], grpc.StatusCode.NOT_FOUND, "j-0123456789abcdef"),
    ],
)
def test_watch_many_rejects_bad_batches(client, job_ids, code, words):
    with pytest.raises(grpc.RpcError) as caught:
        list(client.jobs.WatchMany(jobs_pb2.WatchManyRequest(job_ids=job_ids)))
    assert caught.value.code() == code and words in caught.value.details()


def test_cancel_queued_job_is_immediate(client):
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        job = client.submit(animatic())
        cancelled = client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
        assert cancelled.status == CANCELLED and cancelled.attempts == 0
    finally:
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    events = list(client.watch(job.id))
    assert [e.state.status for e in events] == [QUEUED, CANCELLED]


def test_cancel_running_job_stops_and_removes_partial_files(client, daemon):
    job = client.submit(slow_animatic())
    wait_progress(client, job.id, step=5)
    client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
    done = wait_status(client, job.id, CANCELLED, timeout=30)
    assert done.progress.step < 1000 and not done.result_asset_ids
    assert not list(daemon.data_dir.joinpath("scratch").glob(f"{job.id}-*"))
    assert not client.projects.ListAssets(projects_pb2.ListAssetsRequest(job_id=job.id)).assets


def test_cancel_finished_job_is_refused(client):
    job = client.submit(animatic(frames=2))
    wait_status(client, job.id, SUCCEEDED)
    with pytest.raises(grpc.RpcError) as error:
        client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_retry_queues_a_new_job_with_the_same_request(client):
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        job = client.submit(animatic(frames=3))
        client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
    finally:
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    again = client.jobs.Retry(jobs_pb2.RetryJobRequest(job_id=job.id))
    assert again.id != job.id and again.retry_of == job.id and again.request == job.request
    assert wait_status(client, again.id, SUCCEEDED).status == SUCCEEDED
    with pytest.raises(grpc.RpcError) as error:
        client.jobs.Retry(jobs_pb2.RetryJobRequest(job_id=again.id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_submit_is_idempotent_per_client_request_id(client):
    request = jobs_pb2.SubmitJobRequest(request=animatic(frames=2), client_request_id="same-key-" + __name__)
    first = client.jobs.Submit(request)
    second = client.jobs.Submit(request)
    assert first.id == second.id


def test_priority_orders_the_queue(client):
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        low = client.submit(animatic(frames=2), priority=-5)
        high = client.submit(animatic(frames=2), priority=5)
    finally:
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    low_done, high_done = wait_status(client, low.id, SUCCEEDED), wait_status(client, high.id, SUCCEEDED)
    assert high_done.started_at.ToMicroseconds() < low_done.started_at.ToMicroseconds()


def test_list_filters_and_pages(client):
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        ids = [client.submit(animatic(frames=1), labels={"batch": "paging"}).id for _ in range(7)]
        queued = client.jobs.List(jobs_pb2.ListJobsRequest(statuses=[QUEUED], page={"page_size": 1000}))
        assert set(ids) <= {job.id for job in queued.jobs}
        assert all(job.status == QUEUED for job in queued.jobs)

        pages, token = [], ""
        while True:
            reply = client.jobs.List(
                jobs_pb2.ListJobsRequest(statuses=[QUEUED], page={"page_size": 3, "page_token": token})
            )
            pages.append([job.id for job in reply.jobs])
            token = reply.next_page_token
            if not token:
                break
        flat = [job_id for page in pages for job_id in page]
        assert len(flat) == len(set(flat)) and set(ids) <= set(flat)
        assert flat[: len(ids)] == list(reversed(ids))  # newest first
        assert all(len(page) <= 3 for page in pages)
    finally:
        for job_id in ids:
            client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id))
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())


def test_many_watchers_see_identical_streams(client):
    job = client.submit(animatic(frames=60, width=256, height=128))
    results: list[list[int]] = [[] for _ in range(6)]

    def watch(index: int) -> None:
        results[index] = [e.sequence for e in client.watch(job.id)]

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r == results[0] for r in results) and results[0] == list(range(1, len(results[0]) + 1))


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("animatic.width", {"width": 100}),
        ("animatic.height", {"height": 4128}),
        ("animatic.frames", {"frames": 0}),
        ("animatic.frames", {"frames": 1001}),
        ("animatic.fps", {"fps": (121, 1)}),
        ("animatic.description", {"description": "x" * 10_001}),
    ],
)
def test_invalid_requests_name_the_field(client, field, change):
    change = dict(change)  # the parameters are shared by both database backends
    fps = change.pop("fps", (24, 1))
    with pytest.raises(grpc.RpcError) as error:
        client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=animatic(fps=fps, **change)))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details().startswith(field)


def test_unknown_ids_are_not_found(client):
    for call, request in [
        (client.jobs.Get, jobs_pb2.GetJobRequest(job_id="j-0000000000000000")),
        (client.jobs.Cancel, jobs_pb2.CancelJobRequest(job_id="nonsense")),
        (client.media.Stat, media_pb2.StatRequest(asset_id="a-0000000000000000")),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            call(request)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_running_jobs_stream_preview_thumbnails(client):
    import io

    from PIL import Image

    job = client.submit(animatic(frames=30, width=512, height=288))
    previews = [e.preview for e in client.watch(job.id) if e.HasField("preview")]
    assert previews and previews[0].step >= 1
    thumbnail = Image.open(io.BytesIO(previews[0].jpeg))
    assert thumbnail.format == "JPEG" and thumbnail.width <= 256
    assert abs(thumbnail.width / thumbnail.height - 512 / 288) < 0.05


def test_full_queue_is_resource_exhausted(sqlite_daemon):
    client = sqlite_daemon.start("--paused", "--max-queued", "3").client()
    for _ in range(3):
        client.submit(animatic(frames=1))
    with pytest.raises(grpc.RpcError) as error:
        client.jobs.Submit(jobs_pb2.SubmitJobRequest(request=animatic(frames=1)))
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "queue is full" in error.value.details()


def test_submit_batch_queues_all_in_order_or_none(client):
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        requests = [jobs_pb2.SubmitJobRequest(request=animatic(frames=1), priority=i) for i in range(5)]
        jobs = client.submit_batch(requests)
        assert [job.priority for job in jobs] == list(range(5)) and all(job.status == QUEUED for job in jobs)
        assert client.submit_batch(requests)[2].id == jobs[2].id  # the same keys: the same jobs

        bad = [jobs_pb2.SubmitJobRequest(request=animatic(frames=1)) for _ in range(3)]
        bad[1].request.animatic.width = 100
        before = client.jobs.List(jobs_pb2.ListJobsRequest(statuses=[QUEUED], page={"page_size": 1000}))
        with pytest.raises(grpc.RpcError) as error:
            client.jobs.SubmitBatch(jobs_pb2.SubmitBatchRequest(jobs=bad))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.value.details().startswith("jobs[1].animatic.width")
        after = client.jobs.List(jobs_pb2.ListJobsRequest(statuses=[QUEUED], page={"page_size": 1000}))
        assert len(after.jobs) == len(before.jobs)  # nothing of the bad batch was queued
    finally:
        for job in jobs:
            client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job.id))
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
