"""The storyboard's work with jobs and pictures: which elements are in which shots, rendering shots as a batch,
an element's reference still, and shot thumbnails. No gRPC here (the servicer converts), no SQL (the store has it).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

from milimo import validation
from milimo.daemon.catalog_service import check_id
from milimo.daemon.jobs.effects import ELEMENT_LABEL
from milimo.daemon.jobs.model import JobRecord
from milimo.daemon.jobs.service import BATCH_MAX, JobService, JobSubmission
from milimo.daemon.media_store import MediaStore
from milimo.daemon.servicers import convert
from milimo.daemon.store import catalog, storyboard
from milimo.daemon.store.database import Database
from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.media.thumbnails import DEFAULT_MAX_PIXELS, MAX_PIXELS, Thumbnail, thumbnail
from milimo.storyboard.generate import BoardShot, board_shots, fill_request, shot_prompt
from milimo.storyboard.matcher import ElementFacts, Match, ShotFacts, match_shot
from milimo.tasks import registry
from milimo.v1 import jobs_pb2, storyboard_pb2

BATCH_LABEL = "milimo.batch"
MIN_THUMBNAIL_PIXELS = 16
IMAGE_SIDE_STEP = 16


class BoardJobs:
    def __init__(self, db: Database, jobs: JobService, media: MediaStore) -> None:
        self.db = db
        self.jobs = jobs
        self.media = media

    async def view(self, project_id: str) -> storyboard_pb2.StoryboardView:
        check_id("project_id", project_id, "p-", "project")

        def read(conn):  # noqa: ANN001
            board = storyboard.read_board(conn, project_id)
            return convert.storyboard(board, storyboard.list_elements(conn, project_id))

        return await self.db.read(read)

    async def match(self, project_id: str, shot_ids: Sequence[str]) -> list[tuple[str, list[Match]]]:
        """Each chosen shot's elements, best first, in board order."""
        view = await self.view(project_id)
        entries = _chosen(board_shots(view), shot_ids, project_id)
        elements = [element_facts(e) for e in view.elements]
        return [(entry.shot.id, match_shot(shot_facts(entry), elements)) for entry in entries]

    async def generate(
        self,
        project_id: str,
        shot_ids: Sequence[str],
        template: jobs_pb2.JobRequest,
        *,
        priority: int,
        only_missing: bool,
    ) -> tuple[str, list[JobRecord]]:
        """Queue a job per chosen shot in one transaction, each filling its shot's take; (batch id, jobs)."""
        view = await self.view(project_id)
        entries = _chosen(board_shots(view), shot_ids, project_id)
        if only_missing:
            entries = [entry for entry in entries if not entry.shot.asset_id]
        batch_id = f"b-{secrets.token_hex(8)}"
        if not entries:
            return batch_id, []
        if len(entries) > BATCH_MAX:
            raise InvalidArgument(
                "shot_ids",
                f"a batch renders at most {BATCH_MAX} shots (this one has {len(entries)}); name them in parts",
            )
        elements = {e.id: element_facts(e) for e in view.elements}
        submissions = []
        for entry in entries:
            prompt = shot_prompt(entry, match_shot(shot_facts(entry), list(elements.values())), elements)
            request = fill_request(template, entry, view.project, prompt)
            submissions.append(
                JobSubmission(
                    request,
                    priority=priority,
                    project_id=project_id,
                    shot_id=entry.shot.id,
                    labels={BATCH_LABEL: batch_id},
                )
            )
        _check_template(submissions[0].request, self.jobs.models)
        return batch_id, await self.jobs.submit_batch(submissions)

    async def visualize(self, element_id: str, image: jobs_pb2.ImageRequest, priority: int) -> JobRecord:
        """Queue an image job that renders the element from its description (the effect adds it as a reference)."""
        check_id("element_id", element_id, "e-", "element")

        def read(conn):  # noqa: ANN001
            element = storyboard.get_element(conn, element_id)
            return element, catalog.get_project(conn, element.project_id)

        element, project = await self.db.read(read)
        request = jobs_pb2.JobRequest(image=image)
        still = request.image
        subject = f"{element.name}, {element.description}" if element.description else element.name
        framing = _FRAMING[element.kind.value]
        still.prompt = " ".join(part for part in (f"{framing} {subject}.", image.prompt.strip()) if part)
        still.width = still.width or max(64, project.width - project.width % IMAGE_SIDE_STEP)
        still.height = still.height or max(64, project.height - project.height % IMAGE_SIDE_STEP)
        return await self.jobs.submit(
            request, priority=priority, project_id=element.project_id, labels={ELEMENT_LABEL: element_id}
        )

    async def thumbnail(self, shot_id: str, max_pixels: int) -> tuple[str, Thumbnail]:
        """The shot's take as a small JPEG: (the take's asset id, the thumbnail)."""
        check_id("shot_id", shot_id, "s-", "shot")
        size = max_pixels or DEFAULT_MAX_PIXELS
        validation.in_range("max_pixels", size, MIN_THUMBNAIL_PIXELS, MAX_PIXELS)

        def read(conn):  # noqa: ANN001
            shot = catalog.get_shot(conn, shot_id)
            if not shot.asset_id:
                raise FailedPrecondition(f"shot {shot_id} has no take yet; generate it first")
            return catalog.get_asset(conn, shot.asset_id)

        asset = await self.db.read(read)
        if not asset.mime_type.startswith(("image/", "video/")):
            raise FailedPrecondition(f"shot {shot_id}'s take {asset.id} is {asset.mime_type}, not a picture")
        source = self.media.blob_path(asset.sha256)
        cache = self.media.root / "thumbnails"
        picture = await asyncio.to_thread(thumbnail, source, asset.mime_type, size, cache, asset.sha256)
        return asset.id, picture


