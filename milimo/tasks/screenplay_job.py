"""The `screenplay` job kind: a script (Fountain, Final Draft, free-form text, or any of them through an LLM) read
into scenes and shots. The result is the parsed screenplay as JSON; the daemon reads it into the project's
storyboard in the transaction that records the job's success (see `milimo.daemon.jobs.effects`).
"""

from __future__ import annotations

from pathlib import Path

from milimo.errors import InvalidArgument
from milimo.storyboard.parse import MAX_SCRIPT_BYTES, detect_format, parse_screenplay
from milimo.storyboard.serialize import MIME_TYPE, screenplay_to_json
from milimo.tasks.context import TaskContext
from milimo.tasks.prompting import enhancer
from milimo.tasks.registry import TaskOutput
from milimo.tasks.resources import WorkerResources
from milimo.v1 import jobs_pb2


def run(request: jobs_pb2.JobRequest, ctx: TaskContext, resources: WorkerResources) -> list[TaskOutput]:
    r = request.screenplay
    script = ctx.input(r.asset_id)
    if script.path.stat().st_size > MAX_SCRIPT_BYTES:
        raise InvalidArgument("screenplay.asset_id", f"is more than the {MAX_SCRIPT_BYTES:,} bytes a script may be")
    data = script.path.read_bytes()
    # The media store keeps bytes under their hash, so the format is told by the uploaded file's name.
    parser = r.parser if r.parser not in ("", "auto") else detect_format(data, Path(script.filename).suffix)
    ctx.progress(0, 1, f"reading {script.filename} ({parser})")
    backend = enhancer(resources) if parser == "llm" else None
    screenplay = parse_screenplay(
        data,
        parser,
        backend=backend,
        llm_timeout_s=resources.settings.enhance_timeout_s,
        on_fallback=lambda warning: ctx.log(f"warning: {warning}"),
    )
    if not screenplay.shot_count:
        raise InvalidArgument("screenplay.asset_id", f"{script.filename!r} has no scenes or shots to board")
    ctx.raise_if_cancelled()
    out = ctx.scratch_dir / "screenplay.json"
    partial = out.with_name(".screenplay.json.partial")
    partial.write_bytes(screenplay_to_json(screenplay))
    partial.replace(out)
    summary = (
        f"{len(screenplay.scenes)} scenes, {screenplay.shot_count} shots, {screenplay.duration_s:.0f} s "
        f"({screenplay.parser} parser)"
    )
    ctx.log(summary)
    ctx.progress(1, 1, summary)
    media = {
        "title": screenplay.title,
        "parser": screenplay.parser,
        "scenes": len(screenplay.scenes),
        "shots": screenplay.shot_count,
        "duration_s": screenplay.duration_s,
        "source_asset_id": script.asset_id,
        "warnings": list(screenplay.warnings),
    }
    return [TaskOutput(path=out, mime_type=MIME_TYPE, media=media)]
