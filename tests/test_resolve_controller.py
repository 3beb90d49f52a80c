"""The window's controller never waits on the network: its tick returns at once whatever the daemon does, and a
daemon that is away is a clear status line (no traceback). Resolve is the double; the gRPC calls are real."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from milimo.config import ClientConfig
from tests.helpers import wait_for
from tests.resolve_double import Project, Resolve, ResolveBefore185, Timeline, new_resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve.controller import Controller, free_timeline_name, timecode


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TCP port that accepts connections and never says a word: a gRPC call to it hangs until its deadline."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            accepted.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    server.close()
    for connection in accepted:
        connection.close()


@pytest.fixture
def closed_port() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"127.0.0.1:{port}"


def with_marker() -> Resolve:
    resolve = new_resolve()
    timeline = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    timeline.AddMarker(0, "Blue", "Milimo", "A kettle starts to boil.", 12)
    return resolve


def test_the_tick_returns_while_a_call_to_the_daemon_hangs(silent_server, tmp_path):
    address, accepted = silent_server
    controller = Controller(with_marker(), ClientConfig(address=address), tmp_path, probe_timeout=600)
    controller.start()
    try:
        wait_for(lambda: bool(accepted), what="the health check to connect")  # and it now waits for an answer
        controller.generate()  # a submit that will hang the same way, on its own thread
        for _ in range(20):
            controller.tick()
        view = controller.view()
        assert view.connection.state == "checking"
        assert view.connection.text == f"Checking the Milimo daemon at {address}…"
        assert [(job.shot, job.status) for job in view.jobs] == [("A kettle starts to boil.", "submitting")]
        assert view.shots[0].status == "submitting"
    finally:
        controller.close()


def test_a_daemon_that_is_not_running_is_a_status_line(closed_port, tmp_path):
    controller = Controller(with_marker(), ClientConfig(address=closed_port), tmp_path, probe_interval=0.1)
    controller.start()
    try:

        def offline() -> bool:
            controller.tick()
            return controller.view().connection.state == "offline"

        wait_for(offline, what="the controller to see the daemon is away")
        text = controller.view().connection.text
        assert text.startswith(f"Cannot reach the Milimo daemon at {closed_port} (")
        assert "Start it with `milimo serve`" in text
        assert "Traceback" not in text

        controller.generate()

        def failed() -> bool:
            controller.tick()
            return controller.jobs[0].status == "error"

        wait_for(failed, what="the submit to give up")
        message = controller.jobs[0].message
        assert message.startswith(f"Cannot reach the Milimo daemon at {closed_port}")
        assert "Traceback" not in message

        controller.import_results()
        assert controller.notice == "No finished result to import yet."
        controller.cancel()
        assert controller.notice == "No running or queued job to cancel."
    finally:
        controller.close()


def test_actions_without_a_timeline_say_what_to_do(closed_port, tmp_path):
    controller = Controller(Resolve(Project()), ClientConfig(address=closed_port), tmp_path)
    controller.start()
    try:
        assert controller.notice == "Open a timeline in Resolve, then press Refresh."
        controller.notice = ""
        controller.generate()
        assert controller.notice == "Open a timeline in Resolve, then press Refresh."
        assert controller.view().timeline == ""
    finally:
        controller.close()


def test_a_timeline_without_shots_explains_how_to_mark_one(closed_port, tmp_path):
    controller = Controller(new_resolve(), ClientConfig(address=closed_port), tmp_path)
    controller.start()
    try:
        assert 'Add a timeline marker named "Milimo"' in controller.notice
        controller.generate()
        assert controller.notice == "No shot to generate: choose one in the list."
    finally:
        controller.close()


def test_the_round_trip_needs_otio_export(closed_port, tmp_path):
    resolve = ResolveBefore185()
    resolve.project.add_timeline(Timeline("Old"))
    controller = Controller(resolve, ClientConfig(address=closed_port), tmp_path)
    controller.start()
    try:
        controller.round_trip()
        assert controller.notice == "The round trip needs Resolve 18.5 or later (Timeline.Export to OTIO)."
    finally:
        controller.close()


def test_timecodes_and_new_timeline_names():
    assert timecode(86400 + 24, 24.0) == "01:00:01:00"
    assert timecode(107892, 24000 / 1001) == "01:14:55:12"  # non-drop at the nominal 24
    project = Project()
    project.add_timeline(Timeline("Edit Milimo"))
    project.add_timeline(Timeline("Edit Milimo 2"))
    assert free_timeline_name(project, "Edit Milimo") == "Edit Milimo 3"
    assert free_timeline_name(project, "Other") == "Other"
