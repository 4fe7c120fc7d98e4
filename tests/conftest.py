"""Shared pytest fixtures.

``libsql_db`` is a fresh libSQL database on each of its three backends: a file through
the native driver, a file through ``libsql-client``, and a libSQL server (one sqld for
the session, emptied before each test) through ``libsql-client`` over HTTP; contract
suites of the libSQL-backed ports take it.

Emulators are session-scoped and started on first use; a test that needs one and
cannot get it FAILS with the emulator's log tail (nothing is skipped silently).
Emulator logs go to ``test-artifacts/emulators/`` (or ``$TICKETFLOW_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from google.cloud import firestore
from tests.support import running

from ticketflow.adapters.firestore import firestore_client as make_firestore_client
from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.database import SqldServer
from ticketflow.dev.emulators import (
    PROJECT_ROOT,
    AuthEmulator,
    FirestoreEmulator,
)

# -- emulators ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator_log_dir() -> Path:
    """Folder for the emulators' logs, kept after the run for inspection."""
    root = Path(os.environ.get("TICKETFLOW_TEST_ARTIFACTS", PROJECT_ROOT / "test-artifacts"))
    path = root / "emulators"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def firestore_emulator(emulator_log_dir: Path) -> Iterator[FirestoreEmulator]:
    """The Cloud Firestore emulator with the project's ``firestore.rules``, free port."""
    emulator = FirestoreEmulator(emulator_log_dir)
    yield from running(emulator, "Firestore emulator")


@pytest.fixture(scope="session")
def auth_emulator(emulator_log_dir: Path) -> Iterator[AuthEmulator]:
    """The Firebase Auth emulator (firebase-tools from ``npm ci``), free ports."""
    emulator = AuthEmulator(emulator_log_dir)
    yield from running(emulator, "Auth emulator")


@pytest.fixture(scope="session")
def _firestore_session_client(firestore_emulator: FirestoreEmulator) -> Iterator[firestore.Client]:
    client = make_firestore_client(firestore_emulator.project_id, firestore_emulator.host_port)
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def firestore_client(
    firestore_emulator: FirestoreEmulator, _firestore_session_client: firestore.Client
) -> firestore.Client:
    """A server (rules-bypassing) client on an emptied emulator database."""
    firestore_emulator.reset()
    return _firestore_session_client


# -- libSQL: two file drivers and a server ----------------------------------------------------

LIBSQL_BACKENDS = ["native", "libsql-client", "sqld"]


@pytest.fixture(scope="session")
def sqld_server(emulator_log_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[SqldServer]:
    """One libSQL server (sqld) for the session, on a free port."""
    server = SqldServer(emulator_log_dir, tmp_path_factory.mktemp("sqld") / "data",
                        name="sqld-contract")
    yield from running(server, "sqld")


@pytest.fixture
def open_libsql(request: pytest.FixtureRequest, tmp_path: Path,
                ) -> Iterator[Callable[[str], Database]]:
    """Opens a new, empty database on a backend of :data:`LIBSQL_BACKENDS` (the same
    one again on a second call: a second connection); closed after the test."""
    opened: list[Database] = []

    def open_(backend: str) -> Database:
        if backend == "sqld":
            server: SqldServer = request.getfixturevalue("sqld_server")
            if not opened:
                server.reset()
            db = Database(server.url, auth_token=server.auth_token)
        elif backend in ("native", "libsql-client"):
            db = Database(f"file:{tmp_path}/libsql.db", driver=backend)  # type: ignore[arg-type]
        else:
            raise ValueError(f"unknown libSQL backend {backend!r}")
        opened.append(db)
        return db

    try:
        yield open_
    finally:
        for db in opened:
            db.close()


@pytest.fixture(params=LIBSQL_BACKENDS)
def libsql_db(request: pytest.FixtureRequest, open_libsql: Callable[[str], Database],
              ) -> Database:
    """A fresh libSQL database on each backend (module doc)."""
    return open_libsql(request.param)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound and not listening, and held
    for the test, so that no server started meanwhile can be given it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])
