"""The storyboard's jobs end to end over gRPC: a screenplay read into a board, elements matched and visualized,
every shot rendered as one batch with its take and thumbnail, and effects that cannot apply failing the job."""

from __future__ import annotations

import io
import json
from pathlib import Path

import grpc
import pytest
from PIL import Image

from milimo.client import Client
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, projects_pb2, storyboard_pb2
from tests.helpers import get

ROOT = Path(__file__).resolve().parent.parent
NIGHT_SHIFT = ROOT / "tests" / "data" / "screenplays" / "night_shift.fountain"
FERRY = ROOT / "examples" / "the_last_ferry.fountain"
SUCCEEDED, FAILED = jobs_pb2.JOB_STATUS_SUCCEEDED, jobs_pb2.JOB_STATUS_FAILED


@pytest.fixture
def client(generation_daemon):
    with generation_daemon.client() as client:
        yield client


def new_project(client: Client, width: int = 128, height: int = 96) -> projects_pb2.Project:
    return client.projects.CreateProject(
        projects_pb2.CreateProjectRequest(
            project=projects_pb2.Project(name="board", width=width, height=height, fps=common_pb2.Rational(num=24))
        )
    )


def import_script(client: Client, project_id: str, script: Path, **fields: object) -> jobs_pb2.Job:
    asset = client.upload(script, project_id=project_id)
    request = jobs_pb2.JobRequest(
        screenplay=jobs_pb2.ScreenplayRequest(project_id=project_id, asset_id=asset.id, **fields)
    )
    return client.wait(client.submit(request, project_id=project_id).id)


def board(client: Client, project_id: str) -> storyboard_pb2.StoryboardView:
    return client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project_id))


@pytest.fixture(scope="module")
def ferry(generation_daemon) -> str:
    """A project holding The Last Ferry's board, with its elements; shared by the tests that only read it."""
    with generation_daemon.client() as client:
        project = new_project(client)
        assert import_script(client, project.id, FERRY, create_elements=True).status == SUCCEEDED
        return project.id


def test_a_screenplay_job_reads_the_script_into_scenes_shots_and_elements(client):
    project = new_project(client)
    done = import_script(client, project.id, NIGHT_SHIFT, create_elements=True)
    assert done.status == SUCCEEDED, done.reason

    parsed = client.media.Stat(media_pb2.StatRequest(asset_id=done.result_asset_ids[0]))
    assert parsed.mime_type == "application/vnd.milimo.screenplay+json"
    summary = json.loads(parsed.details_json)
    view = board(client, project.id)
    assert summary["scenes"] == len(view.scenes) and summary["parser"] == "fountain"
    assert summary["shots"] == sum(len(scene.shots) for scene in view.scenes)
    first = view.scenes[0]
    assert first.scene.heading.startswith("INT. HARBOUR DINER - NIGHT")
    assert first.scene.setting == storyboard_pb2.SETTING_INTERIOR and first.scene.time_of_day == "NIGHT"
    assert first.shots[0].action.startswith("Rain streaks the windows")
    assert all(shot.duration_frames >= 48 for scene in view.scenes for shot in scene.shots)  # 2 s at least
    assert {"Mara", "Harbour Diner"} <= {element.name for element in view.elements}

    # Reading it again with replace gives the same board, not a second copy.
    again = import_script(client, project.id, NIGHT_SHIFT, replace=True, create_elements=True)
    assert again.status == SUCCEEDED
    replaced = board(client, project.id)
    assert [s.scene.heading for s in replaced.scenes] == [s.scene.heading for s in view.scenes]
    assert len(replaced.elements) == len(view.elements)


