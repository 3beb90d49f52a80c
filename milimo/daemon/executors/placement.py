"""Which free GPU worker takes a job: one that already holds the job's model, else the least recently used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

RESIDENT = ("on_accelerator", "in_ram")  # states in which a model needs no load from disk


@dataclass
class Slot:
    """What the executor knows of one GPU worker between jobs."""

    index: int
    model_states: dict[str, str] = field(default_factory=dict)  # as the worker last said
    last_used: float = 0.0  # monotonic time its last job ended
    busy: bool = False

    def holds(self, model: str) -> bool:
        return bool(model) and self.model_states.get(model) in RESIDENT


def choose(slots: Sequence[Slot], model: str) -> Slot | None:
    """The free slot for a job on `model` ("" for none): on_accelerator beats in_ram beats least recently used."""
    free = [slot for slot in slots if not slot.busy]
    if not free:
        return None

    def preference(slot: Slot) -> tuple[int, float]:
        state = slot.model_states.get(model, "") if model else ""
        rank = {"on_accelerator": 0, "in_ram": 1}.get(state, 2)
        return rank, slot.last_used

    return min(free, key=preference)
