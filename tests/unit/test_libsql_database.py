"""The libSQL database handle on a real file: group commit and its witness counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from libsql_client import LibsqlError

from ticketflow.adapters.libsql import database as database_module
from ticketflow.adapters.libsql.database import Database


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
    assert counts["transactions"] == 2 and counts["synced_commits"] == 1
    # BEGIN, two inserts, COMMIT; then the switch to synchronous=NORMAL and one
    # statement in autocommit mode
    assert counts["statements"] == 6
    assert _rows(db) == {"a": 1, "b": 2, "c": 3}


def test_a_write_that_changes_nothing_syncs_nothing(db: Database) -> None:
    db.stats.reset()
    db.execute("UPDATE t SET v = 9 WHERE k = 'missing'")
    assert db.stats.snapshot()["synced_commits"] == 0


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
    assert counts["synced_commits"] == 2  # the held batch, then the six together
    assert counts["grouped_batches"] == 6


def test_closed_database_refuses_writes(tmp_path: Path) -> None:
    handle = Database(f"file:{tmp_path}/c.db")
    handle.execute("CREATE TABLE t (k TEXT)")
    handle.close()
    with pytest.raises(LibsqlError):
        handle.execute("INSERT INTO t VALUES ('x')")
