"""The libSQL database handle on a real file: group commit, durability by WAL fsync
outside the write lock, and its witness counters."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from libsql_client import LibsqlError

from ticketflow.adapters.libsql import database as database_module
from ticketflow.adapters.libsql import wal_sync
from ticketflow.adapters.libsql.database import Database, DurabilityError


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    handle = Database(f"file:{tmp_path}/g.db", witness=True)
    handle.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    yield handle
    handle.close()


def _rows(db: Database) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in db.execute("SELECT k, v FROM t").rows}


def test_a_batch_alone_is_one_transaction_and_one_fsync(db: Database) -> None:
    db.stats.reset()
    db.batch([("INSERT INTO t VALUES ('a', 1)", None), ("INSERT INTO t VALUES ('b', 2)", None)])
    db.execute("INSERT INTO t VALUES ('c', 3)", durable=False)
    counts = db.stats.snapshot()
    assert counts["transactions"] == 2 and counts["durable_commits"] == 1
    assert counts["wal_syncs"] == 1  # the relaxed write waits for none
    # BEGIN, two inserts, COMMIT; then one statement in autocommit mode
    assert counts["statements"] == 5
    assert _rows(db) == {"a": 1, "b": 2, "c": 3}


def test_a_write_that_changes_nothing_syncs_nothing(db: Database) -> None:
    db.stats.reset()
    db.execute("UPDATE t SET v = 9 WHERE k = 'missing'")
    counts = db.stats.snapshot()
    assert counts["durable_commits"] == 0 and counts["wal_syncs"] == 0


def test_concurrent_batches_share_commits_and_each_stays_atomic(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers arriving while a commit is in progress are committed together; a batch
    that fails is rolled back alone, and only its caller sees the error."""
    gate = threading.Event()
    entered = threading.Event()
    original = database_module._run

    def slow_first(conn, sql, args):  # type: ignore[no-untyped-def]
        if sql.startswith("INSERT INTO t VALUES ('hold'"):
            entered.set()
            gate.wait(5)
        return original(conn, sql, args)

    monkeypatch.setattr(database_module, "_run", slow_first)
    db.stats.reset()
    errors: list[BaseException] = []

    def write(stmts: list[tuple[str, None]]) -> None:
        try:
            db.batch(stmts)
        except LibsqlError as exc:
            errors.append(exc)

    holder = threading.Thread(target=write, args=([("INSERT INTO t VALUES ('hold', 0)", None)],))
    holder.start()
    assert entered.wait(5)
    waiting = [
        threading.Thread(target=write, args=([(f"INSERT INTO t VALUES ('k{i}', {i})", None),
                                              (f"UPDATE t SET v = v + 100 WHERE k = 'k{i}'",
                                               None)],))
        for i in range(5)
    ]
    # this batch fails on its second statement: its first must not survive either
    waiting.append(threading.Thread(target=write, args=([
        ("INSERT INTO t VALUES ('bad', 1)", None), ("INSERT INTO t VALUES ('hold', 1)", None)],)))
    for t in waiting:
        t.start()
    while len(db._pending) < len(waiting):  # all queued behind the commit in progress
        threading.Event().wait(0.005)
    gate.set()
    for t in [holder, *waiting]:
        t.join(10)
    assert len(errors) == 1 and "UNIQUE" in str(errors[0])
    assert _rows(db) == {"hold": 0, **{f"k{i}": i + 100 for i in range(5)}}
    counts = db.stats.snapshot()
    assert counts["durable_commits"] == 2  # the held batch, then the six together
    assert 1 <= counts["wal_syncs"] <= 2
    assert counts["grouped_batches"] == 6


def test_closed_database_refuses_writes(tmp_path: Path) -> None:
    handle = Database(f"file:{tmp_path}/c.db")
    handle.execute("CREATE TABLE t (k TEXT)")
    handle.close()
    with pytest.raises(LibsqlError):
        handle.execute("INSERT INTO t VALUES ('x')")


class _Disk:
    """``os.fdatasync`` as the WAL sync sees it: counted, and held or failed on demand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail: int | None = None
        self.delay_s = 0.0
        real = os.fdatasync

        def fdatasync(fd: int) -> None:
            self.calls += 1
            self.entered.set()
            self.gate.wait(5)
            time.sleep(self.delay_s)
            if self.fail is not None:
                raise OSError(self.fail, os.strerror(self.fail))
            real(fd)

        monkeypatch.setattr(wal_sync.os, "fdatasync", fdatasync)


def test_a_durable_write_returns_only_after_the_wal_fsync(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = _Disk(monkeypatch)
    disk.gate.clear()
    done = threading.Event()
    writer = threading.Thread(target=lambda: (db.execute("INSERT INTO t VALUES ('d', 1)"),
                                              done.set()))
    writer.start()
    assert disk.entered.wait(5)
    # committed (others read it, and write, while the disk flushes) but not returned
    assert _rows(db) == {"d": 1}
    db.execute("INSERT INTO t VALUES ('r', 2)", durable=False)
    assert not done.is_set()
    disk.gate.set()
    writer.join(5)
    assert done.is_set() and disk.calls == 1


def test_pipelined_writes_return_at_once_and_sync_waits_for_them(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = _Disk(monkeypatch)
    with db.pipelined():
        with db.pipelined():  # nests
            db.execute("INSERT INTO t VALUES ('a', 1)")
        db.batch([("INSERT INTO t VALUES ('b', 2)", None)])
    assert disk.calls == 0
    db.sync()
    assert disk.calls == 1  # one fsync covers both commits
    db.sync()
    assert disk.calls == 1  # nothing new to sync
    db.execute("INSERT INTO t VALUES ('c', 3)")  # outside: waits again
    assert disk.calls == 2


def test_writers_arriving_during_an_fsync_share_the_next_one(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seven writers commit while the first one's fsync is held: one more fsync
    covers all seven (deterministic: the held fsync is released only once they have
    committed)."""
    disk = _Disk(monkeypatch)
    disk.gate.clear()
    db.stats.reset()

    def writer(i: int) -> threading.Thread:
        t = threading.Thread(target=db.execute, args=(f"INSERT INTO t VALUES ('w{i}', {i})",))
        t.start()
        return t

    threads = [writer(0)]
    assert disk.entered.wait(5)
    threads += [writer(i) for i in range(1, 8)]
    deadline = time.monotonic() + 10
    while len(_rows(db)) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_rows(db)) == 8 and disk.calls == 1  # all committed, one fsync so far
    disk.gate.set()
    for t in threads:
        t.join(10)
    counts = db.stats.snapshot()
    assert counts["durable_commits"] >= 2  # the seven may also share transactions
    assert counts["wal_syncs"] == disk.calls == 2  # eight acknowledged writes, two fsyncs


