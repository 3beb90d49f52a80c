"""Saved track files: a write/read round trip is exact, and a file that is not a track is refused clearly."""

from __future__ import annotations

import json
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from milimo.media.tracks import MANIFEST, Track, TrackError, read_track, write_track


def _track() -> Track:
    rng = np.random.default_rng(7)
    masks = {
        frame: {
            1: rng.random((24, 32)) > 0.5,
            **({2: rng.random((24, 32)) > 0.7} if frame != 3 else {}),  # object 2 is absent from frame 3
        }
        for frame in range(5)
    }
    return Track("a-source", "tiny-sam2", 32, 24, 5, [1, 2], masks, fps=Fraction(24000, 1001), scores={0: {1: 0.75}})


def test_round_trip_is_identical(tmp_path: Path) -> None:
    track = _track()
    path = write_track(track, tmp_path / "t.zip")
    back = read_track(path)
    assert (back.source_asset_id, back.model, back.width, back.height, back.frames) == (
        "a-source",
        "tiny-sam2",
        32,
        24,
        5,
    )
    assert back.object_ids == [1, 2] and back.fps == Fraction(24000, 1001) and back.scores == {0: {1: 0.75}}
    assert back.masks.keys() == track.masks.keys()
    for frame, objects in track.masks.items():
        assert back.masks[frame].keys() == objects.keys()
        for object_id, mask in objects.items():
            assert back.masks[frame][object_id].tobytes() == mask.tobytes()
    assert not back.mask(3, 2).any() and back.mask(3, 2).shape == (24, 32)
    assert np.array_equal(back.union(0), track.masks[0][1] | track.masks[0][2])
    assert np.array_equal(back.union(0, [2]), track.masks[0][2])
    with zipfile.ZipFile(path) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        assert "masks/000003-1.png" in archive.namelist() and "masks/000003-2.png" not in archive.namelist()
        manifest = json.loads(archive.read(MANIFEST))
    assert manifest["fps"] == {"num": 24000, "den": 1001}
    assert manifest["masks"]["3"].keys() == {"1"}
    assert [p.name for p in tmp_path.iterdir()] == ["t.zip"]  # no temp file left behind


def test_empty_masks_are_written_as_absence(tmp_path: Path) -> None:
    track = Track("a", "m", 4, 4, 2, [5], {0: {5: np.zeros((4, 4), bool)}, 1: {5: np.eye(4, dtype=bool)}})
    back = read_track(write_track(track, tmp_path / "t.zip"))
    assert back.masks.keys() == {1} and np.array_equal(back.mask(1, 5), np.eye(4, dtype=bool))


def _zip_with(path: Path, name: str, data: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, data)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: p.write_bytes(b"not a zip at all"), "not a readable zip"),
        (lambda p: _zip_with(p, "readme.txt", "hello"), r"holds no track\.json"),
        (lambda p: _zip_with(p, MANIFEST, "{oops"), "not valid JSON"),
        (lambda p: _zip_with(p, MANIFEST, '{"format": "other/9"}'), "format: 'other/9'"),
    ],
)
def test_foreign_or_corrupt_files_are_refused(tmp_path: Path, write, message: str) -> None:
    path = tmp_path / "bad.zip"
    write(path)
    with pytest.raises(TrackError, match=message):
        read_track(path)


def test_truncated_or_tampered_track_is_refused(tmp_path: Path) -> None:
    path = write_track(_track(), tmp_path / "t.zip")
    data = path.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrackError, match=r"truncated\.zip"):
        read_track(truncated)

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, b"\x89PNG garbage" if info.filename == "masks/000001-1.png" else body)
    with pytest.raises(TrackError, match=r"masks/000001-1\.png is not a readable PNG"):
        read_track(tampered)

    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(missing, "w") as dst:
        for info in src.infolist():
            if info.filename != "masks/000002-2.png":
                dst.writestr(info, src.read(info))
    with pytest.raises(TrackError, match=r"lists masks/000002-2\.png but the zip has no such mask"):
        read_track(missing)
