from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_MISSING: _ClassVar[ModelState]
    MODEL_STATE_ON_DISK: _ClassVar[ModelState]
    MODEL_STATE_IN_RAM: _ClassVar[ModelState]
    MODEL_STATE_ON_ACCELERATOR: _ClassVar[ModelState]
    MODEL_STATE_BUILTIN: _ClassVar[ModelState]
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_MISSING: ModelState
MODEL_STATE_ON_DISK: ModelState
MODEL_STATE_IN_RAM: ModelState
MODEL_STATE_ON_ACCELERATOR: ModelState
MODEL_STATE_BUILTIN: ModelState

class Model(_message.Message):
    __slots__ = ("name", "family", "path", "dtype", "device", "state", "detail", "job_kinds")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    JOB_KINDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    family: str
    path: str
    dtype: str
    device: str
    state: ModelState
    detail: str
    job_kinds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., family: _Optional[str] = ..., path: _Optional[str] = ..., dtype: _Optional[str] = ..., device: _Optional[str] = ..., state: _Optional[_Union[ModelState, str]] = ..., detail: _Optional[str] = ..., job_kinds: _Optional[_Iterable[str]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...
