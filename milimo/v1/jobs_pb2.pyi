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
    __slots__ = ("animatic", "video", "image", "inpaint", "last_frame", "split_shot", "render_cut", "screenplay")
    ANIMATIC_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    INPAINT_FIELD_NUMBER: _ClassVar[int]
    LAST_FRAME_FIELD_NUMBER: _ClassVar[int]
    SPLIT_SHOT_FIELD_NUMBER: _ClassVar[int]
    RENDER_CUT_FIELD_NUMBER: _ClassVar[int]
    SCREENPLAY_FIELD_NUMBER: _ClassVar[int]
    animatic: AnimaticRequest
    video: VideoShotRequest
    image: ImageRequest
    inpaint: InpaintRequest
    last_frame: LastFrameRequest
    split_shot: SplitShotRequest
    render_cut: RenderCutRequest
    screenplay: ScreenplayRequest
    def __init__(self, animatic: _Optional[_Union[AnimaticRequest, _Mapping]] = ..., video: _Optional[_Union[VideoShotRequest, _Mapping]] = ..., image: _Optional[_Union[ImageRequest, _Mapping]] = ..., inpaint: _Optional[_Union[InpaintRequest, _Mapping]] = ..., last_frame: _Optional[_Union[LastFrameRequest, _Mapping]] = ..., split_shot: _Optional[_Union[SplitShotRequest, _Mapping]] = ..., render_cut: _Optional[_Union[RenderCutRequest, _Mapping]] = ..., screenplay: _Optional[_Union[ScreenplayRequest, _Mapping]] = ...) -> None: ...

