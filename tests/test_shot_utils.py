"""Shot utilities end to end through gRPC: a clip's last frame, a split at a frame, and a project's cut."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from milimo.media import ops
from milimo.tasks import shot_utils
from milimo.tasks.context import TaskCancelled
from milimo.tasks.inputs import InputFile
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, projects_pb2
from tests.task_context import RecordingContext

P = projects_pb2
SUCCEEDED, FAILED = jobs_pb2.JOB_STATUS_SUCCEEDED, jobs_pb2.JOB_STATUS_FAILED
FPS, RATE = 24, 48_000
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def color(i: int) -> np.ndarray:
    """A solid color per frame index, far from its neighbours."""
    return np.array([(67 * i + 20) % 256, (151 * i + 90) % 256, (29 * i + 200) % 256], np.uint8)


def tone(frames: int, fps: int = FPS, loud: tuple[int, ...] = ()) -> np.ndarray:
    """Stereo 440 Hz, a different loudness under each frame (frames in `loud` louder), so cuts show."""
    t = np.arange(round(Fraction(frames, fps) * RATE)) / RATE
    frame_of = np.minimum((t * fps).astype(int), frames - 1)
    amplitude = 0.05 + 0.04 * (frame_of % 5) + 0.3 * np.isin(frame_of, loud)
    return np.stack([amplitude * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)


def clip(path: Path, frames: int, *, first: int = 0, size: tuple[int, int] = (64, 64), fps: int = FPS, audio=None):
    """A clip whose frame k is `color(first + k)`."""
    width, height = size
    pictures = (np.broadcast_to(color(first + k), (height, width, 3)).copy() for k in range(frames))
    ops.encode_frames(pictures, path, fps, audio=audio, audio_sample_rate=RATE)
    return path


def nearest(picture: np.ndarray, candidates: range) -> int:
    """The frame index whose color `picture`'s mean is closest to."""
    mean = picture.reshape(-1, 3).mean(axis=0)
    return min(candidates, key=lambda i: np.abs(mean - color(i)).sum())


