"""The `video` job kind: a shot from a configured LTX model, through the arbiter, encoded once."""

from __future__ import annotations

from fractions import Fraction

from milimo.media.ops import DEFAULT_AUDIO_RATE, encode_frames
from milimo.models.families import family
from milimo.models.requests import VideoRequest
from milimo.tasks.context import TaskContext
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.v1 import jobs_pb2

DEFAULT_STEPS, DEFAULT_GUIDANCE = 30, 3.0


def run(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    v = request.video
    shot = VideoRequest(
        prompt=v.prompt,
        negative_prompt=v.negative_prompt,
        width=v.width,
        height=v.height,
        frames=v.frames,
        fps=Fraction(v.fps.num, v.fps.den or 1),
        steps=v.steps or DEFAULT_STEPS,
        guidance=v.guidance or DEFAULT_GUIDANCE,
        seed=v.seed,
    )
    config = resources.models[v.model]
    with resources.arbiter.acquire(v.model) as model:
        result = family(config.family).generate(model, shot, ctx)
    ctx.raise_if_cancelled()
    out = ctx.scratch_dir / "shot.mp4"
    info = encode_frames(
        result.frames,
        out,
        result.fps,
        audio=result.audio,
        audio_sample_rate=result.audio_sample_rate or DEFAULT_AUDIO_RATE,
    )
    media = {
        "width": info.width,
        "height": info.height,
        "frames": info.frames,
        "fps_num": info.fps.numerator,
        "fps_den": info.fps.denominator,
        "has_audio": info.has_audio,
        "video_codec": info.video_codec,
        "model": v.model,
        "seed": v.seed,
    }
    return [TaskOutput(path=out, mime_type="video/mp4", media=media)]
