"""Property-based bad input: arbitrary request messages, built from the descriptors, against a real daemon.

Whatever a client sends, the daemon answers with one of the documented codes, never INTERNAL, UNKNOWN
or UNAVAILABLE, and it keeps serving. Runs on SQLite and PostgreSQL (which refuses NUL in text).
"""

from __future__ import annotations

import functools
import hashlib
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from google.protobuf import message_factory, text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milimo.daemon.jobs.service import encode_page_token
from milimo.v1 import common_pb2, jobs_pb2, media_pb2, models_pb2, projects_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import animatic, multicallable

DOCUMENTED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.ABORTED,
}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

JOBS = jobs_pb2.DESCRIPTOR.services_by_name["Jobs"]
MEDIA = media_pb2.DESCRIPTOR.services_by_name["Media"]
PROJECTS = projects_pb2.DESCRIPTOR.services_by_name["Projects"]
MODELS = models_pb2.DESCRIPTOR.services_by_name["Models"]
# ResumeQueue is left out: it would let fuzzed, valid jobs render; it takes no fields anyway and runs at the end.
UNARY = [
    method
    for service in (JOBS, MEDIA, PROJECTS, MODELS)
    for method in service.methods
    if not method.client_streaming and not method.server_streaming and method.name != "ResumeQueue"
]

# ---- requests from descriptors ----------------------------------------------------------------

INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
# Limits and their neighbours from milimo.validation, plus the edges of every integer type.
BOUNDARIES = sorted(
    {0, 1, 2, 3, 24, 25, 30, 31, 32, 64, 96, 99, 100, 101, 120, 121, 128, 1000, 1001, 1024, 4096, 4128}
    | {30000, 10**6, 10**6 + 1, 10**9, 10**9 + 1, 64 * 1024**3, 64 * 1024**3 + 1}
    | {-1, -2, -100, -101, 2**31 - 1, 2**31, -(2**31), 2**32 - 1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1}
)
IMPOSSIBLE_KEYS = [-1, -(2**63) - 1, 2**63, 2**64, 10**30]
FIELD_MASK, RATIONAL = "google.protobuf.FieldMask", "milimo.v1.Rational"
MUTABLE_FIELDS = ["name", "description", "width", "height", "fps", "position", "duration_frames", "asset_id"]
MUTABLE_FIELDS += ["metadata", "filename", "project_id", "id", "created_at", "fps.num", "", "*"]


@dataclass(eq=False)
class World:
    """What the fuzz knows exists on the daemon, so generated requests reach past id checks."""

    project_id: str
    shot_id: str
    asset_id: str
    queued_job_id: str
    cancelled_job_id: str
    payload: bytes
    channel: grpc.Channel
    created_jobs: set[str] = field(default_factory=set)

    def strings(self) -> list[str]:
        ids = [self.project_id, self.shot_id, self.asset_id, self.queued_job_id, self.cancelled_job_id]
        sha = hashlib.sha256(self.payload).hexdigest()
        return [
            *ids,
            *(value.upper() for value in ids),
            *(value + "\n" for value in ids),
            *(value[:-1] for value in ids),
            *(f"{value[:2]}{'0' * 16}" for value in ids),
            sha,
            sha.upper(),
            hashlib.sha256(b"").hexdigest(),
            "0" * 64,
            "animatic",
            "ltx-video",
            "video/mp4",
            "image/png",
            "clip.mp4",
            "milimo.db",
            "daemon.lock",
            "media",
            f"media/{sha[:2]}/{sha}",
            ".",
            "..",
            "../milimo.db",
            "/etc/passwd",
            "a/../../x",
            "\\\\server\\share",
            "C:\\x",
            "a\x00b",
            "\x00",
            " ",
            "\n",
            "\u202e\ufeff",
            "𝔪𝔦𝔩𝔦𝔪𝔬",
            "azk=",
            "a1234",
            "a" * 12 + "==",
            "a-1",
            "ay0x",
        ]


# Protobuf strings are UTF-8: no lone surrogates.
CHARACTERS = st.characters(codec="utf-8")
LONG = [33, 65, 129, 201, 256, 257, 1025, 4097, 10_001, 20_001]


