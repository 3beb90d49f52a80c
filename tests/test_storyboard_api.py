"""The Storyboard service over real gRPC, on SQLite and PostgreSQL: scenes of shots in one order across the
project, reorders and moves that fail whole, splits that keep the frames, and elements with their rules."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from PIL import Image

from milimo.v1 import projects_pb2, storyboard_pb2, storyboard_pb2_grpc

P, S = projects_pb2, storyboard_pb2


@pytest.fixture
def board_stub(client) -> storyboard_pb2_grpc.StoryboardStub:
    return storyboard_pb2_grpc.StoryboardStub(client.channel)


def new_project(client, name: str = "Night Shift") -> str:
    return client.projects.CreateProject(P.CreateProjectRequest(project=P.Project(name=name))).id


def new_scene(stub, project_id: str, heading: str, **fields) -> S.Scene:
    return stub.CreateScene(S.CreateSceneRequest(scene=S.Scene(project_id=project_id, heading=heading, **fields)))


def new_shot(client, project_id: str, name: str, **fields) -> P.Shot:
    return client.projects.CreateShot(P.CreateShotRequest(shot=P.Shot(project_id=project_id, name=name, **fields)))


def view(stub, project_id: str) -> S.StoryboardView:
    """The board, checked: scenes at 0..m-1, shots at 0..n-1 in scene order, each with its scene's id."""
    board = stub.GetStoryboard(S.GetStoryboardRequest(project_id=project_id))
    assert [entry.scene.position for entry in board.scenes] == list(range(len(board.scenes)))
    shots = [shot for entry in board.scenes for shot in entry.shots] + list(board.shots_without_scene)
    assert [shot.position for shot in shots] == list(range(len(shots)))
    for entry in board.scenes:
        assert all(shot.scene_id == entry.scene.id for shot in entry.shots)
    assert not (board.scenes and board.shots_without_scene)
    return board


def layout(stub, project_id: str) -> list[tuple[str, list[str]]]:
    """Each scene's heading with its shots' names, in order."""
    return [(entry.scene.heading, [shot.name for shot in entry.shots]) for entry in view(stub, project_id).scenes]


def listed_names(client, project_id: str) -> list[str]:
    return [shot.name for shot in client.projects.ListShots(P.ListShotsRequest(project_id=project_id)).shots]


def rpc_error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call(request)
    return error.value


def two_scenes(client, stub) -> tuple[str, S.Scene, S.Scene, dict[str, str]]:
    """A project with scene DINER (shots 1.1, 1.2, 1.3) and scene HARBOUR (shots 2.1, 2.2); the shots' ids."""
    project_id = new_project(client)
    diner = new_scene(stub, project_id, "INT. DINER - NIGHT")
    harbour = new_scene(stub, project_id, "EXT. HARBOUR - DAWN")
    ids = {}
    for scene, names in ((diner, ["1.1", "1.2", "1.3"]), (harbour, ["2.1", "2.2"])):
        for name in names:
            ids[name] = new_shot(client, project_id, name, scene_id=scene.id, duration_frames=48).id
    return project_id, diner, harbour, ids


DINER, HARBOUR = "INT. DINER - NIGHT", "EXT. HARBOUR - DAWN"