# What a reference still shows: a likeness to condition later shots on, so a plain, well-lit view of the subject.
_FRAMING = {
    "character": "Character reference portrait, neutral background, soft even light:",
    "prop": "Product-style reference photo on a plain background:",
    "location": "Wide establishing shot, reference photo:",
}


def element_facts(element: storyboard_pb2.Element) -> ElementFacts:
    kind = storyboard_pb2.ElementKind.Name(element.kind).removeprefix("ELEMENT_KIND_").lower()
    return ElementFacts(element.id, kind, element.name, element.trigger, element.description)


def shot_facts(entry: BoardShot) -> ShotFacts:
    scene = entry.scene
    return ShotFacts(
        id=entry.shot.id,
        heading=scene.heading if scene is not None else "",
        location=scene.location if scene is not None else "",
        action=entry.shot.action,
        description=entry.shot.description,
        dialogue=tuple((line.speaker, line.text) for line in entry.shot.dialogue),
        characters=tuple(entry.shot.characters),
    )


def _chosen(entries: list[BoardShot], shot_ids: Sequence[str], project_id: str) -> list[BoardShot]:
    """The named shots in board order (every shot when none is named); unknown or repeated ids are refused."""
    if not shot_ids:
        return entries
    by_id = {entry.shot.id: entry for entry in entries}
    seen: set[str] = set()
    for index, shot_id in enumerate(shot_ids):
        if shot_id not in by_id:
            raise InvalidArgument(f"shot_ids[{index}]", f"{shot_id[:64]!r} is not a shot of project {project_id}")
        if shot_id in seen:
            raise InvalidArgument(f"shot_ids[{index}]", f"{shot_id} is named twice")
        seen.add(shot_id)
    return [entry for entry in entries if entry.shot.id in seen]


def _check_template(request: jobs_pb2.JobRequest, models: registry.Models) -> None:
    """Check the template's own fields once, naming them as the template's (`template.video.model`)."""
    try:
        registry.kind_for(request, models)
    except InvalidArgument as error:
        raise InvalidArgument(f"template.{error.field}", error.rule) from error
