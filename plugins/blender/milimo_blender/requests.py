"""Job requests built from the scene: collected on the main thread as plain data, turned into protos off it; and the
request a placeholder keeps (`milimo_request`), fitted to its strip."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import bpy

from milimo.client.client import Client
from milimo.errors import MilimoError
from milimo.otio import conventions
from milimo.v1 import common_pb2, jobs_pb2

from .timeline import Condition, Target

ANIMATIC = "animatic"  # the model choice that renders a card instead of running a model
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class ShotSpec:
    """Everything a shot's request needs, read from Blender on the main thread."""

    target: Target
    prompt: str
    negative_prompt: str
    seed: int
    model: str
    family: str
    steps: int
    width: int
    height: int
    fps: Fraction
    scene_heading: str = ""
    condition: Condition | None = None


def scene_fps(scene: bpy.types.Scene) -> Fraction:
    """`render.fps / fps_base` exactly: 30000/1001 for NTSC's fps_base of 1.001, never a rounded float."""
    base = Fraction(scene.render.fps_base).limit_denominator(1001)
    return Fraction(scene.render.fps) / base


def scene_size(scene: bpy.types.Scene, multiple: int = 32) -> tuple[int, int]:
    """The render size after the resolution percentage, down to the models' multiple (at least 64)."""
    scale = scene.render.resolution_percentage / 100

    def fit(value: float) -> int:
        return max(64, int(value * scale) // multiple * multiple)

    return fit(scene.render.resolution_x), fit(scene.render.resolution_y)


def pick_seed(seed: int, randomize: bool) -> int:
    return random.randint(1, MAX_SEED) if randomize or seed <= 0 else seed


def model_frames(frames: int, family: str) -> int:
    """LTX models take 8k+1 frames: ask for the next such count; the strip is trimmed back on import."""
    if family.startswith("ltx"):
        return 8 * math.ceil(max(frames - 1, 0) / 8) + 1
    return frames


def build(spec: ShotSpec, client: Client, project_id: str = "") -> jobs_pb2.JobRequest:
    """The request for `spec`; uploads the conditioning picture first (a worker-thread call)."""
    fps = common_pb2.Rational(num=spec.fps.numerator, den=spec.fps.denominator)
    if spec.model == ANIMATIC:
        return jobs_pb2.JobRequest(
            animatic=jobs_pb2.AnimaticRequest(
                width=spec.width,
                height=spec.height,
                frames=spec.target.frames,
                fps=fps,
                scene_heading=spec.scene_heading,
                description=spec.prompt,
                start_frame=spec.target.frame_start,
                seed=spec.seed,
            )
        )
    video = jobs_pb2.VideoShotRequest(
        model=spec.model,
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        width=spec.width,
        height=spec.height,
        frames=model_frames(spec.target.frames, spec.family),
        fps=fps,
        steps=spec.steps,
        seed=spec.seed,
    )
    if spec.condition is not None:
        asset = client.upload(Path(spec.condition.filepath), project_id=project_id)
        video.conditions.append(
            jobs_pb2.Conditioning(
                asset_id=asset.id,
                frame_index=0,
                source_start_frame=spec.condition.source_frame if spec.condition.is_movie else 0,
                source_frames=1 if spec.condition.is_movie else 0,
            )
        )
    return jobs_pb2.JobRequest(video=video)


# ---- the request a placeholder keeps ---------------------------------------------------------------------------


def read_request(text: str, where: str) -> jobs_pb2.JobRequest:
    """The request in a placeholder payload's JSON (`{"version": 1, "request": {...}}`, as OTIO carries it).
    Raises ValueError naming `where` and what to do."""
    try:
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        return conventions.request_of(value, where)
    except (ValueError, MilimoError) as error:
        raise ValueError(f"{where} is not a request Milimo reads ({error}): fix or delete the property") from None


def prompt_of(request: jobs_pb2.JobRequest) -> str:
    return request.animatic.description if request.HasField("animatic") else request.video.prompt


def set_prompt(request: jobs_pb2.JobRequest, prompt: str) -> None:
    if request.HasField("animatic"):
        request.animatic.description = prompt
    else:
        request.video.prompt = prompt


def model_of(request: jobs_pb2.JobRequest) -> str:
    return ANIMATIC if request.HasField("animatic") else request.video.model


def fit_request(
    kept: jobs_pb2.JobRequest,
    frames: int,
    fps: Fraction,
    size: tuple[int, int],
    prompt: str,
    seed: int,
    family: str,
) -> jobs_pb2.JobRequest:
    """A placeholder's own request made to fit its strip, everything else as it says: the strip's length (the next
    8k+1 for LTX models, trimmed back on import) at the scene's rate, the strip's prompt, and the scene's size and
    `seed` only where the request leaves them unset."""
    rate = conventions.ShotFrames(model_frames(frames, family), float(fps))
    request = conventions.completed_request(kept, rate, width=size[0], height=size[1])
    shot = getattr(request, request.WhichOneof("kind"))
    shot.fps.CopyFrom(common_pb2.Rational(num=fps.numerator, den=fps.denominator))
    if not shot.seed:
        shot.seed = seed
    set_prompt(request, prompt)
    return request
