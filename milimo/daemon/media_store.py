"""Files under the data directory: content-addressed blobs, resumable uploads, job scratch space.

Blobs live at media/<first two hex>/<sha256> and are only ever created by an atomic rename, so a
path that exists holds complete bytes. Every path a request names is resolved here and refused if
it leads outside the data directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from milimo.errors import FailedPrecondition, InvalidArgument, PermissionDenied

# \Z, not $: `$` also matches before a trailing newline, which would then end up in file names.
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}\Z")
HASH_CHUNK = 4 * 1024 * 1024
RELATIVE_PATH_MAX, NAME_MAX = 1024, 255


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class MediaStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve()
        self.blobs = self.root / "media"
        self.uploads = self.root / "uploads"
        self.scratch = self.root / "scratch"
        for folder in (self.blobs, self.uploads, self.scratch):
            folder.mkdir(parents=True, exist_ok=True)

    # ---- paths requests name ----------------------------------------------------------------

    def resolve_inside(self, relative: str, field: str = "path") -> Path:
        """The real path of `relative` under the data directory, or PermissionDenied."""
        if not relative or "\x00" in relative:
            raise InvalidArgument(field, "must be a non-empty path relative to the data directory")
        candidate = Path(relative)
        # Longer names make the file system answer ENAMETOOLONG rather than "no such file".
        if len(relative.encode()) > RELATIVE_PATH_MAX or any(len(p.encode()) > NAME_MAX for p in candidate.parts):
            raise InvalidArgument(
                field, f"must be at most {RELATIVE_PATH_MAX} bytes, with no name in it over {NAME_MAX} bytes"
            )
        if candidate.is_absolute() or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
            raise PermissionDenied(f"{field}: absolute paths are refused; give a path inside the data directory")
        if ".." in candidate.parts or ".." in relative.replace("\\", "/").split("/"):
            raise PermissionDenied(f"{field}: '..' is refused; give a path inside the data directory")
        resolved = (self.root / candidate).resolve()
        if not resolved.is_relative_to(self.root):
            raise PermissionDenied(f"{field}: {relative!r} leads outside the data directory (a link points out)")
        return resolved

    # ---- blobs ------------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def adopt(self, source: Path, sha256: str) -> Path:
        """Move a finished file into the store under its (already computed) sha256."""
        target = self.blob_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            source.unlink(missing_ok=True)
        else:
            os.replace(source, target)
        return target

    def copy_in(self, source: Path) -> tuple[str, int]:
        """Copy a file into the store (the source stays); returns its sha256 and size."""
        temp = self.uploads / f".import-{os.getpid()}-{id(source)}"
        digest = hashlib.sha256()
        size = 0
        try:
            with source.open("rb") as src, temp.open("wb") as dst:
                while chunk := src.read(HASH_CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            sha = digest.hexdigest()
            self.adopt(temp, sha)
            return sha, size
        finally:
            temp.unlink(missing_ok=True)

    def remove_blob(self, sha256: str) -> None:
        self.blob_path(sha256).unlink(missing_ok=True)

    # ---- uploads ----------------------------------------------------------------------------

    def _part(self, sha256: str) -> Path:
        return self.uploads / f"{sha256}.part"

    def committed(self, sha256: str) -> int:
        part = self._part(sha256)
        return part.stat().st_size if part.exists() else 0

    def append(self, sha256: str, offset: int, data: bytes, written: Callable[[bytes], object] | None = None) -> int:
        """Write `data` at `offset`, which must be where the committed bytes end; then hand it to `written`."""
        committed = self.committed(sha256)
        if offset != committed:
            raise FailedPrecondition(
                f"offset: {offset} does not match the {committed} bytes committed; "
                "ask QueryUpload and resume from there"
            )
        with self._part(sha256).open("ab") as f:
            f.write(data)
        if written is not None:
            written(data)
        return committed + len(data)

    def finish_upload(self, sha256: str, size: int, hashed: str = "") -> Path:
        """Check the whole upload and move it into the store; a mismatch discards it. `hashed`: the sha256 of
        every byte of the part, taken as they were appended; without it the part is read again to hash it."""
        part = self._part(sha256)
        committed = self.committed(sha256)
        if committed != size:
            raise FailedPrecondition(f"size: {committed} of {size} bytes committed; send the rest before finish")
        part.touch()  # an empty file sends no data, so nothing has created its part yet
        with part.open("rb+") as f:
            os.fsync(f.fileno())
        actual = hashed or sha256_of(part)
        if actual != sha256:
            part.unlink(missing_ok=True)
            raise InvalidArgument("sha256", f"the uploaded bytes hash to {actual}, not {sha256}; upload again")
        return self.adopt(part, sha256)

    # ---- job scratch space ------------------------------------------------------------------

    def scratch_dir(self, job_id: str, attempt: int) -> Path:
        return self.scratch / f"{job_id}-{attempt}"

    def remove_scratch(self, job_id: str, attempt: int) -> None:
        shutil.rmtree(self.scratch_dir(job_id, attempt), ignore_errors=True)

    def clear_scratch(self) -> None:
        """At start no task runs, so whatever is in scratch/ is left over from a killed attempt."""
        for entry in self.scratch.iterdir():
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
