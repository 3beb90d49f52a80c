"""Domain records to proto messages and back."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from milimo.daemon.jobs.model import EventRecord, EventType, JobRecord, JobStatus
from milimo.daemon.records import AssetRecord, ProjectRecord, ShotRecord
from milimo.errors import InvalidArgument
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, projects_pb2

STATUS_TO_PROTO = {
    JobStatus.QUEUED: jobs_pb2.JOB_STATUS_QUEUED,
    JobStatus.RUNNING: jobs_pb2.JOB_STATUS_RUNNING,
    JobStatus.SUCCEEDED: jobs_pb2.JOB_STATUS_SUCCEEDED,
    JobStatus.FAILED: jobs_pb2.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: jobs_pb2.JOB_STATUS_CANCELLED,
    JobStatus.INTERRUPTED: jobs_pb2.JOB_STATUS_INTERRUPTED,
}
STATUS_FROM_PROTO = {value: key for key, value in STATUS_TO_PROTO.items()}
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
    )
