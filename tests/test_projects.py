"""Projects, shots and assets: create, read, update (field masks), delete, ordering."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from milimo.v1 import common_pb2, media_pb2, projects_pb2
from tests.helpers import animatic, wait_status

P = projects_pb2


def new_project(client, name: str = "Brick & Steel") -> P.Project:
    return client.projects.CreateProject(P.CreateProjectRequest(project=P.Project(name=name)))


def shot_names(client, project_id: str) -> list[str]:
    shots = client.projects.ListShots(P.ListShotsRequest(project_id=project_id)).shots
    assert [s.position for s in shots] == list(range(len(shots)))
    return [s.name for s in shots]


def test_project_crud_with_defaults_and_field_masks(client):
    project = new_project(client)
    assert (project.width, project.height, project.fps.num, project.fps.den) == (1024, 576, 24, 1)
    assert client.projects.GetProject(P.GetProjectRequest(project_id=project.id)) == project

    changed = client.projects.UpdateProject(
        P.UpdateProjectRequest(
            project=P.Project(id=project.id, name="renamed", fps=common_pb2.Rational(num=30000, den=1001), width=64),
            update_mask=FieldMask(paths=["name", "fps"]),
        )
    )
    assert (changed.name, changed.fps.num, changed.fps.den, changed.width) == ("renamed", 30000, 1001, 1024)

    with pytest.raises(grpc.RpcError) as error:
        client.projects.UpdateProject(
            P.UpdateProjectRequest(project=P.Project(id=project.id), update_mask=FieldMask(paths=["created_at"]))
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "update_mask" in error.value.details()

    client.projects.DeleteProject(P.DeleteProjectRequest(project_id=project.id))
    with pytest.raises(grpc.RpcError) as error:
        client.projects.GetProject(P.GetProjectRequest(project_id=project.id))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_project_validation_names_the_field(client):
    for project, field in [
        (P.Project(name=""), "project.name"),
        (P.Project(name="x", width=100), "project.width"),
        (P.Project(name="x", fps=common_pb2.Rational(num=500)), "project.fps"),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            client.projects.CreateProject(P.CreateProjectRequest(project=project))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and error.value.details().startswith(field)


def test_shots_keep_a_gapless_order_through_insert_move_and_delete(client):
    project = new_project(client)
    ids = {}
    for name in "ABCD":
        ids[name] = client.projects.CreateShot(P.CreateShotRequest(shot=P.Shot(project_id=project.id, name=name))).id
    assert shot_names(client, project.id) == list("ABCD")

    client.projects.CreateShot(P.CreateShotRequest(shot=P.Shot(project_id=project.id, name="X", position=1)))
    assert shot_names(client, project.id) == list("AXBCD")

    move = P.Shot(id=ids["D"], position=0)
    client.projects.UpdateShot(P.UpdateShotRequest(shot=move, update_mask=FieldMask(paths=["position"])))
    assert shot_names(client, project.id) == list("DAXBC")
    move = P.Shot(id=ids["D"], position=99)  # past the end: last
    client.projects.UpdateShot(P.UpdateShotRequest(shot=move, update_mask=FieldMask(paths=["position"])))
    assert shot_names(client, project.id) == list("AXBCD")

    client.projects.DeleteShot(P.DeleteShotRequest(shot_id=ids["B"]))
    assert shot_names(client, project.id) == list("AXCD")

    page = client.projects.ListShots(P.ListShotsRequest(project_id=project.id, page={"page_size": 3}))
    rest = client.projects.ListShots(
        P.ListShotsRequest(project_id=project.id, page={"page_size": 3, "page_token": page.next_page_token})
    )
    assert [s.name for s in page.shots] + [s.name for s in rest.shots] == list("AXCD")
    assert not rest.next_page_token

    client.projects.DeleteProject(P.DeleteProjectRequest(project_id=project.id))
    with pytest.raises(grpc.RpcError) as error:
        client.projects.GetShot(P.GetShotRequest(shot_id=ids["A"]))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_shot_screenplay_fields_are_created_and_updated_by_mask(client):
    project = new_project(client)
    line = P.DialogueLine(speaker="MARA", text="One more hour.", parenthetical="to herself", extension="V.O.")
    shot = client.projects.CreateShot(
        P.CreateShotRequest(
            shot=P.Shot(project_id=project.id, name="1.1", action="Rain.", dialogue=[line], characters=["MARA"])
        )
    )
    assert (shot.action, list(shot.dialogue), list(shot.characters), shot.scene_id) == ("Rain.", [line], ["MARA"], "")
    listed = client.projects.ListShots(P.ListShotsRequest(project_id=project.id)).shots
    assert list(listed) == [shot]

    changed = client.projects.UpdateShot(
        P.UpdateShotRequest(
            shot=P.Shot(id=shot.id, action="Fog.", characters=["MARA", "STRANGER"], name="ignored"),
            update_mask=FieldMask(paths=["action", "characters"]),
        )
    )
    assert (changed.action, list(changed.characters), changed.name, list(changed.dialogue)) == (
        "Fog.",
        ["MARA", "STRANGER"],
        "1.1",
        [line],
    )
    cleared = client.projects.UpdateShot(
        P.UpdateShotRequest(shot=P.Shot(id=shot.id), update_mask=FieldMask(paths=["dialogue"]))
    )
    assert list(cleared.dialogue) == [] and cleared.action == "Fog."

    for bad, field in [
        (P.Shot(project_id=project.id, characters=["MARA", " "]), "shot.characters[1]"),
        (P.Shot(project_id=project.id, dialogue=[line, P.DialogueLine(speaker="X", extension="x" * 101)]),
         "shot.dialogue[1].extension"),
        (P.Shot(project_id=project.id, action="x" * 10_001), "shot.action"),
    ]:  # fmt: skip
        with pytest.raises(grpc.RpcError) as error:
            client.projects.CreateShot(P.CreateShotRequest(shot=bad))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and error.value.details().startswith(field)


def test_shot_metadata_and_takes(client):
    project = new_project(client)
    shot = client.projects.CreateShot(
        P.CreateShotRequest(
            shot=P.Shot(project_id=project.id, name="1A", duration_frames=48, metadata={"lens": "35mm"})
        )
    )
    job = client.submit(animatic(frames=3), project_id=project.id, shot_id=shot.id)
    done = wait_status(client, job.id, 3)
    taken = client.projects.GetShot(P.GetShotRequest(shot_id=shot.id))
    assert taken.asset_id == done.result_asset_ids[0] and taken.metadata["lens"] == "35mm"
    assets = client.projects.ListAssets(P.ListAssetsRequest(project_id=project.id)).assets
    assert [a.id for a in assets] == [taken.asset_id]

    renamed = client.projects.UpdateAsset(
        P.UpdateAssetRequest(
            asset=media_pb2.Asset(id=taken.asset_id, filename="take-1.mp4"), update_mask=FieldMask(paths=["filename"])
        )
    )
    assert renamed.filename == "take-1.mp4" and renamed.project_id == project.id
    client.projects.DeleteProject(P.DeleteProjectRequest(project_id=project.id))
    # The project's assets outlive it, detached.
    kept = client.projects.GetAsset(P.GetAssetRequest(asset_id=taken.asset_id))
    assert kept.project_id == ""


def test_unknown_project_for_a_job_is_not_found(client):
    with pytest.raises(grpc.RpcError) as error:
        client.submit(animatic(frames=2), project_id="p-0000000000000000")
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
