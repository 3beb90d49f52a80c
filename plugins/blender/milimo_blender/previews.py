"""Preview thumbnails of running jobs, as icons the panel can draw (`bpy.utils.previews`)."""

from __future__ import annotations

import contextlib
import os

import bpy.utils.previews

_collection: bpy.utils.previews.ImagePreviewCollection | None = None
_files: dict[str, str] = {}  # job id -> the preview file shown now


def register() -> None:
    global _collection
    _collection = bpy.utils.previews.new()


def unregister() -> None:
    global _collection
    if _collection is not None:
        bpy.utils.previews.remove(_collection)
    _collection = None
    for path in _files.values():
        _remove(path)
    _files.clear()


def show(job_id: str, path: str) -> None:
    """Main thread: make `path` the job's preview, replacing the previous one."""
    if _collection is None:
        return
    if job_id in _collection:
        # A loaded preview cannot be reloaded in place: drop the icon and load the new file under the same key.
        del _collection[job_id]
    _collection.load(job_id, path, "IMAGE")
    if (old := _files.get(job_id)) and old != path:
        _remove(old)
    _files[job_id] = path


def icon(job_id: str) -> int:
    """The preview's icon id for `layout.template_icon`, or 0 when there is none."""
    if _collection is None or job_id not in _collection:
        return 0
    return _collection[job_id].icon_id


def forget(job_id: str) -> None:
    if _collection is not None and job_id in _collection:
        del _collection[job_id]
    if (path := _files.pop(job_id, None)) is not None:
        _remove(path)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
