"""Projects, shots and assets: validation and transactions. No gRPC here."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from milimo import validation
from milimo.daemon.jobs.service import decode_page_token, encode_page_token
from milimo.daemon.media_store import MediaStore
from milimo.daemon.records import AssetRecord, ProjectRecord, ShotRecord
from milimo.daemon.store import catalog
from milimo.daemon.store.database import Database
from milimo.errors import InvalidArgument, NotFound
from milimo.storyboard.screenplay import DialogueLine

PROJECT_FIELDS = ("name", "description", "width", "height", "fps")
SHOT_FIELDS = (
    "name",
    "description",
    "position",
    "duration_frames",
    "asset_id",
    "metadata",
    "action",
    "dialogue",
    "characters",
)
ASSET_FIELDS = ("filename", "project_id")
DEFAULT_SIZE, DEFAULT_FPS = (1024, 576), Fraction(24)
DIALOGUE_LINES_MAX, CHARACTERS_MAX = 1000, 100
PARENTHETICAL_MAX, EXTENSION_MAX = 500, 100


def check_id(field: str, value: str, prefix: str, what: str) -> str:
    """`value` as an id of `what` (`prefix` and 16 hex digits); any other string names nothing: NOT_FOUND."""
    if not validation.ID_PATTERN.match(value) or not value.startswith(prefix):
        raise NotFound(what, value[:64])
    return value


def check_dialogue(field: str, lines: Sequence[DialogueLine]) -> tuple[DialogueLine, ...]:
    if len(lines) > DIALOGUE_LINES_MAX:
        raise InvalidArgument(field, f"at most {DIALOGUE_LINES_MAX} lines (got {len(lines)})")
    for index, line in enumerate(lines):
        validation.name(f"{field}[{index}].speaker", line.speaker)
        validation.text(f"{field}[{index}].text", line.text)
        validation.text(f"{field}[{index}].parenthetical", line.parenthetical, PARENTHETICAL_MAX)
        validation.text(f"{field}[{index}].extension", line.extension, EXTENSION_MAX)
    return tuple(lines)


def check_characters(field: str, names: Sequence[str]) -> tuple[str, ...]:
    if len(names) > CHARACTERS_MAX:
        raise InvalidArgument(field, f"at most {CHARACTERS_MAX} characters (got {len(names)})")
    return tuple(validation.name(f"{field}[{index}]", name) for index, name in enumerate(names))


def check_mask(paths: list[str], allowed: tuple[str, ...]) -> list[str]:
    """The fields an update touches; an empty mask means every mutable field (AIP-134)."""
    for path in paths:
        if path not in allowed:
            raise InvalidArgument("update_mask", f"{path!r} cannot be updated; allowed: {', '.join(allowed)}")
    return paths or list(allowed)


class CatalogService:
    def __init__(self, db: Database, media: MediaStore) -> None:
        self.db = db
        self.media = media

    # ---- projects ---------------------------------------------------------------------------

    def _project_values(self, values: dict[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        if "name" in values:
            checked["name"] = validation.name("project.name", values["name"])
        if "description" in values:
            checked["description"] = validation.text("project.description", values["description"])
        for field in ("width", "height"):
            if field in values:
                checked[field] = validation.dimension(f"project.{field}", values[field])
        if "fps" in values:
            num, den = values["fps"]
            checked["fps"] = validation.fps("project.fps", num, den)
        return checked

    async def create_project(self, values: dict[str, Any]) -> ProjectRecord:
        values = {
            "width": values.get("width") or DEFAULT_SIZE[0],
            "height": values.get("height") or DEFAULT_SIZE[1],
            "fps": values["fps"] if values.get("fps", (0, 0))[0] else (DEFAULT_FPS.numerator, 1),
            "name": values.get("name", ""),
            "description": values.get("description", ""),
        }
        checked = self._project_values(values)
        return await self.db.write(lambda conn: catalog.insert_project(conn, checked))

    async def get_project(self, project_id: str) -> ProjectRecord:
        check_id("project_id", project_id, "p-", "project")
        return await self.db.read(lambda conn: catalog.get_project(conn, project_id))

    async def list_projects(self, page_size: int, page_token: str) -> tuple[list[ProjectRecord], str]:
        limit = validation.page_size("page.page_size", page_size)
        before = decode_page_token(page_token)
        rows = await self.db.read(lambda conn: catalog.list_projects(conn, limit=limit + 1, before_pk=before))
        return _page([record for _, record in rows], [pk for pk, _ in rows], limit)

    async def update_project(self, project_id: str, values: dict[str, Any]) -> ProjectRecord:
        check_id("project.id", project_id, "p-", "project")
        checked = self._project_values(values)
        return await self.db.write(lambda conn: catalog.update_project(conn, project_id, checked))

    async def delete_project(self, project_id: str) -> None:
        check_id("project_id", project_id, "p-", "project")
        await self.db.write(lambda conn: catalog.delete_project(conn, project_id))

    # ---- shots ------------------------------------------------------------------------------

    def _shot_values(self, values: dict[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        if "name" in values:
            checked["name"] = validation.name("shot.name", values["name"], required=False)
        if "description" in values:
            checked["description"] = validation.prompt("shot.description", values["description"])
        if "position" in values:
            checked["position"] = validation.in_range("shot.position", values["position"], 0, 1_000_000)
        if "duration_frames" in values:
            checked["duration_frames"] = validation.in_range(
                "shot.duration_frames", values["duration_frames"], 0, 10**9
            )
        if "asset_id" in values:
            checked["asset_id"] = validation.optional_id("shot.asset_id", values["asset_id"])
        if "metadata" in values:
            checked["metadata"] = validation.labels("shot.metadata", values["metadata"])
        if "action" in values:
            checked["action"] = validation.text("shot.action", values["action"])
        if "dialogue" in values:
            checked["dialogue"] = check_dialogue("shot.dialogue", values["dialogue"])
        if "characters" in values:
            checked["characters"] = check_characters("shot.characters", values["characters"])
        return checked

    async def create_shot(
        self, project_id: str, values: dict[str, Any], position: int | None, scene_id: str = ""
    ) -> ShotRecord:
        """A new shot at `position` (None: last), joining the scene of the place it lands in; with `scene_id`,
        at the end of that scene unless `position` is inside it."""
        check_id("shot.project_id", project_id, "p-", "project")
        if scene_id:
            check_id("shot.scene_id", scene_id, "c-", "scene")
        checked = self._shot_values(values)
        checked.setdefault("metadata", {})
        checked.pop("position", None)
        if position is not None:
            validation.in_range("shot.position", position, 0, 1_000_000)

        def insert(conn):  # noqa: ANN001
            if checked.get("asset_id"):
                catalog.get_asset(conn, checked["asset_id"])
            return catalog.insert_shot(conn, project_id, position, checked, scene_id or None)

        return await self.db.write(insert)

    async def get_shot(self, shot_id: str) -> ShotRecord:
        check_id("shot_id", shot_id, "s-", "shot")
        return await self.db.read(lambda conn: catalog.get_shot(conn, shot_id))

    async def list_shots(self, project_id: str, page_size: int, page_token: str) -> tuple[list[ShotRecord], str]:
        check_id("project_id", project_id, "p-", "project")
        limit = validation.page_size("page.page_size", page_size)
        after = decode_page_token(page_token, maximum=1_000_000)  # shot positions are 0..1_000_000
        after_position = -1 if after is None else after
        shots = await self.db.read(
            lambda conn: catalog.list_shots(conn, project_id, limit=limit + 1, after_position=after_position)
        )
        if len(shots) > limit:
            return shots[:limit], encode_page_token(shots[limit - 1].position)
        return shots, ""

    async def update_shot(self, shot_id: str, values: dict[str, Any]) -> ShotRecord:
        check_id("shot.id", shot_id, "s-", "shot")
        checked = self._shot_values(values)

        def update(conn):  # noqa: ANN001
            if checked.get("asset_id"):
                catalog.get_asset(conn, checked["asset_id"])
            return catalog.update_shot(conn, shot_id, checked)

        return await self.db.write(update)

    async def delete_shot(self, shot_id: str) -> None:
        check_id("shot_id", shot_id, "s-", "shot")
        await self.db.write(lambda conn: catalog.delete_shot(conn, shot_id))

    # ---- assets -----------------------------------------------------------------------------

    async def get_asset(self, asset_id: str) -> AssetRecord:
        check_id("asset_id", asset_id, "a-", "asset")
        return await self.db.read(lambda conn: catalog.get_asset(conn, asset_id))

    async def list_assets(
        self, project_id: str, job_id: str, page_size: int, page_token: str
    ) -> tuple[list[AssetRecord], str]:
        validation.optional_id("project_id", project_id)
        validation.optional_id("job_id", job_id)
        limit = validation.page_size("page.page_size", page_size)
        before = decode_page_token(page_token)
        rows = await self.db.read(
            lambda conn: catalog.list_assets(
                conn, project_id=project_id, job_id=job_id, limit=limit + 1, before_pk=before
            )
        )
        return _page([record for _, record in rows], [pk for pk, _ in rows], limit)

    async def update_asset(self, asset_id: str, values: dict[str, Any]) -> AssetRecord:
        check_id("asset.id", asset_id, "a-", "asset")
        checked: dict[str, Any] = {}
        if "filename" in values:
            checked["filename"] = validation.name("asset.filename", values["filename"])
        if "project_id" in values:
            checked["project_id"] = validation.optional_id("asset.project_id", values["project_id"])

        def update(conn):  # noqa: ANN001
            if checked.get("project_id"):
                catalog.get_project(conn, checked["project_id"])
            return catalog.update_asset(conn, asset_id, checked)

        return await self.db.write(update)

    async def delete_asset(self, asset_id: str) -> None:
        check_id("asset_id", asset_id, "a-", "asset")
        # The bytes go only once the row's deletion is durable, and before another write can refer to them.
        await self.db.write(
            lambda conn: catalog.delete_asset(conn, asset_id),
            after_commit=lambda orphan: orphan is not None and self.media.remove_blob(orphan),
        )


def _page(records: list, keys: list[int], limit: int) -> tuple[list, str]:
    if len(records) > limit:
        return records[:limit], encode_page_token(keys[limit - 1])
    return records, ""
