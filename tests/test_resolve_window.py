"""The Milimo window itself (window.py), run by the installed Milimo.py as Resolve runs it, with the UIManager
double (tests/fusion_ui_double.py) for the toolkit and the Resolve double for the timeline; the daemon, gRPC and
the media are real. A script per window plays the person at it: clicks, typing, selections, and time passing as
the window's timer ticks.
"""

from __future__ import annotations

import json
import runpy
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from milimo import resolve_install
from milimo.v1 import jobs_pb2
from tests.fusion_ui_double import Bmd, Fusion, Tree, UIDispatcher, UIManager, User
from tests.helpers import get, wait_status
from tests.resolve_double import MediaPoolItem, Resolve, Timeline, TimelineItem, new_resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve import message
from milimo_resolve.window import ANIMATIC, WINDOW_ID

DOOR = "A door creaks open onto a dark hall."
TIDE = "The tide comes in over the causeway."
ACTIVE = ("submitting", "following", "queued", "running")


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Milimo.py as `milimo resolve install` lays it out (pointing at its package's folder), in a sandbox; the
    sys.path entry it adds is taken back after the test."""
    home = tmp_path / "home"
    plan = resolve_install.plan(Path(sys.executable), platform="linux", env={}, home=home)
    resolve_install.copy_files(plan)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return plan.script


def use_daemon(address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Milimo's client config file names the daemon, as a user's would."""
    config = tmp_path / "config.toml"
    config.write_text(f'[client]\naddress = "{address}"\n')
    monkeypatch.setenv("MILIMO_CONFIG", str(config))
    for name in ("MILIMO_ADDRESS", "MILIMO_TOKEN", "MILIMO_TLS_CA"):
        monkeypatch.delenv(name, raising=False)


def open_window(script: Path, resolve: Resolve, person: Callable[[User], None]) -> UIDispatcher:
    """Workspace > Scripts > Utility > Milimo: Resolve runs the script with `resolve`, `fusion` and `bmd` set; it
    returns when the window leaves its loop."""
    ui = UIManager()
    dispatcher = UIDispatcher(ui, person)
    runpy.run_path(str(script), init_globals={"resolve": resolve, "fusion": Fusion(ui), "bmd": Bmd(dispatcher)})
    return dispatcher


def closed(dispatcher: UIDispatcher) -> bool:
    """The window left its loop, hid, and stopped its timer."""
    return (
        dispatcher.exit_code == 0
        and not dispatcher.windows[WINDOW_ID].shown
        and not any(timer.IsActive for timer in dispatcher.ui.timers)
    )


def rows(user: User, tree: str) -> list[list[str]]:
    element = user.items()[tree]
    assert isinstance(element, Tree)
    return element.texts()


def job_row(user: User, shot: str) -> list[str]:
    """The Jobs row of a shot (Row, Shot, Job, Status, Progress); an empty one before it has one."""
    return next((row for row in rows(user, "Jobs") if row[1] == shot), ["", shot, "", "", ""])


def status_of(user: User, shot: str) -> str:
    return job_row(user, shot)[3]


def edit(markers: dict[int, tuple[str, str, int]]) -> Resolve:
    """A 1080p timeline at 24 fps from 01:00:00:00, with a plate on V1 for its first 100 frames and the markers."""
    resolve = new_resolve()
    timeline = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    timeline.tracks["video"][0].add(TimelineItem("plate", 86400, 100, MediaPoolItem("/plates/plate.mov", 100, 24)))
    for frame, (name, note, duration) in markers.items():
        assert timeline.AddMarker(frame, "Blue", name, note, duration)
    return resolve


def timeline_of(resolve: Resolve) -> Timeline:
    return resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()


def notes(timeline: Timeline, frame: int) -> dict:
    return json.loads(timeline.GetMarkerCustomData(frame) or "{}").get("milimo", {})


def items(timeline: Timeline, track: int) -> list[tuple[str, int, int]]:
    return [(item.GetName(), item.GetStart(), item.GetEnd()) for item in timeline.GetItemListInTrack("video", track)]


def test_the_window_generates_shows_progress_places_cancels_and_closes(module_daemon, script, tmp_path, monkeypatch):
    use_daemon(module_daemon.address, tmp_path, monkeypatch)
    resolve = edit({24: ("Milimo: Door opens", DOOR, 12), 200: ("Milimo: Tide", TIDE, 1000)})
    seen: dict[str, str] = {}

    def person(user: User) -> None:
        items = user.items()
        online = f"Connected to Milimo at {module_daemon.address}."
        user.wait_until(lambda: items["Connection"].Text == online, "online")
        assert items["Timeline"].Text == "Timeline: Edit"
        assert [(row[0], row[2], row[3], row[4]) for row in rows(user, "Shots")] == [
            ("marker 24", "12", DOOR, ""),
            ("marker 200", "1000", TIDE, ""),
        ]
        assert (items["Model"].CurrentText, items["Width"].Value, items["Height"].Value) == (ANIMATIC, 768, 448)

        user.type("Width", 64)
        user.type("Height", 64)
        user.select("Shots", ["marker 24"])
        user.click("Generate")
        assert items["Notice"].Text == "Submitting 1 shots."
        user.wait_until(lambda: status_of(user, "Door opens") not in ("", *ACTIVE, "succeeded"), "the door shot")
        assert job_row(user, "Door opens")[3:] == ["placed", "V2 at 01:00:01:00"]
        assert rows(user, "Shots")[0][4] == "placed"

        user.type("Width", 1024)  # seconds of work: long enough to watch it run, and to cancel it
        user.type("Height", 576)
        user.select("Shots", ["marker 200"])
        user.click("Generate")

        def moving() -> bool:
            status, progress = job_row(user, "Tide")[3:]
            return status == "running" and not progress.startswith("0%")

        user.wait_until(moving, "the tide shot to make progress")
        seen["progress"] = job_row(user, "Tide")[4]
        user.select("Jobs", [job_row(user, "Tide")[0]])
        user.click("Cancel")
        assert items["Notice"].Text == "Cancelling 1 jobs."
        user.wait_until(lambda: status_of(user, "Tide") not in ACTIVE, "the tide shot to be cancelled")
        seen["tide"] = status_of(user, "Tide")
        user.close()

    dispatcher = open_window(script, resolve, person)

    assert closed(dispatcher)
    assert seen["progress"].split("%")[0].isdigit()  # "37% …": the job's progress as the daemon reports it
    assert seen["tide"] == "cancelled"
    timeline = timeline_of(resolve)
    (door,) = timeline.GetItemListInTrack("video", 2)
    assert (door.GetStart(), door.GetEnd()) == (86424, 86436)  # over its marker, above the plate
    assert notes(timeline, 24)["asset_id"] and notes(timeline, 24)["track"] == 2
    assert notes(timeline, 200) == {}  # the cancelled job is not followed by the next window
    assert timeline.GetTrackCount("video") == 2


def test_an_unreachable_daemon_is_a_sentence_in_the_window(script, tmp_path, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    use_daemon(address, tmp_path, monkeypatch)
    seen: dict[str, str] = {}

    def person(user: User) -> None:
        connection = user.items()["Connection"]
        user.wait_until(lambda: not connection.Text.startswith("Checking"), "the first check of the daemon")
        seen["connection"] = connection.Text
        seen["shots"] = rows(user, "Shots")[0][3]
        user.close()

    dispatcher = open_window(script, edit({24: ("Milimo", DOOR, 12)}), person)

    assert closed(dispatcher)
    assert seen["connection"].startswith(f"Cannot reach the Milimo daemon at {address} (")
    assert seen["connection"].endswith(
        "Start it with `milimo serve`, or set [client] address in Milimo's config file (~/.config/milimo/config.toml)."
    )
    assert "Traceback" not in seen["connection"]
    assert seen["shots"] == DOOR  # the timeline is read all the same


def test_jobs_outlive_the_window_and_are_placed_once(module_daemon, script, tmp_path, monkeypatch):
    """A job still running when the window closed is followed by the next window: placed when it finishes while
    the window is closed, or while the next one is open; never twice."""
    use_daemon(module_daemon.address, tmp_path, monkeypatch)
    resolve = edit({24: ("Milimo: Harbour", DOOR, 300), 400: ("Milimo: Gulls", TIDE, 300)})
    timeline = timeline_of(resolve)
    client = module_daemon.client()

    def submit_and_close(shot: str, key: str) -> Callable[[User], None]:
        def person(user: User) -> None:
            user.wait_until(lambda: user.items()["Connection"].Text.startswith("Connected"), "online")
            user.type("Width", 1024)  # a few seconds of work
            user.type("Height", 576)
            user.select("Shots", [key])
            user.click("Generate")
            user.wait_until(lambda: job_row(user, shot)[2] != "", f"the daemon to name the job of {shot}")
            assert status_of(user, shot) in ACTIVE
            user.close()

        return person

    assert closed(open_window(script, resolve, submit_and_close("Harbour", "marker 24")))
    harbour = notes(timeline, 24)["job_id"]  # the marker remembers the job
    assert get(client, harbour).status in (jobs_pb2.JOB_STATUS_QUEUED, jobs_pb2.JOB_STATUS_RUNNING)
    wait_status(client, harbour, jobs_pb2.JOB_STATUS_SUCCEEDED)  # it finishes while no window is open
    assert timeline.GetTrackCount("video") == 1  # nothing placed yet: V1 holds only the plate

    def follows_then_submits(user: User) -> None:
        assert [row[1:3] for row in rows(user, "Jobs")] == [["Harbour", harbour]]  # followed from the start
        user.wait_until(lambda: status_of(user, "Harbour") == "placed", "the harbour shot to be placed")
        submit_and_close("Gulls", "marker 400")(user)

    assert closed(open_window(script, resolve, follows_then_submits))
    gulls = notes(timeline, 400)["job_id"]

    def follows_a_running_job(user: User) -> None:
        assert [row[1:4] for row in rows(user, "Jobs")] == [["Gulls", gulls, "following"]]  # Harbour is made
        assert rows(user, "Shots")[0][4] == f"made: {notes(timeline, 24)['asset_id']}"
        user.wait_until(lambda: status_of(user, "Gulls") == "placed", "the gulls shot to be placed")
        user.close()

    assert closed(open_window(script, resolve, follows_a_running_job))

    def finds_nothing_to_do(user: User) -> None:
        user.wait_until(lambda: user.items()["Connection"].Text.startswith("Connected"), "online")
        assert rows(user, "Jobs") == []
        assert [row[4] for row in rows(user, "Shots")] == [f"made: {notes(timeline, f)['asset_id']}" for f in (24, 400)]
        user.close()

    assert closed(open_window(script, resolve, finds_nothing_to_do))
    assert [(start, end) for _, start, end in items(timeline, 2)] == [(86424, 86724)]  # above the plate
    assert [(start, end) for _, start, end in items(timeline, 1)] == [(86400, 86500), (86800, 87100)]
    assert [notes(timeline, frame)["job_id"] for frame in (24, 400)] == [harbour, gulls]


def test_the_message_window_shows_its_text_until_ok():
    ui = UIManager()
    seen: list[str] = []

    def person(user: User) -> None:
        seen.append(user.items()["Text"].Text)
        user.click("OK")

    dispatcher = UIDispatcher(ui, person)
    message.show(ui, dispatcher, "Milimo cannot start", "Install the client library.")

    assert seen == ["Install the client library."]
    assert dispatcher.windows["MilimoMessage"].WindowTitle == "Milimo cannot start"
    assert not dispatcher.windows["MilimoMessage"].shown
