"""Rules shared by the generation kinds: LoRAs, conditioning, model steps and guidance."""

from __future__ import annotations

from collections.abc import Sequence

from milimo import validation
from milimo.errors import InvalidArgument
from milimo.tasks.inputs import InputRef
from milimo.v1 import jobs_pb2

LORAS_MAX = 8
LORA_WEIGHT_MAX = 4.0


def loras(field: str, refs: Sequence[jobs_pb2.LoraRef]) -> list[InputRef]:
    if len(refs) > LORAS_MAX:
        raise InvalidArgument(field, f"at most {LORAS_MAX} LoRAs (got {len(refs)})")
    found = []
    for index, lora in enumerate(refs):
        here = f"{field}[{index}]"
        validation.asset_id(f"{here}.asset_id", lora.asset_id)
        validation.real_range(f"{here}.weight", lora.weight, -LORA_WEIGHT_MAX, LORA_WEIGHT_MAX)
        found.append(InputRef(f"{here}.asset_id", lora.asset_id, "lora"))
    return found


def steps_and_guidance(kind: str, steps: int, guidance: float, guidance_max: float = 50.0) -> None:
    validation.in_range(f"{kind}.steps", steps, 0, 200)
    validation.real_range(f"{kind}.guidance", guidance, 0.0, guidance_max)