def test_the_llm_parser_without_an_llm_falls_back_to_the_rules_and_says_so_in_the_events(client):
    project = new_project(client)
    done = import_script(client, project.id, NIGHT_SHIFT, parser="llm")
    assert done.status == SUCCEEDED
    logs = [event.log.message for event in client.watch(done.id) if event.HasField("log")]
    assert any("used the rule parser" in line for line in logs), logs
    assert board(client, project.id).scenes


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"parser": "xml"}, "screenplay.parser: must be one of"),
        ({"project_id": ""}, "screenplay.project_id"),
        ({"asset_id": "picture"}, "screenplay.asset_id"),
    ],
)
def test_bad_screenplay_requests_name_the_field(client, tmp_path, fields, words):
    project = new_project(client)
    script = client.upload(NIGHT_SHIFT, project_id=project.id)
    picture = tmp_path / "still.png"
    Image.new("RGB", (8, 8)).save(picture)
    values = {"project_id": project.id, "asset_id": script.id, **fields}
    if values["asset_id"] == "picture":
        values["asset_id"] = client.upload(picture).id
    with pytest.raises(grpc.RpcError) as caught:
        client.submit(jobs_pb2.JobRequest(screenplay=jobs_pb2.ScreenplayRequest(**values)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in caught.value.details()


def test_elements_are_matched_to_shots_with_scores_and_reasons(client, ferry):
    view = board(client, ferry)
    response = client.storyboard.MatchElements(storyboard_pb2.MatchElementsRequest(project_id=ferry))
    assert [shots.shot_id for shots in response.shots] == [s.id for scene in view.scenes for s in scene.shots]
    by_shot = {shots.shot_id: shots.matches for shots in response.shots}
    pier = next(scene for scene in view.scenes if scene.scene.location == "HARBOUR PIER")
    running = next(shot for shot in pier.shots if "MARA" in shot.characters)
    matches = {match.element_name: match for match in by_shot[running.id]}
    assert matches["Mara"].score == pytest.approx(1.0)
    assert matches["Mara"].signals[0].signal == "exact_name"
    assert matches["Harbour Pier"].signals[0].signal == "heading_location"
    assert all(match.score >= 0.4 for shot_matches in by_shot.values() for match in shot_matches)

    only = client.storyboard.MatchElements(storyboard_pb2.MatchElementsRequest(project_id=ferry, shot_ids=[running.id]))
    assert [shots.shot_id for shots in only.shots] == [running.id]
    with pytest.raises(grpc.RpcError) as caught:
        client.storyboard.MatchElements(storyboard_pb2.MatchElementsRequest(project_id=ferry, shot_ids=["s-nope"]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "shot_ids[0]" in caught.value.details()


def test_generate_all_shots_as_one_batch_fills_every_take_with_thumbnails(client):
    project = new_project(client)
    assert import_script(client, project.id, FERRY).status == SUCCEEDED
    template = jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(width=64, height=64))
    response = client.storyboard.GenerateShots(
        storyboard_pb2.GenerateShotsRequest(project_id=project.id, template=template, priority=5)
    )
    view = board(client, project.id)
    shots = [shot for scene in view.scenes for shot in scene.shots]
    assert [job.shot_id for job in response.jobs] == [shot.id for shot in shots]
    assert all(job.labels["milimo.batch"] == response.batch_id and job.priority == 5 for job in response.jobs)
    assert [job.request.animatic.frames for job in response.jobs] == [shot.duration_frames for shot in shots]
    starts = [job.request.animatic.start_frame for job in response.jobs]
    assert starts == [sum(shot.duration_frames for shot in shots[:i]) for i in range(len(shots))]

    events = list(client.watch_many([job.id for job in response.jobs]))
    assert {event.job_id for event in events if event.state.status == SUCCEEDED} == {job.id for job in response.jobs}
    view = board(client, project.id)
    takes = {shot.id: shot.asset_id for scene in view.scenes for shot in scene.shots}
    assert all(takes.values())
    assert takes[shots[0].id] == get(client, response.jobs[0].id).result_asset_ids[0]

    thumb = client.storyboard.GetShotThumbnail(storyboard_pb2.GetShotThumbnailRequest(shot_id=shots[0].id))
    picture = Image.open(io.BytesIO(thumb.jpeg))
    assert picture.format == "JPEG" and (picture.width, picture.height) == (thumb.width, thumb.height) == (64, 64)
    assert thumb.asset_id == takes[shots[0].id]

    # Nothing is missing any more, so an "only missing" batch queues nothing.
    again = client.storyboard.GenerateShots(
        storyboard_pb2.GenerateShotsRequest(project_id=project.id, template=template, only_missing=True)
    )
    assert not again.jobs


def test_generate_refuses_a_bad_template_naming_it_and_queues_nothing(client, ferry):
    before = client.jobs.List(jobs_pb2.ListJobsRequest(project_id=ferry)).jobs
    template = jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(model="no-such-model"))
    with pytest.raises(grpc.RpcError) as caught:
        client.storyboard.GenerateShots(storyboard_pb2.GenerateShotsRequest(project_id=ferry, template=template))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("template.video.model")
    assert client.jobs.List(jobs_pb2.ListJobsRequest(project_id=ferry)).jobs == before


def test_a_thumbnail_needs_a_take(client, ferry):
    shot = board(client, ferry).scenes[0].shots[0]
    with pytest.raises(grpc.RpcError) as caught:
        client.storyboard.GetShotThumbnail(storyboard_pb2.GetShotThumbnailRequest(shot_id=shot.id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "no take" in caught.value.details()


def test_a_visualized_element_gets_a_reference_still_that_conditions_its_shots(client):
    project = new_project(client, width=64, height=64)
    element = client.storyboard.CreateElement(
        storyboard_pb2.CreateElementRequest(
            element=storyboard_pb2.Element(
                project_id=project.id,
                kind=storyboard_pb2.ELEMENT_KIND_CHARACTER,
                name="Mara",
                description="a tall woman in a red coat",
            )
        )
    )
    still = jobs_pb2.ImageRequest(model="tiny-klein", steps=2, seed=3)
    job = client.storyboard.VisualizeElement(storyboard_pb2.VisualizeElementRequest(element_id=element.id, image=still))
    assert job.labels["milimo.element_id"] == element.id
    assert job.request.image.prompt.endswith("Mara, a tall woman in a red coat.")
    assert (job.request.image.width, job.request.image.height) == (64, 64)
    done = client.wait(job.id)
    assert done.status == SUCCEEDED, done.reason
    element = client.storyboard.GetElement(storyboard_pb2.GetElementRequest(element_id=element.id))
    assert list(element.reference_asset_ids) == list(done.result_asset_ids)

    # A shot that names her renders with her description and her reference.
    client.projects.CreateShot(
        projects_pb2.CreateShotRequest(
            shot=projects_pb2.Shot(project_id=project.id, description="Mara waits by the door.", duration_frames=1)
        )
    )
    template = jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(model="tiny-klein", steps=2, seed=3))
    batch = client.storyboard.GenerateShots(
        storyboard_pb2.GenerateShotsRequest(project_id=project.id, template=template)
    )
    assert batch.jobs[0].request.image.prompt == "@Mara waits by the door."
    shot_job = client.wait(batch.jobs[0].id)
    assert shot_job.status == SUCCEEDED, shot_job.reason
    recipe = json.loads(client.media.Stat(media_pb2.StatRequest(asset_id=shot_job.result_asset_ids[0])).details_json)
    assert "a tall woman in a red coat" in json.dumps(recipe)
    assert element.reference_asset_ids[0] in json.dumps(recipe)


def test_a_success_whose_effect_cannot_apply_fails_the_job_and_records_nothing(client):
    project = new_project(client, width=64, height=64)
    element = client.storyboard.CreateElement(
        storyboard_pb2.CreateElementRequest(
            element=storyboard_pb2.Element(project_id=project.id, kind=storyboard_pb2.ELEMENT_KIND_PROP, name="Lamp")
        )
    )
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        job = client.storyboard.VisualizeElement(
            storyboard_pb2.VisualizeElementRequest(
                element_id=element.id, image=jobs_pb2.ImageRequest(model="tiny-klein", steps=1)
            )
        )
        client.storyboard.DeleteElement(storyboard_pb2.DeleteElementRequest(element_id=element.id))
    finally:
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    done = client.wait(job.id)
    assert done.status == FAILED and "could not be recorded" in done.reason and element.id in done.reason
    assert not done.result_asset_ids
    assets = client.projects.ListAssets(projects_pb2.ListAssetsRequest(job_id=job.id)).assets
    assert not assets
