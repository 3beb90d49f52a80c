"""Assets a request names: checked at submit (the error names the field) and looked up again when the job starts."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from milimo.media import ops
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, projects_pb2
from tests.helpers import wait_status


@pytest.fixture(scope="module")
def assets(generation_daemon, tmp_path_factory):
    """An uploaded PNG, a short clip and a text file, by name."""
    folder = tmp_path_factory.mktemp("inputs")
    client = generation_daemon.client()
    Image.fromarray(np.full((48, 80, 3), 200, np.uint8)).save(folder / "still.png")
    ops.encode_frames(np.zeros((5, 32, 32, 3), np.uint8), folder / "clip.mp4", 24)
    (folder / "notes.txt").write_text("not a picture")
    return {name: client.upload(folder / name) for name in ("still.png", "clip.mp4", "notes.txt")}


def video(**fields: object) -> jobs_pb2.JobRequest:
    values = dict(model="tiny-ltx", prompt="a boat", width=64, height=64, frames=9, steps=2)
    values.update(fields)
    return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(fps=common_pb2.Rational(num=24), **values))


def refused(client, request: jobs_pb2.JobRequest) -> str:
    with pytest.raises(grpc.RpcError) as error:
        client.submit(request)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return error.value.details()


def test_uploaded_images_record_their_size(generation_daemon, assets):
    media = assets["still.png"].media
    assert (media.width, media.height, media.frames) == (80, 48, 1)


def test_a_missing_asset_is_named_by_its_field(generation_daemon):
    condition = jobs_pb2.Conditioning(asset_id="a-0123456789abcdef")
    details = refused(generation_daemon.client(), video(conditions=[condition]))
    assert details.startswith("video.conditions[0].asset_id: there is no asset a-0123456789abcdef")


@pytest.mark.parametrize(
    ("request_of", "field"),
    [
        (lambda a: video(conditions=[jobs_pb2.Conditioning(asset_id=a["notes.txt"].id)]), "video.conditions[0]"),
        (lambda a: video(loras=[jobs_pb2.LoraRef(asset_id=a["still.png"].id)]), "video.loras[0].asset_id"),
        (lambda a: video(control_asset_id=a["still.png"].id, model="tiny-ltx2"), "video.control_asset_id"),
        (
            lambda a: jobs_pb2.JobRequest(split_shot=jobs_pb2.SplitShotRequest(asset_id=a["still.png"].id, frame=1)),
            "split_shot.asset_id",
        ),
    ],
)
def test_an_asset_of_the_wrong_sort_is_refused(generation_daemon, assets, request_of, field):
    assert refused(generation_daemon.client(), request_of(assets)).startswith(field)


def test_conditioning_frames_past_the_end_are_refused(generation_daemon, assets):
    clip = jobs_pb2.Conditioning(asset_id=assets["clip.mp4"].id, frame_index=6)  # 5 frames from 6 in a 9-frame shot
    assert refused(generation_daemon.client(), video(conditions=[clip])).startswith("video.conditions[0].frame_index")
    late_start = jobs_pb2.Conditioning(asset_id=assets["clip.mp4"].id, source_start_frame=5)
    details = refused(generation_daemon.client(), video(conditions=[late_start]))
    assert details.startswith("video.conditions[0].source_start_frame")


def test_a_batch_names_the_job_and_the_field(generation_daemon, assets):
    good = jobs_pb2.SubmitJobRequest(request=video())
    bad = jobs_pb2.SubmitJobRequest(request=video(conditions=[jobs_pb2.Conditioning(asset_id="a-00000000000000ff")]))
    with pytest.raises(grpc.RpcError) as error:
        generation_daemon.client().submit_batch([good, bad])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details().startswith("jobs[1].video.conditions[0].asset_id")


def test_an_unknown_project_is_refused_for_a_cut(generation_daemon):
    request = jobs_pb2.JobRequest(render_cut=jobs_pb2.RenderCutRequest(project_id="p-0123456789abcdef"))
    assert refused(generation_daemon.client(), request).startswith("render_cut.project_id: there is no project")


def test_an_input_deleted_before_the_job_starts_fails_it_with_the_reason(generation_daemon, tmp_path: Path):
    client = generation_daemon.client()
    ops.encode_frames(np.full((3, 32, 32, 3), 90, np.uint8), tmp_path / "doomed.mp4", 24)
    doomed = client.upload(tmp_path / "doomed.mp4")
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        job = client.submit(jobs_pb2.JobRequest(last_frame=jobs_pb2.LastFrameRequest(asset_id=doomed.id)))
        client.projects.DeleteAsset(projects_pb2.DeleteAssetRequest(asset_id=doomed.id))
    finally:
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    failed = wait_status(client, job.id, jobs_pb2.JOB_STATUS_FAILED)
    assert f"asset {doomed.id} was deleted after the job was submitted" in failed.reason
    with pytest.raises(grpc.RpcError):
        client.media.Stat(media_pb2.StatRequest(asset_id=doomed.id))


def test_a_result_carries_its_recipe(generation_daemon, assets):
    client = generation_daemon.client()
    job = client.submit(jobs_pb2.JobRequest(last_frame=jobs_pb2.LastFrameRequest(asset_id=assets["clip.mp4"].id)))
    done = wait_status(client, job.id, jobs_pb2.JOB_STATUS_SUCCEEDED)
    result = client.media.Stat(media_pb2.StatRequest(asset_id=done.result_asset_ids[0]))
    assert json.loads(result.details_json)["source_asset_id"] == assets["clip.mp4"].id
