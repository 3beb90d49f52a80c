"""`milimo storyboard …` and `make demo`'s main job against a real daemon: a screenplay in, a board, elements,
every shot rendered as one batch, the board as a timeline and a cut."""

from __future__ import annotations

import opentimelineio as otio
import pytest
from PIL import Image

from milimo.demo import board_to_cut
from milimo.media import ops
from milimo.v1 import projects_pb2, storyboard_pb2
from tests.test_cli import milimo
from tests.test_storyboard_jobs import FERRY, NIGHT_SHIFT

sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@sqlite
def test_import_show_elements_generate_and_export_from_the_command_line(daemon, tmp_path):
    imported = milimo(daemon, "storyboard", "import", str(NIGHT_SHIFT), "--width", "128", "--height", "96")
    assert imported.returncode == 0, imported.stderr
    project = imported.stdout.strip()
    assert project.startswith("p-")
    assert "INT. HARBOUR DINER - NIGHT" in imported.stderr and "@Mara" in imported.stderr

    reference = tmp_path / "lamp.png"
    Image.new("RGB", (16, 16), "orange").save(reference)
    added = milimo(
        daemon,
        "storyboard",
        "element",
        "add",
        project,
        "Lamp",
        "--kind",
        "prop",
        "--description",
        "a brass storm lamp",
        "--reference",
        str(reference),
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().startswith("e-")
    listed = milimo(daemon, "storyboard", "element", "list", project)
    assert "@Lamp" in listed.stderr and "prop" in listed.stderr

    matched = milimo(daemon, "storyboard", "match", project)
    assert matched.returncode == 0 and "exact_name" in matched.stderr

    generated = milimo(daemon, "storyboard", "generate", project)
    assert generated.returncode == 0, generated.stderr
    assert "done" in generated.stderr

    timeline_file = tmp_path / "board.otio"
    exported = milimo(daemon, "storyboard", "export", project, "--otio", str(timeline_file))
    assert exported.returncode == 0, exported.stderr
    timeline = otio.adapters.read_from_file(str(timeline_file))
    with daemon.client() as client:
        view = client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project))
    shots = [shot for scene in view.scenes for shot in scene.shots]
    clips = list(timeline.find_clips())
    assert [clip.duration().value for clip in clips] == [shot.duration_frames for shot in shots]
    assert all(clip.media_reference.target_url.startswith("file://") for clip in clips)


@sqlite
def test_a_bad_parser_is_refused_by_name(daemon):
    refused = milimo(daemon, "storyboard", "import", str(NIGHT_SHIFT), "--parser", "pdf")
    assert refused.returncode == 2 and "screenplay.parser" in refused.stderr


def test_the_demo_turns_the_sample_screenplay_into_a_timeline_and_a_cut(sqlite_daemon, tmp_path):
    sqlite_daemon.start()
    with sqlite_daemon.client() as client:
        board_to_cut(client, FERRY, tmp_path)
        project = client.projects.ListProjects(projects_pb2.ListProjectsRequest()).projects[0]
        view = client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project.id))
    shots = [shot for scene in view.scenes for shot in scene.shots]
    timeline = otio.adapters.read_from_file(str(tmp_path / "the_last_ferry.otio"))
    assert len(list(timeline.find_clips())) == len(shots) == 18
    scene_markers = [marker for clip in timeline.find_clips() for marker in clip.markers]
    assert len(scene_markers) == len(view.scenes)
    cut = ops.probe(tmp_path / "the_last_ferry.mp4")
    assert cut.frames == sum(shot.duration_frames for shot in shots) and cut.has_audio
