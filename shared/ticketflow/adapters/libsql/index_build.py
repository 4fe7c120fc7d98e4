"""Building one index of a repository in libSQL, incrementally, from any source of
files (a fetched git tree, a walked directory).

An index is keyed by its id (the ``repo`` column of the ``idx_*`` tables that
:mod:`ticketflow.adapters.libsql.repo_index` owns and queries). For every file the
build compares its sha256 with:

* the same key's row (an interrupted build resumed, or a directory re-indexed in
  place): equal -> **kept** as is;
* the repository's previous index (``base``, another commit): equal -> **copied**
  with ``INSERT ... SELECT`` (rows of every ``idx_*`` table keyed by repo and path,
  and the full-text row), no extraction;
* otherwise -> **extracted** again.

Only an index filled by this version of the extractors counts: this key's rows are
extracted again when another version wrote them, and a ``base`` that another version
built is not copied from (:mod:`ticketflow.repo_index.version`).

Files of the key that are no longer in the source are removed. Writes are committed
in chunks together with the progress counters (so a crash loses at most a chunk and
a poller sees the index fill up); the last batch leaves it complete and the caller
marks it ``ready`` (:meth:`LibsqlRepositoryStore.finish`). Which
tables to copy is read from the schema, so a fact table added later is copied too.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

from ticketflow.adapters.libsql.database import Database, Stmt
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex, repo_key
from ticketflow.ports import IndexState, IndexStatus
from ticketflow.ports.repositories import Heartbeat, IndexStats, SourceFile
from ticketflow.repo_index.fetch import RepoTooLargeError
from ticketflow.repo_index.walker import readable


class LibsqlIndexBuilder:
    """:class:`ticketflow.ports.repositories.IndexBuilder` on the tables of a
    :class:`LibsqlRepoIndex` (see the module doc)."""

    def __init__(self, index: LibsqlRepoIndex, *, chunk_size: int = 200) -> None:
        self.index = index
        self.db: Database = index.db
        self.chunk_size = max(1, chunk_size)
        self._fact_tables, self._file_cols, self._fts_cols, self._keyed = self._schema()

    def _schema(self) -> tuple[dict[str, list[str]], list[str], list[str], list[str]]:
        rows = self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE 'idx%'").rows
        facts: dict[str, list[str]] = {}
        keyed: list[str] = []  # every table with rows per index (dropped with it)
        for name, sql in rows:
            if str(sql or "").upper().startswith("CREATE VIRTUAL") or name == "idx_files":
                continue
            cols = [str(r[1]) for r in self.db.execute(f"PRAGMA table_info({name})").rows]
            if "repo" in cols and name != "idx_repos":
                keyed.append(str(name))
            if "repo" in cols and "path" in cols:
                facts[str(name)] = cols
        file_cols = [str(r[1]) for r in self.db.execute("PRAGMA table_info(idx_files)").rows]
        fts_cols = [str(r[1]) for r in self.db.execute("PRAGMA table_info(idx_fts)").rows]
        return facts, [c for c in file_cols if c != "id"], fts_cols, keyed

    # -- the write side of the port ----------------------------------------------------------

    def status(self, repo: str) -> IndexStatus:
        return self.index.status(repo)

    def mark(self, repo: str, state: IndexState, *, error: str | None = None) -> IndexStatus:
        return self.index.mark(repo, state, error=error)

    def drop(self, key: str) -> None:
        stmts: list[Stmt] = [
            ("DELETE FROM idx_fts WHERE rowid IN (SELECT id FROM idx_files WHERE repo = ?)",
             [key]),
            *[(f"DELETE FROM {t} WHERE repo = ?", [key]) for t in self._keyed],
            ("DELETE FROM idx_files WHERE repo = ?", [key]),
            ("DELETE FROM idx_repos WHERE repo = ?", [key]),
        ]
        self.db.batch(stmts, durable=False)

    def _hashes(self, key: str) -> dict[str, str]:
        rs = self.db.execute("SELECT path, sha256 FROM idx_files WHERE repo = ?", [key])
        return {str(r[0]): str(r[1]) for r in rs.rows}

    def build(self, key: str, files: Iterable[SourceFile], *, total: int,
              base: str | None = None, max_bytes: int | None = None,
              heartbeat: Heartbeat | None = None) -> IndexStats:
        """See :meth:`ticketflow.ports.repositories.IndexBuilder.build`."""
        key = repo_key(key)
        t0 = time.perf_counter()
        ix = self.index
        ix.claim_for_this_version(key)  # another version's facts are extracted again
        stored = self._hashes(key)  # rows already in this index (a resumed build)
        from_base = self._hashes(base) if base and base != key \
            and ix.extracted_by_this_version(base) else {}
        # files stored before code structure was indexed are extracted again
        with_own = ix.structure.paths(key) if stored else set()
        own = {p: h for p, h in stored.items() if p in with_own}
        if from_base:
            with_structure = ix.structure.paths(str(base))
            from_base = {p: h for p, h in from_base.items() if p in with_structure}
        self.db.execute(*ix._status_stmt(key, "indexing", total, 0), durable=False)
        stats: dict[str, int] = dict.fromkeys(
            ("extracted", "copied", "kept", "removed", "bytes_read"), 0)
        seen: set[str] = set()
        pending: list[Stmt] = []
        copies: list[str] = []
        done = 0
        for item in files:
            path = item.path
            if path in seen:
                continue
            seen.add(path)
            done += 1
            total = max(total, done)
            try:
                data: bytes | None = item.read()
            except (OSError, KeyError):
                data = None
            if data is None or not readable(path, data):
                seen.discard(path)  # vanished, too large, binary or minified: not indexed
            else:
                stats["bytes_read"] += len(data)
                if max_bytes is not None and stats["bytes_read"] > max_bytes:
                    raise RepoTooLargeError(
                        f"the repository is too large to index: more than {max_bytes:,} "
                        "bytes of text (TICKETFLOW_INDEX_MAX_BYTES)")
                digest = hashlib.sha256(data).hexdigest()
                if own.get(path) == digest:
                    stats["kept"] += 1
                elif from_base.get(path) == digest:
                    copies.append(path)
                else:
                    text = data.decode("utf-8", errors="replace")
                    pending.extend(ix._file_stmts(key, path, digest, len(data), text))
                    stats["extracted"] += 1
            if len(copies) >= self.chunk_size or len(pending) >= self.chunk_size * 8 \
                    or done % self.chunk_size == 0:
                self._flush(key, base, pending, copies, stored, total, done, stats)
                pending, copies = [], []
            if heartbeat is not None:
                heartbeat(done, total)
        removed = sorted(set(stored) - seen)
        final = self._copy_stmts(key, base, copies, stored) if copies else []
        stats["copied"] += len(copies)
        for path in removed:
            final.extend(ix._delete_stmts(key, path))
        stats["removed"] = len(removed)
        final.extend(pending)
        final.append(ix._status_stmt(key, "indexing", total, done))
        self.db.batch(final, durable=False)
        # the repository-wide links (imports, mounts, renders, whole routes) over every
        # file, copied or extracted; complete but still "indexing": the task marks it
        # ready with its outcome, under its lease (one that lost it never marks it ready)
        self.db.batch([*ix.structure.relink_stmts(key),
                       ix._status_stmt(key, "indexing", done, done)])
        return IndexStats(**stats, build_s=round(time.perf_counter() - t0, 3))

    def _flush(self, key: str, base: str | None, pending: list[Stmt], copies: list[str],
               own: dict[str, str], total: int, done: int, stats: dict[str, int]) -> None:
        stmts = self._copy_stmts(key, base, copies, own) if copies else []
        stats["copied"] += len(copies)
        stmts.extend(pending)
        stmts.append(self.index._status_stmt(key, "indexing", total, done))
        self.db.batch(stmts, durable=False)

    def _copy_stmts(self, key: str, base: str | None, paths: list[str],
                    own: dict[str, str]) -> list[Stmt]:
        """Copy the rows of ``paths`` from index ``base`` into ``key`` (see module doc)."""
        assert base is not None
        stmts: list[Stmt] = []
        for path in paths:
            if path in own:  # a stale row of a resumed build: replaced below
                stmts.extend(self.index._delete_stmts(key, path))
        marks = ", ".join("?" for _ in paths)
        for table, cols in self._fact_tables.items():
            rest = [c for c in cols if c != "repo"]
            stmts.append((
                f"INSERT INTO {table}(repo, {', '.join(rest)}) SELECT ?, {', '.join(rest)} "
                f"FROM {table} WHERE repo = ? AND path IN ({marks})",
                [key, base, *paths]))
        rest = [c for c in self._file_cols if c != "repo"]
        stmts.append((
            f"INSERT INTO idx_files(repo, {', '.join(rest)}) SELECT ?, {', '.join(rest)} "
            f"FROM idx_files WHERE repo = ? AND path IN ({marks})",
            [key, base, *paths]))
        fts = ", ".join(self._fts_cols)
        src = ", ".join(f"t.{c}" for c in self._fts_cols)
        stmts.append((
            f"INSERT INTO idx_fts(rowid, {fts}) SELECT n.id, {src} FROM idx_files n "
            "JOIN idx_files o ON o.repo = ? AND o.path = n.path "
            f"JOIN idx_fts t ON t.rowid = o.id WHERE n.repo = ? AND n.path IN ({marks})",
            [base, key, *paths]))
        return stmts


def counts(db: Database, key: str) -> dict[str, Any]:
    """Rows of index ``key`` per table (tests and benchmarks)."""
    out: dict[str, Any] = {}
    for t in ("idx_files", "idx_symbols", "idx_routes", "idx_settings"):
        out[t] = int(db.execute(f"SELECT COUNT(*) FROM {t} WHERE repo = ?", [key]).rows[0][0])
    return out
