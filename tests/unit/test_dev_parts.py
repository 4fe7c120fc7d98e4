"""The local stack's pieces that need no emulator: who holds a port, and what a start
does with the data an earlier start left."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ticketflow.dev.emulators import EXPORT_METADATA
from ticketflow.dev.persistence import LocalData
from ticketflow.dev.ports import PortTakenError, check_free, port_holder, port_is_free


def test_a_taken_port_is_refused_naming_the_process_that_holds_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        holder = port_holder(port)
        assert holder is not None and holder.pid == os.getpid()
        with pytest.raises(PortTakenError) as err:
            check_free("127.0.0.1", [("tasks-emulator", port)])
        assert f"port {port} (tasks-emulator) is in use by pid {os.getpid()}" in str(err.value)
    assert port_is_free("127.0.0.1", port)
    check_free("127.0.0.1", [("tasks-emulator", port)])


class FakeExport:
    """Writes what the emulator's export writes (a metadata file), or fails."""

    def __init__(self, *, fail: bool = False, metadata: str | None = None,
                 folder: str | None = None) -> None:
        self.fail = fail
        self.metadata = metadata
        self.folder = folder

    def export(self, folder: Path, *, timeout_s: float = 10.0) -> None:
        if self.fail:
            raise RuntimeError("emulator gone")
        folder.mkdir(parents=True, exist_ok=True)
        if self.metadata:
            (folder / self.metadata).write_text("{}")
        if self.folder:
            (folder / self.folder).mkdir()


AUTH = FakeExport(folder="auth_export")


def test_the_data_is_imported_after_a_clean_stop_and_wiped_after_any_other(
        tmp_path: Path) -> None:
    data = LocalData(tmp_path / "data")
    assert data.prepare(database_has_data=False) == "empty"
    data.save(FakeExport(metadata=EXPORT_METADATA), AUTH)
    assert (data.firestore_export / EXPORT_METADATA).exists()

    again = LocalData(tmp_path / "data")
    assert again.prepare(database_has_data=True) == "import"
    # this start is never stopped cleanly (killed): the next one starts empty
    killed = LocalData(tmp_path / "data")
    assert killed.prepare(database_has_data=True) == "wiped"
    assert "did not finish saving" in killed.note
    assert not data.export_dir.exists()

    # a failed export leaves the stop unclean and the previous export untouched
    after = LocalData(tmp_path / "data")
    after.prepare(database_has_data=True)
    after.save(FakeExport(metadata=EXPORT_METADATA), AUTH)
    failing = LocalData(tmp_path / "data")
    assert failing.prepare(database_has_data=True) == "import"
    with pytest.raises(RuntimeError):
        failing.save(FakeExport(metadata=EXPORT_METADATA), FakeExport(fail=True))
    assert (data.firestore_export / EXPORT_METADATA).exists()
    assert LocalData(tmp_path / "data").prepare(database_has_data=True) == "wiped"


def test_a_database_without_any_saved_emulator_data_is_wiped(tmp_path: Path) -> None:
    """A database kept from before the data was saved at all: its runs have no tickets."""
    data = LocalData(tmp_path / "data")
    assert data.prepare(database_has_data=True) == "wiped"
    assert "was not saved" in data.note
