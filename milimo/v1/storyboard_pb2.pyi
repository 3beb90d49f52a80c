import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from milimo.v1 import jobs_pb2 as _jobs_pb2
from milimo.v1 import projects_pb2 as _projects_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Setting(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SETTING_UNSPECIFIED: _ClassVar[Setting]
    SETTING_INTERIOR: _ClassVar[Setting]
    SETTING_EXTERIOR: _ClassVar[Setting]
    SETTING_BOTH: _ClassVar[Setting]

class ElementKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELEMENT_KIND_UNSPECIFIED: _ClassVar[ElementKind]
    ELEMENT_KIND_CHARACTER: _ClassVar[ElementKind]
    ELEMENT_KIND_PROP: _ClassVar[ElementKind]
    ELEMENT_KIND_LOCATION: _ClassVar[ElementKind]
SETTING_UNSPECIFIED: Setting
SETTING_INTERIOR: Setting
SETTING_EXTERIOR: Setting
SETTING_BOTH: Setting
ELEMENT_KIND_UNSPECIFIED: ElementKind
ELEMENT_KIND_CHARACTER: ElementKind
ELEMENT_KIND_PROP: ElementKind
ELEMENT_KIND_LOCATION: ElementKind

class Scene(_message.Message):
    __slots__ = ("id", "project_id", "position", "heading", "setting", "location", "time_of_day", "synopsis", "transition", "script_number", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    HEADING_FIELD_NUMBER: _ClassVar[int]
    SETTING_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    TIME_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    SYNOPSIS_FIELD_NUMBER: _ClassVar[int]
    TRANSITION_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    project_id: str
    position: int
    heading: str
    setting: Setting
    location: str
    time_of_day: str
    synopsis: str
    transition: str
    script_number: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., project_id: _Optional[str] = ..., position: _Optional[int] = ..., heading: _Optional[str] = ..., setting: _Optional[_Union[Setting, str]] = ..., location: _Optional[str] = ..., time_of_day: _Optional[str] = ..., synopsis: _Optional[str] = ..., transition: _Optional[str] = ..., script_number: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SceneShots(_message.Message):
    __slots__ = ("scene", "shots")
    SCENE_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    scene: Scene
    shots: _containers.RepeatedCompositeFieldContainer[_projects_pb2.Shot]
    def __init__(self, scene: _Optional[_Union[Scene, _Mapping]] = ..., shots: _Optional[_Iterable[_Union[_projects_pb2.Shot, _Mapping]]] = ...) -> None: ...

class StoryboardView(_message.Message):
    __slots__ = ("project", "scenes", "shots_without_scene", "elements")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SCENES_FIELD_NUMBER: _ClassVar[int]
    SHOTS_WITHOUT_SCENE_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    project: _projects_pb2.Project
    scenes: _containers.RepeatedCompositeFieldContainer[SceneShots]
    shots_without_scene: _containers.RepeatedCompositeFieldContainer[_projects_pb2.Shot]
    elements: _containers.RepeatedCompositeFieldContainer[Element]
    def __init__(self, project: _Optional[_Union[_projects_pb2.Project, _Mapping]] = ..., scenes: _Optional[_Iterable[_Union[SceneShots, _Mapping]]] = ..., shots_without_scene: _Optional[_Iterable[_Union[_projects_pb2.Shot, _Mapping]]] = ..., elements: _Optional[_Iterable[_Union[Element, _Mapping]]] = ...) -> None: ...

class Element(_message.Message):
    __slots__ = ("id", "project_id", "kind", "name", "trigger", "description", "reference_asset_ids", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ASSET_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    project_id: str
    kind: ElementKind
    name: str
    trigger: str
    description: str
    reference_asset_ids: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., project_id: _Optional[str] = ..., kind: _Optional[_Union[ElementKind, str]] = ..., name: _Optional[str] = ..., trigger: _Optional[str] = ..., description: _Optional[str] = ..., reference_asset_ids: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStoryboardRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class CreateSceneRequest(_message.Message):
    __slots__ = ("scene",)
    SCENE_FIELD_NUMBER: _ClassVar[int]
    scene: Scene
    def __init__(self, scene: _Optional[_Union[Scene, _Mapping]] = ...) -> None: ...

class UpdateSceneRequest(_message.Message):
    __slots__ = ("scene", "update_mask")
    SCENE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    scene: Scene
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, scene: _Optional[_Union[Scene, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteSceneRequest(_message.Message):
    __slots__ = ("scene_id",)
    SCENE_ID_FIELD_NUMBER: _ClassVar[int]
    scene_id: str
    def __init__(self, scene_id: _Optional[str] = ...) -> None: ...

class ReorderScenesRequest(_message.Message):
    __slots__ = ("project_id", "scene_ids")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENE_IDS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    scene_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, project_id: _Optional[str] = ..., scene_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ReorderShotsRequest(_message.Message):
    __slots__ = ("scene_id", "shot_ids")
    SCENE_ID_FIELD_NUMBER: _ClassVar[int]
    SHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    scene_id: str
    shot_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, scene_id: _Optional[str] = ..., shot_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MoveShotRequest(_message.Message):
    __slots__ = ("shot_id", "scene_id", "index")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENE_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    scene_id: str
    index: int
    def __init__(self, shot_id: _Optional[str] = ..., scene_id: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class SplitStoryboardShotRequest(_message.Message):
    __slots__ = ("shot_id", "action_offset", "dialogue_index")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_OFFSET_FIELD_NUMBER: _ClassVar[int]
    DIALOGUE_INDEX_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    action_offset: int
    dialogue_index: int
    def __init__(self, shot_id: _Optional[str] = ..., action_offset: _Optional[int] = ..., dialogue_index: _Optional[int] = ...) -> None: ...

class SplitStoryboardShotResponse(_message.Message):
    __slots__ = ("first", "second")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    SECOND_FIELD_NUMBER: _ClassVar[int]
    first: _projects_pb2.Shot
    second: _projects_pb2.Shot
    def __init__(self, first: _Optional[_Union[_projects_pb2.Shot, _Mapping]] = ..., second: _Optional[_Union[_projects_pb2.Shot, _Mapping]] = ...) -> None: ...

class CreateElementRequest(_message.Message):
    __slots__ = ("element",)
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    element: Element
    def __init__(self, element: _Optional[_Union[Element, _Mapping]] = ...) -> None: ...

class GetElementRequest(_message.Message):
    __slots__ = ("element_id",)
    ELEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    element_id: str
    def __init__(self, element_id: _Optional[str] = ...) -> None: ...

class ListElementsRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class ListElementsResponse(_message.Message):
    __slots__ = ("elements",)
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    elements: _containers.RepeatedCompositeFieldContainer[Element]
    def __init__(self, elements: _Optional[_Iterable[_Union[Element, _Mapping]]] = ...) -> None: ...

class UpdateElementRequest(_message.Message):
    __slots__ = ("element", "update_mask")
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    element: Element
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, element: _Optional[_Union[Element, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteElementRequest(_message.Message):
    __slots__ = ("element_id",)
    ELEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    element_id: str
    def __init__(self, element_id: _Optional[str] = ...) -> None: ...

class MatchElementsRequest(_message.Message):
    __slots__ = ("project_id", "shot_ids")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    shot_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, project_id: _Optional[str] = ..., shot_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MatchSignal(_message.Message):
    __slots__ = ("signal", "weight", "evidence")
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    signal: str
    weight: float
    evidence: str
    def __init__(self, signal: _Optional[str] = ..., weight: _Optional[float] = ..., evidence: _Optional[str] = ...) -> None: ...

class ElementMatch(_message.Message):
    __slots__ = ("element_id", "element_name", "score", "signals")
    ELEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    element_id: str
    element_name: str
    score: float
    signals: _containers.RepeatedCompositeFieldContainer[MatchSignal]
    def __init__(self, element_id: _Optional[str] = ..., element_name: _Optional[str] = ..., score: _Optional[float] = ..., signals: _Optional[_Iterable[_Union[MatchSignal, _Mapping]]] = ...) -> None: ...

class ShotMatches(_message.Message):
    __slots__ = ("shot_id", "matches")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    matches: _containers.RepeatedCompositeFieldContainer[ElementMatch]
    def __init__(self, shot_id: _Optional[str] = ..., matches: _Optional[_Iterable[_Union[ElementMatch, _Mapping]]] = ...) -> None: ...

class MatchElementsResponse(_message.Message):
    __slots__ = ("shots",)
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    shots: _containers.RepeatedCompositeFieldContainer[ShotMatches]
    def __init__(self, shots: _Optional[_Iterable[_Union[ShotMatches, _Mapping]]] = ...) -> None: ...

class VisualizeElementRequest(_message.Message):
    __slots__ = ("element_id", "image", "priority")
    ELEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    element_id: str
    image: _jobs_pb2.ImageRequest
    priority: int
    def __init__(self, element_id: _Optional[str] = ..., image: _Optional[_Union[_jobs_pb2.ImageRequest, _Mapping]] = ..., priority: _Optional[int] = ...) -> None: ...

class GenerateShotsRequest(_message.Message):
    __slots__ = ("project_id", "shot_ids", "template", "priority", "only_missing")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ONLY_MISSING_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    shot_ids: _containers.RepeatedScalarFieldContainer[str]
    template: _jobs_pb2.JobRequest
    priority: int
    only_missing: bool
    def __init__(self, project_id: _Optional[str] = ..., shot_ids: _Optional[_Iterable[str]] = ..., template: _Optional[_Union[_jobs_pb2.JobRequest, _Mapping]] = ..., priority: _Optional[int] = ..., only_missing: _Optional[bool] = ...) -> None: ...

class GenerateShotsResponse(_message.Message):
    __slots__ = ("batch_id", "jobs")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    jobs: _containers.RepeatedCompositeFieldContainer[_jobs_pb2.Job]
    def __init__(self, batch_id: _Optional[str] = ..., jobs: _Optional[_Iterable[_Union[_jobs_pb2.Job, _Mapping]]] = ...) -> None: ...

class GetShotThumbnailRequest(_message.Message):
    __slots__ = ("shot_id", "max_pixels")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    max_pixels: int
    def __init__(self, shot_id: _Optional[str] = ..., max_pixels: _Optional[int] = ...) -> None: ...

class ShotThumbnail(_message.Message):
    __slots__ = ("shot_id", "asset_id", "jpeg", "width", "height")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    JPEG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    asset_id: str
    jpeg: bytes
    width: int
    height: int
    def __init__(self, shot_id: _Optional[str] = ..., asset_id: _Optional[str] = ..., jpeg: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...