class LoraRef(_message.Message):
    __slots__ = ("asset_id", "weight")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    weight: float
    def __init__(self, asset_id: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class Conditioning(_message.Message):
    __slots__ = ("asset_id", "frame_index", "strength", "source_start_frame", "source_frames")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_INDEX_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_START_FRAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FRAMES_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    frame_index: int
    strength: float
    source_start_frame: int
    source_frames: int
    def __init__(self, asset_id: _Optional[str] = ..., frame_index: _Optional[int] = ..., strength: _Optional[float] = ..., source_start_frame: _Optional[int] = ..., source_frames: _Optional[int] = ...) -> None: ...

class ChainOptions(_message.Message):
    __slots__ = ("chunk_frames", "overlap_frames", "chunk_prompts", "continue_story")
    CHUNK_FRAMES_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FRAMES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_PROMPTS_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_STORY_FIELD_NUMBER: _ClassVar[int]
    chunk_frames: int
    overlap_frames: int
    chunk_prompts: _containers.RepeatedScalarFieldContainer[str]
    continue_story: bool
    def __init__(self, chunk_frames: _Optional[int] = ..., overlap_frames: _Optional[int] = ..., chunk_prompts: _Optional[_Iterable[str]] = ..., continue_story: _Optional[bool] = ...) -> None: ...

class VideoShotRequest(_message.Message):
    __slots__ = ("model", "prompt", "negative_prompt", "width", "height", "frames", "fps", "steps", "guidance", "seed", "loras", "conditions", "control_asset_id", "control_strength", "enhance_prompt", "upscale", "chain")
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
    LORAS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    CONTROL_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    ENHANCE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    UPSCALE_FIELD_NUMBER: _ClassVar[int]
    CHAIN_FIELD_NUMBER: _ClassVar[int]
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
    loras: _containers.RepeatedCompositeFieldContainer[LoraRef]
    conditions: _containers.RepeatedCompositeFieldContainer[Conditioning]
    control_asset_id: str
    control_strength: float
    enhance_prompt: bool
    upscale: bool
    chain: ChainOptions
    def __init__(self, model: _Optional[str] = ..., prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., frames: _Optional[int] = ..., fps: _Optional[_Union[_common_pb2.Rational, _Mapping]] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., seed: _Optional[int] = ..., loras: _Optional[_Iterable[_Union[LoraRef, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[Conditioning, _Mapping]]] = ..., control_asset_id: _Optional[str] = ..., control_strength: _Optional[float] = ..., enhance_prompt: _Optional[bool] = ..., upscale: _Optional[bool] = ..., chain: _Optional[_Union[ChainOptions, _Mapping]] = ...) -> None: ...

class ImageRequest(_message.Message):
    __slots__ = ("model", "prompt", "negative_prompt", "width", "height", "steps", "guidance", "true_cfg", "seed", "reference_asset_ids", "init_asset_id", "strength", "loras", "enhance_prompt")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    TRUE_CFG_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ASSET_IDS_FIELD_NUMBER: _ClassVar[int]
    INIT_ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    LORAS_FIELD_NUMBER: _ClassVar[int]
    ENHANCE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    model: str
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    true_cfg: float
    seed: int
    reference_asset_ids: _containers.RepeatedScalarFieldContainer[str]
    init_asset_id: str
    strength: float
    loras: _containers.RepeatedCompositeFieldContainer[LoraRef]
    enhance_prompt: bool
    def __init__(self, model: _Optional[str] = ..., prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., true_cfg: _Optional[float] = ..., seed: _Optional[int] = ..., reference_asset_ids: _Optional[_Iterable[str]] = ..., init_asset_id: _Optional[str] = ..., strength: _Optional[float] = ..., loras: _Optional[_Iterable[_Union[LoraRef, _Mapping]]] = ..., enhance_prompt: _Optional[bool] = ...) -> None: ...

class PointPrompt(_message.Message):
    __slots__ = ("x", "y", "label")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    label: int
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., label: _Optional[int] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("x0", "y0", "x1", "y1")
    X0_FIELD_NUMBER: _ClassVar[int]
    Y0_FIELD_NUMBER: _ClassVar[int]
    X1_FIELD_NUMBER: _ClassVar[int]
    Y1_FIELD_NUMBER: _ClassVar[int]
    x0: float
    y0: float
    x1: float
    y1: float
    def __init__(self, x0: _Optional[float] = ..., y0: _Optional[float] = ..., x1: _Optional[float] = ..., y1: _Optional[float] = ...) -> None: ...

class SegmentationPrompt(_message.Message):
    __slots__ = ("model", "points", "box", "text")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    model: str
    points: _containers.RepeatedCompositeFieldContainer[PointPrompt]
    box: Box
    text: str
    def __init__(self, model: _Optional[str] = ..., points: _Optional[_Iterable[_Union[PointPrompt, _Mapping]]] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class InpaintRequest(_message.Message):
    __slots__ = ("model", "asset_id", "prompt", "mask_asset_id", "segment", "track_asset_id", "segment_frame", "object_ids", "grow_pixels", "steps", "guidance", "seed", "strength", "loras")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MASK_ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    TRACK_ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FRAME_FIELD_NUMBER: _ClassVar[int]
    OBJECT_IDS_FIELD_NUMBER: _ClassVar[int]
    GROW_PIXELS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    LORAS_FIELD_NUMBER: _ClassVar[int]
    model: str
    asset_id: str
    prompt: str
    mask_asset_id: str
    segment: SegmentationPrompt
    track_asset_id: str
    segment_frame: int
    object_ids: _containers.RepeatedScalarFieldContainer[int]
    grow_pixels: int
    steps: int
    guidance: float
    seed: int
    strength: float
    loras: _containers.RepeatedCompositeFieldContainer[LoraRef]
    def __init__(self, model: _Optional[str] = ..., asset_id: _Optional[str] = ..., prompt: _Optional[str] = ..., mask_asset_id: _Optional[str] = ..., segment: _Optional[_Union[SegmentationPrompt, _Mapping]] = ..., track_asset_id: _Optional[str] = ..., segment_frame: _Optional[int] = ..., object_ids: _Optional[_Iterable[int]] = ..., grow_pixels: _Optional[int] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., seed: _Optional[int] = ..., strength: _Optional[float] = ..., loras: _Optional[_Iterable[_Union[LoraRef, _Mapping]]] = ...) -> None: ...

class LastFrameRequest(_message.Message):
    __slots__ = ("asset_id", "frames_from_end")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FROM_END_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    frames_from_end: int
    def __init__(self, asset_id: _Optional[str] = ..., frames_from_end: _Optional[int] = ...) -> None: ...

class SplitShotRequest(_message.Message):
    __slots__ = ("asset_id", "frame")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    frame: int
    def __init__(self, asset_id: _Optional[str] = ..., frame: _Optional[int] = ...) -> None: ...

class RenderCutRequest(_message.Message):
    __slots__ = ("project_id", "include_missing")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_MISSING_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    include_missing: bool
    def __init__(self, project_id: _Optional[str] = ..., include_missing: _Optional[bool] = ...) -> None: ...

class ScreenplayRequest(_message.Message):
    __slots__ = ("project_id", "asset_id", "parser", "replace", "create_elements")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    PARSER_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    CREATE_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    asset_id: str
    parser: str
    replace: bool
    create_elements: bool
    def __init__(self, project_id: _Optional[str] = ..., asset_id: _Optional[str] = ..., parser: _Optional[str] = ..., replace: _Optional[bool] = ..., create_elements: _Optional[bool] = ...) -> None: ...

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

class WatchManyRequest(_message.Message):
    __slots__ = ("job_ids", "previews")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    PREVIEWS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    previews: bool
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., previews: _Optional[bool] = ...) -> None: ...

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