def test_a_project_holds_scenes_of_shots_with_their_screenplay_fields(client, board_stub):
    project_id = new_project(client)
    diner = new_scene(board_stub, project_id, "INT. HARBOUR DINER - NIGHT", synopsis="Mara closes up.")
    assert (diner.setting, diner.location, diner.time_of_day, diner.position) == (
        S.SETTING_INTERIOR,
        "HARBOUR DINER",
        "NIGHT",
        0,
    )
    car = new_scene(board_stub, project_id, "INT./EXT. MARA'S CAR - MOVING", transition="CUT TO:", script_number="4A")
    assert (car.setting, car.location, car.time_of_day) == (S.SETTING_BOTH, "MARA'S CAR - MOVING", "")
    # Parts given with the heading are kept as given.
    given = new_scene(board_stub, project_id, "EXT. PIER - DAY", location="THE OLD PIER", position=1)
    assert (given.setting, given.location, given.time_of_day, given.position) == (
        S.SETTING_UNSPECIFIED,
        "THE OLD PIER",
        "",
        1,
    )

    line = P.DialogueLine(speaker="MARA", text="Kitchen's closed.", parenthetical="flat", extension="CONT'D")
    shot = new_shot(
        client,
        project_id,
        "1.1",
        scene_id=diner.id,
        action="Mara stacks chairs.",
        dialogue=[line, P.DialogueLine(speaker="STRANGER", text="Coffee, then.", dual=True)],
        characters=["MARA", "STRANGER"],
        duration_frames=96,
    )
    assert shot.scene_id == diner.id and shot.action == "Mara stacks chairs."
    assert shot.dialogue[0] == line and shot.dialogue[1].dual and list(shot.characters) == ["MARA", "STRANGER"]
    assert client.projects.GetShot(P.GetShotRequest(shot_id=shot.id)) == shot
    new_shot(client, project_id, "4A.1", scene_id=car.id)

    board = view(board_stub, project_id)
    assert board.project.id == project_id
    assert [entry.scene.id for entry in board.scenes] == [diner.id, given.id, car.id]
    assert [[s.name for s in entry.shots] for entry in board.scenes] == [["1.1"], [], ["4A.1"]]
    assert board.scenes[0].shots[0] == shot and board.scenes[0].scene.synopsis == "Mara closes up."
    assert board.scenes[2].scene.transition == "CUT TO:" and board.scenes[2].scene.script_number == "4A"

    board_stub.DeleteScene(S.DeleteSceneRequest(scene_id=diner.id))
    assert layout(board_stub, project_id) == [("EXT. PIER - DAY", []), ("INT./EXT. MARA'S CAR - MOVING", ["4A.1"])]
    assert rpc_error(client.projects.GetShot, P.GetShotRequest(shot_id=shot.id)).code() == grpc.StatusCode.NOT_FOUND


def test_a_project_without_scenes_has_loose_shots_until_its_first_scene_takes_them(client, board_stub):
    project_id = new_project(client)
    for name in "AB":
        new_shot(client, project_id, name)
    assert [shot.name for shot in view(board_stub, project_id).shots_without_scene] == ["A", "B"]
    scene = new_scene(board_stub, project_id, "INT. STUDIO - DAY")
    board = view(board_stub, project_id)
    assert not board.shots_without_scene and [s.name for s in board.scenes[0].shots] == ["A", "B"]
    assert all(shot.scene_id == scene.id for shot in board.scenes[0].shots)