def test_a_failed_fsync_is_never_reported_durable_again(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = _Disk(monkeypatch)
    disk.fail = errno.EIO
    with pytest.raises(DurabilityError, match="fsync of the WAL failed"):
        db.execute("INSERT INTO t VALUES ('a', 1)")
    disk.fail = None  # the kernel may have dropped the pages: still refused
    with pytest.raises(DurabilityError):
        db.execute("INSERT INTO t VALUES ('b', 2)")
    with pytest.raises(DurabilityError):
        db.sync()


def _gather_window(db: Database, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make the gathering window ``seconds`` long (as if fsyncs took that long)."""
    monkeypatch.setattr(wal_sync, "GATHER_MAX_S", seconds)
    assert db._wal is not None
    monkeypatch.setattr(db._wal, "_fsync_s", seconds)


def test_a_sync_waits_for_durable_work_in_flight_and_one_fsync_covers_both(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A durable write due while another thread's pipelined scope is open waits for
    that scope's commits (not for the window's end), then one fsync covers both."""
    disk = _Disk(monkeypatch)
    _gather_window(db, monkeypatch, 60.0)
    opened, go, done = threading.Event(), threading.Event(), threading.Event()

    def sibling() -> None:
        with db.pipelined():
            opened.set()
            go.wait(5)
            db.execute("INSERT INTO t VALUES ('b', 2)")
        db.sync()

    other = threading.Thread(target=sibling)
    other.start()
    assert opened.wait(5)
    writer = threading.Thread(target=lambda: (db.execute("INSERT INTO t VALUES ('a', 1)"),
                                              done.set()))
    writer.start()
    time.sleep(0.2)
    assert disk.calls == 0 and not done.is_set()  # gathering: committed, not yet synced
    assert _rows(db) == {"a": 1}
    go.set()
    other.join(10)
    writer.join(10)
    assert done.is_set() and not other.is_alive()
    assert disk.calls == 1 and _rows(db) == {"a": 1, "b": 2}


def test_a_task_handed_over_counts_as_durable_work_in_flight(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """``expect`` (a task handed to another thread): a sync waits until the thread
    doing it has synced its own commits; that thread does not wait for itself."""
    disk = _Disk(monkeypatch)
    _gather_window(db, monkeypatch, 60.0)
    handed = db.expect()
    db.execute("INSERT INTO t VALUES ('a', 1)", durable=False)
    synced = threading.Event()
    waiter = threading.Thread(target=lambda: (db.sync(), synced.set()))
    waiter.start()
    time.sleep(0.2)
    assert disk.calls == 0 and not synced.is_set()

    def worker() -> None:
        with db.owning(handed):
            with db.pipelined():
                db.execute("INSERT INTO t VALUES ('b', 2)")
            db.sync()  # its own expected work is not waited for

    other = threading.Thread(target=worker)
    other.start()
    other.join(10)
    waiter.join(10)
    assert synced.is_set() and not other.is_alive()
    assert disk.calls == 1


def test_the_wait_for_work_in_flight_is_bounded(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in flight that does not come in time does not hold a durable write back
    beyond the window: the write is synced alone."""
    disk = _Disk(monkeypatch)
    _gather_window(db, monkeypatch, 0.05)
    release = threading.Event()
    opened = threading.Event()

    def stuck() -> None:
        with db.pipelined():
            opened.set()
            release.wait(10)

    other = threading.Thread(target=stuck)
    other.start()
    assert opened.wait(5)
    db.execute("INSERT INTO t VALUES ('a', 1)")  # returns once synced, scope still open
    assert disk.calls == 1 and other.is_alive()
    release.set()
    other.join(10)


def test_a_sync_inside_its_own_scope_does_not_wait_for_itself(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = _Disk(monkeypatch)
    _gather_window(db, monkeypatch, 60.0)
    finished = threading.Event()

    def nested() -> None:
        with db.pipelined():
            db.execute("INSERT INTO t VALUES ('a', 1)")
            db.sync()
        finished.set()

    t = threading.Thread(target=nested)
    t.start()
    t.join(10)
    assert finished.is_set() and disk.calls == 1
