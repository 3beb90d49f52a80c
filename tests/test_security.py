"""Security end to end: the token guards every RPC, TLS, loopback-only defaults, and paths that try to escape."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from milimo.client import Client
from milimo.config import ClientConfig
from milimo.v1 import jobs_pb2, media_pb2, models_pb2, projects_pb2, storyboard_pb2
from tests.daemon_process import DaemonProcess
from tests.helpers import animatic, multicallable

TOKEN = "s3cret"
SERVICES = [
    jobs_pb2.DESCRIPTOR.services_by_name["Jobs"],
    media_pb2.DESCRIPTOR.services_by_name["Media"],
    projects_pb2.DESCRIPTOR.services_by_name["Projects"],
    models_pb2.DESCRIPTOR.services_by_name["Models"],
    storyboard_pb2.DESCRIPTOR.services_by_name["Storyboard"],
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
]
METHODS = [method for service in SERVICES for method in service.methods]
# Calls that would otherwise stream until their deadline, or change what other checks rely on.
FOLLOWS_FOREVER = {"grpc.health.v1.Health/Watch", "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}
# grpcio-health-checking registers Health.List but (so far) leaves it to the generated base class.
NOT_IMPLEMENTED_UPSTREAM = (
    {"/grpc.health.v1.Health/List"} if health.aio.HealthServicer.List is health_pb2_grpc.HealthServicer.List else set()
)


def method_path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def call(channel: grpc.Channel, method: MethodDescriptor, metadata: tuple = (), timeout: float = 10.0) -> object:
    """Call any RPC with an empty request, in the shape its descriptor declares; returns the reply(s)."""
    request_class = message_factory.GetMessageClass(method.input_type)
    call_method = multicallable(channel, method)
    request = iter([request_class()]) if method.client_streaming else request_class()
    reply = call_method(request, metadata=metadata, timeout=timeout)
    return list(reply) if method.server_streaming else reply


def status_of(channel: grpc.Channel, method: MethodDescriptor, metadata: tuple = (), timeout: float = 10.0):
    try:
        call(channel, method, metadata, timeout)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def token_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path_factory.mktemp("token-daemon") / "data", token=TOKEN)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def plain_channel(token_daemon: DaemonProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(token_daemon.address) as channel:
        yield channel


def test_every_service_is_covered():
    shapes = {(m.client_streaming, m.server_streaming) for m in METHODS}
    assert shapes == {(False, False), (False, True), (True, False), (True, True)}
    assert len(METHODS) >= 33


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Bearer wrong"),),
        (("authorization", f"Bearer {TOKEN}x"),),
        (("authorization", f"Bearer {TOKEN[:-1]}"),),
        (("authorization", TOKEN),),
        (("authorization", f"bearer {TOKEN}"),),
        (("authorization", f"Basic {TOKEN}"),),
        (("authorization", ""),),
        (("x-token", f"Bearer {TOKEN}"),),
    ],
    ids=["none", "wrong", "longer", "shorter", "no-scheme", "lowercase-scheme", "basic", "empty", "other-header"],
)
def test_every_rpc_refuses_a_missing_or_wrong_token(plain_channel, metadata):
    refused = {method_path(m): status_of(plain_channel, m, metadata) for m in METHODS}
    assert refused == {path: grpc.StatusCode.UNAUTHENTICATED for path in refused}


def test_the_right_token_reaches_every_rpc(token_daemon, plain_channel):
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    try:
        for method in METHODS:
            path = method_path(method)
            code = status_of(plain_channel, method, metadata, timeout=0.5 if path[1:] in FOLLOWS_FOREVER else 10.0)
            assert code != grpc.StatusCode.UNAUTHENTICATED, path
            assert code != grpc.StatusCode.UNIMPLEMENTED or path in NOT_IMPLEMENTED_UPSTREAM, path
    finally:
        token_daemon.client().jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())


def test_the_right_token_works_end_to_end(token_daemon):
    client = token_daemon.client()
    assert client.serving()
    client.jobs.List(jobs_pb2.ListJobsRequest())
    client.jobs.ResumeQueue(jobs_pb2.ResumeQueueRequest())
    done = client.wait(client.submit(animatic(frames=2)).id)
    assert done.status == jobs_pb2.JOB_STATUS_SUCCEEDED and len(done.result_asset_ids) == 1
    # The client library's wrong token is refused the same way.
    with pytest.raises(grpc.RpcError) as error:
        token_daemon.client(token="not-it").serving()
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


# ---- TLS ----------------------------------------------------------------------------------------


def self_signed(directory: Path, name: str = "milimo-test") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost that is its own CA; (cert, key) PEM paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Path]]:
    pytest.importorskip("cryptography", reason="the TLS tests make their certificate with `cryptography`")
    root = tmp_path_factory.mktemp("tls-daemon")
    cert, key = self_signed(root / "pki")
    process = DaemonProcess(root / "data", token=TOKEN)
    process.start("--tls-cert", str(cert), "--tls-key", str(key))
    yield process, cert
    process.stop()


def tls_client(daemon: DaemonProcess, ca: Path, token: str) -> Client:
    client = Client(ClientConfig(address=daemon.address, token=token, tls_ca=ca, tls=True))
    daemon.clients.append(client)
    return client


def test_tls_with_the_ca_and_token_works(tls_daemon):
    daemon, ca = tls_daemon
    client = tls_client(daemon, ca, TOKEN)
    assert client.serving(timeout=10)
    assert client.jobs.List(jobs_pb2.ListJobsRequest(), timeout=10) is not None


def test_tls_without_token_is_unauthenticated(tls_daemon):
    daemon, ca = tls_daemon
    client = tls_client(daemon, ca, "")
    with pytest.raises(grpc.RpcError) as error:
        client.serving(timeout=10)
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as error:
        tls_client(daemon, ca, "wrong").jobs.List(jobs_pb2.ListJobsRequest(), timeout=10)
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_plaintext_client_cannot_talk_to_a_tls_daemon(tls_daemon):
    daemon, _ = tls_daemon
    with pytest.raises(grpc.RpcError) as error:
        daemon.client(token=TOKEN).serving(timeout=3)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_tls_client_refuses_a_certificate_it_does_not_trust(tls_daemon, tmp_path):
    daemon, _ = tls_daemon
    other_ca, _ = self_signed(tmp_path / "other", name="someone-else")
    with pytest.raises(grpc.RpcError) as error:
        tls_client(daemon, other_ca, TOKEN).serving(timeout=3)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


# ---- where the daemon listens -------------------------------------------------------------------


def serve_env(tmp_path: Path) -> dict[str, str]:
    """No token, config file or data directory leaks in from the person running the tests."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MILIMO_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "share")
    return env


