from milimo.v1 import jobs_pb2 as _jobs_pb2
from milimo.v1 import media_pb2 as _media_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageSource(_message.Message):
    __slots__ = ("asset_id", "frame_index")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_INDEX_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    frame_index: int
    def __init__(self, asset_id: _Optional[str] = ..., frame_index: _Optional[int] = ...) -> None: ...

class SegmentRequest(_message.Message):
    __slots__ = ("model", "image", "points", "box", "text")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    model: str
    image: ImageSource
    points: _containers.RepeatedCompositeFieldContainer[_jobs_pb2.PointPrompt]
    box: _jobs_pb2.Box
    text: str
    def __init__(self, model: _Optional[str] = ..., image: _Optional[_Union[ImageSource, _Mapping]] = ..., points: _Optional[_Iterable[_Union[_jobs_pb2.PointPrompt, _Mapping]]] = ..., box: _Optional[_Union[_jobs_pb2.Box, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("model", "image", "text", "threshold")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    model: str
    image: ImageSource
    text: str
    threshold: float
    def __init__(self, model: _Optional[str] = ..., image: _Optional[_Union[ImageSource, _Mapping]] = ..., text: _Optional[str] = ..., threshold: _Optional[float] = ...) -> None: ...

class ObjectMask(_message.Message):
    __slots__ = ("object_id", "png", "box", "score")
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    object_id: int
    png: bytes
    box: _jobs_pb2.Box
    score: float
    def __init__(self, object_id: _Optional[int] = ..., png: _Optional[bytes] = ..., box: _Optional[_Union[_jobs_pb2.Box, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class SegmentResponse(_message.Message):
    __slots__ = ("masks", "width", "height")
    MASKS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    masks: _containers.RepeatedCompositeFieldContainer[ObjectMask]
    width: int
    height: int
    def __init__(self, masks: _Optional[_Iterable[_Union[ObjectMask, _Mapping]]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class StartTrackingRequest(_message.Message):
    __slots__ = ("model", "asset_id", "idle_timeout_s")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    model: str
    asset_id: str
    idle_timeout_s: int
    def __init__(self, model: _Optional[str] = ..., asset_id: _Optional[str] = ..., idle_timeout_s: _Optional[int] = ...) -> None: ...

class TrackingSession(_message.Message):
    __slots__ = ("id", "model", "asset_id", "frames", "width", "height", "object_ids", "propagated")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPAGATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    model: str
    asset_id: str
    frames: int
    width: int
    height: int
    object_ids: _containers.RepeatedScalarFieldContainer[int]
    propagated: bool
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., asset_id: _Optional[str] = ..., frames: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., object_ids: _Optional[_Iterable[int]] = ..., propagated: _Optional[bool] = ...) -> None: ...

class AddTrackingPromptRequest(_message.Message):
    __slots__ = ("session_id", "frame_index", "object_id", "points", "box", "text")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_INDEX_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    frame_index: int
    object_id: int
    points: _containers.RepeatedCompositeFieldContainer[_jobs_pb2.PointPrompt]
    box: _jobs_pb2.Box
    text: str
    def __init__(self, session_id: _Optional[str] = ..., frame_index: _Optional[int] = ..., object_id: _Optional[int] = ..., points: _Optional[_Iterable[_Union[_jobs_pb2.PointPrompt, _Mapping]]] = ..., box: _Optional[_Union[_jobs_pb2.Box, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class PropagateRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class FrameMasks(_message.Message):
    __slots__ = ("frame_index", "objects")
    FRAME_INDEX_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    frame_index: int
    objects: _containers.RepeatedCompositeFieldContainer[ObjectMask]
    def __init__(self, frame_index: _Optional[int] = ..., objects: _Optional[_Iterable[_Union[ObjectMask, _Mapping]]] = ...) -> None: ...

class PropagateEvent(_message.Message):
    __slots__ = ("done", "total", "masks")
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MASKS_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    masks: FrameMasks
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ..., masks: _Optional[_Union[FrameMasks, _Mapping]] = ...) -> None: ...

class RemoveTrackedObjectRequest(_message.Message):
    __slots__ = ("session_id", "object_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    object_id: int
    def __init__(self, session_id: _Optional[str] = ..., object_id: _Optional[int] = ...) -> None: ...

class SaveTrackRequest(_message.Message):
    __slots__ = ("session_id", "project_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    project_id: str
    def __init__(self, session_id: _Optional[str] = ..., project_id: _Optional[str] = ...) -> None: ...

class ReadTrackRequest(_message.Message):
    __slots__ = ("asset_id",)
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    asset_id: str
    def __init__(self, asset_id: _Optional[str] = ...) -> None: ...

class TrackHeader(_message.Message):
    __slots__ = ("source_asset_id", "frames", "width", "height", "object_ids", "model")
    SOURCE_ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    source_asset_id: str
    frames: int
    width: int
    height: int
    object_ids: _containers.RepeatedScalarFieldContainer[int]
    model: str
    def __init__(self, source_asset_id: _Optional[str] = ..., frames: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., object_ids: _Optional[_Iterable[int]] = ..., model: _Optional[str] = ...) -> None: ...

class ReadTrackResponse(_message.Message):
    __slots__ = ("header", "masks")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    MASKS_FIELD_NUMBER: _ClassVar[int]
    header: TrackHeader
    masks: FrameMasks
    def __init__(self, header: _Optional[_Union[TrackHeader, _Mapping]] = ..., masks: _Optional[_Union[FrameMasks, _Mapping]] = ...) -> None: ...

class ExportMatteRequest(_message.Message):
    __slots__ = ("track_asset_id", "object_ids", "project_id")
    TRACK_ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_IDS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    track_asset_id: str
    object_ids: _containers.RepeatedScalarFieldContainer[int]
    project_id: str
    def __init__(self, track_asset_id: _Optional[str] = ..., object_ids: _Optional[_Iterable[int]] = ..., project_id: _Optional[str] = ...) -> None: ...

class StopTrackingRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class StopTrackingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
