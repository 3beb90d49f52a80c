"""Media transfer end to end: chunked resumable upload, download from an offset, deduplication."""

from __future__ import annotations

import hashlib
import os

import grpc
import pytest

from milimo.v1 import media_pb2, projects_pb2
from tests.helpers import animatic, wait_status

MiB = 1024 * 1024


def chunks(header, data: bytes, start: int, stop: int, finish: bool):
    yield media_pb2.UploadChunk(header=header, offset=start)
    for offset in range(start, stop, MiB):
        yield media_pb2.UploadChunk(offset=offset, data=data[offset : min(offset + MiB, stop)])
    if finish:
        yield media_pb2.UploadChunk(offset=stop, finish=True)


def test_upload_50mb_broken_off_halfway_then_resumed(client, tmp_path):
    data = os.urandom(50 * MiB)
    sha = hashlib.sha256(data).hexdigest()
    header = media_pb2.UploadHeader(sha256=sha, size=len(data), filename="plate.bin", mime_type="application/x-test")

    # The connection drops halfway: the stream ends without `finish`.
    half = 25 * MiB
    with pytest.raises(grpc.RpcError) as error:
        client.media.Upload(chunks(header, data, 0, half, finish=False))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    status = client.media.QueryUpload(media_pb2.QueryUploadRequest(sha256=sha, size=len(data)))
    assert status.committed_size == half and not status.complete

    # Resuming from a wrong offset is refused and names the committed size.
    with pytest.raises(grpc.RpcError) as error:
        client.media.Upload(chunks(header, data, half - MiB, len(data), finish=True))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION and str(half) in error.value.details()

    asset = client.media.Upload(chunks(header, data, status.committed_size, len(data), finish=True))
    assert (asset.sha256, asset.size, asset.filename) == (sha, len(data), "plate.bin")
    with open(asset.local_path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha

    # Download from an offset, with and without a limit.
    offset = 37 * MiB + 123
    tail = b"".join(c.data for c in client.media.Download(media_pb2.DownloadRequest(asset_id=asset.id, offset=offset)))
    assert tail == data[offset:]
    window = client.media.Download(media_pb2.DownloadRequest(asset_id=asset.id, offset=10, limit=MiB + 5))
    assert b"".join(c.data for c in window) == data[10 : 10 + MiB + 5]
    with pytest.raises(grpc.RpcError) as error:
        list(client.media.Download(media_pb2.DownloadRequest(asset_id=asset.id, offset=len(data) + 1)))
    assert error.value.code() == grpc.StatusCode.OUT_OF_RANGE

    # The client helper resumes a broken download from its .part file and checks the hash.
    target = tmp_path / "plate.bin"
    target.with_name("plate.bin.part").write_bytes(data[: 3 * MiB])
    client.download(asset.id, target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha


def test_upload_helper_resumes_and_deduplicates(client, tmp_path):
    source = tmp_path / "still.png"
    source.write_bytes(os.urandom(3 * MiB + 17))
    first = client.upload(source, mime_type="image/png")
    second = client.upload(source, mime_type="image/png")  # bytes already held: nothing is re-sent
    assert first.id != second.id and first.sha256 == second.sha256 and first.local_path == second.local_path

    # Deleting one asset keeps the shared bytes; deleting the last removes them.
    client.projects.DeleteAsset(projects_pb2.DeleteAssetRequest(asset_id=first.id))
    assert os.path.exists(second.local_path)
    client.projects.DeleteAsset(projects_pb2.DeleteAssetRequest(asset_id=second.id))
    assert not os.path.exists(second.local_path)


def test_wrong_sha256_is_refused_and_discarded(client):
    data = os.urandom(2 * MiB)
    wrong = hashlib.sha256(b"something else").hexdigest()
    header = media_pb2.UploadHeader(sha256=wrong, size=len(data), filename="bad.bin")
    with pytest.raises(grpc.RpcError) as error:
        client.media.Upload(chunks(header, data, 0, len(data), finish=True))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "sha256" in error.value.details()
    status = client.media.QueryUpload(media_pb2.QueryUploadRequest(sha256=wrong, size=len(data)))
    assert status.committed_size == 0


def test_a_resumed_upload_is_checked_against_the_bytes_on_disk(client, daemon):
    # A stream that writes every byte hashes them as they pass; one that resumes hashes the file at the end.
    data = os.urandom(3 * MiB)
    sha = hashlib.sha256(data).hexdigest()
    header = media_pb2.UploadHeader(sha256=sha, size=len(data), filename="resumed.bin")
    with pytest.raises(grpc.RpcError):
        client.media.Upload(chunks(header, data, 0, 2 * MiB, finish=False))
    part = daemon.data_dir / "uploads" / f"{sha}.part"
    with part.open("r+b") as f:  # the first half changes on disk between the two streams
        f.write(b"X")
    with pytest.raises(grpc.RpcError) as error:
        client.media.Upload(chunks(header, data, 2 * MiB, len(data), finish=True))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "hash to" in error.value.details()
    assert not part.exists()


def test_oversized_chunk_is_refused(client):
    data = os.urandom(MiB + 1)
    header = media_pb2.UploadHeader(sha256=hashlib.sha256(data).hexdigest(), size=len(data), filename="big.bin")
    requests = [media_pb2.UploadChunk(header=header, offset=0, data=data, finish=True)]
    with pytest.raises(grpc.RpcError) as error:
        client.media.Upload(iter(requests))
    assert error.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_import_path_inside_the_data_directory(client, daemon):
    inbox = daemon.data_dir / "imports"
    inbox.mkdir(exist_ok=True)
    (inbox / "take.bin").write_bytes(b"take one")
    asset = client.media.ImportPath(media_pb2.ImportPathRequest(path="imports/take.bin"))
    assert asset.size == 8 and asset.filename == "take.bin"


def test_job_results_are_listed_per_job_and_probe_as_video(client):
    job = client.submit(animatic(frames=5))
    done = wait_status(client, job.id, 3)
    listed = client.projects.ListAssets(projects_pb2.ListAssetsRequest(job_id=job.id)).assets
    assert [a.id for a in listed] == list(done.result_asset_ids)
    assert listed[0].media.frames == 5 and listed[0].media.fps.num == 24
