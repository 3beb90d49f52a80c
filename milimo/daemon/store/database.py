"""Engine creation, SQLite tuning, migrations, and the executors that keep SQL off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# The most writes one transaction commits together: enough to amortise the commit, few enough that the
# last of them is not kept waiting long, and within the 64 subtransactions (savepoints that wrote) that a
# PostgreSQL backend caches before every snapshot gets slower.
GROUP_MAX = 64
_MEMO = "milimo.writer_memo"  # key in Connection.info
_SAVEPOINT = "SAVEPOINT milimo_write"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT milimo_write"
_RELEASE_SAVEPOINT = "RELEASE SAVEPOINT milimo_write"


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
            # On the DB-API cursor: through exec_driver_sql, every transaction paid about 20 µs more.
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.connection.cursor().execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

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
    """Runs store functions in threads: one writer thread that commits queued writes in groups, and a
    small pool of readers.

    Group commit: while the writer is busy, further writes queue up; it then runs up to GROUP_MAX of
    them in one transaction, each in its own SAVEPOINT, so they share one commit (one fsync with
    SQLite's synchronous=FULL) and a write that raises rolls back only its own work. Nobody is answered
    before the shared commit is durable. One writer on every backend also means the store functions
    never race each other (the queue limit's count is exact)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._closing = threading.Lock()
        self._closed = False
        self._memo: dict[str, Any] = {}  # see writer_memo
        self._writer = threading.Thread(target=self._write_loop, name="db-write", daemon=True)
        self._writer.start()
        self._reader = ThreadPoolExecutor(4, thread_name_prefix="db-read")

    async def write(self, fn: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> T:
        """Run `fn` in a write transaction (maybe shared with other writes, each in its own savepoint).
        `after_commit` runs on the writer thread once the commit is durable, before any later write begins.
        If the shared transaction is lost through no fault of `fn` (another write broke it), `fn` runs
        again alone; nothing of its first run was committed."""
        waiter = asyncio.get_running_loop().create_future()
        write = _Write(fn, after_commit, waiter)
        waiter.add_done_callback(write.give_up_if_cancelled)
        self._enqueue(write)
        return await waiter

    def write_sync(self, fn: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> T:
        """`write` for callers outside the event loop: blocks until it is committed."""
        write = _Write(fn, after_commit)
        self._enqueue(write)
        return write.future.result()

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, self.read_sync, fn)

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            result = fn(conn)
            conn.rollback()
            return result

    def close(self) -> None:
        """Finish the writes already queued, then stop."""
        with self._closing:
            self._closed = True
            self._queue.put(None)
        self._writer.join()
        self._reader.shutdown(wait=True)
        self.engine.dispose()

    def _enqueue(self, write: _Write) -> None:
        with self._closing:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._queue.put(write)

    # ---- the writer thread ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        while (group := self._next_group()) is not None:
            if len(group) == 1:
                self._run_alone(group[0])
            elif group:
                self._run_together(group)
            self._wake_waiters(group)

    @staticmethod
    def _wake_waiters(group: list[_Write]) -> None:
        """Hand a finished group's outcomes to their async callers: one wake-up of each caller's event
        loop for the whole group, where chaining each future (`asyncio.wrap_future`) woke it once per
        write (docs/benchmarks.md)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Write]] = {}
        for write in group:
            if write.waiter is not None:
                by_loop.setdefault(write.waiter.get_loop(), []).append(write)
        for loop, writes in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle_waiters, writes)

    def _next_group(self) -> list[_Write] | None:
        """The next write (waiting for one) and those queued behind it; None once closed.

        A write with `after_commit` ends its group, so its hook runs before any later write begins
        (deleting an asset's bytes after its row must not race a later write that refers to them)."""
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < GROUP_MAX and group[-1].after_commit is None:
            try:
                write = self._queue.get_nowait()
            except queue.Empty:
                break
            if write is None:  # closing: finish this group first
                self._queue.put(None)
                break
            group.append(write)
        # A caller that gave up before its write began (a cancelled RPC) is dropped, as an executor would.
        return [write for write in group if write.future.set_running_or_notify_cancel()]

    def _run_alone(self, write: _Write) -> None:
        try:
            with self._transaction() as conn:
                result = write.fn(conn)
        except BaseException as error:  # the caller gets whatever it raised
            write.future.set_exception(error)
            return
        self._answer(write, result)

    def _run_together(self, group: list[_Write]) -> None:
        """One transaction, each write in its own savepoint; answers only after the commit.

        The savepoints are plain SQL rather than `conn.begin_nested()`, whose clauses SQLAlchemy
        compiles anew each time: that cost 0.12 ms of CPU per write. A write that succeeds takes and
        releases its savepoint straight on the DB-API cursor: through `exec_driver_sql` the pair cost
        20 µs more (docs/benchmarks.md). The rare rollback keeps SQLAlchemy's error handling."""
        done: list[tuple[_Write, object]] = []
        try:
            with self._transaction() as conn:
                savepoints = conn.connection.cursor()
                for position, write in enumerate(group):
                    savepoints.execute(_SAVEPOINT)
                    try:
                        result = write.fn(conn)
                    except BaseException as error:  # the caller gets whatever it raised
                        write.future.set_exception(error)
                        try:
                            conn.exec_driver_sql(_ROLLBACK_TO_SAVEPOINT)
                            conn.exec_driver_sql(_RELEASE_SAVEPOINT)
                        except Exception as lost:
                            # The error took the whole transaction with it (SQLite rolls back on some
                            # errors, a connection can drop): the others run again, alone.
                            raise _TransactionLost([w for w, _ in done] + group[position + 1 :]) from lost
                        self._memo.clear()
                        continue
                    savepoints.execute(_RELEASE_SAVEPOINT)
                    done.append((write, result))
        except _TransactionLost as lost:
            for write in lost.writes:
                self._run_alone(write)
            return
        except Exception as error:  # BEGIN, RELEASE or COMMIT failed: nothing of the group is durable
            for write in group:
                if not write.future.done():
                    write.future.set_exception(error)
            return
        for write, result in done:
            self._answer(write, result)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_immediate=True)
            conn.info[_MEMO] = self._memo
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                self._memo.clear()  # the transaction's work is undone, so what the memo derived from it goes too
                raise
            finally:
                del conn.info[_MEMO]

    @staticmethod
    def _answer(write: _Write, result: object) -> None:
        if write.after_commit is not None:
            try:
                write.after_commit(result)
            except BaseException as error:  # the caller gets whatever it raised
                write.future.set_exception(error)
                return
        write.future.set_result(result)


@dataclass
class _Write:
    fn: Callable[[Connection], Any]
    after_commit: Callable[[Any], None] | None
    waiter: asyncio.Future | None = None  # an async caller's; settled on its loop once the group is done
    future: Future = field(default_factory=Future)  # the outcome, set on the writer thread

    def give_up_if_cancelled(self, waiter: asyncio.Future) -> None:
        if waiter.cancelled():
            self.future.cancel()  # succeeds only while the write has not begun: it is then dropped


def _settle_waiters(writes: list[_Write]) -> None:
    """On the callers' event loop: pass each finished write's outcome to its waiter."""
    for write in writes:
        assert write.waiter is not None
        if write.waiter.done():  # its caller gave up after the write began
            continue
        error = write.future.exception()
        if error is None:
            write.waiter.set_result(write.future.result())
        else:
            write.waiter.set_exception(error)


class _TransactionLost(Exception):
    def __init__(self, writes: list[_Write]) -> None:
        super().__init__("the shared write transaction was lost")
        self.writes = writes


def writer_memo(conn: Connection) -> dict[str, Any] | None:
    """A dict that store functions share across the writer's transactions, for values they keep exact
    themselves (the writer thread is the database's only writer: one daemon per database). It always
    describes the committed state plus the current transaction's work: it is emptied whenever a write's
    savepoint or a transaction rolls back. None outside `Database.write`."""
    return conn.info.get(_MEMO)


class DriverStatement:
    """A Core statement compiled once per dialect and run straight on the DB-API cursor: for the few
    statements that run for every submitted job. SQLAlchemy's execution path (parameter setup, events,
    result wrapping, error translation) cost 30-80 µs a statement: 40% of a submit's write
    (docs/benchmarks.md). Parameters get their types' bind processing (JSON is serialised); results come
    back as the driver's raw tuples, so return only columns the driver converts itself (integers, text).
    Errors are the driver's own exceptions, not SQLAlchemy's wrappers.

    `build` makes the statement for a dialect, on its first use there: it may pick dialect-specific
    constructs (an upsert), or raise for a database it does not support."""

    def __init__(self, build: Callable[[sa.Dialect], sa.Executable], keys: tuple[str, ...]) -> None:
        self._build = build
        self._keys = keys  # the parameters it takes: for an INSERT, the columns it sets
        self._compiled: dict[tuple[str, str, str], _Compiled] = {}  # by _dialect_key

    def execute(self, conn: Connection, params: dict[str, Any]) -> None:
        self._run(conn, params).close()

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple | None:
        """The first row the statement returns, or None."""
        cursor = self._run(conn, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def _run(self, conn: Connection, params: dict[str, Any]) -> Any:
        """The executed DB-API cursor."""
        compiled = self._compiled.get(_dialect_key(conn.dialect)) or self._compile(conn.dialect)
        values = [params[key] if process is None else process(params[key]) for _, key, process in compiled.binds]
        if not compiled.positional:
            values = {name: value for (name, _, _), value in zip(compiled.binds, values, strict=True)}
        cursor = conn.connection.cursor()
        cursor.execute(compiled.sql, values)
        return cursor

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self._build(dialect).compile(dialect=dialect, column_keys=list(self._keys))
        # Positional styles list a bind once per place it appears; named styles once.
        names = compiled.positiontup if dialect.positional else compiled.binds
        binds = []
        for name in names:
            bind = compiled.binds[name]
            binds.append((name, bind.key, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self._compiled[_dialect_key(dialect)] = _Compiled(str(compiled), dialect.positional, binds)
        return self._compiled[_dialect_key(dialect)]


def _dialect_key(dialect: sa.Dialect) -> tuple[str, str, str]:
    """What a compiled statement and its bind processors depend on: the database, driver and parameter style."""
    return dialect.name, dialect.driver, dialect.paramstyle


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    binds: list[tuple[str, str, Callable[[Any], Any] | None]]  # (bind name, parameter key, bind processor)
