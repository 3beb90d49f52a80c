"""The storyboard's store on SQLite and PostgreSQL: a parsed screenplay read into a project (append, replace,
elements), element references, and the migration that brought scenes to databases with shots."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from milimo.daemon.records import Board, ElementKind, NewAsset
from milimo.daemon.store import catalog, storyboard
from milimo.daemon.store.database import MIGRATIONS_DIR, Database, create_engine, sqlite_url, upgrade_schema
from milimo.errors import NotFound
from milimo.storyboard.parse import parse_screenplay
from milimo.storyboard.screenplay import Screenplay, Setting
from tests import postgres

SCREENPLAYS = Path(__file__).parent / "data" / "screenplays"


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "board.db")
    return postgres.new_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    engine = create_engine(database_url(request, tmp_path))
    upgrade_schema(engine)
    database = Database(engine)
    yield database
    database.close()


@pytest.fixture(scope="module")
def night_shift() -> Screenplay:
    return parse_screenplay(SCREENPLAYS / "night_shift.fountain")


def new_project(db: Database, fps: Fraction = Fraction(24)) -> str:
    values = {"name": "Night Shift", "description": "", "width": 1024, "height": 576, "fps": fps}
    return db.write_sync(lambda conn: catalog.insert_project(conn, values)).id


def read_board(db: Database, project_id: str) -> Board:
    """The board, checked: shots at 0..n-1 in scene order, each scene's shots contiguous, scenes at 0..m-1."""
    board = db.read_sync(lambda conn: storyboard.read_board(conn, project_id))
    assert [entry.scene.position for entry in board.scenes] == list(range(len(board.scenes)))
    assert [shot.position for shot in board.shots] == list(range(len(board.shots)))
    for entry in board.scenes:
        assert all(shot.scene_id == entry.scene.id for shot in entry.shots)
    assert not (board.scenes and board.loose_shots)
    return board


def apply(db: Database, project_id: str, screenplay: Screenplay, *, replace=False, create_elements=False) -> dict:
    return db.write_sync(
        lambda conn: storyboard.apply_screenplay(
            conn, project_id, screenplay, replace=replace, create_elements=create_elements
        )
    )


def test_a_screenplay_becomes_scenes_of_shots_in_order(db, night_shift):
    project_id = new_project(db)
    assert apply(db, project_id, night_shift) == {"scenes": 7, "shots": 12, "elements": 0}
    board = read_board(db, project_id)

    assert [entry.scene.heading for entry in board.scenes] == [scene.heading for scene in night_shift.scenes]
    first = board.scenes[0].scene
    assert (first.setting, first.location, first.time_of_day, first.script_number) == (
        Setting.INTERIOR,
        "HARBOUR DINER",
        "NIGHT",
        "1",
    )
    assert board.scenes[1].scene.transition == "" and board.scenes[0].scene.transition == "CUT TO:"
    assert [entry.scene.setting for entry in board.scenes] == [scene.setting for scene in night_shift.scenes]
    # Names are scene.shot, with the script's own scene number where it prints one (only scene 1 here).
    assert [shot.name for shot in board.shots][:5] == ["1.1", "1.2", "2.1", "3.1", "4.1"]
    for entry, scene in zip(board.scenes, night_shift.scenes, strict=True):
        for stored, parsed in zip(entry.shots, scene.shots, strict=True):
            assert stored.action == parsed.action and stored.description == parsed.action
            assert stored.dialogue == parsed.dialogue and stored.characters == parsed.characters
            assert stored.duration_frames == max(1, round(parsed.duration_s * 24))
            assert stored.asset_id is None and stored.metadata == {}
    dual = board.scenes[3].shots[1].dialogue[-1]
    assert dual.speaker == "MARA" and dual.dual
    # ListShots (and render_cut's gathering) sees the same order.
    listed = db.read_sync(lambda conn: catalog.list_shots(conn, project_id, limit=100, after_position=-1))
    assert [shot.id for shot in listed] == [shot.id for shot in board.shots]


def test_duration_uses_the_project_rate_and_a_dialogue_only_shot_is_described_by_its_first_line(db):
    project_id = new_project(db, Fraction(30000, 1001))
    script = parse_screenplay("INT. ROOM - DAY\n\nMARA\n(quietly)\nHello there, stranger.\n\nShe sits.\n", "fountain")
    apply(db, project_id, script)
    spoken, action = read_board(db, project_id).scenes[0].shots
    assert spoken.action == "" and spoken.description == "MARA: Hello there, stranger."
    assert action.description == "She sits."
    assert spoken.duration_frames == round(script.scenes[0].shots[0].duration_s * 30000 / 1001)


def test_append_adds_after_the_existing_scenes_and_replace_keeps_the_takes(db, night_shift):
    project_id = new_project(db)
    apply(db, project_id, night_shift)
    asset = db.write_sync(lambda conn: catalog.insert_asset(conn, NewAsset("ab" * 32, 3, "video/mp4", "take.mp4")))
    first_shot = read_board(db, project_id).shots[0]
    db.write_sync(lambda conn: catalog.set_shot_take(conn, first_shot.id, asset.id))

    assert apply(db, project_id, night_shift)["shots"] == 12
    board = read_board(db, project_id)
    assert len(board.scenes) == 14 and len(board.shots) == 24
    assert board.shots[0].id == first_shot.id and board.shots[0].asset_id == asset.id
    assert [entry.scene.heading for entry in board.scenes[7:]] == [scene.heading for scene in night_shift.scenes]

    assert apply(db, project_id, night_shift, replace=True) == {"scenes": 7, "shots": 12, "elements": 0}
    board = read_board(db, project_id)
    assert len(board.scenes) == 7 and len(board.shots) == 12 and first_shot.id not in {s.id for s in board.shots}
    assert db.read_sync(lambda conn: catalog.get_asset(conn, asset.id)).id == asset.id


