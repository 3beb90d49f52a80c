"""A failure talking to the daemon as a sentence an editor's user can act on; never a traceback.

Each editor says where its own settings live (`unreachable` and `refused_token`); the rest is worded alike."""

from __future__ import annotations

import grpc

UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def describe(error: BaseException, *, unreachable: str, refused_token: str) -> str:
    """`unreachable` is said when the daemon cannot be reached, with gRPC's reason in brackets where it holds
    "{reason}"; `refused_token` when the daemon refuses the token."""
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        code, details = error.code(), (error.details() or "").strip()
        if code in UNREACHABLE:
            return unreachable.replace("{reason}", f" ({details})" if details else "")
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return refused_token
        name = code.name.replace("_", " ").lower()
        return f"The daemon answered {name}: {details}" if details else f"The daemon answered {name}."
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f": {error.filename}" if getattr(error, "filename", None) else "")
    return str(error) or type(error).__name__