def text_strategy(world: World) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(world.strings()),
        st.text(CHARACTERS, max_size=30),
        st.text(st.sampled_from(string.hexdigits.lower() + "-/."), max_size=70),
        st.builds(
            lambda head, tail: f"{head}\x00{tail}", st.text(CHARACTERS, max_size=10), st.text(CHARACTERS, max_size=10)
        ),
        # Long runs of one character (a, /, é, 𝔪 …): names, paths and texts past every limit.
        st.builds(lambda char, count: char * count, CHARACTERS | st.sampled_from("a/é𝔪"), st.sampled_from(LONG)),
        st.builds(lambda part, count: "/".join([part] * count), st.sampled_from(["a", "..", "."]), st.integers(1, 600)),
    )


def integer_strategy(kind: int) -> st.SearchStrategy[int]:
    low, high = INT_RANGES[kind]
    return st.one_of(
        st.sampled_from([value for value in BOUNDARIES if low <= value <= high]),
        st.integers(max(low, -200), min(high, 5000)),
        st.integers(low, high),
    )


def scalar_strategy(fd: FieldDescriptor, world: World) -> st.SearchStrategy:
    if fd.type in INT_RANGES:
        return integer_strategy(fd.type)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in fd.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    if fd.type == FieldDescriptor.TYPE_STRING:
        return text_strategy(world)
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.just(world.payload))
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if fd.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32 if fd.type == FieldDescriptor.TYPE_FLOAT else 64)
    raise AssertionError(f"no strategy for {fd.full_name} (type {fd.type})")


def value_strategy(fd: FieldDescriptor, world: World, depth: int) -> st.SearchStrategy:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return message_strategy(fd.message_type, world, depth + 1)
    if fd.name == "page_token":
        # Well-formed tokens naming keys no column can hold, as well as any string.
        keys = st.one_of(
            st.sampled_from(IMPOSSIBLE_KEYS), integer_strategy(FieldDescriptor.TYPE_INT64), st.integers(-(2**80), 2**80)
        )
        return st.one_of(keys.map(encode_page_token), scalar_strategy(fd, world))
    return scalar_strategy(fd, world)


def rational_strategy(cls: type[Message]) -> st.SearchStrategy[Message]:
    """Rates inside 1..120 whose reduced terms are huge: 24 + 1/(2**31), and the like."""
    return st.builds(
        lambda whole, den, nudge: cls(num=whole * den + nudge, den=den),
        st.sampled_from([1, 24, 119]),
        st.sampled_from([1001, 2**31 - 1, 2**31, 2**32 + 1, 2**55 + 1]),
        st.sampled_from([-1, 0, 1]),
    )


def field_strategy(fd: FieldDescriptor, world: World, depth: int) -> st.SearchStrategy:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        key = scalar_strategy(fd.message_type.fields_by_name["key"], world)
        value = value_strategy(fd.message_type.fields_by_name["value"], world, depth)
        return st.one_of(
            st.dictionaries(key, value, max_size=4),
            st.dictionaries(st.text(CHARACTERS, max_size=3), st.text(CHARACTERS, max_size=3), min_size=30, max_size=34),
        )
    if fd.is_repeated:
        return st.lists(value_strategy(fd, world, depth), max_size=4)
    return value_strategy(fd, world, depth)


