"""What a job's success changes in the catalogue besides its assets, inside the transaction that records it.

- A job for a shot makes its first result the shot's take.
- A `screenplay` job reads its parsed screenplay into the project's storyboard.
- A job labelled with an element (Storyboard.VisualizeElement) adds its still to the element's references.

Either all of it happens with the job's success, or none of it: an effect that cannot apply (the project or
element was deleted while the job ran) raises, and the job fails with that reason instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from milimo.daemon.jobs.model import JobRecord
from milimo.daemon.store import catalog
from milimo.daemon.store import storyboard as board
from milimo.storyboard.serialize import screenplay_from_json
from milimo.v1 import jobs_pb2

ELEMENT_LABEL = "milimo.element_id"


def apply(conn: Connection, job: JobRecord, asset_ids: Sequence[str], files: Sequence[Path]) -> None:
    """Apply the effects of `job`'s success; `files` are its results' files in the media store, as `asset_ids`."""
    if not asset_ids:
        return
    if job.shot_id:
        catalog.set_shot_take(conn, job.shot_id, asset_ids[0])
    if element_id := job.labels.get(ELEMENT_LABEL):
        board.append_element_reference(conn, element_id, asset_ids[0])
    if job.kind == "screenplay":
        request = jobs_pb2.JobRequest.FromString(job.request).screenplay
        board.apply_screenplay(
            conn,
            request.project_id,
            screenplay_from_json(files[0].read_bytes()),
            replace=request.replace,
            create_elements=request.create_elements,
        )
