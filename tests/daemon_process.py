"""Start the real daemon as a separate process (`python -m milimo serve`) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from milimo.client import Client
from milimo.config import ClientConfig


@dataclass
class DaemonProcess:
    data_dir: Path
    database_url: str = ""
    token: str = ""
    extra_args: tuple[str, ...] = ()
    port: int = 0
    process: subprocess.Popen | None = None
    clients: list[Client] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self, *more_args: str, timeout: float = 60.0) -> DaemonProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready = self.data_dir.parent / f"{self.data_dir.name}.port"
        ready.unlink(missing_ok=True)
        # Keep the port across restarts so clients reconnect to the same address.
        args = [sys.executable, "-m", "milimo", "serve", "--port", str(self.port), "--data", str(self.data_dir)]
        args += ["--ready-file", str(ready), *self.extra_args, *more_args]
        if self.database_url:
            args += ["--database-url", self.database_url]
        env = {**os.environ, "MILIMO_TOKEN": self.token} if self.token else {**os.environ}
        env.pop("MILIMO_CONFIG", None)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not ready.exists() or not ready.read_text():
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited ({self.process.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError(f"daemon did not start in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.02)
        self.port = int(ready.read_text())
        return self

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self, token: str | None = None) -> Client:
        client = Client(ClientConfig(address=self.address, token=self.token if token is None else token))
        self.clients.append(client)
        return client

    def kill9(self) -> None:
        """SIGKILL: no cleanup runs in the daemon; its workers die through PDEATHSIG."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()
        for client in self.clients:
            client.close()
        self.clients.clear()

    def workers(self) -> list[int]:
        """Pids of the daemon's worker processes (multiprocessing's helpers excluded)."""
        if self.process is None:
            return []
        pids = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            pids += [int(pid) for pid in children]
        return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