def build(cls: type[Message], values: dict) -> Message:
    message = cls()
    for name, value in values.items():
        fd = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif fd.is_repeated:
            for item in value:
                target.add().CopyFrom(item) if isinstance(item, Message) else target.append(item)
        elif isinstance(value, Message):
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def message_strategy(descriptor: Descriptor, world: World, depth: int = 0) -> st.SearchStrategy[Message]:
    """Any message of this type: each field set or not, at most one field of each oneof, nested messages."""
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == FIELD_MASK:
        paths = st.lists(st.one_of(st.sampled_from(MUTABLE_FIELDS), st.text(CHARACTERS, max_size=10)), max_size=4)
        return paths.map(lambda values: cls(paths=values))
    if depth > 4:
        return st.just(cls())
    if descriptor.full_name == RATIONAL:
        generic = st.builds(
            lambda num, den: cls(num=num, den=den),
            integer_strategy(FieldDescriptor.TYPE_INT64),
            integer_strategy(FieldDescriptor.TYPE_INT64),
        )
        return st.one_of(generic, rational_strategy(cls))
    plain = {
        fd.name: field_strategy(fd, world, depth)
        for fd in descriptor.fields
        if fd.containing_oneof is None or len(fd.containing_oneof.fields) == 1
    }
    oneofs = [
        st.one_of(
            st.none(),
            *(st.tuples(st.just(fd.name), value_strategy(fd, world, depth)) for fd in oneof.fields),
        )
        for oneof in descriptor.oneofs
        if len(oneof.fields) > 1
    ]

    def assemble(parts: tuple) -> Message:
        values, *chosen = parts
        values = dict(values)
        values.update(dict(choice for choice in chosen if choice is not None))
        return build(cls, values)

    return st.tuples(st.fixed_dictionaries({}, optional=plain), *oneofs).map(assemble)


@functools.cache
def request_strategy(method: MethodDescriptor, world: World) -> st.SearchStrategy[Message]:
    return message_strategy(method.input_type, world)


def describe(request: Message | list[Message]) -> str:
    messages = request if isinstance(request, list) else [request]
    shown = [text_format.MessageToString(m, as_one_line=True)[:2000] for m in messages]
    return " | ".join(shown)


# ---- the daemon under fuzz --------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(daemon: DaemonProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Pause the queue (fuzzed valid jobs must not render), seed one of each thing, clean up after."""
    client = daemon.client()
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    created: set[str] = set()
    try:
        project = client.projects.CreateProject(projects_pb2.CreateProjectRequest(project={"name": "fuzz"}))
        shot = client.projects.CreateShot(projects_pb2.CreateShotRequest(shot={"project_id": project.id}))
        payload = b"fuzzed bytes " + project.id.encode() + bytes(range(256)) * 8
        source = tmp_path_factory.mktemp("fuzz") / "payload.bin"
        source.write_bytes(payload)
        asset = client.upload(source, mime_type="application/octet-stream")
        queued = client.submit(animatic(frames=2))
        created.add(queued.id)
        cancelled = client.submit(animatic(frames=2))
        client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=cancelled.id))
        yield World(project.id, shot.id, asset.id, queued.id, cancelled.id, payload, client.channel, created)
    finally:
        for job_id in sorted(created):
            try:
                client.jobs.Cancel(jobs_pb2.CancelJobRequest(job_id=job_id), timeout=10)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
        state = client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
        assert not state.paused
    still_serving(daemon)


def still_serving(daemon: DaemonProcess) -> None:
    assert daemon.process is not None and daemon.process.poll() is None, daemon.log_tail()
    assert daemon.client().serving(timeout=10), "the daemon stopped SERVING"


def code_of(call) -> tuple[grpc.StatusCode, object, str]:
    try:
        reply = call()
    except grpc.RpcError as error:
        return error.code(), None, error.details() or ""
    return grpc.StatusCode.OK, reply, ""


def check(code: grpc.StatusCode, details: str, method: str, request: Message | list[Message]) -> None:
    assert code in DOCUMENTED, f"{method} answered {code.name} ({details}) to: {describe(request)}"


# ---- unary RPCs -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", UNARY, ids=lambda m: f"{m.containing_service.name}.{m.name}")
def test_unary_rpcs_answer_only_documented_codes(world, method):
    call = multicallable(world.channel, method)

    @FUZZ
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        request = data.draw(request_strategy(method, world), label="request")
        code, reply, details = code_of(lambda: call(request, timeout=20))
        check(code, details, method.full_name, request)
        if isinstance(reply, jobs_pb2.Job):
            world.created_jobs.add(reply.id)
        elif isinstance(reply, jobs_pb2.SubmitBatchResponse):
            world.created_jobs.update(job.id for job in reply.jobs)

    fuzz()


# ---- streaming RPCs ---------------------------------------------------------------------------


