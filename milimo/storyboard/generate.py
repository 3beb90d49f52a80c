"""The job that renders each storyboard shot: a template request (animatic, video or image) filled from the shot.

A shot's prompt is its description (or its action, when the description is empty), then its scene's place and
time. Elements matched to the shot are named by their trigger words, so the job writes their descriptions in and
takes their reference images (`milimo.tasks.elements`): the first mention of an element's name in the text
becomes its trigger ("Mara sits" → "@Mara sits"); an element matched but not named (a location read from the
heading, a character found by description) is added as "with @Name" or "at @Place".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from milimo.errors import InvalidArgument
from milimo.scene_place import with_place
from milimo.storyboard.matcher import TRIGGER_MENTION, ElementFacts, Match
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2, storyboard_pb2

MAX_FRAMES = 1000  # what a video or animatic request takes
TEMPLATE_KINDS = ("animatic", "video", "image")
_SIZE_STEP = {"animatic": 32, "video": 32, "image": 16}
_MIN_SIDE = 64


@dataclass(frozen=True)
class BoardShot:
    """A shot in board order, with its scene and its place in the scene and in the whole board."""

    shot: projects_pb2.Shot
    scene: storyboard_pb2.Scene | None
    scene_number: int  # 1-based; 0 without a scene
    shot_number: int  # 1-based within the scene (or the board, without scenes)
    start_frame: int  # frames of the board before this shot


def board_shots(view: storyboard_pb2.StoryboardView) -> list[BoardShot]:
    """Every shot of the board in order, with where it stands."""
    shots: list[BoardShot] = []
    start = 0
    for scene_number, scene_shots in enumerate(view.scenes, start=1):
        for shot_number, shot in enumerate(scene_shots.shots, start=1):
            shots.append(BoardShot(shot, scene_shots.scene, scene_number, shot_number, start))
            start += shot.duration_frames
    for shot_number, shot in enumerate(view.shots_without_scene, start=1):
        shots.append(BoardShot(shot, None, 0, shot_number, start))
        start += shot.duration_frames
    return shots


def shot_prompt(entry: BoardShot, matches: Sequence[Match], elements: Mapping[str, ElementFacts]) -> str:
    """The prompt of a shot, with its matched elements named by their trigger words."""
    text = (entry.shot.description or entry.shot.action).strip()
    for match in matches:
        element = elements[match.element_id]
        if element.trigger.casefold() in {m.group().casefold() for m in TRIGGER_MENTION.finditer(text)}:
            continue
        named = re.compile(rf"(?<![\w@]){re.escape(element.name)}(?!\w)", re.IGNORECASE)
        if named.search(text):
            text = named.sub(element.trigger, text, count=1)
        elif element.kind == "location":
            text = f"{text.rstrip('.')} at {element.trigger}." if text else f"At {element.trigger}."
        else:
            text = f"{text.rstrip('.')}, with {element.trigger}." if text else f"With {element.trigger}."
    return with_place(text, entry.scene)


def fill_request(
    template: jobs_pb2.JobRequest, entry: BoardShot, project: projects_pb2.Project, prompt: str
) -> jobs_pb2.JobRequest:
    """`template` with the shot's fields set: its prompt (template prompt after it), frame count, and the project's
    size and frame rate where the template leaves them unset."""
    kind = template.WhichOneof("kind")
    if kind not in TEMPLATE_KINDS:
        raise InvalidArgument("template", f"must be an animatic, video or image request (got {kind or 'none'})")
    request = jobs_pb2.JobRequest()
    request.CopyFrom(template)
    body = getattr(request, kind)
    if not body.width:
        body.width = _fit(project.width, _SIZE_STEP[kind])
    if not body.height:
        body.height = _fit(project.height, _SIZE_STEP[kind])
    if kind == "image":
        body.prompt = _joined(prompt, body.prompt)
        return request
    frames = entry.shot.duration_frames
    if not 1 <= frames <= MAX_FRAMES:
        raise InvalidArgument(
            f"shots[{entry.shot.id}].duration_frames", f"must be 1..{MAX_FRAMES} to render (got {frames})"
        )
    body.frames = frames
    if not body.fps.num:
        body.fps.CopyFrom(common_pb2.Rational(num=project.fps.num, den=project.fps.den or 1))
    if kind == "video":
        body.prompt = _joined(prompt, body.prompt)
        return request
    scene = entry.scene
    body.scene_heading = scene.heading if scene is not None else ""
    body.description = (entry.shot.description or entry.shot.action)[:2000]
    body.characters[:] = list(entry.shot.characters)
    body.scene_number = entry.scene_number
    body.shot_number = entry.shot_number
    body.start_frame = entry.start_frame
    return request


def _fit(side: int, step: int) -> int:
    """The project's side rounded down to what the model takes."""
    return max(_MIN_SIDE, side - side % step)


def _joined(shot_prompt_text: str, style: str) -> str:
    return " ".join(part.strip() for part in (shot_prompt_text, style) if part.strip())
