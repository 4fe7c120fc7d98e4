"""One libSQL database handle shared by every libSQL-backed adapter.

Two executors sit behind the same small API (``execute`` / ``batch`` returning
``libsql_client.ResultSet``):

* ``libsql-client`` (``create_client_sync``) for remote URLs (``libsql://``,
  ``https://``, ``wss://``) and, when asked with ``driver="libsql-client"``, for
  files too. For ``file:`` URLs that client opens a new ``sqlite3`` connection per
  call with a busy timeout of 0, which costs about 1 ms per write here.
* ``native`` (the default for ``file:`` URLs): persistent ``sqlite3`` connections
  per process, WAL journal. Same file format, same statements, same result types.

Durability classes (native): every commit runs with ``synchronous=NORMAL`` (safe
against a killed process), and durability comes from an fsync of the WAL outside the
write lock (:mod:`~ticketflow.adapters.libsql.wal_sync`). ``durable=True``
(checkpoints, outbox, answers) returns once such an fsync covers the commit, unless
the calling thread is inside :meth:`Database.pipelined`: then it returns at once and
the caller's :meth:`Database.sync` waits, before anything is acknowledged outside
(a step's next claim reads committed state, so it need not wait for the disk).
``durable=False`` is for writes that can be derived again from durable ones (leases,
queue acknowledgements, progress projections): made durable by the next sync.
Remote executors ignore all this (the server owns its durability).

Group commit (native): writers queue their batch; whichever thread finds no
commit in progress leads, and commits every queued batch in one transaction, each
batch inside its own savepoint (a batch whose statement fails is rolled back alone
and gets its error). So when many runs commit at once, one fsync carries several
commits, each still atomic; a writer alone pays one transaction, as before. The
group's durable batches wait for one fsync together.

SQLITE_BUSY from other processes is retried with jittered backoff here, so
callers never see it.

``read_only=True`` (file URLs, native driver) opens the file read-only and sends
every statement to a read-only connection: commands that only read work on a
database they cannot write, and a write fails with SQLite's own "readonly" error.
A constructor that fails closes whatever it opened first.

A libSQL server (remote executor): ``libsql://`` URLs are reached over HTTPS (Hrana
over HTTP, as ``https://``): a function instance then holds no WebSocket, and a
refused credential is an HTTP 401 that can be named (over a WebSocket, sqld just
closes the connection). Failures reaching the server are never retried here (the
caller's queue retries with backoff) and are raised as one of two
:class:`~ticketflow.domain.errors.RetryableError` subclasses naming the database (its
token redacted): :class:`DatabaseUnavailableError` (refused, reset, timed out, a 5xx)
and :class:`DatabaseAuthError` (401/403: retrying cannot help until the token is
fixed, so it asks for a long wait).

:class:`~ticketflow.adapters.libsql.stats.DbStats` counts, with ``witness=True``
(or :meth:`Database.set_witness`), what the database really did: every call (a round
trip for the remote executor), every statement SQLite executed (its trace callback,
``BEGIN`` and ``COMMIT`` included), durable commits, WAL fsyncs and checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
import libsql_client
from libsql_client import LibsqlError, ResultSet, Row, Statement

from ticketflow.adapters.libsql.stats import DbStats
from ticketflow.adapters.libsql.wal_sync import DurabilityError, WalSync
from ticketflow.domain.errors import RetryableError
from ticketflow.observability.redact import redact_url

__all__ = ["Database", "DatabaseAuthError", "DatabaseBusyError", "DatabaseUnavailableError",
           "DbStats", "DurabilityError", "apply_schema", "file_path", "rows_as_dicts"]

Driver = Literal["native", "libsql-client"]
Args = Sequence[Any] | dict[str, Any] | None
Stmt = tuple[str, Args]
T = TypeVar("T")

_BUSY_CODES = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT"}
MAX_GROUP = 64  # batches per group commit: bounds how long the leader holds the lock
CHECKPOINT_EVERY = 200  # write transactions between WAL checkpoints (counted, see DbStats)


class DatabaseBusyError(RuntimeError):
    """The database stayed locked by other writers for longer than the budget."""


class DatabaseUnavailableError(RetryableError):
    """The libSQL server could not be reached or answered with a server error; the
    statement may or may not have run (callers' writes are idempotent for that)."""

    code = "database_unavailable"


class DatabaseAuthError(RetryableError):
    """The libSQL server refused the credentials (``TICKETFLOW_DB_AUTH_TOKEN``)."""

    code = "database_auth"


UNAVAILABLE_RETRY_S = 2.0
AUTH_RETRY_S = 60.0  # a wrong token stays wrong until someone changes the setting
_CONNECTION_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def remote_url(url: str) -> str:
    """The URL the remote executor uses: ``libsql://`` becomes ``https://`` (module doc)."""
    return "https://" + url[len("libsql://"):] if url.startswith("libsql://") else url


def _is_busy(exc: BaseException) -> bool:
    if isinstance(exc, LibsqlError):
        return exc.code in _BUSY_CODES or "database is locked" in str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        msg = str(exc)
        return "locked" in msg or "busy" in msg
    return False


def file_path(url: str) -> str | None:
    """The local path a ``file:`` URL (or a bare path) names; ``None`` for a server."""
    if url.startswith("file:"):
        path = url[len("file:") :]
        if path.startswith("//"):
            path = path[2:]
        return path
    if "://" not in url:
        return url
    return None


@dataclass(eq=False)
class _Write:
    """One caller's batch waiting for (or in) a group commit."""

    stmts: Sequence[Stmt]
    durable: bool
    single: bool
    results: list[ResultSet] | None = None
    error: BaseException | None = None
    done: bool = False
    lsn: int = 0  # the commit's sequence number once written (WalSync)


class Database:
    """A libSQL database reached through one of two executors (see module doc)."""

    def __init__(
        self,
        url: str,
        *,
        auth_token: str | None = None,
        driver: Driver = "native",
        busy_budget_s: float = 30.0,
        read_only: bool = False,
        witness: bool = False,
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.busy_budget_s = busy_budget_s
        self.stats = DbStats()
        self._witness = witness
        self._closed = False
        path = file_path(url)
        self.is_file = path is not None
        self.driver: Driver = driver if self.is_file else "libsql-client"
        self._conn: sqlite3.Connection | None = None  # the writer (group leaders only)
        self._wal: WalSync | None = None  # the writer's durability (module doc)
        self._pipelined = threading.local()
        self._path = path
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._cv = threading.Condition(threading.Lock())
        self._pending: list[_Write] = []
        self._leading = False
        self._since_checkpoint = 0
        self._client: Any = None
        try:
            self._open(path, url, auth_token, busy_budget_s)
        except BaseException:
            self.close()
            raise

    def _open(self, path: str | None, url: str, auth_token: str | None,
              busy_budget_s: float) -> None:
        if path is not None and self.read_only and self.driver == "native":
            self._reader()  # fails now, with SQLite's reason, if it cannot be read
            return
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # WAL is a property of the file: set once, kept by every later connection.
            with contextlib.closing(sqlite3.connect(path, timeout=busy_budget_s)) as boot:
                boot.execute("PRAGMA journal_mode=WAL")
        if self.driver == "native":
            assert path is not None
            # One writer connection: a second one for relaxed writes would find its
            # page cache stale after every write of the other (measured: a one-row
            # update then costs about 10x more).
            self._conn = self._writer(path)
            self._wal = WalSync(path, on_sync=self._count_sync)
        else:
            client_url = f"file:{path}" if path is not None else remote_url(url)
            self._client = libsql_client.create_client_sync(client_url, auth_token=auth_token)

    # -- public API ---------------------------------------------------------------

    def execute(self, sql: str, args: Args = None, *, durable: bool = True) -> ResultSet:
        """Run one statement in its own transaction."""
        if self._witness:
            self.stats.add(calls=1)
        if self._conn is not None:
            if _is_read(sql):
                return self._read(sql, args)
            return self._write(_Write([(sql, args)], durable, single=True))[0]
        if self._read_only_file:  # a write fails here with SQLite's "readonly" error
            return self._read(sql, args)
        stmt = Statement(sql, _remote_args(sql, args))
        return self._retry(lambda: self._remote(lambda: self._client.execute(stmt)))

    def batch(self, stmts: Sequence[Stmt], *, durable: bool = True) -> list[ResultSet]:
        """Run statements atomically: all of them commit, or none does."""
        if self._witness:
            self.stats.add(calls=1)
        if self._conn is not None:
            return self._write(_Write(list(stmts), durable, single=False))
        if self._read_only_file:
            if self._closed:
                raise LibsqlError("The database was closed", "CLIENT_CLOSED")
            return [self._read(sql, args) for sql, args in stmts]
        converted = [Statement(sql, _remote_args(sql, a)) for sql, a in stmts]
        return self._retry(lambda: self._remote(lambda: list(self._client.batch(converted))))

    @contextlib.contextmanager
    def pipelined(self) -> Iterator[None]:
        """Durable writes of this thread return before their fsync (module doc); the
        caller calls :meth:`sync` before acknowledging anything outside. Nests. The
        outermost scope is expected work for the fsyncs of others (:meth:`expect`)."""
        depth: int = getattr(self._pipelined, "depth", 0)
        self._pipelined.depth = depth + 1
        try:
            if depth:
                yield
            else:
                with self.owning(self.expect()):
                    yield
        finally:
            self._pipelined.depth = depth

    def expect(self) -> Callable[[], None]:
        """Note durable work about to run (on this thread or handed to another) whose
        sync follows; call the returned function once when it is done. A sync due
        meanwhile waits briefly for it, to cover both with one fsync
        (:mod:`~ticketflow.adapters.libsql.wal_sync`). A no-op for a server."""
        if self._wal is None:
            return _nothing
        return self._wal.expect()

    @contextlib.contextmanager
    def owning(self, done: Callable[[], None]) -> Iterator[None]:
        """Do the expected work ``done`` stands for (from :meth:`expect`) on this
        thread: its syncs meanwhile do not wait for it; ``done`` is called at the end."""
        owned: int = getattr(self._pipelined, "owned", 0)
        self._pipelined.owned = owned + 1
        try:
            yield
        finally:
            self._pipelined.owned = owned
            done()

    def sync(self) -> None:
        """Return once every commit made so far, by any thread, is durable
        (:class:`DurabilityError` if an fsync failed). A no-op for a server."""
        if self._wal is not None:
            self._wal.sync_all(own_expected=getattr(self._pipelined, "owned", 0))

    def _count_sync(self) -> None:
        if self._witness:
            self.stats.add(wal_syncs=1)

    @property
    def _read_only_file(self) -> bool:
        return self.read_only and self.driver == "native" and self._path is not None

    def set_witness(self, on: bool) -> None:
        """Count statements and synced commits from now on (or stop); see :class:`DbStats`."""
        with self._cv:
            self._witness = on
            for conn in (self._conn, *self._reader_conns):
                if conn is not None:
                    self._trace(conn, stop=not on)

    def close(self) -> None:
        """Close the connections; the libsql-client helper thread must be stopped too."""
        with self._cv:
            while self._leading:
                self._cv.wait()
            if self._closed:
                return
            self._closed = True
        try:
            if self._wal is not None:
                self._wal.close()
        finally:
            self._close_connections()

    def _close_connections(self) -> None:
        with self._cv:
            if self._conn is not None:
                self._conn.close()
            for reader in self._reader_conns:
                reader.close()
            if self._client is not None:
                self._client.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------

    def _remote(self, fn: Callable[[], T]) -> T:
        """One call to the client, its failures to reach the server named (module doc)."""
        try:
            return fn()
        except LibsqlError as exc:
            status = _http_status(exc)
            if status in (401, 403):
                raise DatabaseAuthError(
                    f"database {redact_url(self.url)} refused the credentials (HTTP "
                    f"{status}): check TICKETFLOW_DB_AUTH_TOKEN",
                    retry_after_s=AUTH_RETRY_S) from None
            if status is not None and status >= 500:
                raise DatabaseUnavailableError(
                    f"database {redact_url(self.url)} answered HTTP {status}",
                    retry_after_s=UNAVAILABLE_RETRY_S) from None
            raise
        except _CONNECTION_ERRORS as exc:
            if self._closed:
                raise LibsqlError("The database was closed", "CLIENT_CLOSED") from None
            raise DatabaseUnavailableError(
                f"database {redact_url(self.url)} cannot be reached: "
                f"{type(exc).__name__}: {redact_url(str(exc)) or 'no detail'}",
                retry_after_s=UNAVAILABLE_RETRY_S) from exc

    def _retry(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.busy_budget_s
        delay = 0.002
        while True:
            try:
                return fn()
            except (LibsqlError, sqlite3.Error) as exc:
                if not _is_busy(exc):
                    if isinstance(exc, sqlite3.Error):
                        raise _mapped(exc) from exc
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseBusyError(
                        f"database {redact_url(self.url)} stayed locked for "
                        f"{self.busy_budget_s:.0f}s"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    def _writer(self, path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=0.05)
        conn.execute("PRAGMA foreign_keys=ON")
        # durability comes from WalSync's fsync outside the write lock (module doc)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # opens the WAL
        # Checkpoints are run (and counted) by the group leader, not inside a commit.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._trace(conn)
        return conn

    def _trace(self, conn: sqlite3.Connection, *, stop: bool = False) -> None:
        if not self._witness:
            if stop:
                conn.set_trace_callback(None)
            return
        last = [""]

        def seen(sql: str) -> None:
            # SQLite calls back again, with the same statement, as each trigger program
            # of that statement starts: those are counted apart
            if sql == last[0]:
                self.stats.add(trigger_programs=1)
            else:
                last[0] = sql
                self.stats.add(statements=1)

        conn.set_trace_callback(seen)

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection per thread: in WAL mode reads never wait for a writer."""
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            assert self._path is not None
            target = f"file:{Path(self._path).resolve()}?mode=ro" if self.read_only \
                else self._path
            conn = sqlite3.connect(target, isolation_level=None, timeout=0.05,
                                   check_same_thread=False, uri=self.read_only)
            conn.execute("PRAGMA query_only=ON")
            self._trace(conn)
            self._readers.conn = conn
            with self._cv:
                self._reader_conns.append(conn)
        return conn

    def _read(self, sql: str, args: Args) -> ResultSet:
        if self._closed:
            raise LibsqlError("The database was closed", "CLIENT_CLOSED")
        return self._retry(lambda: _run(self._reader(), sql, args))

    def _write(self, w: _Write) -> list[ResultSet]:
        """Queue ``w``; lead group commits until it is done (see module doc)."""
        with self._cv:
            self._pending.append(w)
            while True:
                while self._leading and not w.done:
                    self._cv.wait()
                if w.done:
                    break
                if self._closed:
                    self._pending.remove(w)
                    raise LibsqlError("The database was closed", "CLIENT_CLOSED")
                self._leading = True
                group = self._pending[:MAX_GROUP]
                del self._pending[:len(group)]
                self._cv.release()
                try:
                    self._commit_group(group)
                finally:
                    self._cv.acquire()
                    for g in group:
                        g.done = True
                    self._leading = False
                    self._cv.notify_all()
        if w.error is not None:
            raise w.error
        assert w.results is not None and self._wal is not None
        if w.durable and not getattr(self._pipelined, "depth", 0):
            # a batch that wrote nothing may still have read others' unsynced commits
            self._wal.wait(w.lsn or self._wal.written)
        return w.results

    def _commit_group(self, group: list[_Write]) -> None:
        conn, wal = self._conn, self._wal
        assert conn is not None and wal is not None
        try:
            if len(group) == 1 and group[0].single:
                # one statement in autocommit mode is its own transaction
                before = conn.total_changes
                sql, args = group[0].stmts[0]
                group[0].results = [self._retry(lambda: _run(conn, sql, args))]
                wrote = conn.total_changes != before
            else:
                wrote = self._transaction(conn, group)
        except BaseException as exc:
            for g in group:
                if g.results is None and g.error is None:
                    g.error = _mapped(exc) if isinstance(exc, sqlite3.Error) else exc
            return
        if wrote:
            lsn = wal.committed()
            for g in group:
                g.lsn = lsn
            if self._witness:
                self.stats.add(transactions=1,
                               durable_commits=1 if any(g.durable for g in group) else 0,
                               grouped_batches=len(group) if len(group) > 1 else 0)
            self._since_checkpoint += 1
            if self._since_checkpoint >= CHECKPOINT_EVERY:
                self._checkpoint(conn)

    def _transaction(self, conn: sqlite3.Connection, group: list[_Write]) -> bool:
        """Commit ``group`` in one transaction; True if it wrote anything."""
        self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
        before = conn.total_changes
        try:
            if len(group) == 1:
                group[0].results = [_run(conn, sql, args) for sql, args in group[0].stmts]
            else:
                for g in group:
                    conn.execute("SAVEPOINT batch")
                    try:
                        g.results = [_run(conn, sql, args) for sql, args in g.stmts]
                    except sqlite3.Error as exc:
                        conn.execute("ROLLBACK TO batch")
                        g.results, g.error = None, _mapped(exc)
                    conn.execute("RELEASE batch")
            wrote = conn.total_changes != before
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for g in group:
                g.results = None
            raise
        return wrote

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        self._since_checkpoint = 0
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if self._witness:
                self.stats.add(checkpoints=1)
        except sqlite3.Error:  # another process checkpointing: it will be done again
            pass


def _nothing() -> None:
    return None


def _mapped(exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.Error):
        mapped: BaseException = LibsqlError(str(exc), getattr(exc, "sqlite_errorname",
                                                              "SQLITE"))
        return mapped
    return exc


def _http_status(exc: LibsqlError) -> int | None:
    """The HTTP status in libsql-client's "Server returned HTTP status N"."""
    text = str(exc)
    marker = "HTTP status "
    at = text.find(marker)
    if at < 0:
        return None
    digits = text[at + len(marker):at + len(marker) + 3]
    return int(digits) if digits.isdigit() else None


def _is_read(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head.startswith("SELECT") or head.startswith("WITH")


def _remote_args(sql: str, args: Args) -> Any:
    """Named arguments the statement uses, only: sqld refuses a statement given more
    (``ARGS_INVALID: too many parameters``) where SQLite ignores them."""
    if isinstance(args, dict):
        return {k: v for k, v in args.items() if re.search(rf"[:@$]{re.escape(k)}\b", sql)}
    return _args(args)


def _args(args: Args) -> Any:
    if args is None:
        return None
    if isinstance(args, dict):
        return args
    return list(args)


_INDEXES: dict[tuple[str, ...], dict[str, int]] = {}


def _run(conn: sqlite3.Connection, sql: str, args: Args) -> ResultSet:
    cursor = conn.execute(sql, args if args is not None else ())
    try:
        rows_raw = cursor.fetchall()
        columns = tuple(str(d[0]) for d in cursor.description or ())
        idx = _INDEXES.get(columns)
        if idx is None:
            idx = _INDEXES.setdefault(columns, {c: i for i, c in enumerate(columns)})
        return ResultSet(columns, [Row(idx, r) for r in rows_raw], cursor.rowcount,
                         cursor.lastrowid)
    finally:
        cursor.close()


def apply_schema(db: Database, name: str, version: int, statements: Sequence[str]) -> None:
    """Create a component's tables once per version (idempotent, versioned)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER)"
    )
    rs = db.execute("SELECT version FROM schema_versions WHERE component = ?", [name])
    current = int(rs.rows[0][0]) if rs.rows else 0
    if current >= version or (current and db.read_only):  # a reader reads what exists
        return
    db.batch(
        [(s, None) for s in statements]
        + [
            (
                "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                [name, version],
            )
        ]
    )


def rows_as_dicts(rs: ResultSet) -> list[dict[str, Any]]:
    return [row.asdict() for row in rs.rows]