def test_watch_answers_only_documented_codes(world):
    call = multicallable(world.channel, JOBS.methods_by_name["Watch"])
    job_ids = st.one_of(
        st.sampled_from([world.queued_job_id, world.cancelled_job_id, world.queued_job_id + "\n", "j-" + "0" * 16]),
        text_strategy(world),
    )

    @FUZZ
    @given(job_id=job_ids, after=integer_strategy(FieldDescriptor.TYPE_INT64))
    def fuzz(job_id: str, after: int) -> None:
        request = jobs_pb2.WatchJobRequest(job_id=job_id, after_sequence=after)
        code, events, details = code_of(lambda: list(call(request, timeout=0.3)))
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and job_id == world.queued_job_id:
            return  # following a job that is still queued: the stream stays open, as it should
        check(code, details, "Jobs.Watch", request)
        if code == grpc.StatusCode.OK:
            sequences = [event.sequence for event in events]
            assert sequences == list(range(after + 1, after + 1 + len(sequences))), sequences
            assert all(event.job_id == job_id for event in events)

    fuzz()


def test_download_answers_only_documented_codes(world):
    call = multicallable(world.channel, MEDIA.methods_by_name["Download"])
    asset_ids = st.one_of(st.just(world.asset_id), text_strategy(world))
    positions = integer_strategy(FieldDescriptor.TYPE_INT64)

    @FUZZ
    @given(asset_id=asset_ids, offset=positions, limit=positions)
    def fuzz(asset_id: str, offset: int, limit: int) -> None:
        request = media_pb2.DownloadRequest(asset_id=asset_id, offset=offset, limit=limit)
        code, chunks, details = code_of(lambda: list(call(request, timeout=20)))
        check(code, details, "Media.Download", request)
        if code == grpc.StatusCode.OK and asset_id == world.asset_id:
            end = None if limit == 0 else offset + limit
            assert b"".join(chunk.data for chunk in chunks) == world.payload[offset:end]

    fuzz()


def test_upload_answers_only_documented_codes(world):
    call = multicallable(world.channel, MEDIA.methods_by_name["Upload"])
    small = b"fuzz upload " + world.project_id.encode()
    payloads = [small, b"", world.payload]
    headers = st.one_of(
        st.none(),
        st.builds(
            lambda data, filename, project_id: media_pb2.UploadHeader(
                sha256=hashlib.sha256(data).hexdigest(), size=len(data), filename=filename, project_id=project_id
            ),
            st.sampled_from(payloads),
            st.sampled_from(["clip.bin", "a.mp4", "x"]) | text_strategy(world),
            st.sampled_from(["", world.project_id]),
        ),
        message_strategy(media_pb2.UploadHeader.DESCRIPTOR, world),
    )
    pieces = st.one_of(
        st.sampled_from(payloads).flatmap(lambda data: st.integers(0, len(data)).map(lambda cut: data[:cut])),
        st.sampled_from(payloads).flatmap(lambda data: st.integers(0, len(data)).map(lambda cut: data[cut:])),
        st.binary(max_size=32),
    )
    chunks = st.builds(
        lambda header, offset, data, finish: media_pb2.UploadChunk(
            header=header, offset=offset, data=data, finish=finish
        ),
        headers,
        st.one_of(st.sampled_from([0, len(small), len(world.payload)]), integer_strategy(FieldDescriptor.TYPE_INT64)),
        pieces,
        st.booleans(),
    )

    finish = st.builds(
        lambda offset: media_pb2.UploadChunk(offset=offset, finish=True),
        st.sampled_from([0, len(small), len(world.payload)]),
    )
    # Mostly a header first and a finish last, as clients send them; anything in between.
    sequences = st.builds(
        lambda first, middle, last: [*first, *middle, *last],
        st.lists(chunks.filter(lambda chunk: chunk.HasField("header")), max_size=1),
        st.lists(chunks, max_size=4),
        st.lists(finish, max_size=1),
    )

    @FUZZ
    @given(sequence=sequences)
    def fuzz(sequence: list[media_pb2.UploadChunk]) -> None:
        code, asset, details = code_of(lambda: call(iter(sequence), timeout=20))
        check(code, details, "Media.Upload", sequence)
        if code == grpc.StatusCode.OK:
            assert sequence[0].HasField("header") and asset.sha256 == sequence[0].header.sha256

    fuzz()


