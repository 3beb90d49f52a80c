"""Wiring: open the store, recover the queue, start the lanes, and serve gRPC until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from milimo.config import DaemonConfig
from milimo.daemon.auth import TokenInterceptor
from milimo.daemon.board_jobs import BoardJobs
from milimo.daemon.catalog_service import CatalogService
from milimo.daemon.executors import executor_for
from milimo.daemon.jobs.dispatcher import Dispatcher
from milimo.daemon.jobs.service import JobService, QueueLimits
from milimo.daemon.media_service import CHUNK_MAX, MediaService
from milimo.daemon.media_store import MediaStore
from milimo.daemon.segmentation_service import SegmentationService
from milimo.daemon.servicers.jobs import JobsServicer
from milimo.daemon.servicers.media import MediaServicer
from milimo.daemon.servicers.models import ModelsServicer
from milimo.daemon.servicers.projects import ProjectsServicer
from milimo.daemon.servicers.segmentation import SegmentationServicer
from milimo.daemon.servicers.storyboard import StoryboardServicer
from milimo.daemon.store.database import Database, create_engine, sqlite_url, upgrade_schema
from milimo.daemon.storyboard_service import StoryboardService
from milimo.errors import FailedPrecondition
from milimo.tasks.registry import CPU_LANE
from milimo.tasks.resources import WorkerSettings
from milimo.v1 import (
    jobs_pb2,
    jobs_pb2_grpc,
    media_pb2,
    media_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
    projects_pb2,
    projects_pb2_grpc,
    segmentation_pb2,
    segmentation_pb2_grpc,
    storyboard_pb2,
    storyboard_pb2_grpc,
)

log = logging.getLogger(__name__)

SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (jobs_pb2, "Jobs"),
        (media_pb2, "Media"),
        (projects_pb2, "Projects"),
        (models_pb2, "Models"),
        (segmentation_pb2, "Segmentation"),
        (storyboard_pb2, "Storyboard"),
    )
)
# Headroom over the 1 MiB data chunks for the rest of each message.
MAX_MESSAGE = CHUNK_MAX + 64 * 1024


def _lock_data_dir(data_dir: Path) -> int:
    """One daemon per data directory: a second one would corrupt the queue's bookkeeping."""
    fd = os.open(data_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise FailedPrecondition(f"another daemon already serves {data_dir}") from None
    return fd


class Daemon:
    """Everything a running daemon holds; `start` returns once it is SERVING."""

    def __init__(self, config: DaemonConfig) -> None:
        config.check()
        self.config = config
        self.port: int | None = None

    async def start(self) -> None:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_data_dir(config.data_dir)
        self.media = MediaStore(config.data_dir)
        self.media.clear_scratch()
        engine = create_engine(config.database_url or sqlite_url(config.data_dir / "milimo.db"))
        await asyncio.to_thread(upgrade_schema, engine)
        self.db = Database(engine)
        limits = QueueLimits(config.max_attempts, config.max_queued)
        self.jobs = JobService(self.db, self.media, limits, {model.name: model for model in config.models})
        self.catalog = CatalogService(self.db, self.media)
        self.storyboard = StoryboardService(self.db)
        self.media_service = MediaService(self.db, self.media)
        await self.jobs.recover()
        self.dispatcher = Dispatcher(
            self.jobs,
            self.media,
            paused=config.start_paused,
            cancel_grace_s=config.cancel_grace_s,
            settings=WorkerSettings.of(config),
            executor=executor_for(config),
        )
        models = {model.name: model for model in config.models}
        self.segmentation = SegmentationService(self.db, self.media, self.dispatcher, models)

        interceptors = [TokenInterceptor(config.token)] if config.token else []
        self.server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_send_message_length", MAX_MESSAGE),
                ("grpc.so_reuseport", 0),
            ],
        )
        jobs_pb2_grpc.add_JobsServicer_to_server(JobsServicer(self.jobs, self.dispatcher), self.server)
        media_pb2_grpc.add_MediaServicer_to_server(MediaServicer(self.media_service, self.catalog), self.server)
        projects_pb2_grpc.add_ProjectsServicer_to_server(ProjectsServicer(self.catalog), self.server)
        models_pb2_grpc.add_ModelsServicer_to_server(
            ModelsServicer(config.models, self.dispatcher.model_states), self.server
        )
        segmentation_pb2_grpc.add_SegmentationServicer_to_server(SegmentationServicer(self.segmentation), self.server)
        storyboard_pb2_grpc.add_StoryboardServicer_to_server(
            StoryboardServicer(self.storyboard, BoardJobs(self.db, self.jobs, self.media)), self.server
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server,
        )
        address = f"{config.host}:{config.port}"
        if config.tls_cert is not None and config.tls_key is not None:
            credentials = grpc.ssl_server_credentials([(config.tls_key.read_bytes(), config.tls_cert.read_bytes())])
            self.port = self.server.add_secure_port(address, credentials)
        else:
            self.port = self.server.add_insecure_port(address)
        await self.server.start()
        self.dispatcher.start(prestart=(CPU_LANE,))
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("milimo daemon serving on %s:%s (data in %s)", config.host, self.port, config.data_dir)

    async def stop(self, grace: float = 2.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.dispatcher.stop()
        await self.jobs.release_running()
        self.db.close()
        os.close(self._lock_fd)


async def serve(config: DaemonConfig, ready_file: Path | None = None) -> None:
    """Run until SIGINT or SIGTERM. `ready_file` receives the bound port once serving."""
    daemon = Daemon(config)
    await daemon.start()
    if ready_file is not None:
        ready_file.write_text(str(daemon.port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: running jobs are interrupted and run again at the next start")
    await daemon.stop()
