"""Small request builders and waits shared by the end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from milimo.client import Client
from milimo.v1 import common_pb2, jobs_pb2


def animatic(frames: int = 12, width: int = 128, height: int = 96, fps: tuple[int, int] = (24, 1), **fields: object):
    return jobs_pb2.JobRequest(
        animatic=jobs_pb2.AnimaticRequest(
            width=width,
            height=height,
            frames=frames,
            fps=common_pb2.Rational(num=fps[0], den=fps[1]),
            scene_heading=fields.pop("scene_heading", "INT. TEST STAGE - DAY"),
            description=fields.pop("description", "A test card crosses the frame."),
            **fields,
        )
    )


# A long job: enough frames at a size that takes seconds on two cores.
def slow_animatic() -> jobs_pb2.JobRequest:
    return animatic(frames=1000, width=1024, height=576)


def get(client: Client, job_id: str) -> jobs_pb2.Job:
    return client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id))


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def wait_status(client: Client, job_id: str, status: int, timeout: float = 60.0) -> jobs_pb2.Job:
    wait_for(lambda: get(client, job_id).status == status, timeout, f"{job_id} to reach status {status}")
    return get(client, job_id)


def wait_progress(client: Client, job_id: str, step: int = 1, timeout: float = 60.0) -> None:
    wait_for(lambda: get(client, job_id).progress.step >= step, timeout, f"{job_id} to make progress")


def multicallable(channel: grpc.Channel, method: MethodDescriptor):
    """A callable for any RPC, in the shape (unary or streaming) its descriptor declares."""
    request_class = message_factory.GetMessageClass(method.input_type)
    reply_class = message_factory.GetMessageClass(method.output_type)
    shape = {
        (False, False): channel.unary_unary,
        (False, True): channel.unary_stream,
        (True, False): channel.stream_unary,
        (True, True): channel.stream_stream,
    }[(method.client_streaming, method.server_streaming)]
    path = f"/{method.containing_service.full_name}/{method.name}"
    return shape(path, request_serializer=request_class.SerializeToString, response_deserializer=reply_class.FromString)
