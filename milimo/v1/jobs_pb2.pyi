import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from milimo.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_SUCCEEDED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
    JOB_STATUS_INTERRUPTED: _ClassVar[JobStatus]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_INTERRUPTED: JobStatus

class JobRequest(_message.Message):
    __slots__ = ("animatic", "video")
    ANIMATIC_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    animatic: AnimaticRequest
    video: VideoShotRequest
    def __init__(self, animatic: _Optional[_Union[AnimaticRequest, _Mapping]] = ..., video: _Optional[_Union[VideoShotRequest, _Mapping]] = ...) -> None: ...

class VideoShotRequest(_message.Message):
    __slots__ = ("model", "prompt", "negative_prompt", "width", "height", "frames", "fps", "steps", "guidance", "seed")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    model: str
    prompt: str
    negative_prompt: str
    width: int
    height: int
    frames: int
    fps: _common_pb2.Rational
    steps: int
    guidance: float
    seed: int
    def __init__(self, model: _Optional[str] = ..., prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., frames: _Optional[int] = ..., fps: _Optional[_Union[_common_pb2.Rational, _Mapping]] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class AnimaticRequest(_message.Message):
    __slots__ = ("width", "height", "frames", "fps", "scene_heading", "description", "characters", "scene_number", "shot_number", "start_frame", "seed")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    SCENE_HEADING_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    SCENE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SHOT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    START_FRAME_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    frames: int
    fps: _common_pb2.Rational
    scene_heading: str
    description: str
    characters: _containers.RepeatedScalarFieldContainer[str]
    scene_number: int
    shot_number: int
    start_frame: int
    seed: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., frames: _Optional[int] = ..., fps: _Optional[_Union[_common_pb2.Rational, _Mapping]] = ..., scene_heading: _Optional[str] = ..., description: _Optional[str] = ..., characters: _Optional[_Iterable[str]] = ..., scene_number: _Optional[int] = ..., shot_number: _Optional[int] = ..., start_frame: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("request", "priority", "project_id", "shot_id", "client_request_id", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    request: JobRequest
    priority: int
    project_id: str
    shot_id: str
    client_request_id: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, request: _Optional[_Union[JobRequest, _Mapping]] = ..., priority: _Optional[int] = ..., project_id: _Optional[str] = ..., shot_id: _Optional[str] = ..., client_request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SubmitBatchRequest(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[SubmitJobRequest]
    def __init__(self, jobs: _Optional[_Iterable[_Union[SubmitJobRequest, _Mapping]]] = ...) -> None: ...

class SubmitBatchResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ("step", "total", "message")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    step: int
    total: int
    message: str
    def __init__(self, step: _Optional[int] = ..., total: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "status", "kind", "request", "priority", "attempts", "max_attempts", "created_at", "started_at", "finished_at", "progress", "reason", "result_asset_ids", "project_id", "shot_id", "retry_of", "last_sequence", "cancel_requested", "labels", "client_request_id")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_ASSET_IDS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: JobStatus
    kind: str
    request: JobRequest
    priority: int
    attempts: int
    max_attempts: int
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    progress: JobProgress
    reason: str
    result_asset_ids: _containers.RepeatedScalarFieldContainer[str]
    project_id: str
    shot_id: str
    retry_of: str
    last_sequence: int
    cancel_requested: bool
    labels: _containers.ScalarMap[str, str]
    client_request_id: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., kind: _Optional[str] = ..., request: _Optional[_Union[JobRequest, _Mapping]] = ..., priority: _Optional[int] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., reason: _Optional[str] = ..., result_asset_ids: _Optional[_Iterable[str]] = ..., project_id: _Optional[str] = ..., shot_id: _Optional[str] = ..., retry_of: _Optional[str] = ..., last_sequence: _Optional[int] = ..., cancel_requested: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., client_request_id: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("statuses", "kind", "project_id", "page")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[JobStatus]
    kind: str
    project_id: str
    page: _common_pb2.PageRequest
    def __init__(self, statuses: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., kind: _Optional[str] = ..., project_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "after_sequence")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    after_sequence: int
    def __init__(self, job_id: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ("status", "reason", "attempt", "result_asset_ids")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RESULT_ASSET_IDS_FIELD_NUMBER: _ClassVar[int]
    status: JobStatus
    reason: str
    attempt: int
    result_asset_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[_Union[JobStatus, str]] = ..., reason: _Optional[str] = ..., attempt: _Optional[int] = ..., result_asset_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Preview(_message.Message):
    __slots__ = ("jpeg", "step")
    JPEG_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    jpeg: bytes
    step: int
    def __init__(self, jpeg: _Optional[bytes] = ..., step: _Optional[int] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("level", "message")
    class Level(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LEVEL_UNSPECIFIED: _ClassVar[LogLine.Level]
        LEVEL_INFO: _ClassVar[LogLine.Level]
        LEVEL_WARNING: _ClassVar[LogLine.Level]
        LEVEL_ERROR: _ClassVar[LogLine.Level]
    LEVEL_UNSPECIFIED: LogLine.Level
    LEVEL_INFO: LogLine.Level
    LEVEL_WARNING: LogLine.Level
    LEVEL_ERROR: LogLine.Level
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    level: LogLine.Level
    message: str
    def __init__(self, level: _Optional[_Union[LogLine.Level, str]] = ..., message: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "sequence", "time", "state", "progress", "preview", "log")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    sequence: int
    time: _timestamp_pb2.Timestamp
    state: StateChange
    progress: JobProgress
    preview: Preview
    log: LogLine
    def __init__(self, job_id: _Optional[str] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[StateChange, _Mapping]] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., preview: _Optional[_Union[Preview, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class PauseQueueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeQueueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueueState(_message.Message):
    __slots__ = ("paused", "queued", "running")
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    paused: bool
    queued: int
    running: int
    def __init__(self, paused: _Optional[bool] = ..., queued: _Optional[int] = ..., running: _Optional[int] = ...) -> None: ...
