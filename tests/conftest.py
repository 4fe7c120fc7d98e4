"""Shared pytest fixtures.

Emulators are session-scoped and started on first use; a test that needs one and
cannot get it FAILS with the emulator's log tail (nothing is skipped silently).
Emulator logs go to ``test-artifacts/emulators/`` (or ``$TICKETFLOW_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import firestore

from ticketflow.adapters.firestore import firestore_client as make_firestore_client
from ticketflow.dev.emulators import (
    PROJECT_ROOT,
    AuthEmulator,
    EmulatorError,
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
    try:
        emulator.start()
    except EmulatorError as exc:
        pytest.fail(f"Firestore emulator did not start: {exc}", pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def auth_emulator(emulator_log_dir: Path) -> Iterator[AuthEmulator]:
    """The Firebase Auth emulator (firebase-tools from ``npm ci``), free ports."""
    emulator = AuthEmulator(emulator_log_dir)
    try:
        emulator.start()
    except EmulatorError as exc:
        pytest.fail(f"Auth emulator did not start: {exc}", pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()


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
