"""Generated shots placed on a Resolve timeline: a real daemon makes animatics, the Resolve double takes them.

The double (tests/resolve_double.py) keeps Resolve's pitfalls: track indices from 1, absolute recordFrame,
exclusive endFrame, overlapping appends dropped without a word (on audio tracks too), Insert* rippling V1 at the
playhead. Clips with sound are made here with milimo.media.ops (the animatic kind makes none), or cut by the
daemon's split_shot kind from one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from milimo.config import ClientConfig
from milimo.errors import FailedPrecondition
from milimo.media.ops import encode_frames, probe
from milimo.otio import conventions
from milimo.v1 import jobs_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import animatic, wait_for, wait_status
from tests.resolve_double import MediaPoolItem, Resolve, Timeline, TimelineItem, new_resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "resolve"))
from milimo_resolve import placement
from milimo_resolve.controller import Controller
from milimo_resolve.placeholders import MARKER, Shot, clip_shots, marker_shots

FRAMES = 12
AUDIO_RATE = 48000


@pytest.fixture(scope="module")
def generated(module_daemon: DaemonProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real animatic of FRAMES frames, downloaded from the daemon."""
    client = module_daemon.client()
    job = client.submit(animatic(frames=FRAMES, width=64, height=64))
    done = wait_status(client, job.id, jobs_pb2.JOB_STATUS_SUCCEEDED)
    return client.download(done.result_asset_ids[0], tmp_path_factory.mktemp("media") / "shot.mp4")