def serve_briefly(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`milimo serve` with settings it must refuse: it exits at once (killed if it does not)."""
    command = [sys.executable, "-m", "milimo", "serve", "--port", "0", "--data", str(tmp_path / "data"), *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=serve_env(tmp_path)
    )
    try:
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_beyond_loopback_without_token_is_refused(tmp_path):
    result = serve_briefly(tmp_path, "--host", "0.0.0.0")
    assert result.returncode != 0
    message = one_line(result.stdout + result.stderr)
    assert "token" in message and "0.0.0.0" in message and "MILIMO_TOKEN" in message


def test_beyond_loopback_without_tls_is_refused_unless_allowed(tmp_path):
    result = serve_briefly(tmp_path, "--host", "0.0.0.0", "--token", TOKEN)
    assert result.returncode != 0
    message = one_line(result.stdout + result.stderr)
    assert "--tls-cert" in message and "--allow-insecure" in message

    daemon = DaemonProcess(tmp_path / "insecure", token=TOKEN)
    try:
        daemon.start("--host", "0.0.0.0", "--allow-insecure")
        listening = listening_addresses(daemon)
        assert listening and all(ipaddress.ip_address(a).is_unspecified for a in listening), listening
        # Only loopback traffic: the daemon is reached through 127.0.0.1, still behind its token.
        assert daemon.client().serving(timeout=10)
        with pytest.raises(grpc.RpcError) as error:
            daemon.client(token="").serving(timeout=10)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        daemon.stop()
        daemon.kill9()


def listening_addresses(daemon: DaemonProcess) -> set[str]:
    """The local addresses of the daemon's own listening TCP sockets, from /proc."""
    assert daemon.process is not None
    inodes = set()
    for fd in Path(f"/proc/{daemon.process.pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for table, width in (("tcp", 4), ("tcp6", 16)):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            host_hex, port_hex = local.split(":")
            assert int(port_hex, 16) == daemon.port
            raw = bytes.fromhex(host_hex)
            # /proc prints each 32-bit word in host (little-endian) order.
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
            address = ipaddress.ip_address(packed)
            # gRPC listens on dual-stack sockets: 127.0.0.1 shows as ::ffff:127.0.0.1 in tcp6.
            mapped = getattr(address, "ipv4_mapped", None)
            addresses.add(str(mapped or address))
    return addresses


def test_default_bind_is_loopback_only(token_daemon):
    # token_daemon is started without --host.
    assert listening_addresses(token_daemon) == {"127.0.0.1"}


# ---- paths that try to leave the data directory -------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("not for the daemon\n")
    return secret


def import_status(client: Client, path: str) -> grpc.StatusCode:
    try:
        client.media.ImportPath(media_pb2.ImportPathRequest(path=path), timeout=10)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


REFUSED = {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT}


def test_import_path_refuses_escapes(daemon, client, outside):
    stamp = f"{time.monotonic_ns()}"
    (daemon.data_dir / f"link-out-{stamp}").symlink_to(outside)
    (daemon.data_dir / f"dir-out-{stamp}").symlink_to(outside.parent, target_is_directory=True)
    escapes = [
        "../x",
        "..",
        "/etc/passwd",
        str(outside),
        "a/../../x",
        "media/../../x",
        "..\\..\\x",
        "./../x",
        f"link-out-{stamp}",
        f"dir-out-{stamp}/secret.txt",
        f"./link-out-{stamp}",
        "a\x00b",
        "\x00",
        "",
    ]
    statuses = {path: import_status(client, path) for path in escapes}
    assert all(code in REFUSED for code in statuses.values()), statuses


def test_import_path_refuses_absolute_paths_even_inside(daemon, client):
    inside = daemon.data_dir / f"inside-{time.monotonic_ns()}.bin"
    inside.write_bytes(b"inside")
    assert import_status(client, str(inside)) in REFUSED


def test_import_path_accepts_a_file_inside(daemon, client):
    folder = daemon.data_dir / "incoming"
    folder.mkdir(exist_ok=True)
    data = os.urandom(4096)
    name = f"clip-{time.monotonic_ns()}.bin"
    (folder / name).write_bytes(data)
    asset = client.media.ImportPath(media_pb2.ImportPathRequest(path=f"incoming/{name}"))
    assert asset.sha256 == hashlib.sha256(data).hexdigest() and asset.size == len(data)
    assert asset.filename == name and Path(asset.local_path).read_bytes() == data
    assert Path(asset.local_path).resolve().is_relative_to(daemon.data_dir.resolve())
    # A link that stays inside the data directory is fine too.
    (daemon.data_dir / f"link-in-{name}").symlink_to(folder / name)
    again = client.media.ImportPath(media_pb2.ImportPathRequest(path=f"link-in-{name}"))
    assert again.sha256 == asset.sha256


@pytest.mark.parametrize("filename", ["../x", "a/b.bin", "/etc/passwd", "..", ".", "..\\x", "sub\\x.bin"])
def test_upload_refuses_a_filename_with_directories(client, filename):
    data = b"upload with a bad name " + filename.encode()
    header = media_pb2.UploadHeader(sha256=hashlib.sha256(data).hexdigest(), size=len(data), filename=filename)
    chunks = [
        media_pb2.UploadChunk(header=header, offset=0, data=data),
        media_pb2.UploadChunk(offset=len(data), finish=True),
    ]
    with pytest.raises(grpc.RpcError) as error:
        client.media.Upload(iter(chunks), timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "filename" in error.value.details()


@pytest.mark.parametrize(
    "sha256", ["0" * 63 + "\n", "0" * 64 + "\n", "../" + "0" * 61, "0" * 62 + "/x", "0" * 64 + "\x00"]
)
def test_sha256_that_could_name_another_file_is_refused(client, sha256):
    # The sha256 names files under uploads/ and media/, so it must be exactly 64 hex digits.
    with pytest.raises(grpc.RpcError) as error:
        client.media.QueryUpload(media_pb2.QueryUploadRequest(sha256=sha256, size=1), timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
