"""One libSQL database handle shared by every libSQL-backed adapter.

Two executors sit behind the same small API (``execute`` / ``batch`` returning
``libsql_client.ResultSet``):

* ``libsql-client`` (``create_client_sync``) for remote URLs (``libsql://``,
  ``https://``, ``wss://``) and, when asked with ``driver="libsql-client"``, for
  files too. For ``file:`` URLs that client opens a new ``sqlite3`` connection per
  call with a busy timeout of 0, which costs about 1 ms per write here.
* ``native`` (the default for ``file:`` URLs): one persistent ``sqlite3``
  connection per process, WAL journal, guarded by a lock. Same file format, same
  statements, same result types.

Durability classes: ``durable=True`` (checkpoints, outbox, answers) commits with
``synchronous=FULL`` (an fsync of the WAL); ``durable=False`` is for writes that
can be derived again from durable ones (leases, queue acknowledgements, progress
projections) and commits with ``synchronous=NORMAL``: safe against a killed
process, and made durable by the next FULL commit. Remote executors ignore it.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
import libsql_client
from libsql_client import LibsqlError, ResultSet, Row, Statement

from ticketflow.domain.errors import RetryableError
from ticketflow.observability.redact import redact_url

Driver = Literal["native", "libsql-client"]
Args = Sequence[Any] | dict[str, Any] | None
Stmt = tuple[str, Args]
T = TypeVar("T")

_BUSY_CODES = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT"}


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
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.busy_budget_s = busy_budget_s
        self._lock = threading.RLock()
        self._closed = False
        path = file_path(url)
        self.is_file = path is not None
        self.driver: Driver = driver if self.is_file else "libsql-client"
        self._conn: sqlite3.Connection | None = None  # synchronous=FULL: durable writes
        self._relaxed: sqlite3.Connection | None = None  # synchronous=NORMAL
        self._path = path
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
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
            # Two writer connections, used one at a time under the lock: switching a
            # single connection's synchronous mode costs a statement per write.
            self._conn = self._writer(path, "FULL")
            self._relaxed = self._writer(path, "NORMAL")
        else:
            client_url = f"file:{path}" if path is not None else remote_url(url)
            self._client = libsql_client.create_client_sync(client_url, auth_token=auth_token)

    # -- public API ---------------------------------------------------------------

    def execute(self, sql: str, args: Args = None, *, durable: bool = True) -> ResultSet:
        """Run one statement in its own transaction."""
        if self._conn is not None or self._read_only_file:
            return self._retry(lambda: self._native([(sql, args)], durable, single=True)[0])
        stmt = Statement(sql, _remote_args(sql, args))
        return self._retry(lambda: self._remote(lambda: self._client.execute(stmt)))

    def batch(self, stmts: Sequence[Stmt], *, durable: bool = True) -> list[ResultSet]:
        """Run statements atomically: all of them commit, or none does."""
        if self._conn is not None or self._read_only_file:
            return self._retry(lambda: self._native(list(stmts), durable, single=False))
        converted = [Statement(sql, _remote_args(sql, a)) for sql, a in stmts]
        return self._retry(lambda: self._remote(lambda: list(self._client.batch(converted))))

    @property
    def _read_only_file(self) -> bool:
        return self.read_only and self.driver == "native" and self._path is not None

    def close(self) -> None:
        """Close the connection; the libsql-client helper thread must be stopped too."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for writer in (self._conn, self._relaxed):
                if writer is not None:
                    writer.close()
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
                        code = getattr(exc, "sqlite_errorname", "SQLITE")
                        raise LibsqlError(str(exc), code) from exc
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseBusyError(
                        f"database {redact_url(self.url)} stayed locked for "
                        f"{self.busy_budget_s:.0f}s"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    @staticmethod
    def _writer(path: str, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=0.05)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

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
            self._readers.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def _native(self, stmts: list[Stmt], durable: bool, *, single: bool) -> list[ResultSet]:
        sql = stmts[0][0]
        if self._read_only_file:  # a write fails here with SQLite's "readonly" error
            if self._closed:
                raise LibsqlError("The database was closed", "CLIENT_CLOSED")
            return [_run(self._reader(), s, a) for s, a in stmts]
        if single and _is_read(sql) and not sql.lstrip().upper().startswith("PRAGMA"):
            if self._closed:
                raise LibsqlError("The database was closed", "CLIENT_CLOSED")
            return [_run(self._reader(), *stmts[0])]
        with self._lock:
            if self._closed:
                raise LibsqlError("The database was closed", "CLIENT_CLOSED")
            conn = self._conn if durable else self._relaxed
            assert conn is not None
            if single:  # one statement in autocommit mode is its own transaction
                return [_run(conn, *stmts[0])]
            conn.execute("BEGIN IMMEDIATE")
            try:
                results = [_run(conn, sql, args) for sql, args in stmts]
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return results


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
    head = sql.lstrip()[:7].upper()
    return head.startswith("SELECT") or head.startswith("WITH") or head.startswith("PRAGMA")


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


def _run(conn: sqlite3.Connection, sql: str, args: Args) -> ResultSet:
    cursor = conn.execute(sql, _args(args) or ())
    try:
        rows_raw = cursor.fetchall()
        columns = tuple(str(d[0]) for d in cursor.description or ())
        idx = {c: i for i, c in enumerate(columns)}
        rows = [Row(idx, tuple(r)) for r in rows_raw]
        return ResultSet(columns, rows, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


def apply_schema(db: Database, name: str, version: int, statements: Sequence[str]) -> None:
    """Create a component's tables once per version (idempotent, versioned)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER)"
    )
    rs = db.execute("SELECT version FROM schema_versions WHERE component = ?", [name])
    current = int(rs.rows[0][0]) if rs.rows else 0
    if current >= version:
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