def test_a_project_with_shots_but_no_scenes_keeps_them_in_a_scene_of_their_own(db, night_shift):
    project_id = new_project(db)
    for name in ("A", "B"):
        db.write_sync(lambda conn, n=name: catalog.insert_shot(conn, project_id, None, {"name": n, "metadata": {}}))
    assert [shot.scene_id for shot in read_board(db, project_id).loose_shots] == [None, None]

    assert apply(db, project_id, night_shift)["scenes"] == 7
    board = read_board(db, project_id)
    assert len(board.scenes) == 8 and not board.loose_shots
    assert board.scenes[0].scene.heading == "" and [s.name for s in board.scenes[0].shots] == ["A", "B"]
    assert board.scenes[1].scene.heading == night_shift.scenes[0].heading


def test_create_elements_adds_characters_and_locations_skipping_names_the_project_has(db, night_shift):
    project_id = new_project(db)
    values = {"kind": "prop", "name": "mara", "trigger": "@prop", "description": "", "reference_asset_ids": []}
    db.write_sync(lambda conn: storyboard.insert_element(conn, project_id, values))

    counts = apply(db, project_id, night_shift, create_elements=True)
    elements = db.read_sync(lambda conn: storyboard.list_elements(conn, project_id))
    by_name = {element.name: element for element in elements}
    assert by_name["mara"].kind == ElementKind.PROP  # "MARA" is taken, ignoring case
    assert "Mara" not in by_name
    assert by_name["Stranger"].kind == ElementKind.CHARACTER and by_name["Stranger"].trigger == "@Stranger"
    assert by_name["Mcclane"].kind == ElementKind.CHARACTER
    assert by_name["Stranger"].description == "A STRANGER in a soaked coat steps in."  # as the script introduces him
    assert by_name["Harbour Diner"].description.startswith("Interior, night. Rain streaks the windows.")
    locations = {element.name for element in elements if element.kind == ElementKind.LOCATION}
    assert locations == {
        "Harbour Diner",
        "Harbour",
        "Mara's Kitchen",
        "Mara's Car - Moving",
        "Lighthouse",
        "Truck Cab",
        "Back Room",
    }
    assert by_name["Harbour Diner"].trigger == "@HarbourDiner"
    assert counts["elements"] == len(elements) - 1 == 9
    assert [element.name for element in elements] == sorted(by_name, key=str.casefold)

    # A second reading adds no element: every name is there.
    assert apply(db, project_id, night_shift, create_elements=True)["elements"] == 0


def test_element_references_keep_the_newest_eight(db):
    project_id = new_project(db)
    values = {"kind": "character", "name": "Mara", "trigger": "@Mara", "description": "", "reference_asset_ids": []}
    element = db.write_sync(lambda conn: storyboard.insert_element(conn, project_id, values))
    ids = [f"a-{index:016x}" for index in range(10)]
    for asset_id in ids:
        db.write_sync(lambda conn, a=asset_id: storyboard.append_element_reference(conn, element.id, a))
    stored = db.read_sync(lambda conn: storyboard.get_element(conn, element.id))
    assert stored.reference_asset_ids == tuple(ids[2:])
    with pytest.raises(NotFound):
        db.write_sync(lambda conn: storyboard.append_element_reference(conn, "e-0000000000000000", ids[0]))


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database at revision 0001 (before the storyboard) that already has a project with two shots."""
    engine = create_engine(database_url(request, tmp_path))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO projects (id, name, width, height, fps_num, fps_den, created_us, updated_us) "
                "VALUES ('p-00000000000000aa', 'Old', 1024, 576, 24, 1, 1, 1)"
            )
        )
        for position, name in enumerate(["one", "two"]):
            conn.execute(
                sa.text(
                    "INSERT INTO shots (id, project_pk, position, name, duration_frames, metadata, created_us, "
                    'updated_us) VALUES (:id, 1, :position, :name, 48, \'{"lens": "35mm"}\', 1, 1)'
                ),
                {"id": f"s-00000000000000{position:02x}", "position": position, "name": name},
            )
    yield engine
    engine.dispose()


def test_the_migration_keeps_existing_shots_and_gives_them_empty_storyboard_fields(old_database, night_shift):
    upgrade_schema(old_database)
    db = Database(old_database)
    try:
        board = read_board(db, "p-00000000000000aa")
        assert [(s.name, s.duration_frames, s.metadata) for s in board.loose_shots] == [
            ("one", 48, {"lens": "35mm"}),
            ("two", 48, {"lens": "35mm"}),
        ]
        assert all((s.scene_id, s.action, s.dialogue, s.characters) == (None, "", (), ()) for s in board.loose_shots)
        # The new tables work at once: the old shots join the project's first scene.
        apply(db, "p-00000000000000aa", night_shift)
        assert [s.name for s in read_board(db, "p-00000000000000aa").scenes[0].shots] == ["one", "two"]
    finally:
        db.close()
