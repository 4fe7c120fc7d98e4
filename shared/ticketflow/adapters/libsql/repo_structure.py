"""The code-structure part of the repository index in libSQL (its own tables, its own
schema version, so the rest of the index can change independently).

Per file (written with the file, removed with it):

* ``idx_structure`` - the file's :class:`~ticketflow.repo_index.structure.StructureFacts`
  as JSON (imports, routers, mounts, routes, renders, constants);
* ``idx_ui_text`` - text the file shows people (template text, JSX, gettext strings,
  English translation catalogues), for checking quoted labels;
* ``idx_models`` - models and schemas the file defines.

Per repository, derived by :func:`~ticketflow.repo_index.link.link` after every
indexing run (replaced as a whole):

* ``idx_edges`` - ``import``, ``renders`` and ``mounts`` edges between files;
* ``idx_full_routes`` - every route with its whole path, and whether that path is
  fully known (``resolved``) or sits under a prefix set outside the readable code.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable

from ticketflow.adapters.libsql.database import Database, Stmt, apply_schema
from ticketflow.repo_index.extract import route_key
from ticketflow.repo_index.link import link
from ticketflow.repo_index.structure import StructureFacts, extract_structure, from_json, to_json

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS idx_structure (
        repo TEXT NOT NULL, path TEXT NOT NULL, facts TEXT NOT NULL, PRIMARY KEY (repo, path))""",
    """CREATE TABLE IF NOT EXISTS idx_ui_text (
        repo TEXT NOT NULL, path TEXT NOT NULL, text TEXT NOT NULL, folded TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_ui_text_path ON idx_ui_text(repo, path)",
    """CREATE TABLE IF NOT EXISTS idx_models (
        repo TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, table_name TEXT NOT NULL,
        framework TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_models_path ON idx_models(repo, path)",
    """CREATE TABLE IF NOT EXISTS idx_edges (
        repo TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL,
        via TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS idx_edges_src ON idx_edges(repo, src)",
    "CREATE INDEX IF NOT EXISTS idx_edges_dst ON idx_edges(repo, dst)",
    """CREATE TABLE IF NOT EXISTS idx_full_routes (
        repo TEXT NOT NULL, path TEXT NOT NULL, method TEXT NOT NULL, route TEXT NOT NULL,
        route_key TEXT NOT NULL, resolved INTEGER NOT NULL, line INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_full_routes_key ON idx_full_routes(repo, route_key)",
]
# A new version of the extractors reads every file again at the next indexing: the
# stored structure goes, and files without one are extracted again.
# version 6: traitlets options are settings; a Flask module's table of (path, resource)
# pairs and a URLconf's paths outside ``urlpatterns`` are routes
_VERSION = 6
_REEXTRACT = "DELETE FROM idx_structure"
# version 4: a ``renders`` edge names the views that render (``via``), a column the
# table of versions 1 to 3 gains when a writer opens it
_VIA = "ALTER TABLE idx_edges ADD COLUMN via TEXT NOT NULL DEFAULT ''"
_PER_FILE = ("idx_structure", "idx_ui_text", "idx_models")
log = logging.getLogger(__name__)
_MAX_TEXTS = 5000


def fold(text: str) -> str:
    """Text as compared: lower case, quotes and punctuation at the ends dropped,
    white space collapsed."""
    return " ".join(re.sub(r"[\u2018\u2019\u201c\u201d'\"`]", "", text).lower().split())


class StructureStore:
    """Writes and reads the tables above for :class:`LibsqlRepoIndex`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        cols = {str(r[1]) for r in db.execute("PRAGMA table_info(idx_edges)").rows}
        if cols and "via" not in cols and not db.read_only:
            db.execute(_VIA)
            cols.add("via")
        # a reader of an index written before version 4 reads its edges without views
        self._via = "via" if "via" in cols or not cols else "''"
        apply_schema(db, "repo_structure", _VERSION, [*SCHEMA, _REEXTRACT])

    # -- writing ---------------------------------------------------------------------------
    def delete_stmts(self, key: str, path: str) -> list[Stmt]:
        return [(f"DELETE FROM {t} WHERE repo = ? AND path = ?", [key, path]) for t in _PER_FILE]

    def file_stmts(self, key: str, path: str, text: str, language: str | None) -> list[Stmt]:
        try:
            facts = extract_structure(path, text, language)
        except Exception:  # one unreadable file must not fail the repository's index
            log.warning("structure of a file could not be read", exc_info=True,
                        extra={"repo": key, "path": path})
            facts = StructureFacts()
        stmts = self.delete_stmts(key, path)
        stmts.append(("INSERT INTO idx_structure(repo, path, facts) VALUES (?, ?, ?)",
                      [key, path, to_json(facts)]))
        for t in facts.ui_text[:_MAX_TEXTS]:
            stmts.append(("INSERT INTO idx_ui_text(repo, path, text, folded) VALUES (?, ?, ?, ?)",
                          [key, path, t, fold(t)]))
        for m in facts.models:
            stmts.append(("INSERT INTO idx_models(repo, path, name, table_name, framework) "
                          "VALUES (?, ?, ?, ?, ?)", [key, path, m.name, m.table, m.framework]))
        return stmts

    def paths(self, key: str) -> set[str]:
        """Files whose structure is stored (others are extracted again)."""
        rs = self.db.execute("SELECT path FROM idx_structure WHERE repo = ?", [key])
        return {str(r[0]) for r in rs.rows}

    def relink_stmts(self, key: str) -> list[Stmt]:
        """Statements replacing the repository's derived edges and full routes."""
        facts: dict[str, StructureFacts] = {}
        for path, raw in self.db.execute(
                "SELECT path, facts FROM idx_structure WHERE repo = ?", [key]).rows:
            facts[str(path)] = from_json(str(raw))
        symbols: dict[str, list[str]] = defaultdict(list)
        for name, path in self.db.execute(
                "SELECT name, path FROM idx_symbols WHERE repo = ? AND kind IN "
                "('class', 'function', 'component')", [key]).rows:
            symbols[str(name)].append(str(path))
        linked = link(facts, symbols)
        stmts: list[Stmt] = [(f"DELETE FROM {t} WHERE repo = ?", [key])
                             for t in ("idx_edges", "idx_full_routes")]
        for src, dst, kind in sorted(linked.edges):
            stmts.append(("INSERT INTO idx_edges(repo, src, dst, kind, via) VALUES (?, ?, ?, ?, ?)",
                          [key, src, dst, kind, linked.via.get((src, dst), "")
                           if kind == "renders" else ""]))
        for r in linked.routes:
            stmts.append(("INSERT INTO idx_full_routes(repo, path, method, route, route_key, "
                          "resolved, line) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [key, r.path, r.method, r.route, route_key(r.route),
                           int(r.resolved), r.line]))
        return stmts

    def forget_stmts(self, key: str) -> list[Stmt]:
        return [(f"DELETE FROM {t} WHERE repo = ?", [key])
                for t in (*_PER_FILE, "idx_edges", "idx_full_routes")]

    # -- reading ---------------------------------------------------------------------------
    def routes(self, key: str) -> list[tuple[str, str, str, bool]]:
        """(method, route, file, resolved) of every full route."""
        rs = self.db.execute("SELECT DISTINCT method, route, path, resolved FROM idx_full_routes "
                             "WHERE repo = ? ORDER BY route, method", [key])
        return [(str(m), str(r), str(p), bool(ok)) for m, r, p, ok in rs.rows]

    def ui_text_files(self, key: str, text: str, limit: int = 20) -> list[tuple[str, str]]:
        """(file, shown text) pairs whose text contains ``text`` as whole words."""
        want = fold(text)
        if not want:
            return []
        like = "%" + want.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rs = self.db.execute("SELECT path, text, folded FROM idx_ui_text WHERE repo = ? AND "
                             "folded LIKE ? ESCAPE '\\' LIMIT 500", [key, like])
        word = re.compile(rf"(?<![a-z0-9]){re.escape(want)}(?![a-z0-9])")
        out: list[tuple[str, str]] = []
        for path, shown, folded in rs.rows:
            if word.search(str(folded)):
                out.append((str(path), str(shown)))
                if len(out) >= limit:
                    break
        return out

    def ui_texts(self, key: str) -> list[str]:
        rs = self.db.execute("SELECT DISTINCT text FROM idx_ui_text WHERE repo = ? LIMIT 20000",
                             [key])
        return [str(r[0]) for r in rs.rows]

    def edges(self, key: str, paths: Iterable[str]) -> list[tuple[str, str, str, str]]:
        """Edges touching any of ``paths`` (either end): src, dst, kind, via."""
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rs = self.db.execute(f"SELECT src, dst, kind, {self._via} FROM idx_edges WHERE "
                             f"repo = ? AND (src IN ({marks}) OR dst IN ({marks}))",
                             [key, *wanted, *wanted])
        return [(str(s), str(d), str(k), str(v or "")) for s, d, k, v in rs.rows]

    def in_degree(self, key: str) -> dict[str, int]:
        rs = self.db.execute("SELECT dst, COUNT(*) FROM idx_edges WHERE repo = ? AND "
                             "kind = 'import' GROUP BY dst", [key])
        return {str(d): int(n) for d, n in rs.rows}

    def models(self, key: str) -> list[tuple[str, str, str]]:
        """(name, table, file) of every model or schema."""
        rs = self.db.execute("SELECT name, table_name, path FROM idx_models WHERE repo = ?",
                             [key])
        return [(str(n), str(t), str(p)) for n, t, p in rs.rows]