@pytest.fixture(scope="module")
def with_sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-frame 64x64 clip at 24 fps with a second of stereo sound (a rising tone)."""
    frames = (np.full((64, 64, 3), 40 + 8 * index, np.uint8) for index in range(2 * FRAMES))
    tone = np.sin(np.linspace(0, 2000 * np.pi, AUDIO_RATE, dtype=np.float32)) * 0.25
    path = tmp_path_factory.mktemp("sound") / "with-sound.mp4"
    encode_frames(frames, path, 24, audio=np.stack([tone, tone]), audio_sample_rate=AUDIO_RATE)
    return path


def plate(start: int, frames: int, name: str = "plate") -> TimelineItem:
    return TimelineItem(name, start, frames, MediaPoolItem(f"/plates/{name}.mov", 1000, 24))


def sound(start: int, frames: int, name: str = "music") -> TimelineItem:
    return TimelineItem(name, start, frames, MediaPoolItem(f"/sound/{name}.wav", 1000, 24, has_audio=True))


def items(timeline: Timeline, track: int, kind: str = "video") -> list[tuple[str, int, int]]:
    return [(item.GetName(), item.GetStart(), item.GetEnd()) for item in timeline.GetItemListInTrack(kind, track)]


def placed(controller: Controller) -> bool:
    controller.tick()
    return bool(controller.jobs) and controller.jobs[0].status in ("placed", "error", "failed")


def shot_at(start: int, frames: int = FRAMES, **fields) -> Shot:
    return Shot(key=f"marker {start}", source=MARKER, name="Milimo", prompt="x", start=start, frames=frames, **fields)


def test_a_marked_range_is_generated_and_placed_at_its_frames(module_daemon, tmp_path):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.tracks["video"][0].add(plate(86400, 100))
    timeline.AddMarker(24, "Blue", "Milimo: Door opens", "A door creaks open onto a dark hall.", FRAMES)
    controller = Controller(resolve, ClientConfig(address=module_daemon.address), tmp_path)
    controller.start()
    try:
        controller.choose("", 64, 64)
        controller.generate()
        wait_for(lambda: placed(controller), what="the shot to be generated, downloaded and placed")
        row = controller.jobs[0]
        assert controller.view().connection.state == "online"
    finally:
        controller.close()

    assert (row.status, row.message) == ("placed", "V2 at 01:00:01:00"), controller.notice
    assert not row.importable  # placed once: Import has nothing left to do
    assert row.placed == "V2 at 01:00:01:00"  # V1 holds the plate there
    assert items(timeline, 1) == [("plate", 86400, 86500)]  # untouched: nothing rippled
    assert items(timeline, 2) == [(row.file.name, 86424, 86424 + FRAMES)]
    (bin_,) = project.GetMediaPool().GetRootFolder().GetSubFolderList()
    assert bin_.GetName() == "Milimo"
    assert [clip.GetClipProperty("File Path") for clip in bin_.GetClipList()] == [str(row.file)]
    info = probe(row.file)
    assert (info.frames, info.width, info.height) == (FRAMES, 64, 64)
    notes = json.loads(timeline.GetMarkerCustomData(24))["milimo"]
    assert notes == {"job_id": row.job_id, "asset_id": row.asset_id, "file": str(row.file), "track": 2}
    (shot,) = marker_shots(timeline)  # the marker now says the shot is made
    assert shot.asset_id == row.asset_id
    assert controller.view().shots[0].status == "placed"


@pytest.mark.parametrize("start_frame", [0, 86400, 108000])
def test_record_frame_is_the_timelines_start_plus_the_offset(generated, start_frame):
    resolve = new_resolve(start_frame=start_frame)
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()

    where = placement.place(project, timeline, shot_at(30), generated, has_audio=False)

    assert (where.track, where.record_frame) == (1, start_frame + 30)
    assert items(timeline, 1) == [(generated.name, start_frame + 30, start_frame + 30 + FRAMES)]  # endFrame exclusive


def test_results_go_on_the_lowest_free_track_and_new_tracks_when_none_is(generated):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.tracks["video"][0].add(plate(86400, 100, "a"))
    timeline.AddTrack("video")
    timeline.tracks["video"][1].add(plate(86420, 20, "b"))
    timeline.AddTrack("video")
    timeline.SetTrackLock("video", 3, True)

    first = placement.place(project, timeline, shot_at(24), generated, has_audio=False)  # V1, V2 busy, V3 locked
    second = placement.place(project, timeline, shot_at(50), generated, has_audio=False)  # V2 is free from 86440
    third = placement.place(project, timeline, shot_at(28), generated, has_audio=False)  # overlaps the first
    fourth = placement.place(project, timeline, shot_at(200), generated, has_audio=False)  # past every item

    assert [p.track for p in (first, second, third, fourth)] == [4, 2, 5, 1]  # a new V4, then a new V5
    assert timeline.GetTrackCount("video") == 5
    assert timeline.GetTrackCount("audio") == 1 and items(timeline, 1, "audio") == []  # no sound, no audio track
    assert items(timeline, 1) == [("a", 86400, 86500), (generated.name, 86600, 86612)]
    assert items(timeline, 2) == [("b", 86420, 86440), (generated.name, 86450, 86462)]
    assert items(timeline, 3) == []
    assert items(timeline, 4) == [(generated.name, 86424, 86436)]
    assert items(timeline, 5) == [(generated.name, 86428, 86440)]
    (bin_,) = project.GetMediaPool().GetRootFolder().GetSubFolderList()
    assert len(bin_.GetClipList()) == 1  # the same file is imported once


def test_a_clip_placeholders_result_goes_above_it(generated):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.AddTrack("video")
    holder = plate(86448, FRAMES, "Solid Color")
    holder.AddMarker(0, "Cyan", "Milimo", "Rain on a tin roof.", 1)
    timeline.tracks["video"][1].add(holder)
    (shot,) = clip_shots(timeline)

    # V1 is free there, but the result must cover V2
    where = placement.place(project, timeline, shot, generated, has_audio=False)
    assert placement.write_job(timeline, shot, {"job_id": "j-1", "asset_id": "a-1"})

    assert (shot.start, shot.track) == (48, 2)
    assert where.track == 3
    assert items(timeline, 3) == [(generated.name, 86448, 86460)]
    assert json.loads(holder.GetMarkerCustomData(0)) == {"milimo": {"job_id": "j-1", "asset_id": "a-1"}}


def with_otio_placeholder(folder: Path) -> Resolve:
    """A project whose timeline "Board" was imported from OTIO: a placeholder shot one second in, no markers."""
    resolve = Resolve()
    board = otio.schema.Timeline(name="Board", global_start_time=otio.opentime.RationalTime(86400, 24))
    track = otio.schema.Track(name="Video 1")
    track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(24, 24)))
    request = jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(description="Gulls over the pier."))
    track.append(conventions.make_placeholder("Pier", request, otio.opentime.RationalTime(FRAMES, 24)))
    board.tracks.append(track)
    otio.adapters.write_to_file(board, str(folder / "board.otio"))
    resolve.project.GetMediaPool().ImportTimelineFromFile(str(folder / "board.otio"), {"timelineName": "Board"})
    return resolve


def test_an_otio_placeholders_placed_result_is_not_generated_again(module_daemon, tmp_path):
    """An OTIO placeholder keeps no note of its result (Resolve's export still shows it unfilled), so Generate
    with nothing chosen must know from the window's own rows that it is made."""
    resolve = with_otio_placeholder(tmp_path)
    controller = Controller(resolve, ClientConfig(address=module_daemon.address), tmp_path / "window")
    controller.start()
    try:
        controller.choose("", 64, 64)
        controller.generate()
        wait_for(lambda: placed(controller), what="the placeholder's shot to be generated, downloaded and placed")
        row = controller.jobs[0]
        assert (row.status, row.message) == ("placed", "V2 at 01:00:01:00"), controller.notice
        assert [shot.key for shot in controller.shots] == ["otio V1 24"]  # still unfilled in Resolve's export

        controller.generate()
    finally:
        controller.close()

    assert controller.notice == "No shot to generate: choose one in the list."
    assert controller.jobs == [row]


def test_a_clip_with_sound_is_placed_with_its_sound_aligned_and_linked(with_sound):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    timeline.tracks["audio"][0].add(sound(86400, 48))  # A1 is busy over the first shot

    first = placement.place(project, timeline, shot_at(24), with_sound, has_audio=True)
    second = placement.place(project, timeline, shot_at(30), with_sound, has_audio=True)  # overlaps the first
    third = placement.place(project, timeline, shot_at(100), with_sound, has_audio=True)  # A1 is free there

    assert [(p.track, p.audio_track) for p in (first, second, third)] == [(1, 2), (2, 3), (1, 1)]
    assert [p.tracks for p in (first, third)] == ["V1 and A2", "V1 and A1"]
    assert timeline.GetTrackCount("audio") == 3
    assert [timeline.GetTrackSubType("audio", track) for track in (2, 3)] == ["stereo", "stereo"]
    name = with_sound.name
    assert items(timeline, 1) == [(name, 86424, 86436), (name, 86500, 86512)]
    assert items(timeline, 1, "audio") == [("music", 86400, 86448), (name, 86500, 86512)]
    assert items(timeline, 2, "audio") == [(name, 86424, 86436)]  # under its picture, frame for frame
    assert items(timeline, 3, "audio") == [(name, 86430, 86442)]
    picture, sound_item = timeline.GetItemListInTrack("video", 1)[0], timeline.GetItemListInTrack("audio", 2)[0]
    assert picture.GetLinkedItems() == [sound_item] and sound_item.GetLinkedItems() == [picture]


def test_sound_resolve_does_not_place_takes_its_picture_out_again(generated):
    """The daemon said the clip has sound, and Resolve's clip of it has none: nothing half-placed is left."""
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()

    with pytest.raises(FailedPrecondition, match=rf"did not place {generated.name} on A1 at frame 86424"):
        placement.place(project, timeline, shot_at(24), generated, has_audio=True)

    assert items(timeline, 1) == [] and items(timeline, 1, "audio") == []


def test_the_double_drops_overlapping_sound_and_will_not_guess_where_sound_goes(with_sound):
    resolve = new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    media_pool = project.GetMediaPool()
    (clip,) = media_pool.ImportMedia([str(with_sound)])
    timeline = project.GetCurrentTimeline()
    timeline.tracks["audio"][0].add(sound(86400, 48))
    info = {"mediaPoolItem": clip, "startFrame": 0, "endFrame": FRAMES, "trackIndex": 1, "recordFrame": 86424}

    assert media_pool.AppendToTimeline([{**info, "mediaType": 2}]) == []  # overlaps the music on A1
    assert len(media_pool.AppendToTimeline([{**info, "mediaType": 1}])) == 1
    with pytest.raises(NotImplementedError, match="without mediaType"):
        media_pool.AppendToTimeline([{**info, "recordFrame": 86600}])
    assert timeline.AddTrack("audio") and timeline.GetTrackSubType("audio", 2) == "mono"  # the README's default
    assert not timeline.AddTrack("audio", "surround")


def test_a_job_a_closed_window_left_is_followed_and_its_sound_placed(module_daemon, with_sound, tmp_path):
    """A marker names a job (as a window that was closed left it): a new window follows it, and places the result,
    the first half of a clip with sound that the daemon cut (split_shot), with its sound."""
    client = module_daemon.client()
    asset = client.upload(with_sound)
    job = client.submit(jobs_pb2.JobRequest(split_shot=jobs_pb2.SplitShotRequest(asset_id=asset.id, frame=FRAMES)))
    resolve = new_resolve()
    timeline = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    left = json.dumps({"milimo": {"job_id": job.id}})
    timeline.AddMarker(24, "Blue", "Milimo: Surf", "Waves break on the rocks.", FRAMES, left)
    controller = Controller(resolve, ClientConfig(address=module_daemon.address), tmp_path)
    controller.start()
    try:
        assert [(row.job_id, row.status) for row in controller.jobs] == [(job.id, "following")]
        wait_for(lambda: placed(controller), what="the job to be followed, downloaded and placed")
        row = controller.jobs[0]
    finally:
        controller.close()

    assert (row.status, row.message) == ("placed", "V1 and A1 at 01:00:01:00"), controller.notice
    assert items(timeline, 1) == items(timeline, 1, "audio") == [(row.file.name, 86424, 86424 + FRAMES)]
    assert probe(row.file).has_audio
    notes = json.loads(timeline.GetMarkerCustomData(24))["milimo"]
    assert notes == {
        "job_id": job.id,
        "asset_id": row.asset_id,
        "file": str(row.file),
        "track": 1,
        "audio_track": 1,
    }
