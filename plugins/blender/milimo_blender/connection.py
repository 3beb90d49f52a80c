"""The link to the daemon: one client, a small pool of worker threads for calls, and a health monitor.

Nothing here runs on Blender's main thread except `call` (which only queues work) and the callbacks it posts back
through `mainthread`. A lost daemon shows as a status line, is retried in the background, and never raises into an
operator: every failure becomes a sentence for the user (`describe`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from milimo.client import errors
from milimo.client.client import Client
from milimo.config import ClientConfig

from . import mainthread

DEFAULT_ADDRESS = "127.0.0.1:50051"
HEALTH_TIMEOUT_S = 2.0
# How often the monitor checks: often while the daemon is missing (to reconnect soon), rarely while it answers.
RETRY_INTERVAL_S = 2.0
ONLINE_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Settings:
    """What the add-on preferences say about the daemon, copied on the main thread."""

    address: str
    token: str = ""
    tls: bool = False
    tls_ca: str = ""

    def client_config(self) -> ClientConfig:
        return ClientConfig(
            address=self.address, token=self.token, tls=self.tls, tls_ca=Path(self.tls_ca) if self.tls_ca else None
        )


@dataclass
class Status:
    online: bool = False
    checked: bool = False
    message: str = "Not connected yet"


def describe(error: BaseException, address: str) -> str:
    """A sentence a user can act on; never a traceback."""
    return errors.describe(
        error,
        unreachable=f"The Milimo daemon at {address} is not reachable. Start it with `milimo serve`, "
        "or check the address in Preferences > Add-ons > Milimo.",
        refused_token=f"The daemon at {address} refused the token: set it in Preferences > Add-ons > Milimo.",
    )


class Connection:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.status = Status()
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="milimo")
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._listeners: list[Callable[[Status], None]] = []
        self._monitor = threading.Thread(target=self._watch_health, name="milimo-health", daemon=True)
        self._monitor.start()

    @property
    def client(self) -> Client:
        """The shared client; only for worker threads (gRPC calls block)."""
        with self._lock:
            if self._client is None:
                self._client = Client(self.settings.client_config())
            return self._client

    def on_status(self, listener: Callable[[Status], None]) -> None:
        """`listener` runs on the main thread whenever the daemon comes or goes."""
        self._listeners.append(listener)

    def call(
        self,
        work: Callable[[Client], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """Run `work(client)` on a worker thread; its result or failure comes back on the main thread."""

        def run() -> None:
            try:
                result = work(self.client)
            except Exception as error:  # every failure reaches the user as a sentence
                message = describe(error, self.settings.address)
                if isinstance(error, grpc.RpcError):
                    self._wake.set()  # the daemon may be gone: check now rather than at the next interval
                if on_error is not None:
                    mainthread.post(lambda: on_error(message))
                return
            if on_done is not None:
                mainthread.post(lambda: on_done(result))

        if not self._closed.is_set():
            self._pool.submit(run)

    def check_now(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _watch_health(self) -> None:
        while not self._closed.is_set():
            status = self._check()
            if status != self.status:
                self._publish(status)
            self._wake.wait(ONLINE_INTERVAL_S if status.online else RETRY_INTERVAL_S)
            self._wake.clear()

    def _check(self) -> Status:
        try:
            if self.client.serving(timeout=HEALTH_TIMEOUT_S):
                return Status(online=True, checked=True, message=f"Connected to {self.settings.address}")
            return Status(checked=True, message=f"The daemon at {self.settings.address} is not serving yet")
        except Exception as error:
            return Status(checked=True, message=describe(error, self.settings.address))

    def _publish(self, status: Status) -> None:
        self.status = status

        def tell() -> None:
            for listener in self._listeners:
                listener(status)

        mainthread.post(tell)
