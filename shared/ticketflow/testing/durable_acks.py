"""Nothing acknowledged before it is on disk, witnessed by the kernel (``strace``).

The child (``python -m ticketflow.testing.durable_acks DB MARKER [--no-sync]``) runs one
request of the story on the embedded default, driving the engine as a queue would:
the start, every step task (each ``run_step`` call is one delivery, whose return is
the task's acknowledgement), and the answer to its questions. After each call returns
it writes an ``ACK`` line to ``MARKER``: the moment the outside world is told.

Run under ``strace -f -y -e trace=pwrite64,write,fdatasync,fsync``, :func:`unsynced_acks`
reads the trace and names every ``ACK`` written while a commit was not yet synced: one
not preceded by an fsync of the WAL that *started after* the last write to the WAL
and *returned before* the ``ACK``. ``--no-sync`` turns the product's sync off (every
write pipelined, ``sync`` a no-op) so that the check is seen to fail.
"""

from __future__ import annotations

import argparse
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

ACK = "ACK"
# ``strace -f`` prefixes a line with the thread id: ``[pid N] `` on the terminal,
# ``N `` with ``-o FILE``
_CALL = re.compile(r"^(?:\[pid\s+(?P<a>\d+)\]\s+|(?P<b>\d+)\s+)?(?P<rest>.*)$")
_FD = r"\d+<(?P<path>[^>]*)>"
_START = re.compile(rf"^(?P<call>pwrite64|write|fdatasync|fsync)\({_FD}")
_RESUMED = re.compile(r"^<\.\.\. (?P<call>fdatasync|fsync) resumed>")


@dataclass
class Event:
    """One line of the trace that matters: a WAL write, a WAL sync's start or end, an ACK."""

    kind: str  # "wal_write", "sync_start", "sync_end", "ack"
    line: int
    tid: str
    text: str


def parse(trace: str, wal: str, marker: str) -> list[Event]:
    """The events of ``trace`` (``strace -f -y`` output) about ``wal`` and ``marker``."""
    out: list[Event] = []
    pending: dict[str, bool] = {}  # thread -> a sync of the WAL is unfinished
    for n, raw in enumerate(trace.splitlines()):
        m = _CALL.match(raw)
        assert m is not None  # every line matches: the prefix is optional
        tid, rest = m.group("a") or m.group("b") or "main", m.group("rest")
        resumed = _RESUMED.match(rest)
        if resumed:
            if pending.pop(tid, False):
                ok = not re.search(r"=\s*-1", rest)
                out.append(Event("sync_end" if ok else "sync_failed", n, tid, raw))
            continue
        start = _START.match(rest)
        if not start:
            continue
        call, path = start.group("call"), start.group("path")
        if call in ("fdatasync", "fsync") and path == wal:
            out.append(Event("sync_start", n, tid, raw))
            if "<unfinished ...>" in rest:
                pending[tid] = True
            elif not re.search(r"=\s*-1", rest):
                out.append(Event("sync_end", n, tid, raw))
        elif call == "pwrite64" and path == wal:
            out.append(Event("wal_write", n, tid, raw))
        elif call == "write" and path == marker and ACK in rest:
            out.append(Event("ack", n, tid, raw))
    return out


def unsynced_acks(events: list[Event]) -> list[Event]:
    """The ACKs written while a WAL write was not covered by a finished sync."""
    last_write = -1  # index in events of the latest WAL write
    covered = -1  # latest WAL write covered by a finished sync
    started: dict[str, int] = {}  # thread -> last WAL write before its sync started
    bad: list[Event] = []
    for i, e in enumerate(events):
        if e.kind == "wal_write":
            last_write = i
        elif e.kind == "sync_start":
            started[e.tid] = last_write
        elif e.kind == "sync_end":
            covered = max(covered, started.pop(e.tid, -1))
        elif e.kind == "ack" and covered < last_write:
            bad.append(e)
    return bad


def acks(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind == "ack"]


def _child(db: Path, marker: Path, *, sync: bool) -> None:
    from ticketflow.adapters.libsql.database import Database
    from ticketflow.compose.embedded import open_embedded
    from ticketflow.domain import AEC
    from ticketflow.testing.embedded import QUESTIONS, settings_for
    from ticketflow.workflow.actions import ActionRequest

    if not sync:  # the check must be able to fail: no fsync before any ACK
        Database.sync = lambda self: None  # type: ignore[method-assign]
        real_write = Database._write

        def pipelined_write(self: Database, w: object) -> object:
            with self.pipelined():
                return real_write(self, w)  # type: ignore[arg-type]

        Database._write = pipelined_write  # type: ignore[assignment,method-assign]
    settings = settings_for(db.parent, db_url=f"file:{db}")
    app = open_embedded(settings)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def ack(what: str) -> None:
        os.write(fd, f"{ACK} {what}\n".encode())

    try:
        aec = app.documents.create(AEC.new(aec_id="aec-" + uuid.uuid4().hex[:10],
                                           owner_id="local", **QUESTIONS))
        run = app.engine.start(aec.id, uid="local")
        ack("start")
        while True:
            claimed = app.queue.claim("witness", 60.0)
            if claimed is None:
                current = app.runs.get_run(run.run_id)
                assert current is not None
                if current.status == "suspended":
                    assert current.suspension is not None
                    app.engine.act(ActionRequest(
                        action_id="skip-" + uuid.uuid4().hex[:8], run_id=run.run_id,
                        aec_id=aec.id, type="skip", token=current.suspension.token,
                        uid="local"))
                    ack("action")
                    continue
                if current.status in ("completed", "failed", "cancelled"):
                    return
                raise RuntimeError(f"run {run.run_id} is {current.status} with no task")
            task = claimed[0]
            app.engine.run_step(task)
            ack(f"step {task.step_index}")
            app.queue.ack(task, "witness")
    finally:
        os.close(fd)
        app.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("db", type=Path)
    ap.add_argument("marker", type=Path)
    ap.add_argument("--no-sync", action="store_true")
    args = ap.parse_args()
    _child(args.db, args.marker, sync=not args.no_sync)


if __name__ == "__main__":  # pragma: no cover
    main()
