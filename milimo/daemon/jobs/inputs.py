"""The assets and projects a job reads, checked when it is submitted and looked up again when it starts.

Submit-time checks run inside the submitting transaction, so an error names the request's field. At start
the lane turns each asset id into its file in the media store (the bytes are immutable, so the path stays
good while the job runs) and gathers what a kind needs from the catalogue, such as a cut's shots.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from milimo.daemon.media_store import MediaStore
from milimo.daemon.records import AssetRecord
from milimo.daemon.store import catalog, storyboard
from milimo.errors import FailedPrecondition, InvalidArgument, NotFound
from milimo.storyboard.matcher import TRIGGER_MENTION
from milimo.tasks.inputs import InputAsset, InputFile, check_sort
from milimo.tasks.registry import TaskKind
from milimo.v1 import jobs_pb2

SHOTS_MAX = 10_000
PROMPTED_KINDS = ("video", "image", "inpaint")  # kinds whose prompts may name elements


def _input_asset(record: AssetRecord) -> InputAsset:
    return InputAsset(record.id, record.mime_type, record.filename, dict(record.media))


def check_submitted(conn: Connection, kind: TaskKind, request: jobs_pb2.JobRequest) -> None:
    """Every asset the request names exists and is of its sort; then the kind's own checks on them."""
    assets: dict[str, InputAsset] = {}
    for ref in kind.inputs(request):
        try:
            if ref.sort == "project":
                catalog.get_project(conn, ref.asset_id)
                continue
            asset = _input_asset(catalog.get_asset(conn, ref.asset_id))
        except NotFound as error:
            raise InvalidArgument(
                ref.field, f"there is no {ref.sort if ref.sort == 'project' else 'asset'} {ref.asset_id}"
            ) from error
        check_sort(ref, asset)
        assets[ref.field] = asset
    kind.check_inputs(request, assets)


def gather(
    conn: Connection, media: MediaStore, kind: TaskKind, request: jobs_pb2.JobRequest, project_id: str | None = None
) -> tuple[dict[str, InputFile], dict[str, Any]]:
    """The files of the job's input assets by asset id, and the catalogue facts its kind needs: a cut's shots,
    and for a generation job of a project, the project's elements its prompts mention (with their reference
    images among the files)."""
    files: dict[str, InputFile] = {}
    facts: dict[str, Any] = {}

    def add(asset_id: str, field: str) -> None:
        try:
            record = catalog.get_asset(conn, asset_id)
        except NotFound as error:
            raise FailedPrecondition(f"{field}: asset {asset_id} was deleted after the job was submitted") from error
        files[asset_id] = InputFile(
            record.id, record.mime_type, record.filename, dict(record.media), path=media.blob_path(record.sha256)
        )

    for ref in kind.inputs(request):
        if ref.sort != "project":
            add(ref.asset_id, ref.field)
            continue
        try:
            project = catalog.get_project(conn, ref.asset_id)
        except NotFound as error:
            raise FailedPrecondition(
                f"{ref.field}: project {ref.asset_id} was deleted after the job was submitted"
            ) from error
        shots = catalog.list_shots(conn, project.id, limit=SHOTS_MAX, after_position=-1)
        for shot in shots:
            if shot.asset_id:
                add(shot.asset_id, f"shot {shot.id}")
        facts["project"] = {
            "id": project.id,
            "name": project.name,
            "width": project.width,
            "height": project.height,
            "fps_num": project.fps.numerator,
            "fps_den": project.fps.denominator,
            "shots": [
                {"id": s.id, "name": s.name, "asset_id": s.asset_id or "", "duration_frames": s.duration_frames}
                for s in shots
            ],
        }
    if project_id and kind.name in PROMPTED_KINDS:
        mentioned = _mentioned_elements(conn, project_id, request)
        for element in mentioned:
            for asset_id in element["reference_asset_ids"]:
                add(asset_id, f"element {element['name']}")
        facts["elements"] = mentioned
    return files, facts


def _mentioned_elements(conn: Connection, project_id: str, request: jobs_pb2.JobRequest) -> list[dict[str, Any]]:
    """The project's elements whose trigger words the request's prompts mention, as the worker takes them."""
    body = getattr(request, request.WhichOneof("kind"))
    texts = [body.prompt, *(body.chain.chunk_prompts if request.HasField("video") else ())]
    triggers = {match.group().casefold() for text in texts for match in TRIGGER_MENTION.finditer(text)}
    if not triggers:
        return []
    try:
        elements = storyboard.list_elements(conn, project_id)
    except NotFound:
        return []  # the project went away; the prompt is rendered as written
    return [
        {
            "id": e.id,
            "kind": e.kind.value,
            "name": e.name,
            "trigger": e.trigger,
            "description": e.description,
            "reference_asset_ids": list(e.reference_asset_ids),
        }
        for e in elements
        if e.trigger.casefold() in triggers
    ]
