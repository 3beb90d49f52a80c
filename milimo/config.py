"""Configuration: defaults, then an optional TOML file, then environment, then command-line flags.

Daemon settings live under [daemon], client settings under [client], models as [[models]]:

    [daemon]
    host = "127.0.0.1"
    port = 50051
    data_dir = "~/.local/share/milimo"
    database_url = ""            # empty: SQLite in the data directory
    token = ""                   # required when host is not loopback
    tls_cert = ""
    tls_key = ""
    enhancer = ""                # "ollama:MODEL", or the name of a gemma3 model below
    ollama_host = "http://127.0.0.1:11434"
    executor = "local"           # or "ray": accelerator jobs on a Ray cluster (docs/ray.md)
    ray_address = ""             # the Ray head, HOST:PORT, with executor = "ray"
    ray_media = "auto"           # how GPU workers reach media: "auto", "shared" (same path) or "transfer"

    [client]
    address = "127.0.0.1:50051"
    token = ""
    tls_ca = ""

    [[models]]
    name = "ltx-video"
    family = "ltx-video"
    path = "~/models/LTX-Video"
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from milimo.errors import InvalidArgument

DEFAULT_PORT = 50051
EXECUTORS = ("local", "ray")
RAY_MEDIA = ("auto", "shared", "transfer")
CONFIG_ENV = "MILIMO_CONFIG"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "milimo" / "config.toml"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "milimo"


@dataclass(frozen=True)
class ModelConfig:
    name: str
    family: str
    path: Path
    dtype: str = "auto"
    device: str = "auto"
    offload: str = "none"  # none | model | sequential
    vae_tiling: bool = False  # decode in tiles: far less memory for large frames, on small GPUs
    repo_id: str = ""  # where `milimo models pull` fetches it from


@dataclass(frozen=True)
class DaemonConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""
    token: str = ""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allow_insecure: bool = False  # serve beyond loopback without TLS (token still required)
    start_paused: bool = False
    max_attempts: int = 2
    max_queued: int = 100_000
    cancel_grace_s: float = 10.0
    # Prompt enhancement: "" (off), "ollama:MODEL" (a model pulled into Ollama), or a configured gemma3 model's name.
    enhancer: str = ""
    ollama_host: str = "http://127.0.0.1:11434"
    enhance_timeout_s: float = 60.0
    # Where jobs run: "local" (this host's worker processes) or "ray" (accelerator jobs on a Ray cluster's GPUs).
    executor: str = "local"
    ray_address: str = ""  # the Ray head, HOST:PORT (or "auto"); with executor = "ray" only
    # How Ray GPU workers read inputs and return results: "shared" (the data directory at the same path on their
    # host), "transfer" (sent in chunks to and from the daemon), "auto" (shared where a worker reaches it).
    ray_media: str = "auto"
    models: tuple[ModelConfig, ...] = ()

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check(self) -> None:
        """Refuse settings that would expose the daemon unsafely or cannot work."""
        if not 0 <= self.port <= 65535:
            raise InvalidArgument("port", f"must be from 0 to 65535 (got {self.port})")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgument("tls_cert/tls_key", "give both the certificate and the key, or neither")
        if not self.loopback:
            if not self.token:
                raise InvalidArgument(
                    "token", f"listening on {self.host} (beyond loopback) needs a token: --token or MILIMO_TOKEN"
                )
            if self.tls_cert is None and not self.allow_insecure:
                raise InvalidArgument(
                    "tls_cert",
                    f"listening on {self.host} needs TLS (--tls-cert/--tls-key), or --allow-insecure to send the "
                    "token in clear text on a network you trust",
                )
        if self.max_attempts < 1:
            raise InvalidArgument("max_attempts", "must be at least 1")
        if self.max_queued < 1:
            raise InvalidArgument("max_queued", "must be at least 1")
        if self.enhancer and not self.enhancer.startswith("ollama:"):
            gemmas = [m.name for m in self.models if m.family == "gemma3"]
            if self.enhancer not in gemmas:
                raise InvalidArgument(
                    "enhancer",
                    f"{self.enhancer!r} is neither 'ollama:MODEL' nor a configured gemma3 model "
                    f"({', '.join(gemmas) or 'none is configured'})",
                )
        if self.enhance_timeout_s <= 0:
            raise InvalidArgument("enhance_timeout_s", "must be positive")
        if self.executor not in EXECUTORS:
            raise InvalidArgument("executor", f"must be one of {', '.join(EXECUTORS)} (got {self.executor!r})")
        if self.executor == "ray" and not self.ray_address:
            raise InvalidArgument("ray_address", "--executor ray needs the Ray head's address (HOST:PORT, or 'auto')")
        if self.executor != "ray" and self.ray_address:
            raise InvalidArgument("ray_address", "is only used with --executor ray")
        if self.ray_media not in RAY_MEDIA:
            raise InvalidArgument("ray_media", f"must be one of {', '.join(RAY_MEDIA)} (got {self.ray_media!r})")


@dataclass(frozen=True)
class ClientConfig:
    address: str = f"127.0.0.1:{DEFAULT_PORT}"
    token: str = ""
    tls_ca: Path | None = None
    tls: bool = False


def load_file(path: Path | None = None) -> dict[str, Any]:
    """The TOML config, from `path`, $MILIMO_CONFIG or the default place; {} when there is none."""
    explicit = path or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    candidate = explicit or default_config_path()
    if not candidate.is_file():
        if explicit is not None:
            raise InvalidArgument("config", f"no config file at {candidate}")
        return {}
    with candidate.open("rb") as f:
        return tomllib.load(f)


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def daemon_config(file: dict[str, Any], **overrides: Any) -> DaemonConfig:
    section = dict(file.get("daemon", {}))
    if os.environ.get("MILIMO_TOKEN"):
        section.setdefault("token", os.environ["MILIMO_TOKEN"])
    section.update({key: value for key, value in overrides.items() if value is not None})
    models = tuple(
        ModelConfig(**{**entry, "path": Path(entry["path"]).expanduser()}) for entry in file.get("models", [])
    )
    config = DaemonConfig(models=models)
    known = {name for name in DaemonConfig.__dataclass_fields__ if name != "models"}
    unknown = set(section) - known
    if unknown:
        raise InvalidArgument("config [daemon]", f"unknown settings: {', '.join(sorted(unknown))}")
    for key in ("data_dir", "tls_cert", "tls_key"):
        if key in section:
            section[key] = _path(str(section[key]))
    return replace(config, **section)


def client_config(file: dict[str, Any], **overrides: Any) -> ClientConfig:
    section = dict(file.get("client", {}))
    if os.environ.get("MILIMO_ADDRESS"):
        section["address"] = os.environ["MILIMO_ADDRESS"]
    if os.environ.get("MILIMO_TOKEN"):
        section["token"] = os.environ["MILIMO_TOKEN"]
    if os.environ.get("MILIMO_TLS_CA"):
        section["tls_ca"] = os.environ["MILIMO_TLS_CA"]
    section.update({key: value for key, value in overrides.items() if value is not None})
    if section.get("tls_ca"):
        section["tls_ca"] = _path(str(section["tls_ca"]))
        section.setdefault("tls", True)
    return ClientConfig(**section)