@pytest.mark.parametrize("data", [b"", b"x"], ids=["empty", "one-byte"])
def test_upload_of_a_tiny_file(world, data):
    """An empty file is a file too: the smallest uploads complete like any other."""
    call = multicallable(world.channel, MEDIA.methods_by_name["Upload"])
    header = media_pb2.UploadHeader(sha256=hashlib.sha256(data).hexdigest(), size=len(data), filename="tiny.bin")
    chunks = [media_pb2.UploadChunk(header=header, data=data), media_pb2.UploadChunk(offset=len(data), finish=True)]
    asset = call(iter(chunks), timeout=20)
    assert asset.size == len(data) and asset.sha256 == header.sha256
    assert Path(asset.local_path).read_bytes() == data


# ---- what the fuzz found, pinned ------------------------------------------------------------


@pytest.mark.parametrize("key", IMPOSSIBLE_KEYS)
def test_page_tokens_naming_impossible_keys_are_invalid(world, key):
    """A well-formed token whose key no column holds is refused, not handed to the database."""
    page = common_pb2.PageRequest(page_token=encode_page_token(key))
    calls = {
        "Jobs.List": (JOBS, jobs_pb2.ListJobsRequest(page=page)),
        "Projects.ListProjects": (PROJECTS, projects_pb2.ListProjectsRequest(page=page)),
        "Projects.ListShots": (PROJECTS, projects_pb2.ListShotsRequest(project_id=world.project_id, page=page)),
        "Projects.ListAssets": (PROJECTS, projects_pb2.ListAssetsRequest(page=page)),
    }
    for name, (service, request) in calls.items():
        call = multicallable(world.channel, service.methods_by_name[name.split(".")[1]])
        code, _, details = code_of(lambda call=call, request=request: call(request, timeout=20))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (name, code, details)


def test_shot_page_token_past_any_position_is_invalid(world):
    page = common_pb2.PageRequest(page_token=encode_page_token(2**31))
    request = projects_pb2.ListShotsRequest(project_id=world.project_id, page=page)
    call = multicallable(world.channel, PROJECTS.methods_by_name["ListShots"])
    assert code_of(lambda: call(request, timeout=20))[0] == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(("num", "den"), [(2**31, 2**31 - 1), (24 * 2**40 + 1, 2**40), (2**62 + 1, 2**62)])
def test_frame_rates_with_huge_terms_are_invalid(world, num, den):
    """Close to 1 or 24 fps, but the reduced fraction does not fit the 32-bit columns (PostgreSQL)."""
    fps = common_pb2.Rational(num=num, den=den)
    create = multicallable(world.channel, PROJECTS.methods_by_name["CreateProject"])
    code, _, details = code_of(lambda: create(projects_pb2.CreateProjectRequest(project={"name": "fps", "fps": fps})))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("project.fps"), details
    update = multicallable(world.channel, PROJECTS.methods_by_name["UpdateProject"])
    request = projects_pb2.UpdateProjectRequest(
        project={"id": world.project_id, "fps": fps}, update_mask={"paths": ["fps"]}
    )
    assert code_of(lambda: update(request))[0] == grpc.StatusCode.INVALID_ARGUMENT
    submit = multicallable(world.channel, JOBS.methods_by_name["Submit"])
    job = animatic(frames=1, fps=(num, den))
    code, _, details = code_of(lambda: submit(jobs_pb2.SubmitJobRequest(request=job)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("animatic.fps"), details


def test_import_path_with_overlong_names_is_invalid(world):
    call = multicallable(world.channel, MEDIA.methods_by_name["ImportPath"])
    for path in ["a" * 256, "é" * 128, "a/" * 600, "a" * 255]:
        code, _, details = code_of(lambda p=path: call(media_pb2.ImportPathRequest(path=p), timeout=20))
        expected = grpc.StatusCode.NOT_FOUND if path == "a" * 255 else grpc.StatusCode.INVALID_ARGUMENT
        assert code == expected, (path[:10], code, details)
