"""A finished job's files: fetched next to the .blend off the main thread, then placed as strips on it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import bpy

from milimo.client.client import Client
from milimo.v1 import jobs_pb2, media_pb2

from . import compat
from .timeline import free_channel

MOVIE_TYPES = ("video/",)


@dataclass(frozen=True)
class ResultFile:
    asset_id: str
    path: str
    has_audio: bool


def media_dir() -> str:
    """Next to the saved .blend (so the clips travel with it), else in Blender's user data folder; never a temp
    folder, which the system may empty."""
    if bpy.data.filepath:
        return bpy.path.abspath("//milimo_media")
    return bpy.utils.user_resource("DATAFILES", path="milimo/media", create=True)


def fetch(client: Client, job_id: str, target_dir: str) -> list[ResultFile]:
    """Worker thread: the job's video results as local files. A daemon on this host lends its file to copy;
    otherwise the bytes are downloaded (resumable). An existing complete file is reused."""
    job = client.jobs.Get(jobs_pb2.GetJobRequest(job_id=job_id), timeout=10)
    folder = Path(target_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index, asset_id in enumerate(job.result_asset_ids):
        asset = client.media.Stat(media_pb2.StatRequest(asset_id=asset_id), timeout=10)
        if not asset.mime_type.startswith(MOVIE_TYPES):
            continue
        target = folder / f"{job_id}-{index}{Path(asset.filename).suffix or '.mp4'}"
        if not (target.exists() and target.stat().st_size == asset.size):
            _copy_or_download(client, asset, target)
        files.append(ResultFile(asset_id, str(target), asset.media.has_audio))
    return files


def _copy_or_download(client: Client, asset: media_pb2.Asset, target: Path) -> None:
    if asset.local_path and os.access(asset.local_path, os.R_OK):
        part = target.with_name(target.name + ".part")
        shutil.copyfile(asset.local_path, part)
        if part.stat().st_size == asset.size:
            os.replace(part, target)
            return
        part.unlink()
    client.download(asset.id, target)


def place(scene: bpy.types.Scene, job: bpy.types.PropertyGroup, files: list[ResultFile]) -> bpy.types.Strip | None:
    """Main thread: the job's movie at the job's exact frame, on its channel when that is free, otherwise the next
    free one above. A regenerated strip gives its place to the new take; a job with an anchor strip is laid over it.
    The clip's sound is `add_sound`'s, in a later tick: Blender opens the file again for it, and one file opened per
    tick keeps each tick short."""
    if not files:
        return None
    previous: list[str] = []
    result = files[0]
    strips = compat.top_strips(scene)
    anchor = strips.get(job.anchor) if job.anchor else None
    if anchor is not None:  # a clip made from the anchor's whole file (an inpainted copy)
        movie = lay_over(scene, anchor, result.path, _name(job))
    else:
        start, end = job.frame_start, job.frame_start + job.frames
        previous = _remove_replaced(scene, job.replaces)
        channel = free_channel(scene, job.channel, start, end)
        movie = strips.new_movie(name=_name(job), filepath=result.path, channel=channel, frame_start=start)
        _fit(movie, job.frames)
    _tag(movie, job, result, previous)
    return movie


def wants_sound(job: bpy.types.PropertyGroup, files: list[ResultFile]) -> bool:
    """Whether the job's clip brings a sound strip: it has sound and is not laid over a source (which keeps its own
    sound)."""
    return bool(files) and files[0].has_audio and not job.anchor


def add_sound(
    scene: bpy.types.Scene, job: bpy.types.PropertyGroup, movie: bpy.types.Strip, result: ResultFile
) -> bpy.types.Strip:
    """Main thread: the sound of `result`, the file of the placed `movie`, on the first channel above the movie that
    is free where it plays, trimmed and tagged as the movie is. Raises RuntimeError where Blender has no audio."""
    channel = free_channel(scene, movie.channel + 1, movie.frame_final_start, movie.frame_final_end)
    sound = compat.top_strips(scene).new_sound(
        name=_name(job) + " audio", filepath=result.path, channel=channel, frame_start=round(movie.frame_start)
    )
    sound.frame_offset_start, sound.frame_offset_end = movie.frame_offset_start, movie.frame_offset_end
    _tag(sound, job, result, list(movie.get("milimo_previous_takes", [])))
    return sound


def lay_over(scene: bpy.types.Scene, source: bpy.types.Strip, path: str, name: str) -> bpy.types.Strip:
    """A movie of `path` (a file made from `source`'s whole file) on the first channel above `source` that is free
    where it plays, shown exactly over it."""
    channel = free_channel(scene, source.channel + 1, source.frame_final_start, source.frame_final_end)
    strip = compat.top_strips(scene).new_movie(
        name=name, filepath=path, channel=channel, frame_start=round(source.frame_start)
    )
    align(strip, source)
    return strip


def align(strip: bpy.types.Strip, source: bpy.types.Strip) -> None:
    """Show `strip` exactly over `source`: frame N of its file over frame N of the source's (same start and
    trims), drawn with the same transform, crop and flips. `strip` starts where `source` does."""
    strip.frame_offset_start = source.frame_offset_start
    # A file a frame longer or shorter than the source still ends where the source does, where it can.
    strip.frame_offset_end = max(0, source.frame_offset_end + strip.frame_duration - source.frame_duration)
    for name in ("offset_x", "offset_y", "scale_x", "scale_y", "rotation", "origin"):
        setattr(strip.transform, name, getattr(source.transform, name))
    for name in ("min_x", "max_x", "min_y", "max_y"):
        setattr(strip.crop, name, getattr(source.crop, name))
    strip.use_flip_x, strip.use_flip_y = source.use_flip_x, source.use_flip_y


def _name(job: bpy.types.PropertyGroup) -> str:
    return (job.label or job.prompt or job.kind)[:48] or job.job_id


def _fit(strip: bpy.types.Strip, frames: int) -> None:
    """Trim a longer clip (a model's 8k+1 frames) back to the range the shot was asked for."""
    if frames and strip.frame_final_duration > frames:
        strip.frame_final_duration = frames


def _tag(strip: bpy.types.Strip, job: bpy.types.PropertyGroup, result: ResultFile, previous: list[str]) -> None:
    strip["milimo_job_id"] = job.job_id
    strip["milimo_asset_id"] = result.asset_id
    strip["milimo_seed"] = job.seed
    strip["milimo_prompt"] = job.prompt
    strip["milimo_model"] = job.model
    strip["milimo_kind"] = job.kind
    if job.placeholder:
        strip["milimo_placeholder"] = job.placeholder
    if previous:
        # The replaced takes' files stay on disk; their paths stay findable here.
        strip["milimo_previous_takes"] = previous


def _remove_replaced(scene: bpy.types.Scene, name: str) -> list[str]:
    """Remove the strip being regenerated (and its sound); return every earlier take's file."""
    if not name:
        return []
    strips = compat.top_strips(scene)
    old = strips.get(name)
    if old is None:
        return []
    previous = [*old.get("milimo_previous_takes", []), bpy.path.abspath(old.filepath)]
    job_id = old.get("milimo_job_id")
    for strip in [strip for strip in strips if strip.get("milimo_job_id") == job_id and job_id]:
        strips.remove(strip)
    return previous
