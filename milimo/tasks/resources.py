"""What a worker process keeps across jobs: the configured models and, once a task needs one, the arbiter."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from milimo.config import ModelConfig

if TYPE_CHECKING:
    from milimo.models.arbiter import Arbiter


class WorkerResources:
    def __init__(self, models: tuple[ModelConfig, ...]) -> None:
        self.models = {config.name: config for config in models}

    @cached_property
    def arbiter(self) -> Arbiter:
        """Built on first use, so a worker that only renders animatics never imports torch."""
        from milimo.models.arbiter import Arbiter

        return Arbiter(self.models)
