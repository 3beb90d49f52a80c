"""Executors other than the local lanes: where the daemon's jobs may run (see `milimo.daemon.jobs.dispatcher`)."""

from __future__ import annotations

import importlib.util

from milimo.config import DaemonConfig
from milimo.daemon.jobs.dispatcher import Dispatcher, ExecutorFactory
from milimo.errors import FailedPrecondition


def executor_for(config: DaemonConfig) -> ExecutorFactory | None:
    """The executor `config` asks for; None: the local lanes. Ray is imported only when asked for."""
    if config.executor != "ray":
        return None
    if importlib.util.find_spec("ray") is None:
        raise FailedPrecondition("--executor ray needs Ray in the daemon's environment: pip install 'milimo[ray]'")
    from milimo.daemon.executors.ray_executor import RayExecutor

    def connect(dispatcher: Dispatcher) -> RayExecutor:
        return RayExecutor(dispatcher, config.ray_address, config.ray_media)

    return connect
