"""What a worker process keeps across jobs: its settings, the configured models and, once needed, the arbiter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from milimo.config import DaemonConfig, ModelConfig

if TYPE_CHECKING:
    from milimo.models.arbiter import Arbiter


@dataclass(frozen=True)
class WorkerSettings:
    """The part of the daemon's config a worker needs (picklable: it crosses to the spawned process)."""

    models: tuple[ModelConfig, ...] = ()
    enhancer: str = ""  # see DaemonConfig.enhancer
    ollama_host: str = "http://127.0.0.1:11434"
    enhance_timeout_s: float = 60.0

    @classmethod
    def of(cls, config: DaemonConfig) -> WorkerSettings:
        return cls(config.models, config.enhancer, config.ollama_host, config.enhance_timeout_s)


class WorkerResources:
    def __init__(
        self, settings: WorkerSettings, on_model_change: Callable[[dict[str, str]], None] | None = None
    ) -> None:
        self.settings = settings
        self.models = {config.name: config for config in settings.models}
        self._on_model_change = on_model_change  # hears where every model is after any of them moves
        self._arbiter: Arbiter | None = None
        self._arbiter_lock = threading.Lock()  # the job thread and the call thread may both be first

    @property
    def arbiter(self) -> Arbiter:
        """Built on first use, so a worker that only renders animatics never imports torch."""
        with self._arbiter_lock:
            if self._arbiter is None:
                from milimo.models.arbiter import Arbiter

                self._arbiter = Arbiter(self.models, on_change=self._on_model_change)
            return self._arbiter
