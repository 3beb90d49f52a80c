"""The one place where Milimo's errors become gRPC status codes."""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable

import grpc

from milimo import errors

log = logging.getLogger(__name__)

STATUS_OF: dict[type[errors.MilimoError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

# What the client library turns each status back into.
ERROR_OF: dict[grpc.StatusCode, type[errors.MilimoError]] = {code: cls for cls, code in STATUS_OF.items()}


def status_for(exc: errors.MilimoError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.INTERNAL


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
    if isinstance(exc, errors.MilimoError):
        await context.abort(status_for(exc), str(exc))
    incident = uuid.uuid4().hex[:8]
    log.error("internal error %s", incident, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error {incident}; the daemon log has the details")


def maps_errors(method: Callable) -> Callable:
    """Wrap a servicer method (unary or server-streaming) so domain errors become status codes."""
    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def stream(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001
            try:
                async for item in method(self, request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await _abort(context, exc)

        return stream

    @functools.wraps(method)
    async def unary(self, request, context: grpc.aio.ServicerContext):  # noqa: ANN001
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, exc)

    return unary
