"""Domain records to proto messages and back."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from milimo.daemon.jobs.model import EventRecord, EventType, JobRecord, JobStatus
from milimo.daemon.records import (
    AssetRecord,
    Board,
    ElementKind,
    ElementRecord,
    ProjectRecord,
    SceneRecord,
    SceneShots,
    ShotRecord,
)
from milimo.errors import InvalidArgument
from milimo.storyboard.screenplay import DialogueLine, Setting
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, projects_pb2, storyboard_pb2

STATUS_TO_PROTO = {
    JobStatus.QUEUED: jobs_pb2.JOB_STATUS_QUEUED,
    JobStatus.RUNNING: jobs_pb2.JOB_STATUS_RUNNING,
    JobStatus.SUCCEEDED: jobs_pb2.JOB_STATUS_SUCCEEDED,
    JobStatus.FAILED: jobs_pb2.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: jobs_pb2.JOB_STATUS_CANCELLED,
    JobStatus.INTERRUPTED: jobs_pb2.JOB_STATUS_INTERRUPTED,
}
STATUS_FROM_PROTO = {value: key for key, value in STATUS_TO_PROTO.items()}
SETTING_TO_PROTO = {
    Setting.UNSPECIFIED: storyboard_pb2.SETTING_UNSPECIFIED,
    Setting.INTERIOR: storyboard_pb2.SETTING_INTERIOR,
    Setting.EXTERIOR: storyboard_pb2.SETTING_EXTERIOR,
    Setting.BOTH: storyboard_pb2.SETTING_BOTH,
}
SETTING_FROM_PROTO = {value: key for key, value in SETTING_TO_PROTO.items()}
ELEMENT_KIND_TO_PROTO = {
    ElementKind.CHARACTER: storyboard_pb2.ELEMENT_KIND_CHARACTER,
    ElementKind.PROP: storyboard_pb2.ELEMENT_KIND_PROP,
    ElementKind.LOCATION: storyboard_pb2.ELEMENT_KIND_LOCATION,
}
ELEMENT_KIND_FROM_PROTO = {value: key for key, value in ELEMENT_KIND_TO_PROTO.items()}
LOG_LEVELS = {
    "info": jobs_pb2.LogLine.LEVEL_INFO,
    "warning": jobs_pb2.LogLine.LEVEL_WARNING,
    "error": jobs_pb2.LogLine.LEVEL_ERROR,
}


def timestamp(us: int | None) -> Timestamp | None:
    if us is None:
        return None
    stamp = Timestamp()
    stamp.FromMicroseconds(us)
    return stamp


def rational(value: Fraction) -> common_pb2.Rational:
    return common_pb2.Rational(num=value.numerator, den=value.denominator)


def statuses_from_proto(values: list[int]) -> list[JobStatus]:
    try:
        return [STATUS_FROM_PROTO[value] for value in values]
    except KeyError as exc:
        raise InvalidArgument("statuses", f"unknown job status {exc.args[0]}") from exc


def job(record: JobRecord) -> jobs_pb2.Job:
    message = jobs_pb2.Job(
        id=record.id,
        status=STATUS_TO_PROTO[record.status],
        kind=record.kind,
        request=jobs_pb2.JobRequest.FromString(record.request),
        priority=record.priority,
        attempts=record.attempts,
        max_attempts=record.max_attempts,
        created_at=timestamp(record.created_us),
        started_at=timestamp(record.started_us),
        finished_at=timestamp(record.finished_us),
        progress=jobs_pb2.JobProgress(
            step=record.progress_step, total=record.progress_total, message=record.progress_message
        ),
        reason=record.reason,
        result_asset_ids=record.result_asset_ids,
        project_id=record.project_id or "",
        shot_id=record.shot_id or "",
        retry_of=record.retry_of or "",
        last_sequence=record.last_seq,
        cancel_requested=record.cancel_requested,
        labels=record.labels,
        client_request_id=record.client_request_id or "",
    )
    return message


def event(record: EventRecord) -> jobs_pb2.JobEvent:
    message = jobs_pb2.JobEvent(job_id=record.job_id, sequence=record.seq, time=timestamp(record.time_us))
    data = record.data
    if record.type == EventType.STATE:
        message.state.CopyFrom(
            jobs_pb2.StateChange(
                status=STATUS_TO_PROTO[JobStatus(data["status"])],
                reason=data.get("reason", ""),
                attempt=data.get("attempt", 0),
                result_asset_ids=data.get("result_asset_ids", []),
            )
        )
    elif record.type == EventType.PROGRESS:
        message.progress.CopyFrom(jobs_pb2.JobProgress(step=data["step"], total=data["total"], message=data["message"]))
    elif record.type == EventType.PREVIEW:
        message.preview.CopyFrom(jobs_pb2.Preview(jpeg=record.blob or b"", step=data.get("step", 0)))
    else:
        message.log.CopyFrom(jobs_pb2.LogLine(level=LOG_LEVELS.get(data.get("level", "info")), message=data["message"]))
    return message


def media_info(media: dict) -> media_pb2.MediaInfo | None:
    if not media:
        return None
    return media_pb2.MediaInfo(
        width=media.get("width", 0),
        height=media.get("height", 0),
        frames=media.get("frames", 0),
        fps=common_pb2.Rational(num=media.get("fps_num", 0), den=media.get("fps_den", 0)),
        has_audio=media.get("has_audio", False),
        video_codec=media.get("video_codec", ""),
    )


def asset(record: AssetRecord, local_path: Path) -> media_pb2.Asset:
    return media_pb2.Asset(
        id=record.id,
        sha256=record.sha256,
        size=record.size,
        mime_type=record.mime_type,
        filename=record.filename,
        project_id=record.project_id or "",
        job_id=record.job_id or "",
        created_at=timestamp(record.created_us),
        media=media_info(record.media),
        local_path=str(local_path),
        details_json=json.dumps(record.media, sort_keys=True, separators=(",", ":")),
    )


def project(record: ProjectRecord) -> projects_pb2.Project:
    return projects_pb2.Project(
        id=record.id,
        name=record.name,
        description=record.description,
        width=record.width,
        height=record.height,
        fps=rational(record.fps),
        created_at=timestamp(record.created_us),
        updated_at=timestamp(record.updated_us),
    )


def shot(record: ShotRecord) -> projects_pb2.Shot:
    return projects_pb2.Shot(
        id=record.id,
        project_id=record.project_id,
        position=record.position,
        name=record.name,
        description=record.description,
        duration_frames=record.duration_frames,
        asset_id=record.asset_id or "",
        metadata=record.metadata,
        created_at=timestamp(record.created_us),
        updated_at=timestamp(record.updated_us),
        scene_id=record.scene_id or "",
        action=record.action,
        dialogue=[dialogue_line(line) for line in record.dialogue],
        characters=record.characters,
    )


def dialogue_line(line: DialogueLine) -> projects_pb2.DialogueLine:
    return projects_pb2.DialogueLine(
        speaker=line.speaker, text=line.text, parenthetical=line.parenthetical, extension=line.extension, dual=line.dual
    )


def dialogue_from_proto(lines: list[projects_pb2.DialogueLine]) -> list[DialogueLine]:
    return [DialogueLine(line.speaker, line.text, line.parenthetical, line.extension, line.dual) for line in lines]


def setting_from_proto(value: int) -> Setting:
    if value not in SETTING_FROM_PROTO:
        raise InvalidArgument("scene.setting", f"unknown setting {value}")
    return SETTING_FROM_PROTO[value]


def element_kind_from_proto(value: int) -> ElementKind | None:
    """The kind, or None for ELEMENT_KIND_UNSPECIFIED (which the service refuses, naming the field)."""
    if value == storyboard_pb2.ELEMENT_KIND_UNSPECIFIED:
        return None
    if value not in ELEMENT_KIND_FROM_PROTO:
        raise InvalidArgument("element.kind", f"unknown kind {value}")
    return ELEMENT_KIND_FROM_PROTO[value]


def scene(record: SceneRecord) -> storyboard_pb2.Scene:
    return storyboard_pb2.Scene(
        id=record.id,
        project_id=record.project_id,
        position=record.position,
        heading=record.heading,
        setting=SETTING_TO_PROTO[record.setting],
        location=record.location,
        time_of_day=record.time_of_day,
        synopsis=record.synopsis,
        transition=record.transition,
        script_number=record.script_number,
        created_at=timestamp(record.created_us),
        updated_at=timestamp(record.updated_us),
    )


def scene_shots(record: SceneShots) -> storyboard_pb2.SceneShots:
    return storyboard_pb2.SceneShots(scene=scene(record.scene), shots=[shot(s) for s in record.shots])


def element(record: ElementRecord) -> storyboard_pb2.Element:
    return storyboard_pb2.Element(
        id=record.id,
        project_id=record.project_id,
        kind=ELEMENT_KIND_TO_PROTO[record.kind],
        name=record.name,
        trigger=record.trigger,
        description=record.description,
        reference_asset_ids=record.reference_asset_ids,
        created_at=timestamp(record.created_us),
        updated_at=timestamp(record.updated_us),
    )


def storyboard(board: Board, elements: list[ElementRecord]) -> storyboard_pb2.StoryboardView:
    return storyboard_pb2.StoryboardView(
        project=project(board.project),
        scenes=[scene_shots(s) for s in board.scenes],
        shots_without_scene=[shot(s) for s in board.loose_shots],
        elements=[element(e) for e in elements],
    )
