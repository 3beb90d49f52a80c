"""Bearer-token check for every RPC, unary and streaming alike, in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import grpc

UNAUTHENTICATED = "this daemon needs a token: send 'authorization: Bearer <token>' (MILIMO_TOKEN)"
WRONG_TOKEN = "the token is wrong"


def _deny(message: str) -> Callable:
    async def deny(request_or_iterator, context: grpc.aio.ServicerContext):  # noqa: ANN001
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return deny


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        metadata = dict(handler_call_details.invocation_metadata or ())
        presented = metadata.get("authorization")
        handler = await continuation(handler_call_details)
        if presented is not None and hmac.compare_digest(str(presented).encode(), self._expected):
            return handler
        if handler is None:
            return handler
        deny = _deny(UNAUTHENTICATED if presented is None else WRONG_TOKEN)
        # Answer with a handler of the same shape, so streaming RPCs are refused as cleanly as unary ones.
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(deny)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(deny)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(deny)
        return grpc.stream_stream_rpc_method_handler(deny)
