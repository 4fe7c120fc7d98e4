"""Repository registrations and index records in libSQL, and the local index queue.

Tables:

* ``repositories`` - one row per registration, unique per ``(owner_id, url, ref)``;
* ``repo_indexes`` - one row per index: the commit, the registration it belongs to
  (and so its owner), the task's epoch, attempts, lease, backoff and deadline, the
  last build's stats and a ``seq`` that grows with every change (the projection's
  guard). Its state and progress are the ``idx_repos`` row of the same id, written by
  the index builder: one source of truth for "ready".

Each state change is one conditional statement (a claim is an ``UPDATE ... WHERE``
nobody holds a live lease); a change that spans both tables stamps the first
statement with a unique ``op_id`` and makes the second conditional on it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from ticketflow.adapters.libsql.database import Database, Stmt, apply_schema, rows_as_dicts
from ticketflow.adapters.libsql.queue import LibsqlTaskQueue
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.ports import IndexStatus, StepTask
from ticketflow.ports.repositories import IndexRecord, IndexStats, IndexTask, RepositoryRecord

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS repositories (
        repo_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, url TEXT NOT NULL,
        ref TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL, latest_index_id TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (owner_id, url, ref))""",
    "CREATE INDEX IF NOT EXISTS repositories_owner ON repositories(owner_id, created_at)",
    """CREATE TABLE IF NOT EXISTS repo_indexes (
        index_id TEXT PRIMARY KEY, repo_id TEXT NOT NULL, owner_id TEXT NOT NULL,
        url TEXT NOT NULL, ref TEXT, commit_sha TEXT, base_index_id TEXT,
        epoch INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
        lease_id TEXT, lease_until TEXT, not_before TEXT, deadline_at TEXT NOT NULL,
        last_error TEXT, stats TEXT NOT NULL DEFAULT '{}', seq INTEGER NOT NULL DEFAULT 0,
        op_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS repo_indexes_repo ON repo_indexes(repo_id, created_at)",
    "CREATE INDEX IF NOT EXISTS repo_indexes_url ON repo_indexes(owner_id, url)",
]
_SELECT = (
    "SELECT i.*, s.state AS s_state, s.files_total AS s_total, s.files_done AS s_done, "
    "s.error AS s_error, s.updated_at AS s_updated FROM repo_indexes i "
    "LEFT JOIN idx_repos s ON s.repo = i.index_id"
)
_LIVE = "(s.state IN ('pending', 'indexing'))"


def _ts(d: datetime | None) -> str | None:
    return d.isoformat() if d is not None else None


def _dt(v: Any) -> datetime | None:
    return datetime.fromisoformat(str(v)) if v else None


def _repo_from(row: dict[str, Any]) -> RepositoryRecord:
    return RepositoryRecord(
        repo_id=row["repo_id"], owner_id=row["owner_id"], url=row["url"],
        ref=row["ref"] or None, kind=row["kind"], latest_index_id=row["latest_index_id"],
        created_at=_dt(row["created_at"]), updated_at=_dt(row["updated_at"]))


def _index_from(row: dict[str, Any]) -> IndexRecord:
    status = IndexStatus(state=row["s_state"] or "none", files_total=int(row["s_total"] or 0),
                         files_done=int(row["s_done"] or 0), error=row["s_error"],
                         updated_at=_dt(row["s_updated"]))
    return IndexRecord(
        index_id=row["index_id"], repo_id=row["repo_id"], owner_id=row["owner_id"],
        url=row["url"], ref=row["ref"], commit=row["commit_sha"],
        base_index_id=row["base_index_id"], epoch=int(row["epoch"]),
        attempts=int(row["attempts"]), lease_id=row["lease_id"],
        lease_until=_dt(row["lease_until"]), not_before=_dt(row["not_before"]),
        deadline_at=_dt(row["deadline_at"]), last_error=row["last_error"],
        stats=IndexStats.model_validate(json.loads(row["stats"] or "{}")),
        seq=int(row["seq"]), status=status, created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]))


class LibsqlRepositoryStore:
    """:class:`ticketflow.ports.repositories.RepositoryStore` in libSQL (module doc)."""

    def __init__(self, db: Database, *, create: bool = True) -> None:
        self.db = db
        if create:  # off for a read-only database
            LibsqlRepoIndex(db)  # the idx_* tables this store joins with
            apply_schema(db, "repositories", 1, SCHEMA)

    # -- registrations --------------------------------------------------------------------

    def register(self, record: RepositoryRecord) -> RepositoryRecord:
        self.db.execute(
            "INSERT INTO repositories(repo_id, owner_id, url, ref, kind, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [record.repo_id, record.owner_id, record.url, record.ref or "", record.kind,
             _ts(record.created_at), _ts(record.updated_at)])
        rows = rows_as_dicts(self.db.execute(
            "SELECT * FROM repositories WHERE owner_id = ? AND url = ? AND ref = ?",
            [record.owner_id, record.url, record.ref or ""]))
        return _repo_from(rows[0])

    def get_repository(self, repo_id: str) -> RepositoryRecord | None:
        rows = rows_as_dicts(self.db.execute(
            "SELECT * FROM repositories WHERE repo_id = ?", [repo_id]))
        return _repo_from(rows[0]) if rows else None

    def repositories(self, owner_id: str, limit: int = 100) -> list[RepositoryRecord]:
        rows = rows_as_dicts(self.db.execute(
            "SELECT * FROM repositories WHERE owner_id = ? ORDER BY created_at DESC, repo_id "
            "LIMIT ?", [owner_id, limit]))
        return [_repo_from(r) for r in rows]

    # -- indexes ----------------------------------------------------------------------------

    def get_index(self, index_id: str) -> IndexRecord | None:
        rows = rows_as_dicts(self.db.execute(f"{_SELECT} WHERE i.index_id = ?", [index_id]))
        return _index_from(rows[0]) if rows else None

    def indexes(self, repo_id: str) -> list[IndexRecord]:
        rows = rows_as_dicts(self.db.execute(
            f"{_SELECT} WHERE i.repo_id = ? ORDER BY i.created_at DESC", [repo_id]))
        return [_index_from(r) for r in rows]

    def latest_ready(self, owner_id: str, url: str, *,
                     exclude: str | None = None) -> IndexRecord | None:
        rows = rows_as_dicts(self.db.execute(
            f"{_SELECT} WHERE i.owner_id = ? AND i.url = ? AND s.state = 'ready' "
            "AND i.index_id != ? ORDER BY s.updated_at DESC LIMIT 1",
            [owner_id, url, exclude or ""]))
        return _index_from(rows[0]) if rows else None

    def request_index(self, record: IndexRecord, *,
                      refresh: bool = False) -> tuple[IndexRecord, bool]:
        again = "('failed', 'ready')" if refresh else "('failed')"
        op = uuid.uuid4().hex
        now = _ts(record.updated_at)
        rs = self.db.batch([
            ("INSERT INTO repo_indexes(index_id, repo_id, owner_id, url, ref, commit_sha, "
             "base_index_id, deadline_at, op_id, created_at, updated_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(index_id) DO NOTHING",
             [record.index_id, record.repo_id, record.owner_id, record.url, record.ref,
              record.commit, record.base_index_id, _ts(record.deadline_at), op,
              _ts(record.created_at), now]),
            ("INSERT INTO idx_repos(repo, state, files_total, files_done, error, updated_at) "
             "SELECT ?, 'pending', 0, 0, NULL, ? WHERE EXISTS (SELECT 1 FROM repo_indexes "
             "WHERE index_id = ? AND op_id = ?) ON CONFLICT(repo) DO NOTHING",
             [record.index_id, now, record.index_id, op]),
            # a failed index asked for again: the next epoch, from a clean slate
            ("UPDATE repo_indexes SET epoch = epoch + 1, attempts = 0, lease_id = NULL, "
             "lease_until = NULL, not_before = NULL, last_error = NULL, deadline_at = ?, "
             "seq = seq + 1, op_id = ?, updated_at = ? WHERE index_id = ? AND EXISTS ("
             f"SELECT 1 FROM idx_repos WHERE repo = ? AND state IN {again})",
             [_ts(record.deadline_at), op + "-requeue", now, record.index_id,
              record.index_id]),
            ("UPDATE idx_repos SET state = 'pending', error = NULL, files_done = 0, "
             "updated_at = ? WHERE repo = ? AND EXISTS (SELECT 1 FROM repo_indexes WHERE "
             "index_id = ? AND op_id = ?)",
             [now, record.index_id, record.index_id, op + "-requeue"]),
            ("UPDATE repositories SET latest_index_id = ?, updated_at = ? WHERE repo_id = ?",
             [record.index_id, now, record.repo_id]),
        ])
        inserted = rs[0].rows_affected == 1
        requeued = rs[2].rows_affected == 1
        stored = self.get_index(record.index_id)
        assert stored is not None
        return stored, inserted or requeued

    def claim(self, index_id: str, lease_id: str, until: datetime, now: datetime, *,
              steal_from: str | None = None) -> IndexRecord | None:
        rs = self.db.batch([
            ("UPDATE repo_indexes SET lease_id = :lease, lease_until = :until, "
             "attempts = attempts + 1, seq = seq + 1, op_id = :lease, updated_at = :now "
             "WHERE index_id = :id AND (lease_id IS NULL OR lease_until < :now "
             "OR lease_id = :steal) AND (not_before IS NULL OR not_before <= :now) "
             "AND EXISTS (SELECT 1 FROM idx_repos s WHERE s.repo = :id AND " + _LIVE + ")",
             {"lease": lease_id, "until": _ts(until), "now": _ts(now), "id": index_id,
              "steal": steal_from or ""}),
            ("UPDATE idx_repos SET state = 'indexing', updated_at = :now WHERE repo = :id "
             "AND EXISTS (SELECT 1 FROM repo_indexes WHERE index_id = :id AND op_id = :lease)",
             {"now": _ts(now), "id": index_id, "lease": lease_id}),
        ], durable=False)
        if rs[0].rows_affected != 1:
            return None
        return self.get_index(index_id)

    def heartbeat(self, index_id: str, lease_id: str, until: datetime, now: datetime) -> bool:
        rs = self.db.execute(
            "UPDATE repo_indexes SET lease_until = ?, seq = seq + 1, updated_at = ? "
            "WHERE index_id = ? AND lease_id = ?",
            [_ts(until), _ts(now), index_id, lease_id], durable=False)
        return bool(rs.rows_affected == 1)

    def set_commit(self, index_id: str, lease_id: str, commit: str,
                   base_index_id: str | None) -> bool:
        rs = self.db.execute(
            "UPDATE repo_indexes SET commit_sha = ?, base_index_id = ?, seq = seq + 1 "
            "WHERE index_id = ? AND lease_id = ?", [commit, base_index_id, index_id, lease_id])
        return bool(rs.rows_affected == 1)

    def release(self, index_id: str, lease_id: str, now: datetime, *, error: str,
                not_before: datetime) -> bool:
        rs = self.db.execute(
            "UPDATE repo_indexes SET lease_id = NULL, lease_until = NULL, last_error = ?, "
            "not_before = ?, seq = seq + 1, updated_at = ? WHERE index_id = ? AND lease_id = ?",
            [error[:2000], _ts(not_before), _ts(now), index_id, lease_id], durable=False)
        return bool(rs.rows_affected == 1)

    def finish(self, index_id: str, lease_id: str | None, now: datetime, *,
               stats: IndexStats | None = None, error: str | None = None) -> bool:
        op = uuid.uuid4().hex
        guard = ("lease_id = :lease" if lease_id is not None
                 else "(lease_id IS NULL OR lease_until < :now)")
        sets = ["lease_id = NULL", "lease_until = NULL", "seq = seq + 1", "op_id = :op",
                "updated_at = :now", "last_error = :error"]
        args: dict[str, Any] = {"lease": lease_id or "", "now": _ts(now), "op": op,
                                "error": error[:2000] if error else None, "id": index_id}
        if stats is not None:
            sets.append("stats = :stats")
            args["stats"] = stats.model_dump_json()
        stmts: list[Stmt] = [(
            f"UPDATE repo_indexes SET {', '.join(sets)} WHERE index_id = :id AND {guard}",
            args)]
        if error is not None:
            stmts.append((
                "UPDATE idx_repos SET state = 'failed', error = :error, updated_at = :now "
                "WHERE repo = :id AND state != 'ready' AND EXISTS (SELECT 1 FROM "
                "repo_indexes WHERE index_id = :id AND op_id = :op)",
                {"error": error[:2000], "now": _ts(now), "id": index_id, "op": op}))
        else:
            stmts.append((
                "UPDATE idx_repos SET state = 'ready', error = NULL, files_total = files_done, "
                "updated_at = :now WHERE repo = :id AND state = 'indexing' AND EXISTS "
                "(SELECT 1 FROM repo_indexes WHERE index_id = :id AND op_id = :op)",
                {"now": _ts(now), "id": index_id, "op": op}))
        return bool(self.db.batch(stmts)[0].rows_affected == 1)

    def stalled(self, now: datetime, quiet_since: datetime) -> list[IndexRecord]:
        rows = rows_as_dicts(self.db.execute(
            f"{_SELECT} WHERE {_LIVE} AND (i.lease_id IS NULL OR i.lease_until < ?) "
            "AND i.updated_at < ? ORDER BY i.updated_at LIMIT 100",
            [_ts(now), _ts(quiet_since)]))
        return [_index_from(r) for r in rows]

    def redispatch(self, index_id: str, epoch: int, now: datetime) -> IndexTask | None:
        rs = self.db.execute(
            "UPDATE repo_indexes SET epoch = epoch + 1, lease_id = NULL, lease_until = NULL, "
            "seq = seq + 1, updated_at = ? WHERE index_id = ? AND epoch = ? RETURNING epoch",
            [_ts(now), index_id, epoch], durable=False)
        return IndexTask(index_id=index_id, epoch=int(rs.rows[0][0])) if rs.rows else None

    def drop_old(self, repo_id: str, keep: int) -> list[str]:
        rows = self.db.execute(
            "SELECT i.index_id FROM repo_indexes i LEFT JOIN idx_repos s "
            "ON s.repo = i.index_id WHERE i.repo_id = ? AND s.state IN ('ready', 'failed') "
            "AND i.index_id != COALESCE((SELECT latest_index_id FROM repositories "
            "WHERE repo_id = ?), '') ORDER BY i.created_at DESC LIMIT -1 OFFSET ?",
            [repo_id, repo_id, max(keep - 1, 0)]).rows
        ids = [str(r[0]) for r in rows]
        if ids:
            marks = ", ".join("?" for _ in ids)
            self.db.execute(f"DELETE FROM repo_indexes WHERE index_id IN ({marks})", ids,
                            durable=False)
        return ids


class LibsqlIndexQueue:
    """:class:`ticketflow.ports.repositories.IndexQueue` on the embedded task queue
    (its own ``index`` queue in the same table, so indexing never delays steps).
    An index task travels as a step task of run ``index_id``, step 1."""

    def __init__(self, queue: LibsqlTaskQueue) -> None:
        self.queue = queue

    def enqueue(self, task: IndexTask) -> bool:
        return self.queue.enqueue(self.as_step(task))

    @staticmethod
    def as_step(task: IndexTask) -> StepTask:
        return StepTask(run_id=task.index_id, step_index=1, epoch=task.epoch)

    @staticmethod
    def as_index(task: StepTask) -> IndexTask:
        return IndexTask(index_id=task.run_id, epoch=task.epoch)
