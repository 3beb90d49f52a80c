"""The `animatic` job kind: turns an AnimaticRequest into a rendered card clip."""

from __future__ import annotations

from fractions import Fraction

from milimo.tasks.animatic import AnimaticSpec, render_animatic
from milimo.tasks.context import TaskContext
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.v1 import jobs_pb2


def run(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    a = request.animatic
    spec = AnimaticSpec(
        width=a.width,
        height=a.height,
        frames=a.frames,
        fps=Fraction(a.fps.num, a.fps.den or 1),
        scene_heading=a.scene_heading,
        description=a.description,
        characters=tuple(a.characters),
        scene_number=a.scene_number,
        shot_number=a.shot_number,
        start_frame=a.start_frame,
        seed=a.seed,
    )
    out = ctx.scratch_dir / "animatic.mp4"
    info = render_animatic(spec, out, ctx)
    media = info.as_media()
    return [TaskOutput(path=out, mime_type="video/mp4", media=media)]
