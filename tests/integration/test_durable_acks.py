"""Nothing is acknowledged before it is on disk, as the kernel saw it: a real process
runs a request of the story under ``strace``, and every acknowledgement it makes (a
started run, each step task's return, the answer) must follow an fsync of the WAL
that began after the last write to it (:mod:`ticketflow.testing.durable_acks`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ticketflow.testing.durable_acks import acks, parse, unsynced_acks

pytestmark = pytest.mark.skipif(shutil.which("strace") is None,
                                reason="strace is not installed (.ci/run installs it)")


def _trace(tmp_path: Path, *flags: str) -> tuple[list[object], list[object]]:
    db, marker, trace = tmp_path / "tf.db", tmp_path / "acks", tmp_path / "trace"
    subprocess.run(
        ["strace", "-f", "-y", "-e", "trace=pwrite64,write,fdatasync,fsync", "-o",
         str(trace), sys.executable, "-m", "ticketflow.testing.durable_acks", str(db),
         str(marker), *flags], check=True, timeout=300)
    events = parse(trace.read_text(), f"{db}-wal", str(marker))
    assert [line.split()[1] for line in marker.read_text().splitlines()] == \
        ["start", *["step"] * 9, "action", "step", "step"]
    return list(acks(events)), list(unsynced_acks(events))


def test_every_acknowledgement_follows_an_fsync_of_what_it_reports(tmp_path: Path) -> None:
    seen, unsynced = _trace(tmp_path)
    assert len(seen) == 13
    assert unsynced == []


def test_the_witness_sees_acknowledgements_made_before_the_fsync(tmp_path: Path) -> None:
    """The same run with the product's sync turned off: the check must fail."""
    seen, unsynced = _trace(tmp_path, "--no-sync")
    assert len(seen) == 13
    assert len(unsynced) == 13
