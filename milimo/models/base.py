"""What every model family provides, and the loaded-model handle the arbiter moves between devices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from milimo.config import ModelConfig
from milimo.errors import FailedPrecondition
from milimo.models.offload import check_mode

if TYPE_CHECKING:
    import torch


class MissingWeights(FailedPrecondition):
    """A configured model has no weights at its path."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(
            f"model {config.name!r}: no weights at {config.path}; fetch them with `milimo models pull {config.name}`"
        )


@dataclass(frozen=True)
class Placement:
    """Where and how a model runs: device, dtype, and the options that let big models fit small GPUs."""

    device: torch.device
    dtype: torch.dtype
    offload: str = "none"  # none | model | sequential: diffusers' CPU offload hooks (milimo/models/offload.py)
    vae_tiling: bool = False

    def __post_init__(self) -> None:
        check_mode(self.offload)


class LoadedModel:
    """A family's loaded components (a diffusers pipeline, a transformers model…) as one movable unit."""

    def __init__(self, config: ModelConfig, modules: dict[str, object], placement: Placement) -> None:
        self.config = config
        self.modules = modules  # e.g. {"pipeline": LTXPipeline}; a family reads its own keys
        self.placement = placement
        self.device = None

    @property
    def name(self) -> str:
        return self.config.name

    def torch_modules(self) -> list[torch.nn.Module]:
        import torch

        found: dict[int, torch.nn.Module] = {}  # by identity: pipelines made with from_pipe share modules
        for value in self.modules.values():
            candidates = value.components.values() if hasattr(value, "components") else [value]
            for candidate in candidates:
                if isinstance(candidate, torch.nn.Module):
                    found[id(candidate)] = candidate
        return list(found.values())

    def nbytes(self) -> int:
        """Bytes of parameters and buffers: what the model occupies wherever it sits."""
        return sum(t.numel() * t.element_size() for m in self.torch_modules() for t in (*m.parameters(), *m.buffers()))

    def to(self, device: torch.device) -> None:
        for module in self.torch_modules():
            module.to(device)
        self.device = device


class ModelFamily(Protocol):
    """One module per family implements this (see milimo/models/families.py for the registry)."""

    family: str

    def load(self, config: ModelConfig, placement: Placement) -> LoadedModel:
        """Load from `config.path` with the library's own loader; raise MissingWeights if absent."""

    def make_tiny(self, target: Path) -> None:
        """Write a tiny random-weight checkpoint in the real on-disk format to `target`."""


def require_weights(config: ModelConfig) -> Path:
    path = config.path
    present = path.is_file() or (path.is_dir() and any(path.iterdir()))
    if not present:
        raise MissingWeights(config)
    return path
