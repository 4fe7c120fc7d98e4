"""The emulator supervisors, for the tests (they live in :mod:`ticketflow.emulators`)."""

from ticketflow.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    PROJECT_ROOT,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    firestore_launcher,
    free_port,
    gcloud_sdk_root,
    running,
    tail,
)

__all__ = [
    "DEFAULT_PROJECT_ID",
    "LOCALHOST",
    "PROJECT_ROOT",
    "AuthEmulator",
    "EmulatorError",
    "FirestoreEmulator",
    "firestore_launcher",
    "free_port",
    "gcloud_sdk_root",
    "running",
    "tail",
]
