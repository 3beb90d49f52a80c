"""The arbiter owns the accelerator (the original design's MemoryManager, made stricter).

- At most one heavy model sits on the accelerator at a time.
- Models it had to move off are parked in CPU RAM, least recently used first out, within a byte
  budget; past the budget they are released.
- Models are taken with `acquire(name)`, a context manager, and one job holds the accelerator at a time;
  an interactive call may bound its wait (`wait_s`) and hear `AcceleratorBusy` when it runs out.
- `on_change` hears every configured model's whereabouts after any model moves (the worker tells the daemon).
- Out of memory: everything is evicted, the allocator's cache emptied, and only the job that hit it
  fails, with an error that maps to RESOURCE_EXHAUSTED and says what to try.

The ledger records which model occupies which device by bytes; on a CPU-only machine it is what
tells "on the accelerator" from "parked", so the one-resident rule is checked on every machine.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from milimo.config import ModelConfig
from milimo.errors import InvalidArgument, ResourceExhausted, Unavailable
from milimo.models.base import LoadedModel, Placement
from milimo.models.devices import pick_device, pick_dtype, release_memory
from milimo.models.offload import check_mode

log = logging.getLogger(__name__)

Loader = Callable[[ModelConfig, Placement], LoadedModel]
StatesListener = Callable[[dict[str, str]], None]


class AcceleratorOutOfMemory(ResourceExhausted):
    """The accelerator ran out of memory during a job; the arbiter already freed everything."""


class AcceleratorBusy(Unavailable):
    """Another holder kept the accelerator past the time a caller was willing to wait."""


@dataclass
class Ledger:
    """Bytes each model holds on each device, with the peak count of models on the accelerator."""

    accelerator: str
    placements: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (device, bytes)
    peak_resident: int = 0

    def place(self, name: str, device: str, nbytes: int) -> None:
        self.placements[name] = (device, nbytes)
        self.peak_resident = max(self.peak_resident, len(self.on_accelerator()))

    def forget(self, name: str) -> None:
        self.placements.pop(name, None)

    def on_accelerator(self) -> list[str]:
        return [name for name, (device, _) in self.placements.items() if device == self.accelerator]

    def bytes_on(self, device: str) -> int:
        return sum(nbytes for d, nbytes in self.placements.values() if d == device)


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _default_loader(config: ModelConfig, placement: Placement) -> LoadedModel:
    from milimo.models.families import family

    return family(config.family).load(config, placement)


class Arbiter:
    def __init__(
        self,
        models: dict[str, ModelConfig],
        *,
        device: str = "auto",
        ram_budget_bytes: int = 32 * 1024**3,
        loader: Loader = _default_loader,
        on_change: StatesListener | None = None,
    ) -> None:
        self.models = models
        self.device = pick_device(device)
        self.ram_budget_bytes = ram_budget_bytes
        self._loader = loader
        self._on_change = on_change
        self._reported: dict[str, str] = {}
        self._lock = threading.RLock()
        self._resident: LoadedModel | None = None
        self._parked: OrderedDict[str, LoadedModel] = OrderedDict()  # oldest use first
        # On a CPU-only machine the "accelerator" and RAM are the same memory; the ledger keeps them apart.
        self.ledger = Ledger(accelerator=f"accelerator:{self.device.type}")

    def placement_for(self, config: ModelConfig) -> Placement:
        device = self.device if config.device == "auto" else torch.device(config.device)
        check_mode(config.offload)
        # Offload moves weights between RAM and an accelerator; on the CPU there is nothing to move, and diffusers'
        # sequential offload cannot even run there (it names the device "cpu:0": accelerate#2314).
        offload = "none" if device.type == "cpu" else config.offload
        dtype = pick_dtype(device, config.dtype)
        return Placement(device=device, dtype=dtype, offload=offload, vae_tiling=config.vae_tiling)

    def state(self) -> dict[str, str]:
        """Each configured model's whereabouts: on_accelerator, in_ram or on_disk."""
        with self._lock:
            states = {name: "on_disk" for name in self.models}
            states.update({name: "in_ram" for name in self._parked})
            if self._resident is not None:
                states[self._resident.name] = "on_accelerator"
            return states

    @contextmanager
    def acquire(self, name: str, *, wait_s: float | None = None) -> Iterator[LoadedModel]:
        """Put `name` on the accelerator (parking whatever was there) and hold it for one job.

        While another holder has the accelerator this waits for it: without end, or `wait_s` seconds and then
        raises `AcceleratorBusy`.
        """
        if name not in self.models:
            raise InvalidArgument("model", f"unknown model {name!r}; configured: {', '.join(self.models) or 'none'}")
        if not self._lock.acquire(timeout=-1 if wait_s is None else max(wait_s, 0.0)):
            raise AcceleratorBusy(f"the accelerator stayed busy for {wait_s:.0f} s")
        try:
            try:
                model = self._bring_in(name)
            finally:
                self._report()
            try:
                yield model
            except BaseException as exc:
                if _is_out_of_memory(exc):
                    self._recover_from_oom()
                    raise AcceleratorOutOfMemory(
                        f"the accelerator ran out of memory running {name!r}; everything was unloaded. Try fewer "
                        'frames or a smaller size, or set offload = "model" and vae_tiling = true for this model '
                        "in the config"
                    ) from exc
                raise
        finally:
            self._lock.release()

    def release_all(self) -> None:
        with self._lock:
            if self._resident is not None:
                self._release(self._resident)
                self._resident = None
            while self._parked:
                self._release(self._parked.popitem(last=False)[1])
            release_memory()
            self._report()

    # ---- internals (all under the lock) -----------------------------------------------------

    def _report(self) -> None:
        """Tell `on_change` where the models are, when that differs from what it heard last."""
        states = self.state()
        if self._on_change is not None and states != self._reported:
            self._reported = states
            try:
                self._on_change(states)
            except Exception:  # a listener's failure must not fail the job that moved a model
                log.exception("the model states listener failed")

    def _bring_in(self, name: str) -> LoadedModel:
        if self._resident is not None and self._resident.name == name:
            return self._resident
        model = self._parked.pop(name, None)  # taken out first, so parking the resident cannot evict it
        if model is not None:
            self.ledger.forget(name)
        if self._resident is not None:
            self._park(self._resident)
            self._resident = None
        if model is None:
            config = self.models[name]
            log.info("loading model %s (%s) from %s", name, config.family, config.path)
            model = self._loader(config, self.placement_for(config))
        if model.placement.offload == "none":
            model.to(model.placement.device)
        self.ledger.place(name, self.ledger.accelerator, model.nbytes())
        self._resident = model
        return model

    def _park(self, model: LoadedModel) -> None:
        """Move a model to CPU RAM, then release the least recently used ones past the budget."""
        if model.placement.offload == "none":
            model.to(torch.device("cpu"))
        self.ledger.place(model.name, "ram", model.nbytes())
        self._parked[model.name] = model
        while self._parked and self.ledger.bytes_on("ram") > self.ram_budget_bytes:
            oldest_name, oldest = self._parked.popitem(last=False)
            log.info("releasing %s: parked models exceed the RAM budget", oldest_name)
            self._release(oldest)
        release_memory()

    def _release(self, model: LoadedModel) -> None:
        """Drop a model's modules; the caller gives the memory back (`release_memory`) once it is done releasing."""
        self.ledger.forget(model.name)
        model.modules.clear()

    def _recover_from_oom(self) -> None:
        log.error("out of memory on %s: releasing every model", self.device)
        self.release_all()
