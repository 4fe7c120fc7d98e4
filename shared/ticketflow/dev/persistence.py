"""The local stack's data from one start to the next, kept consistent.

Three parts hold data that refer to each other: the database (runs, step outputs,
repository indexes), the Firestore emulator (tickets, actions) and the Auth emulator
(accounts). The database is a file (or a server's folder) and outlives a stop; the
emulators keep everything in memory. :class:`LocalData` makes the three agree:

* a stop that finishes exports Firestore and Auth into ``folder`` (the layout of
  ``firebase emulators:export``: ``firestore_export/``, ``auth_export/``), written
  beside the old export and swapped in, then records the stop as clean;
* a start after a clean stop imports that export (as ``firebase emulators:start
  --import DIR --export-on-exit`` would) and keeps the database;
* a start after a stop that did not finish (the process was killed, or a second
  Ctrl-C asked to stop at once) starts all three empty, together, and says so: an
  old export beside a newer database would show tickets whose runs are gone, or
  runs whose tickets are.

``state.json`` records the last start and whether its stop saved the data.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from ticketflow.dev.emulators import EXPORT_METADATA

Plan = Literal["import", "empty", "wiped"]
FIRESTORE_DIR = "firestore_export"
AUTH_DIR = "auth_export"


class _Exporter(Protocol):
    def export(self, folder: Path, *, timeout_s: float = 10.0) -> None: ...


@dataclass
class LocalData:
    """See the module doc. ``folder`` holds the export and ``state.json``."""

    folder: Path
    plan: Plan | None = field(default=None, init=False)
    note: str = field(default="", init=False)

    @property
    def export_dir(self) -> Path:
        return self.folder / "export"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    @property
    def firestore_export(self) -> Path:
        return self.export_dir / FIRESTORE_DIR

    @property
    def auth_export(self) -> Path:
        return self.export_dir / AUTH_DIR

    def _state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, **state: object) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    def prepare(self, *, database_has_data: bool) -> Plan:
        """Decide what this start does with the data (see the module doc), delete the
        export when it cannot be trusted, and record the start as not yet saved.
        The caller empties the database when the plan is ``wiped``."""
        state = self._state()
        exported = (self.firestore_export / EXPORT_METADATA).exists() and \
            (self.auth_export).is_dir()
        if state.get("clean") is True and exported:
            self.plan = "import"
            self.note = (f"kept from the last stop ({state.get('savedAt', '?')}): accounts, "
                         "tickets, runs and repository indexes")
        elif not database_has_data and not exported and not state:
            self.plan = "empty"
            self.note = "a first start: no accounts, no tickets"
        else:
            self.plan = "wiped"
            why = ("the last stop did not finish saving the emulators' data (it was "
                   "killed, or a second Ctrl-C stopped it at once)" if state else
                   "the emulators' data of an earlier start was not saved")
            self.note = (f"starting empty: {why}, so the database was emptied with them "
                         "to keep runs and tickets consistent")
            shutil.rmtree(self.export_dir, ignore_errors=True)
        self._write_state(clean=False, startedAt=_now(), plan=self.plan)
        return self.plan

    def save(self, firestore: _Exporter, auth: _Exporter, *, timeout_s: float = 10.0) -> None:
        """Export both emulators beside the current export, swap it in, and record
        the stop as clean. Raises (and leaves the stop recorded as unclean) when
        either export fails."""
        staging = self.folder / "export.new"
        shutil.rmtree(staging, ignore_errors=True)
        # The hub replaces the folder it writes, so the auth export goes first.
        auth.export(staging, timeout_s=timeout_s)
        firestore.export(staging / FIRESTORE_DIR, timeout_s=timeout_s)
        old = self.folder / "export.old"
        shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.export_dir.rename(old)
        staging.rename(self.export_dir)
        shutil.rmtree(old, ignore_errors=True)
        self._write_state(clean=True, savedAt=_now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
