"""A storyboard as an OTIO timeline: read back with OTIO's own reader, durations as the shots say, and (against
the daemon) the export's placeholders filled so that every shot gets a take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opentimelineio as otio
from typer.testing import CliRunner

from milimo.media import ops
from milimo.otio import conventions, formats
from milimo.otio.compare import compare
from milimo.otio.export import storyboard_timeline
from milimo.otio.fill import find_placeholders
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2, storyboard_pb2
from tests.helpers import animatic
from tests.test_fill import cli, said

PROJECT = projects_pb2.Project(
    id="p-00000000000000aa", name="Ferry", width=64, height=64, fps=common_pb2.Rational(num=24)
)


def shot(index: int, frames: int, scene_id: str = "", **fields: object) -> projects_pb2.Shot:
    return projects_pb2.Shot(
        id=f"s-{index:016x}",
        project_id=PROJECT.id,
        position=index,
        name=f"shot {index}",
        duration_frames=frames,
        scene_id=scene_id,
        **fields,
    )


def board() -> storyboard_pb2.StoryboardView:
    dock = storyboard_pb2.Scene(id="c-00000000000000d1", project_id=PROJECT.id, heading="EXT. FERRY DOCK - NIGHT")
    cabin = storyboard_pb2.Scene(id="c-00000000000000d2", project_id=PROJECT.id, heading="INT. CABIN - NIGHT")
    return storyboard_pb2.StoryboardView(
        project=PROJECT,
        scenes=[
            storyboard_pb2.SceneShots(
                scene=dock,
                shots=[
                    shot(0, 24, dock.id, action="Fog rolls over the dock.", characters=["MARA"]),
                    shot(
                        1,
                        12,
                        dock.id,
                        description="The ferry's horn.",
                        metadata={"take": "best"},
                        asset_id="a-00000000000000f1",
                    ),
                ],
            ),
            storyboard_pb2.SceneShots(
                scene=cabin, shots=[shot(2, 36, cabin.id, action="Mara sits.", asset_id="a-00000000000000f2")]
            ),
        ],
    )


def take(path: Path, frames: int, *, sound: bool) -> Path:
    pictures = (np.full((64, 64, 3), 40 * i % 255, np.uint8) for i in range(frames))
    audio = np.zeros((1, frames * 2000), np.float32) if sound else None  # 48 kHz at 24 fps
    ops.encode_frames(pictures, path, 24, audio=audio)
    return path


def test_export_reads_back_with_otio_and_lasts_as_the_shots_do(tmp_path):
    media = {
        "s-0000000000000001": take(tmp_path / "horn.mp4", 20, sound=True),  # longer than the shot's 12 frames
        "s-0000000000000002": take(tmp_path / "cabin.mp4", 30, sound=False),  # shorter than the shot's 36 frames
    }
    path = tmp_path / "board.otio"
    formats.write_timeline(storyboard_timeline(board(), media, name="Ferry"), path)
    timeline = otio.adapters.read_from_file(str(path))

    assert timeline.name == "Ferry" and timeline.global_start_time == otio.opentime.RationalTime(0, 24)
    picture, sound = timeline.tracks
    assert [clip.name for clip in picture] == ["shot 0", "shot 1", "shot 2"]
    assert [clip.source_range.duration for clip in picture] == [otio.opentime.RationalTime(f, 24) for f in (24, 12, 36)]
    assert timeline.duration() == otio.opentime.RationalTime(72, 24)

    fog, horn, cabin = picture
    assert conventions.is_placeholder(fog) and not conventions.is_filled(fog)
    assert horn.media_reference.target_url == media["s-0000000000000001"].resolve().as_uri()
    assert horn.media_reference.available_range.duration == otio.opentime.RationalTime(20, 24)  # its real length
    assert cabin.media_reference.available_range.duration == otio.opentime.RationalTime(30, 24)
    assert dict(horn.metadata["milimo"]) == {
        "shot_id": "s-0000000000000001",
        "project_id": PROJECT.id,
        "position": 1,
        "scene_id": "c-00000000000000d1",
        "shot_metadata": {"take": "best"},
        "asset_id": "a-00000000000000f1",
    }

    assert [m.name for m in fog.markers] == ["EXT. FERRY DOCK - NIGHT"] and not horn.markers
    (cabin_marker,) = cabin.markers
    assert cabin_marker.name == "INT. CABIN - NIGHT" and cabin_marker.marked_range.start_time.value == 0
    assert dict(cabin_marker.metadata["milimo"]) == {"scene_id": "c-00000000000000d2", "number": 2, "script_number": ""}

    assert sound.kind == otio.schema.TrackKind.Audio
    assert [type(item).__name__ for item in sound] == ["Gap", "Clip", "Gap"]
    assert [item.source_range.duration.value for item in sound] == [24, 12, 36]

    (placeholder,) = find_placeholders(timeline)
    a = placeholder.request.animatic
    assert (a.frames, a.width, a.height, a.fps.num) == (24, 64, 64, 24)
    assert (a.scene_heading, a.description, list(a.characters)) == (
        "EXT. FERRY DOCK - NIGHT",
        "Fog rolls over the dock.",
        ["MARA"],
    )
    assert (a.scene_number, a.shot_number) == (1, 1)
    assert placeholder.shot_id == "s-0000000000000000" and placeholder.project_id == PROJECT.id


def test_a_board_without_scenes_and_video_placeholders(tmp_path):
    view = storyboard_pb2.StoryboardView(project=PROJECT, shots_without_scene=[shot(0, 9, description="A gull.")])
    timeline = storyboard_timeline(view, {}, name="Loose", video_model="tiny-ltx")
    (track,) = timeline.tracks  # no take has sound: no audio track
    (clip,) = track
    assert clip.name == "shot 0" and not clip.markers
    (placeholder,) = find_placeholders(timeline)
    video = placeholder.request.video
    assert (video.model, video.prompt, video.frames, video.width) == ("tiny-ltx", "A gull.", 9, 64)


def test_export_then_fill_gives_every_shot_a_take(generation_daemon, tmp_path):
    client = generation_daemon.client()
    project = client.projects.CreateProject(projects_pb2.CreateProjectRequest(project=PROJECT))
    scene = client.storyboard.CreateScene(
        storyboard_pb2.CreateSceneRequest(scene=storyboard_pb2.Scene(project_id=project.id, heading="INT. HOLD - DAY"))
    )
    shots = [
        client.projects.CreateShot(
            projects_pb2.CreateShotRequest(
                shot=projects_pb2.Shot(
                    project_id=project.id, name=f"hold {i}", duration_frames=6, scene_id=scene.id, action="Crates."
                )
            )
        )
        for i in range(3)
    ]
    first = client.submit(animatic(frames=6, width=64, height=64), project_id=project.id, shot_id=shots[0].id)
    assert client.wait(first.id).status == jobs_pb2.JOB_STATUS_SUCCEEDED

    env = {"MILIMO_ADDRESS": generation_daemon.address, "MILIMO_TOKEN": "", "MILIMO_CONFIG": None}
    exported = tmp_path / "hold.otio"
    result = CliRunner().invoke(cli(), ["export", project.id, "--otio", str(exported)], env=env)
    assert result.exit_code == 0, result.output
    assert "3 shots, 1 with takes, 2 placeholders" in said(result)
    assert (tmp_path / "hold_media").is_dir()

    filled = tmp_path / "hold_filled.otio"
    result = CliRunner().invoke(cli(), ["fill", str(exported), "-o", str(filled)], env=env)
    assert result.exit_code == 0, result.output
    assert compare(formats.read_timeline(exported), formats.read_timeline(filled)) == []
    for made in shots:
        assert client.projects.GetShot(projects_pb2.GetShotRequest(shot_id=made.id)).asset_id, made.name