def test_update_scene_reads_a_new_heading_unless_its_parts_are_given(client, board_stub):
    project_id = new_project(client)
    scene = new_scene(board_stub, project_id, "INT. DINER - NIGHT", synopsis="keep me")

    def update(paths, **fields):
        request = S.UpdateSceneRequest(scene=S.Scene(id=scene.id, **fields), update_mask=FieldMask(paths=paths))
        return board_stub.UpdateScene(request)

    changed = update(["heading"], heading="EXT. LIGHTHOUSE - DAWN", location="ignored: not in the mask")
    assert (changed.heading, changed.setting, changed.location, changed.time_of_day, changed.synopsis) == (
        "EXT. LIGHTHOUSE - DAWN",
        S.SETTING_EXTERIOR,
        "LIGHTHOUSE",
        "DAWN",
        "keep me",
    )
    changed = update(["heading", "location"], heading="INT. CAR - DAY", location="MARA'S CAR")
    assert (changed.setting, changed.location, changed.time_of_day) == (S.SETTING_EXTERIOR, "MARA'S CAR", "DAWN")
    changed = update(["transition", "script_number"], transition="DISSOLVE TO:", script_number="12A")
    assert (changed.transition, changed.script_number, changed.heading) == ("DISSOLVE TO:", "12A", "INT. CAR - DAY")

    for paths, field in ((["position"], "update_mask"), (["heading"], "scene.heading")):
        error = rpc_error(
            board_stub.UpdateScene,
            S.UpdateSceneRequest(scene=S.Scene(id=scene.id, heading="x" * 1001), update_mask=FieldMask(paths=paths)),
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith(field)
    missing = S.UpdateSceneRequest(scene=S.Scene(id="c-0000000000000000"), update_mask=FieldMask(paths=["synopsis"]))
    assert rpc_error(board_stub.UpdateScene, missing).code() == grpc.StatusCode.NOT_FOUND


def test_update_shot_changes_its_screenplay_fields_by_mask_but_never_its_scene(client, board_stub):
    _, diner, harbour, ids = two_scenes(client, board_stub)
    shot = P.Shot(
        id=ids["1.1"],
        action="Rain streaks the windows.",
        dialogue=[P.DialogueLine(speaker="MARA", text="One more hour.")],
        characters=["MARA"],
        scene_id=harbour.id,
    )
    updated = client.projects.UpdateShot(
        P.UpdateShotRequest(shot=shot, update_mask=FieldMask(paths=["action", "dialogue", "characters"]))
    )
    assert (updated.action, [line.text for line in updated.dialogue], list(updated.characters)) == (
        "Rain streaks the windows.",
        ["One more hour."],
        ["MARA"],
    )
    assert updated.scene_id == diner.id
    error = rpc_error(
        client.projects.UpdateShot, P.UpdateShotRequest(shot=shot, update_mask=FieldMask(paths=["scene_id"]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "update_mask" in error.details()
    bad = P.Shot(id=ids["1.1"], dialogue=[P.DialogueLine(text="no speaker")])
    error = rpc_error(
        client.projects.UpdateShot, P.UpdateShotRequest(shot=bad, update_mask=FieldMask(paths=["dialogue"]))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("shot.dialogue[0].speaker")


def test_reorder_scenes_moves_their_shots_and_reorder_shots_stays_inside_the_scene(client, board_stub):
    project_id, diner, harbour, ids = two_scenes(client, board_stub)
    pier = new_scene(board_stub, project_id, "EXT. PIER - DAY")
    reordered = board_stub.ReorderScenes(
        S.ReorderScenesRequest(project_id=project_id, scene_ids=[pier.id, harbour.id, diner.id])
    )
    assert reordered == view(board_stub, project_id)
    assert layout(board_stub, project_id) == [
        ("EXT. PIER - DAY", []),
        (HARBOUR, ["2.1", "2.2"]),
        (DINER, ["1.1", "1.2", "1.3"]),
    ]
    assert listed_names(client, project_id) == ["2.1", "2.2", "1.1", "1.2", "1.3"]

    scene = board_stub.ReorderShots(
        S.ReorderShotsRequest(scene_id=diner.id, shot_ids=[ids["1.3"], ids["1.1"], ids["1.2"]])
    )
    assert scene.scene.id == diner.id and [shot.name for shot in scene.shots] == ["1.3", "1.1", "1.2"]
    assert [shot.position for shot in scene.shots] == [2, 3, 4]
    assert listed_names(client, project_id) == ["2.1", "2.2", "1.3", "1.1", "1.2"]


def test_a_failed_reorder_leaves_the_board_exactly_as_it_was(client, board_stub):
    project_id, diner, harbour, ids = two_scenes(client, board_stub)
    _, other_scene, _, other_ids = two_scenes(client, board_stub)
    before = view(board_stub, project_id).SerializeToString(deterministic=True)

    scene_cases = [
        ([harbour.id, harbour.id], "scene_ids[1]", "a second time"),
        ([harbour.id], "scene_ids", "missing " + diner.id),
        ([harbour.id, other_scene.id], "scene_ids[1]", "is not a scene of project"),
        ([harbour.id, diner.id, "c-0000000000000000"], "scene_ids[2]", "is not a scene of project"),
    ]
    for scene_ids, field, rule in scene_cases:
        error = rpc_error(board_stub.ReorderScenes, S.ReorderScenesRequest(project_id=project_id, scene_ids=scene_ids))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith(field + ":") and rule in error.details()

    shot_cases = [
        ([ids["1.3"], ids["1.2"], ids["1.3"]], "shot_ids[2]", "a second time"),
        ([ids["1.3"], ids["1.2"]], "shot_ids", "missing " + ids["1.1"]),
        ([ids["1.3"], ids["2.1"], ids["1.2"], ids["1.1"]], "shot_ids[1]", "is not a shot of scene"),
        ([ids["1.3"], other_ids["1.1"], ids["1.2"], ids["1.1"]], "shot_ids[1]", "is not a shot of scene"),
    ]
    for shot_ids, field, rule in shot_cases:
        error = rpc_error(board_stub.ReorderShots, S.ReorderShotsRequest(scene_id=diner.id, shot_ids=shot_ids))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith(field + ":") and rule in error.details()

    unknown = S.ReorderScenesRequest(project_id="p-0000000000000000", scene_ids=[])
    assert rpc_error(board_stub.ReorderScenes, unknown).code() == grpc.StatusCode.NOT_FOUND
    unknown = S.ReorderShotsRequest(scene_id="c-0000000000000000", shot_ids=[])
    assert rpc_error(board_stub.ReorderShots, unknown).code() == grpc.StatusCode.NOT_FOUND
    assert view(board_stub, project_id).SerializeToString(deterministic=True) == before


def test_move_shot_within_and_across_scenes(client, board_stub):
    project_id, diner, harbour, ids = two_scenes(client, board_stub)

    def move(name: str, scene: S.Scene, index: int) -> list[tuple[str, list[str]]]:
        board = board_stub.MoveShot(S.MoveShotRequest(shot_id=ids[name], scene_id=scene.id, index=index))
        assert board == view(board_stub, project_id)
        return layout(board_stub, project_id)

    assert move("1.1", harbour, 1) == [(DINER, ["1.2", "1.3"]), (HARBOUR, ["2.1", "1.1", "2.2"])]
    assert move("2.2", diner, 0) == [(DINER, ["2.2", "1.2", "1.3"]), (HARBOUR, ["2.1", "1.1"])]
    assert move("1.2", diner, 99) == [(DINER, ["2.2", "1.3", "1.2"]), (HARBOUR, ["2.1", "1.1"])]
    assert move("1.3", harbour, 99) == [(DINER, ["2.2", "1.2"]), (HARBOUR, ["2.1", "1.1", "1.3"])]
    assert move("2.2", diner, 1) == [(DINER, ["1.2", "2.2"]), (HARBOUR, ["2.1", "1.1", "1.3"])]
    assert client.projects.GetShot(P.GetShotRequest(shot_id=ids["1.3"])).scene_id == harbour.id

    _, other_scene, _, _ = two_scenes(client, board_stub)
    error = rpc_error(board_stub.MoveShot, S.MoveShotRequest(shot_id=ids["1.1"], scene_id=other_scene.id))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("scene_id:")
    error = rpc_error(board_stub.MoveShot, S.MoveShotRequest(shot_id=ids["1.1"], scene_id=diner.id, index=-1))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("index:")
    missing = S.MoveShotRequest(shot_id="s-0000000000000000", scene_id=diner.id)
    assert rpc_error(board_stub.MoveShot, missing).code() == grpc.StatusCode.NOT_FOUND


def test_projects_shot_positions_keep_each_scenes_shots_together(client, board_stub):
    project_id, diner, harbour, ids = two_scenes(client, board_stub)
    # A shot placed by position joins the scene of the shot it lands before; at the end, the last scene.
    ids["X"] = new_shot(client, project_id, "X", position=3).id
    assert layout(board_stub, project_id) == [(DINER, ["1.1", "1.2", "1.3"]), (HARBOUR, ["X", "2.1", "2.2"])]
    ids["Y"] = new_shot(client, project_id, "Y", position=1).id
    ids["Z"] = new_shot(client, project_id, "Z").id
    assert layout(board_stub, project_id) == [(DINER, ["1.1", "Y", "1.2", "1.3"]), (HARBOUR, ["X", "2.1", "2.2", "Z"])]
    # With scene_id: at the end of that scene, unless the position is inside it.
    ids["W"] = new_shot(client, project_id, "W", scene_id=diner.id).id
    ids["V"] = new_shot(client, project_id, "V", scene_id=diner.id, position=1).id
    ids["U"] = new_shot(client, project_id, "U", scene_id=harbour.id, position=1).id  # outside the harbour: its end
    assert layout(board_stub, project_id) == [
        (DINER, ["1.1", "V", "Y", "1.2", "1.3", "W"]),
        (HARBOUR, ["X", "2.1", "2.2", "Z", "U"]),
    ]

    def place(name: str, position: int) -> None:
        shot = P.Shot(id=ids[name], position=position)
        client.projects.UpdateShot(P.UpdateShotRequest(shot=shot, update_mask=FieldMask(paths=["position"])))

    place("1.1", 5)  # lands before X, the harbour's first shot: joins the harbour
    assert layout(board_stub, project_id) == [
        (DINER, ["V", "Y", "1.2", "1.3", "W"]),
        (HARBOUR, ["1.1", "X", "2.1", "2.2", "Z", "U"]),
    ]
    place("U", 0)
    place("Y", 99)  # past the end: the last scene's last shot
    assert layout(board_stub, project_id) == [
        (DINER, ["U", "V", "1.2", "1.3", "W"]),
        (HARBOUR, ["1.1", "X", "2.1", "2.2", "Z", "Y"]),
    ]
    for name in ("U", "V", "1.2", "1.3", "W"):
        client.projects.DeleteShot(P.DeleteShotRequest(shot_id=ids[name]))
    assert layout(board_stub, project_id) == [(DINER, []), (HARBOUR, ["1.1", "X", "2.1", "2.2", "Z", "Y"])]
    new_shot(client, project_id, "T", position=1)
    assert layout(board_stub, project_id)[1][1][:3] == ["1.1", "T", "X"]
    assert listed_names(client, project_id)[:3] == ["1.1", "T", "X"]

    error = rpc_error(
        client.projects.CreateShot,
        P.CreateShotRequest(shot=P.Shot(project_id=project_id, scene_id="c-0000000000000000")),
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    _, other_scene, _, _ = two_scenes(client, board_stub)
    error = rpc_error(
        client.projects.CreateShot, P.CreateShotRequest(shot=P.Shot(project_id=project_id, scene_id=other_scene.id))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("shot.scene_id:")


def test_split_shot_shares_its_frames_and_drops_the_take(client, board_stub):
    project_id = new_project(client)
    scene = new_scene(board_stub, project_id, "INT. DINER - NIGHT")
    action = "Rain streaks the windows. MARA stacks chairs on tables.\nThe BELL rings. A STRANGER steps in."
    lines = [
        P.DialogueLine(speaker="STRANGER", text="Are you still open?"),
        P.DialogueLine(speaker="MARA", text="Kitchen's closed, and the coffee went cold an hour ago."),
    ]
    shot = new_shot(
        client,
        project_id,
        "1.2",
        scene_id=scene.id,
        action=action,
        description=action,
        dialogue=lines,
        characters=["MARA", "STRANGER"],
        duration_frames=240,
        metadata={"lens": "35mm"},
    )
    after = new_shot(client, project_id, "1.3", scene_id=scene.id, duration_frames=24)
    cut = action.index("The BELL")
    split = board_stub.SplitShot(S.SplitStoryboardShotRequest(shot_id=shot.id, action_offset=cut, dialogue_index=1))
    first, second = split.first, split.second

    assert first.id == shot.id and second.id not in (shot.id, after.id)
    assert (
        first.duration_frames + second.duration_frames == 240
        and min(first.duration_frames, second.duration_frames) >= 1
    )
    assert first.duration_frames < second.duration_frames  # the second half has the longer line
    assert first.action == "Rain streaks the windows. MARA stacks chairs on tables."
    assert second.action == "The BELL rings. A STRANGER steps in."
    assert [line.speaker for line in first.dialogue] == ["STRANGER"]
    assert [line.speaker for line in second.dialogue] == ["MARA"]
    assert list(first.characters) == ["MARA", "STRANGER"] and list(second.characters) == ["MARA", "STRANGER"]
    assert (first.description, second.description) == (first.action, second.action)
    assert (first.name, second.name) == ("1.2", "1.2B") and second.metadata["lens"] == "35mm"
    assert first.asset_id == "" and second.asset_id == "" and second.scene_id == scene.id
    assert [s.name for s in view(board_stub, project_id).scenes[0].shots] == ["1.2", "1.2B", "1.3"]

    again = board_stub.SplitShot(S.SplitStoryboardShotRequest(shot_id=shot.id, action_offset=4, dialogue_index=1))
    assert again.second.name == "1.2C"  # 1.2B is taken
    assert again.first.duration_frames + again.second.duration_frames == first.duration_frames

    short = new_shot(client, project_id, "9", scene_id=scene.id, action="He turns. She runs.", duration_frames=1)
    for request, code, field in [
        (
            S.SplitStoryboardShotRequest(shot_id=second.id, action_offset=999),
            grpc.StatusCode.INVALID_ARGUMENT,
            "action_offset",
        ),
        (
            S.SplitStoryboardShotRequest(shot_id=second.id, dialogue_index=2),
            grpc.StatusCode.INVALID_ARGUMENT,
            "dialogue_index",
        ),
        (S.SplitStoryboardShotRequest(shot_id=second.id), grpc.StatusCode.INVALID_ARGUMENT, "action_offset"),
        (S.SplitStoryboardShotRequest(shot_id=short.id, action_offset=9), grpc.StatusCode.FAILED_PRECONDITION, "shot"),
        (S.SplitStoryboardShotRequest(shot_id="s-0000000000000000"), grpc.StatusCode.NOT_FOUND, "shot"),
    ]:
        error = rpc_error(board_stub.SplitShot, request)
        assert error.code() == code and error.details().startswith(field), error.details()


def png(path: Path) -> Path:
    Image.new("RGB", (64, 48), (200, 120, 40)).save(path)
    return path


def test_element_crud(client, board_stub, tmp_path):
    project_id = new_project(client)
    image = client.upload(png(tmp_path / "mara.png"), project_id=project_id)
    created = board_stub.CreateElement(
        S.CreateElementRequest(
            element=S.Element(
                project_id=project_id,
                kind=S.ELEMENT_KIND_CHARACTER,
                name="Mara O'Neil",
                description="Forties, tired, unbreakable.",
                reference_asset_ids=[image.id],
            )
        )
    )
    assert created.id.startswith("e-") and created.trigger == "@MaraONeil"
    assert list(created.reference_asset_ids) == [image.id]
    assert board_stub.GetElement(S.GetElementRequest(element_id=created.id)) == created
    diner = board_stub.CreateElement(
        S.CreateElementRequest(
            element=S.Element(project_id=project_id, kind=S.ELEMENT_KIND_LOCATION, name="diner", trigger="@Diner_1")
        )
    )
    listed = board_stub.ListElements(S.ListElementsRequest(project_id=project_id)).elements
    assert [element.name for element in listed] == ["diner", "Mara O'Neil"]
    assert list(view(board_stub, project_id).elements) == list(listed)

    updated = board_stub.UpdateElement(
        S.UpdateElementRequest(
            element=S.Element(id=diner.id, name="Harbour Diner", kind=S.ELEMENT_KIND_PROP, trigger=""),
            update_mask=FieldMask(paths=["name", "trigger"]),
        )
    )
    assert (updated.name, updated.trigger, updated.kind) == ("Harbour Diner", "@HarbourDiner", S.ELEMENT_KIND_LOCATION)

    # Deleting an asset takes it out of the elements that referred to it.
    client.projects.DeleteAsset(P.DeleteAssetRequest(asset_id=image.id))
    assert list(board_stub.GetElement(S.GetElementRequest(element_id=created.id)).reference_asset_ids) == []

    board_stub.DeleteElement(S.DeleteElementRequest(element_id=created.id))
    for call, request in [
        (board_stub.GetElement, S.GetElementRequest(element_id=created.id)),
        (board_stub.DeleteElement, S.DeleteElementRequest(element_id=created.id)),
        (board_stub.GetElement, S.GetElementRequest(element_id="not an id")),
        (board_stub.ListElements, S.ListElementsRequest(project_id="p-0000000000000000")),
    ]:
        assert rpc_error(call, request).code() == grpc.StatusCode.NOT_FOUND


def test_element_rules_name_the_field(client, board_stub, tmp_path):
    project_id = new_project(client)
    image = client.upload(png(tmp_path / "ref.png"), project_id=project_id)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    notes = client.upload(text, project_id=project_id)
    board_stub.CreateElement(
        S.CreateElementRequest(element=S.Element(project_id=project_id, kind=S.ELEMENT_KIND_CHARACTER, name="Mara"))
    )

    def element(**fields) -> S.Element:
        return S.Element(**{"project_id": project_id, "kind": S.ELEMENT_KIND_PROP, "name": "Lamp", **fields})

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    cases = [
        (element(kind=S.ELEMENT_KIND_UNSPECIFIED), invalid, "element.kind"),
        (element(name="  "), invalid, "element.name"),
        (element(name="x" * 201), invalid, "element.name"),
        (element(name="?!"), invalid, "element.trigger"),
        (element(trigger="Lamp"), invalid, "element.trigger"),
        (element(trigger="@two words"), invalid, "element.trigger"),
        (element(trigger="@" + "x" * 64), invalid, "element.trigger"),
        (element(description="x" * 2001), invalid, "element.description"),
        (element(reference_asset_ids=[image.id] * 9), invalid, "element.reference_asset_ids"),
        (element(reference_asset_ids=[image.id, image.id]), invalid, "element.reference_asset_ids[1]"),
        (element(reference_asset_ids=[image.id, "a-0000000000000000"]), invalid, "element.reference_asset_ids[1]"),
        (element(reference_asset_ids=[image.id, image.id[:-1]]), invalid, "element.reference_asset_ids[1]"),
        (element(reference_asset_ids=[image.id, image.id, notes.id]), invalid, "element.reference_asset_ids[1]"),
        (element(reference_asset_ids=[image.id, notes.id]), invalid, "element.reference_asset_ids[1]"),
        (element(name="MARA"), grpc.StatusCode.ALREADY_EXISTS, "element.name"),
        (element(trigger="@mara"), grpc.StatusCode.ALREADY_EXISTS, "element.trigger"),
        (element(project_id="p-0000000000000000"), grpc.StatusCode.NOT_FOUND, "project"),
    ]
    for message, code, field in cases:
        error = rpc_error(board_stub.CreateElement, S.CreateElementRequest(element=message))
        assert error.code() == code and error.details().startswith(field), (field, error.details())
    assert (
        "image"
        in rpc_error(
            board_stub.CreateElement, S.CreateElementRequest(element=element(reference_asset_ids=[notes.id]))
        ).details()
    )

    lamp = board_stub.CreateElement(S.CreateElementRequest(element=element(reference_asset_ids=[image.id])))
    for paths, message, code, field in [
        (["name"], S.Element(id=lamp.id, name="mara"), grpc.StatusCode.ALREADY_EXISTS, "element.name"),
        (["kind"], S.Element(id=lamp.id), invalid, "element.kind"),
        (["created_at"], S.Element(id=lamp.id), invalid, "update_mask"),
        (["name"], S.Element(id="e-0000000000000000", name="x"), grpc.StatusCode.NOT_FOUND, "element"),
    ]:
        request = S.UpdateElementRequest(element=message, update_mask=FieldMask(paths=paths))
        error = rpc_error(board_stub.UpdateElement, request)
        assert error.code() == code and error.details().startswith(field), (field, error.details())
    # Renaming to its own name in another case is fine.
    renamed = board_stub.UpdateElement(
        S.UpdateElementRequest(element=S.Element(id=lamp.id, name="LAMP"), update_mask=FieldMask(paths=["name"]))
    )
    assert renamed.name == "LAMP" and renamed.trigger == "@Lamp"


def test_unknown_ids_are_not_found(client, board_stub):
    for call, request in [
        (board_stub.GetStoryboard, S.GetStoryboardRequest(project_id="p-0000000000000000")),
        (board_stub.GetStoryboard, S.GetStoryboardRequest(project_id="")),
        (board_stub.CreateScene, S.CreateSceneRequest(scene=S.Scene(project_id="p-0000000000000000"))),
        (board_stub.DeleteScene, S.DeleteSceneRequest(scene_id="c-0000000000000000")),
        (board_stub.DeleteScene, S.DeleteSceneRequest(scene_id="s-0000000000000000")),
    ]:
        assert rpc_error(call, request).code() == grpc.StatusCode.NOT_FOUND
