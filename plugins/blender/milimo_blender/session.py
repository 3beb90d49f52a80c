"""The extension's one connection and job tracker, made from the preferences and remade when they change."""

from __future__ import annotations

import bpy

from . import mainthread, models
from .connection import Connection, Settings, Status
from .jobs import JobTracker
from .timeline import redraw_sequencers

ADDON = __package__

_connection: Connection | None = None
_tracker: JobTracker | None = None
# The last thing worth telling the user that no operator could report (it arrived later, off a worker thread).
notice = ""


def settings() -> Settings:
    prefs = bpy.context.preferences.addons[ADDON].preferences
    return Settings(address=prefs.address.strip(), token=prefs.token, tls=prefs.use_tls, tls_ca=prefs.tls_ca)


def start() -> None:
    global _connection, _tracker
    stop()
    _connection = Connection(settings())
    _tracker = JobTracker(_connection)
    _connection.on_status(_status_changed)


def stop() -> None:
    global _connection, _tracker
    if _tracker is not None:
        _tracker.close()
    if _connection is not None:
        _connection.close()
    _connection = _tracker = None


def connection() -> Connection:
    if _connection is None:
        start()
    return _connection


def tracker() -> JobTracker:
    if _tracker is None:
        start()
    return _tracker


def tell(message: str) -> None:
    """Main thread: show `message` in the panel and the console (a late answer no operator can report)."""
    global notice
    notice = message
    print(f"Milimo: {message}")
    redraw_sequencers()


def _status_changed(status: Status) -> None:
    redraw_sequencers()
    if status.online:
        # The daemon is (back): refresh its models and pick up jobs that ran on meanwhile.
        connection().call(models.fetch, on_done=models.remember, on_error=tell)
        tracker().resume()


def reconnect_on_load() -> None:
    """After File > Open: follow the new file's jobs."""
    if _tracker is not None:
        mainthread.post(_tracker.resume)
