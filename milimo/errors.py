"""The one error hierarchy of Milimo.

Domain code raises these; the gRPC layer maps each class to a status code in exactly one place
(`milimo.daemon.servicers.status`), and the client maps status codes back. Messages are written for
the person reading them: they name the field or the thing and the rule that was broken.
"""

from __future__ import annotations


class MilimoError(Exception):
    """Base class of every error Milimo raises on purpose."""


class InvalidArgument(MilimoError):
    """A request field breaks a documented rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFound(MilimoError):
    """An id names nothing the daemon holds."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class AlreadyExists(MilimoError):
    """Creating something that is already there."""


class FailedPrecondition(MilimoError):
    """The request is well formed but the state does not allow it (e.g. retrying a running job)."""


class OutOfRange(MilimoError):
    """An offset or index past the end of the data."""


class ResourceExhausted(MilimoError):
    """A limit was reached: the queue is full, or the accelerator ran out of memory."""


class Aborted(MilimoError):
    """A concurrent operation on the same thing won; trying again later may succeed."""


class PermissionDenied(MilimoError):
    """The request reaches outside what it may touch, such as a path outside the data directory."""


class Unauthenticated(MilimoError):
    """The call carries no token or a wrong one."""


class Unavailable(MilimoError):
    """The daemon cannot be reached or is shutting down."""


class SessionEnded(NotFound):
    """A tracking session that existed and ended; the message says why."""

    def __init__(self, session_id: str, reason: str) -> None:
        Exception.__init__(self, f"tracking session {session_id!r} ended: {reason}")
        self.what, self.ident, self.reason = "tracking session", session_id, reason
