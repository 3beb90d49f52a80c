"""Engine creation, SQLite tuning, migrations, and the executors that keep SQL off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def create_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL, foreign keys and full durability."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _tune(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects are untyped)
            # pysqlite's own transaction handling would delay BEGIN; let SQLAlchemy emit it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, not only a killed process; fsync is cheap in WAL.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the lock up front (IMMEDIATE) so a read never has to upgrade to a write.
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is already there)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    log.info("database schema upgraded to %s", head)


class Database:
    """Runs store functions in threads: one writer for SQLite (it has one write lock anyway), a
    small pool of readers, and every call in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._writer = ThreadPoolExecutor(1 if self.is_sqlite else 4, thread_name_prefix="db-write")
        self._reader = ThreadPoolExecutor(4, thread_name_prefix="db-read")

    async def write(self, fn: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> T:
        """Run `fn` in one transaction; `after_commit` runs on the same writer thread once it is durable
        (so, on SQLite, before any other write begins)."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, self.write_sync, fn, after_commit)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, self.read_sync, fn)

    def write_sync(self, fn: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> T:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                result = fn(conn)
        if after_commit is not None:
            after_commit(result)
        return result

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            result = fn(conn)
            conn.rollback()
            return result

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self.engine.dispose()