def frame_loudness(audio: np.ndarray, frames: int, fps: int = FPS) -> np.ndarray:
    """RMS of the middle half of each frame's span (away from codec smear at the edges)."""
    spans = [(round(Fraction(k, fps) * RATE), round(Fraction(k + 1, fps) * RATE)) for k in range(frames)]
    return np.array([np.sqrt(np.mean(audio[:, a + (b - a) // 4 : b - (b - a) // 4] ** 2)) for a, b in spans])


def run(client, request: jobs_pb2.JobRequest) -> jobs_pb2.Job:
    job = client.submit(request)
    events = list(client.watch(job.id))
    done = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job.id))
    if done.status == SUCCEEDED:
        steps = [e.progress for e in events if e.HasField("progress")]
        assert steps and steps[-1].step == steps[-1].total, "progress must reach its total"
    return done


def refused(client, request: jobs_pb2.JobRequest) -> str:
    with pytest.raises(grpc.RpcError) as error:
        client.submit(request)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return error.value.details()


# ------------------------------------------------------------------------------------------ last frame


@SQLITE
def test_last_frame_is_exactly_the_clips_last_frame(client, tmp_path):
    source = clip(tmp_path / "colors.mp4", 10)
    asset = client.upload(source)
    decoded = ops.read_frames(source)

    for from_end, index in [(0, 9), (3, 6)]:
        request = jobs_pb2.JobRequest(last_frame=jobs_pb2.LastFrameRequest(asset_id=asset.id, frames_from_end=from_end))
        job = run(client, request)
        assert job.status == SUCCEEDED, job.reason
        png = np.asarray(Image.open(client.download(job.result_asset_ids[0], tmp_path / f"{from_end}.png")))
        assert png.shape == (64, 64, 3) and nearest(png, range(10)) == index
        assert np.abs(png.astype(int) - decoded[index]).max() <= 2
        result = client.media.Stat(media_pb2.StatRequest(asset_id=job.result_asset_ids[0]))
        assert (result.mime_type, result.media.width, result.media.height, result.media.frames) == (
            "image/png",
            64,
            64,
            1,
        )

    too_far = jobs_pb2.JobRequest(last_frame=jobs_pb2.LastFrameRequest(asset_id=asset.id, frames_from_end=10))
    assert refused(client, too_far).startswith("last_frame.frames_from_end")


# ------------------------------------------------------------------------------------------ split


@SQLITE
def test_split_gives_frame_exact_halves_with_the_sound_cut_at_the_same_instant(client, tmp_path):
    frames, at = 10, 4
    source = clip(tmp_path / "whole.mp4", frames, audio=tone(frames, loud=(at,)))
    asset = client.upload(source)
    job = run(client, jobs_pb2.JobRequest(split_shot=jobs_pb2.SplitShotRequest(asset_id=asset.id, frame=at)))
    assert job.status == SUCCEEDED, job.reason
    assert len(job.result_asset_ids) == 2

    halves = [client.download(a, tmp_path / f"part{n}.mp4") for n, a in enumerate(job.result_asset_ids)]
    infos = [ops.probe(p) for p in halves]
    assert [i.frames for i in infos] == [at, frames - at]
    assert {(i.width, i.height, i.fps) for i in infos} == {(64, 64, FPS)}
    pictures = np.concatenate([ops.read_frames(p) for p in halves])
    assert [nearest(p, range(frames)) for p in pictures] == list(range(frames))

    original = ops.probe(source)
    assert abs(sum(i.audio_duration for i in infos) - original.audio_duration) <= Fraction(1, FPS)
    joined = np.concatenate([ops.read_audio(p)[0] for p in halves], axis=1)
    whole = ops.read_audio(source)[0]
    # Loudness frame by frame: the loud frame `at` opens the second half, so the sound was cut with the picture.
    assert np.allclose(frame_loudness(joined, frames), frame_loudness(whole, frames), atol=0.02)
    second = frame_loudness(ops.read_audio(halves[1])[0], frames - at)
    assert second[0] > 0.2 > second[1]

    for frame in (0, frames):
        details = refused(
            client, jobs_pb2.JobRequest(split_shot=jobs_pb2.SplitShotRequest(asset_id=asset.id, frame=frame))
        )
        assert details.startswith("split_shot.frame")


# ------------------------------------------------------------------------------------------ cut


def new_project(client, name: str = "cut") -> P.Project:
    project = P.Project(name=name, width=64, height=64, fps=common_pb2.Rational(num=FPS))
    return client.projects.CreateProject(P.CreateProjectRequest(project=project))


def add_shot(client, project: P.Project, name: str, asset_id: str = "", duration: int = 0) -> P.Shot:
    shot = P.Shot(project_id=project.id, name=name, asset_id=asset_id, duration_frames=duration)
    return client.projects.CreateShot(P.CreateShotRequest(shot=shot))


def cut(project: P.Project, include_missing: bool = False) -> jobs_pb2.JobRequest:
    return jobs_pb2.JobRequest(
        render_cut=jobs_pb2.RenderCutRequest(project_id=project.id, include_missing=include_missing)
    )


@SQLITE
def test_a_cut_joins_the_takes_frame_accurately_with_sound(client, tmp_path):
    project = new_project(client)
    # Colors 0-4 with sound; 5-8 wider (96x64: letterboxed) and silent; 9-11 with sound.
    takes = [
        clip(tmp_path / "a.mp4", 5, audio=tone(5)),
        clip(tmp_path / "b.mp4", 4, first=5, size=(96, 64)),
        clip(tmp_path / "c.mp4", 3, first=9, audio=tone(3, loud=(0, 1, 2))),
    ]
    for name, path in zip("ABC", takes, strict=True):
        add_shot(client, project, name, client.upload(path).id)

    job = run(client, cut(project))
    assert job.status == SUCCEEDED, job.reason
    result = client.download(job.result_asset_ids[0], tmp_path / "cut.mp4")
    info = ops.probe(result)
    assert (info.frames, info.width, info.height, info.fps) == (12, 64, 64, FPS)
    assert info.has_audio and abs(info.audio_duration - info.duration) <= Fraction(1, FPS)

    pictures = ops.read_frames(result)
    assert [nearest(p[24:40, 24:40], range(12)) for p in pictures] == list(range(12))  # centres
    # The 96x64 take is scaled to 64x43 (even: 42) and centred: black bars above and below.
    assert pictures[5][:10].max() <= 16 and pictures[5][-10:].max() <= 16

    loudness = frame_loudness(ops.read_audio(result)[0], 12)
    assert (loudness[:5] > 0.03).all() and (loudness[5:9] < 0.005).all() and (loudness[9:] > 0.2).all()


@SQLITE
def test_a_cut_names_shots_it_cannot_cut_and_slates_missing_takes_on_request(client, tmp_path):
    project = new_project(client)
    add_shot(client, project, "opening", client.upload(clip(tmp_path / "a.mp4", 3, audio=tone(3))).id)
    add_shot(client, project, "the call", duration=4)
    other_rate = add_shot(client, project, "too fast", client.upload(clip(tmp_path / "b.mp4", 3, fps=30)).id)

    failed = run(client, cut(project))
    assert failed.status == FAILED and not failed.result_asset_ids
    assert (
        "FailedPrecondition" in failed.reason and "'the call'" in failed.reason and "include_missing" in failed.reason
    )
    assert "'too fast'" in failed.reason and "30 fps" in failed.reason

    client.projects.DeleteShot(P.DeleteShotRequest(shot_id=other_rate.id))
    assert run(client, cut(project)).status == FAILED
    job = run(client, cut(project, include_missing=True))
    assert job.status == SUCCEEDED, job.reason
    result = client.download(job.result_asset_ids[0], tmp_path / "cut.mp4")
    info = ops.probe(result)
    assert info.frames == 3 + 4 and abs(info.audio_duration - info.duration) <= Fraction(1, FPS)
    pictures = ops.read_frames(result)
    assert pictures[3:].max() <= 16  # the slate is black
    assert [nearest(p, range(3)) for p in pictures[:3]] == [0, 1, 2]


@SQLITE
def test_an_unknown_project_is_refused_at_submit(client):
    details = refused(
        client, jobs_pb2.JobRequest(render_cut=jobs_pb2.RenderCutRequest(project_id="p-0123456789abcdef"))
    )
    assert details.startswith("render_cut.project_id")


# ------------------------------------------------------------------------------------------ run directly


def input_file(asset_id: str, path: Path) -> InputFile:
    return InputFile(asset_id, "video/mp4", path.name, {}, path=path)


def test_results_record_their_sources(tmp_path):
    source = clip(tmp_path / "colors.mp4", 6)
    ctx = RecordingContext(
        tmp_path / "scratch", inputs={"a-0000000000000001": input_file("a-0000000000000001", source)}
    )
    (tmp_path / "scratch").mkdir()
    request = jobs_pb2.JobRequest(
        last_frame=jobs_pb2.LastFrameRequest(asset_id="a-0000000000000001", frames_from_end=1)
    )
    [frame] = shot_utils.last_frame(request, ctx, None)
    assert frame.media["source_asset_id"] == "a-0000000000000001" and frame.media["source_frame"] == 4

    request = jobs_pb2.JobRequest(split_shot=jobs_pb2.SplitShotRequest(asset_id="a-0000000000000001", frame=2))
    halves = shot_utils.split_shot(request, ctx, None)
    assert [(h.media["source_start_frame"], h.media["source_end_frame"]) for h in halves] == [(0, 2), (2, 6)]
    assert ctx.steps[-1] == (6, 6)


def test_a_cancelled_cut_leaves_no_file(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    take = clip(tmp_path / "take.mp4", 8, audio=tone(8))
    project = {
        "id": "p-0000000000000001",
        "name": "cut",
        "width": 64,
        "height": 64,
        "fps_num": FPS,
        "fps_den": 1,
        "shots": [
            {"id": f"s-000000000000000{n}", "name": "", "asset_id": "a-0000000000000001", "duration_frames": 0}
            for n in range(3)
        ],
    }
    ctx = RecordingContext(
        scratch,
        cancel_after_reports=12,
        inputs={"a-0000000000000001": input_file("a-0000000000000001", take)},
        facts={"project": project},
    )
    with pytest.raises(TaskCancelled):
        shot_utils.render_cut(cut(P.Project(id=project["id"])), ctx, None)
    assert ctx.steps[-1][1] == 24 and list(scratch.iterdir()) == []
