"""The job each storyboard shot renders: its prompt with element triggers, and a template filled from the shot."""

from __future__ import annotations

import pytest

from milimo.errors import InvalidArgument
from milimo.storyboard.generate import board_shots, fill_request, shot_prompt
from milimo.storyboard.matcher import ElementFacts, Match, Signal
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2, storyboard_pb2

MARA = ElementFacts("el-mara", "character", "Mara", "@Mara", "a tall woman in a soaked trench coat")
PIER = ElementFacts("el-pier", "location", "Harbour Pier", "@HarbourPier", "wet planks, rope, lamps")
CASE = ElementFacts("el-case", "prop", "Suitcase", "@Suitcase", "battered brown leather, a brass lock")
ELEMENTS = {e.id: e for e in (MARA, PIER, CASE)}


def match(element: ElementFacts, score: float = 0.9) -> Match:
    return Match(element.id, element.name, score, (Signal("exact_name", score, element.name),))


def view() -> storyboard_pb2.StoryboardView:
    project = projects_pb2.Project(id="p-1", name="Ferry", width=650, height=360, fps=common_pb2.Rational(num=24))
    pier = storyboard_pb2.Scene(
        id="sc-1",
        heading="EXT. HARBOUR PIER - NIGHT",
        setting=storyboard_pb2.SETTING_EXTERIOR,
        location="HARBOUR PIER",
        time_of_day="NIGHT",
    )
    cabin = storyboard_pb2.Scene(id="sc-2", heading="INT. FERRY CABIN - LATER", location="FERRY CABIN")
    shots = [
        projects_pb2.Shot(id="s-1", description="Mara runs along the planks.", duration_frames=48, characters=["MARA"]),
        projects_pb2.Shot(id="s-2", action="Rain hammers the pier.", duration_frames=24),
        projects_pb2.Shot(id="s-3", description="She opens it.", duration_frames=30, characters=["MARA"]),
    ]
    return storyboard_pb2.StoryboardView(
        project=project,
        scenes=[
            storyboard_pb2.SceneShots(scene=pier, shots=shots[:2]),
            storyboard_pb2.SceneShots(scene=cabin, shots=shots[2:]),
        ],
    )


def test_board_shots_number_scenes_and_shots_and_count_frames_before_each():
    entries = board_shots(view())
    assert [(e.shot.id, e.scene_number, e.shot_number, e.start_frame) for e in entries] == [
        ("s-1", 1, 1, 0),
        ("s-2", 1, 2, 48),
        ("s-3", 2, 1, 72),
    ]


def test_the_first_mention_of_a_matched_name_becomes_its_trigger_and_the_place_follows():
    first = board_shots(view())[0]
    prompt = shot_prompt(first, [match(MARA), match(PIER, 0.85)], ELEMENTS)
    assert prompt == "@Mara runs along the planks at @HarbourPier. Harbour Pier, exterior, night."


def test_an_element_matched_but_not_named_is_added_and_an_existing_trigger_is_kept():
    third = board_shots(view())[2]
    assert shot_prompt(third, [match(CASE, 0.5)], ELEMENTS) == "She opens it, with @Suitcase. Ferry Cabin."
    mentioned = projects_pb2.Shot(description="@mara waits.", duration_frames=10)
    entry = board_shots(storyboard_pb2.StoryboardView(shots_without_scene=[mentioned]))[0]
    assert shot_prompt(entry, [match(MARA)], ELEMENTS) == "@mara waits."


def test_a_longer_trigger_is_not_a_mention_of_a_shorter_one():
    entry = board_shots(
        storyboard_pb2.StoryboardView(shots_without_scene=[projects_pb2.Shot(description="@Maravilla sings.")])
    )[0]
    assert shot_prompt(entry, [match(MARA)], ELEMENTS) == "@Maravilla sings, with @Mara."


def test_the_action_stands_in_for_an_empty_description():
    second = board_shots(view())[1]
    assert shot_prompt(second, [], ELEMENTS) == "Rain hammers the pier. Harbour Pier, exterior, night."


def test_a_video_template_takes_the_shots_prompt_frames_and_the_projects_size_and_rate():
    board = view()
    entry = board_shots(board)[0]
    template = jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(model="ltx", steps=8, prompt="35mm film"))
    request = fill_request(template, entry, board.project, "Mara runs.")
    video = request.video
    assert (video.model, video.steps, video.prompt) == ("ltx", 8, "Mara runs. 35mm film")
    assert (video.width, video.height, video.frames, video.fps.num, video.fps.den) == (640, 352, 48, 24, 1)
    assert template.video.frames == 0  # the template is left as it was


def test_an_animatic_template_gets_the_cards_texts_and_continuous_timecode():
    board = view()
    entry = board_shots(board)[2]
    template = jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(width=320, height=192))
    card = fill_request(template, entry, board.project, "ignored for animatics").animatic
    assert (card.width, card.height, card.frames, card.start_frame) == (320, 192, 30, 72)
    assert (card.scene_heading, card.description, list(card.characters)) == (
        "INT. FERRY CABIN - LATER",
        "She opens it.",
        ["MARA"],
    )
    assert (card.scene_number, card.shot_number) == (2, 1)


def test_an_image_template_rounds_the_project_size_to_its_step():
    board = view()
    image = fill_request(
        jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(model="klein")), board_shots(board)[0], board.project, "A."
    ).image
    assert (image.width, image.height, image.prompt) == (640, 352, "A.")


@pytest.mark.parametrize(
    ("template", "field"),
    [
        (jobs_pb2.JobRequest(), "template"),
        (jobs_pb2.JobRequest(last_frame=jobs_pb2.LastFrameRequest(asset_id="a-1")), "template"),
    ],
)
def test_a_template_of_another_kind_is_refused(template, field):
    board = view()
    with pytest.raises(InvalidArgument) as caught:
        fill_request(template, board_shots(board)[0], board.project, "x")
    assert caught.value.field == field


def test_a_shot_without_duration_cannot_render():
    board = storyboard_pb2.StoryboardView(project=view().project, shots_without_scene=[projects_pb2.Shot(id="s-9")])
    with pytest.raises(InvalidArgument, match="duration_frames"):
        fill_request(jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest()), board_shots(board)[0], board.project, "")
