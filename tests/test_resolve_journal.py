"""The Resolve window's journal (plugins/resolve/milimo_resolve/journal.py): what no marker can remember survives the
window. A real daemon makes animatics; Resolve is the double."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from milimo.config import ClientConfig
from milimo.errors import FailedPrecondition
from milimo.v1 import jobs_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import animatic, wait_for
from tests.resolve_double import Resolve, new_resolve
from tests.test_resolve_placement import FRAMES, with_otio_placeholder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve.controller import Controller
from milimo_resolve.journal import FILE_NAME, Entry, Journal, request_json, timeline_identity


@pytest.fixture
def paused(module_daemon: DaemonProcess) -> Iterator[DaemonProcess]:
    """The daemon with its queue paused, so that a job stays queued while a window opens and closes."""
    client = module_daemon.client()
    client.jobs.PauseQueue(jobs_pb2.PauseQueueRequest())
    try:
        yield module_daemon
    finally:
        client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())


def window(resolve: Resolve, daemon: DaemonProcess, folder: Path) -> Controller:
    controller = Controller(resolve, ClientConfig(address=daemon.address), folder)
    controller.start()
    controller.choose("", 64, 64)
    return controller


def placed(controller: Controller) -> bool:
    controller.tick()
    return bool(controller.jobs) and controller.jobs[-1].status in ("placed", "error", "failed")


def marked() -> tuple[Resolve, object]:
    resolve = new_resolve()
    timeline = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    timeline.AddMarker(24, "Blue", "Milimo: Kettle", "A kettle starts to boil.", FRAMES)
    return resolve, timeline


def current_id(resolve: Resolve) -> str:
    project = resolve.GetProjectManager().GetCurrentProject()
    return timeline_identity(project, project.GetCurrentTimeline())


def test_a_job_sent_before_the_window_closed_unanswered_is_sent_again_with_its_key(module_daemon, tmp_path):
    """The first send reached the daemon but its answer did not reach the window: the second send with the same
    key gets the same job, which is then placed; nothing is queued twice."""
    resolve, timeline = marked()
    request = animatic(frames=FRAMES, width=64, height=64)
    journal = Journal(tmp_path)
    journal.add(Entry(current_id(resolve), "marker 24", "key-answer-lost", request_json(request), "Kettle"))
    first = module_daemon.client().submit(request, key="key-answer-lost")  # what the lost answer was about

    controller = window(resolve, module_daemon, tmp_path)
    try:
        (row,) = controller.jobs
        assert row.message == "sending again the job an earlier window sent"
        wait_for(lambda: placed(controller), what="the job to be sent again, made and placed")
    finally:
        controller.close()

    assert (row.job_id, row.status) == (first.id, "placed"), row.message
    assert json.loads(timeline.GetMarkerCustomData(24))["milimo"]["job_id"] == first.id
    assert journal.entries(current_id(resolve)) == []  # the marker says it now


def test_a_job_whose_first_send_never_arrived_is_queued_by_the_next_window(module_daemon, tmp_path):
    resolve, _timeline = marked()
    request = animatic(frames=FRAMES, width=64, height=64)
    Journal(tmp_path).add(Entry(current_id(resolve), "marker 24", "key-never-sent", request_json(request), "Kettle"))

    controller = window(resolve, module_daemon, tmp_path)
    try:
        wait_for(lambda: placed(controller), what="the job to be sent, made and placed")
        (row,) = controller.jobs
    finally:
        controller.close()

    assert row.status == "placed", row.message
    job = module_daemon.client().jobs.Get(jobs_pb2.GetJobRequest(job_id=row.job_id))
    assert job.request == request


def test_an_otio_placeholders_job_and_result_outlive_the_window(paused, tmp_path):
    """An OTIO placeholder has no marker: its job is followed by the next window from the journal, and once
    placed, a third window knows the shot is made and does not generate it again."""
    resolve = with_otio_placeholder(tmp_path)
    folder = tmp_path / "window"
    first = window(resolve, paused, folder)
    try:
        first.generate()
        wait_for(lambda: (first.tick(), first.jobs and first.jobs[0].job_id)[1], what="the daemon to name the job")
        job_id = first.jobs[0].job_id
    finally:
        first.close()  # the job is still queued: nothing on the timeline says it exists
    (entry,) = Journal(folder).entries(current_id(resolve))
    assert (entry.shot, entry.job_id, entry.asset_id) == ("otio V1 24", job_id, "")

    paused.client().jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    second = window(resolve, paused, folder)
    try:
        (row,) = second.jobs
        assert (row.job_id, row.status) == (job_id, "following")
        wait_for(lambda: placed(second), what="the followed job to be placed")
    finally:
        second.close()
    assert (row.status, row.message) == ("placed", "V2 at 01:00:01:00"), row.message
    (entry,) = Journal(folder).entries(current_id(resolve))
    assert (entry.job_id, entry.asset_id) == (job_id, row.asset_id)

    third = window(resolve, paused, folder)
    try:
        assert third.jobs == []
        assert [(line.key, line.status) for line in third.view().shots] == [("otio V1 24", f"made: {row.asset_id}")]
        third.generate()
        assert third.notice == "No shot to generate: choose one in the list."
    finally:
        third.close()


def test_an_unreadable_journal_is_named_and_left_alone(module_daemon, tmp_path):
    resolve, _timeline = marked()
    (tmp_path / FILE_NAME).write_text("{not json")
    controller = window(resolve, module_daemon, tmp_path)
    try:
        assert f"Milimo's job journal {tmp_path / FILE_NAME} is unreadable" in controller.notice
        assert "move it aside to start a new one" in controller.notice
    finally:
        controller.close()
    assert (tmp_path / FILE_NAME).read_text() == "{not json"
    with pytest.raises(FailedPrecondition):
        Journal(tmp_path).remove("any")


def test_the_journal_is_replaced_whole(tmp_path):
    journal = Journal(tmp_path)
    request = request_json(animatic(frames=FRAMES))
    journal.add(Entry("t", "marker 1", "k1", request, "One"))
    journal.add(Entry("t", "marker 2", "k2", request, "Two"))
    journal.named("k1", "job-1")
    journal.remove("k2")
    journal.named("gone", "job-9")  # a key the journal no longer has changes nothing
    assert journal.entries("t") == [Entry("t", "marker 1", "k1", request, "One", job_id="job-1")]
    assert journal.entries("another timeline") == []
    assert sorted(path.name for path in tmp_path.iterdir()) == [FILE_NAME]  # no partial file left beside it
