"""The repository index in libSQL: files, symbols, routes and settings, plus FTS5.

Tables (all prefixed ``idx_``):

* ``idx_repos`` - one row per index (keyed by index id, or by the resolved absolute
  path of a directory indexed directly, see :func:`repo_key`): state
  ``pending -> indexing -> ready | failed``, ``files_total``/``files_done``, error, and
  the version of the extractors that filled it (``extractor``,
  :data:`ticketflow.repo_index.version.EXTRACTOR`).
* ``idx_files`` - one row per indexed file with its sha256; its ``id`` is also the
  ``rowid`` of the file's row in ``idx_fts`` (so replacing a file is a keyed delete).
* ``idx_fts`` - FTS5 over path words, symbol/route/setting words, and content.
* ``idx_symbols``, ``idx_routes``, ``idx_settings`` - extracted facts per file.

Indexing is incremental by content hash: unchanged files are not read twice, changed
files are extracted again, and files gone from the work tree are removed. An index
that another version of the extractors filled is extracted again whole (its files'
hashes are forgotten first, so an interrupted rebuild resumes where it stopped). Writes are
committed in chunks together with the progress counters, so another process polling
:meth:`LibsqlRepoIndex.status` sees the index fill up.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ticketflow.adapters.libsql import repo_search
from ticketflow.adapters.libsql.database import Database, Stmt, apply_schema
from ticketflow.adapters.libsql.repo_lookup import closest, lookup_route, lookup_ui_text
from ticketflow.adapters.libsql.repo_structure import StructureStore
from ticketflow.ports import (
    ApiEndpoint,
    Clock,
    Edge,
    FileHit,
    IndexState,
    IndexStatus,
    Lookup,
    ModelRef,
    RefKind,
)
from ticketflow.repo_index import version
from ticketflow.repo_index.extract import (
    FileFacts,
    extract,
    split_words,
)
from ticketflow.repo_index.paths import demotion, singular
from ticketflow.repo_index.walker import readable, walk

Progress = Callable[[int, int, str], None]

SCHEMA_VERSION = 2
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS idx_repos (
        repo TEXT PRIMARY KEY, state TEXT NOT NULL, files_total INTEGER NOT NULL DEFAULT 0,
        files_done INTEGER NOT NULL DEFAULT 0, error TEXT, updated_at TEXT NOT NULL,
        extractor TEXT)""",
    """CREATE TABLE IF NOT EXISTS idx_files (
        id INTEGER PRIMARY KEY, repo TEXT NOT NULL, path TEXT NOT NULL,
        basename TEXT NOT NULL, sha256 TEXT NOT NULL, language TEXT, size INTEGER NOT NULL,
        UNIQUE (repo, path))""",
    "CREATE INDEX IF NOT EXISTS idx_files_basename ON idx_files(repo, basename)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS idx_fts USING fts5(
        path_words, symbol_words, content, tokenize = 'porter unicode61')""",
    """CREATE TABLE IF NOT EXISTS idx_symbols (
        repo TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
        line INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_symbols_name ON idx_symbols(repo, name)",
    "CREATE INDEX IF NOT EXISTS idx_symbols_path ON idx_symbols(repo, path)",
    """CREATE TABLE IF NOT EXISTS idx_routes (
        repo TEXT NOT NULL, path TEXT NOT NULL, method TEXT NOT NULL, route TEXT NOT NULL,
        route_key TEXT NOT NULL, summary TEXT NOT NULL, origin TEXT NOT NULL,
        line INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_routes_key ON idx_routes(repo, route_key)",
    "CREATE INDEX IF NOT EXISTS idx_routes_path ON idx_routes(repo, path)",
    """CREATE TABLE IF NOT EXISTS idx_settings (
        repo TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, line INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_settings_name ON idx_settings(repo, name)",
    "CREATE INDEX IF NOT EXISTS idx_settings_path ON idx_settings(repo, path)",
    *repo_search.SCHEMA,
]

CONTENT_CHARS = 256_000
_STOP_TEXT = """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our ours out over
    own same she should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours add adds adding please want wants need needs
    able allow allows make new implement implementing feature support ability let lets so
    via using use etc"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_FACT_TABLES = ("idx_symbols", "idx_routes", "idx_settings", *repo_search.TABLES)


class IndexNotReadyError(RuntimeError):
    """The repository's index is not ``ready`` (never built, building, or failed)."""

    def __init__(self, repo: str, state: str) -> None:
        self.repo = repo
        self.state = state
        super().__init__(
            f"the index of {repo} is '{state}', not 'ready'; "
            "(re)index the repository and wait for it to finish before querying"
        )


INDEX_ID_PREFIX = "ix-"


def repo_key(repo: str) -> str:
    """An index id (``ix-...``, see :mod:`ticketflow.workflow.indexing`) is its own key;
    a directory indexed directly is keyed by its resolved absolute path."""
    if repo.startswith(INDEX_ID_PREFIX) and "/" not in repo:
        return repo
    return str(Path(repo).expanduser().resolve())


def query_terms(query: str) -> list[str]:
    """Lower-case search words of a natural-language query, stop words removed."""
    seen: dict[str, None] = {}
    for word in split_words(query):
        w = word.lower()
        if w not in STOP_WORDS and (len(w) > 1 or w.isdigit()):
            seen.setdefault(w, None)
    return list(seen)


def fts_query(terms: Iterable[str]) -> str:
    """Quoted FTS5 terms OR-ed together (prefix match for words of 3+ letters)."""
    parts = []
    for t in terms:
        safe = re.sub(r"[^0-9a-z]", "", t.lower())
        if safe:
            parts.append(f'"{safe}"*' if len(safe) >= 3 else f'"{safe}"')
    return " OR ".join(parts)


class LibsqlRepoIndex:
    """:class:`ticketflow.ports.RepoIndex` on libSQL (see the module doc).

    Queries (``search``, ``lookup``, ``endpoints``, ``path_exists``) raise
    :class:`IndexNotReadyError` unless the repository's index is ``ready``.
    """

    def __init__(self, db: Database, *, chunk_size: int = 200, clock: Clock | None = None) -> None:
        self.db = db
        self.chunk_size = max(1, chunk_size)
        self._clock = clock
        self.last_extracted: list[str] = []  # paths extracted by the latest index() run
        self.last_removed: list[str] = []
        apply_schema(db, "repo_index", SCHEMA_VERSION, SCHEMA)
        cols = {str(r[1]) for r in db.execute("PRAGMA table_info(idx_repos)").rows}
        if "extractor" not in cols and not db.read_only:  # an index older than the column
            db.execute("ALTER TABLE idx_repos ADD COLUMN extractor TEXT")
        self.structure = StructureStore(db)

    # -- status --------------------------------------------------------------------------

    def _now(self) -> str:
        return (self._clock.now() if self._clock else datetime.now(UTC)).isoformat()

    def status(self, repo: str) -> IndexStatus:
        """Readiness of ``repo``'s index (``none`` if never indexed)."""
        rs = self.db.execute(
            "SELECT state, files_total, files_done, error, updated_at FROM idx_repos "
            "WHERE repo = ?",
            [repo_key(repo)],
        )
        if not rs.rows:
            return IndexStatus(state="none")
        state, total, done, error, updated = rs.rows[0]
        return IndexStatus(
            state=state,
            files_total=int(total),
            files_done=int(done),
            error=error,
            updated_at=datetime.fromisoformat(updated) if updated else None,
        )

    def _status_stmt(
        self, key: str, state: IndexState, total: int = 0, done: int = 0, error: str | None = None
    ) -> Stmt:
        return (
            "INSERT INTO idx_repos(repo, state, files_total, files_done, error, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(repo) DO UPDATE SET state = excluded.state, "
            "files_total = excluded.files_total, files_done = excluded.files_done, "
            "error = excluded.error, updated_at = excluded.updated_at",
            [key, state, total, done, error, self._now()],
        )

    def mark(self, repo: str, state: IndexState, *, error: str | None = None) -> IndexStatus:
        """Set ``repo``'s state by hand (``none`` forgets the repository's status)."""
        key = repo_key(repo)
        if state == "none":
            self.db.execute("DELETE FROM idx_repos WHERE repo = ?", [key], durable=False)
        else:
            current = self.status(repo)
            self.db.execute(
                *self._status_stmt(key, state, current.files_total, current.files_done, error),
                durable=False,
            )
        return self.status(repo)

    def extracted_by_this_version(self, key: str) -> bool:
        """Whether the index ``key`` was filled by this version of the extractors."""
        rs = self.db.execute("SELECT extractor FROM idx_repos WHERE repo = ?", [key])
        return bool(rs.rows) and rs.rows[0][0] == version.EXTRACTOR

    def claim_for_this_version(self, key: str) -> None:
        """Make the index ``key`` this version's: if another version filled it, forget
        its files' hashes (each is extracted again, its old facts replaced) and note
        this version, in one transaction, so a rebuild that stops halfway resumes."""
        if self.extracted_by_this_version(key):
            return
        self.db.batch([
            ("UPDATE idx_files SET sha256 = '' WHERE repo = ?", [key]),
            ("INSERT INTO idx_repos(repo, state, updated_at, extractor) "
             "VALUES (?, 'pending', ?, ?) "
             "ON CONFLICT(repo) DO UPDATE SET extractor = excluded.extractor",
             [key, self._now(), version.EXTRACTOR]),
        ])

    def _require_ready(self, repo: str) -> str:
        state = self.status(repo).state
        if state != "ready":
            raise IndexNotReadyError(repo_key(repo), state)
        return repo_key(repo)

    # -- indexing ------------------------------------------------------------------------

    def index(self, repo: str, *, progress: Progress | None = None) -> IndexStatus:
        """(Re)index ``repo`` incrementally; returns the final status.

        Failures are recorded (state ``failed`` with the error) and returned rather
        than raised, so a caller polling :meth:`status` sees the same outcome."""
        key = repo_key(repo)
        self.last_extracted = []
        self.last_removed = []
        self.db.execute(*self._status_stmt(key, "pending"), durable=False)
        try:
            root = Path(key)
            if not root.is_dir():
                raise FileNotFoundError(f"repository directory not found: {key}")
            self._run(key, root, progress)
        except Exception as exc:  # recorded for pollers, returned to the caller
            done = self.status(repo)
            self.db.execute(
                *self._status_stmt(
                    key, "failed", done.files_total, done.files_done, f"{type(exc).__name__}: {exc}"
                )
            )
        return self.status(repo)

    def _run(self, key: str, root: Path, progress: Progress | None) -> None:
        self.claim_for_this_version(key)
        known = {
            str(r[0]): str(r[1])
            for r in self.db.execute(
                "SELECT path, sha256 FROM idx_files WHERE repo = ?", [key]
            ).rows
        }
        with_structure = self.structure.paths(key)  # files indexed before it existed
        known = {p: sha for p, sha in known.items() if p in with_structure}
        total = sum(1 for _ in walk(root))
        self.db.execute(*self._status_stmt(key, "indexing", total), durable=False)
        seen: set[str] = set()
        pending: list[Stmt] = []
        done = 0
        for item in walk(root):
            if item.path in seen:
                continue
            seen.add(item.path)
            done += 1
            total = max(total, done)
            try:
                data = item.abspath.read_bytes()
            except OSError:
                data = None
            if data is not None and readable(item.path, data):
                digest = hashlib.sha256(data).hexdigest()
                if known.get(item.path) != digest:
                    text = data.decode("utf-8", errors="replace")
                    pending.extend(self._file_stmts(key, item.path, digest, len(data), text))
                    self.last_extracted.append(item.path)
            else:
                seen.discard(item.path)  # vanished, or no longer readable: drop it below
            if len(pending) >= self.chunk_size * 8 or done % self.chunk_size == 0:
                self._flush(key, pending, total, done)
                pending = []
            if progress is not None:
                progress(done, total, item.path)
        removed = sorted(set(known) - seen)
        for path in removed:
            pending.extend(self._delete_stmts(key, path))
        self.last_removed = removed
        self._flush(key, pending, done, done)
        self.db.batch([*self.structure.relink_stmts(key),
                       self._status_stmt(key, "ready", done, done)])

    def _flush(self, key: str, stmts: list[Stmt], total: int, done: int) -> None:
        self.db.batch([*stmts, self._status_stmt(key, "indexing", total, done)], durable=False)

    def _delete_stmts(self, key: str, path: str) -> list[Stmt]:
        args = [key, path]
        return [
            (
                "DELETE FROM idx_fts WHERE rowid = (SELECT id FROM idx_files "
                "WHERE repo = ? AND path = ?)",
                args,
            ),
            *[(f"DELETE FROM {t} WHERE repo = ? AND path = ?", args) for t in _FACT_TABLES],
            *self.structure.delete_stmts(key, path),
            ("DELETE FROM idx_files WHERE repo = ? AND path = ?", args),
        ]

    def _file_stmts(self, key: str, path: str, digest: str, size: int, text: str) -> list[Stmt]:
        facts = extract(path, text)
        stmts = self._delete_stmts(key, path)[:-1]
        stmts.append(
            (
                "INSERT INTO idx_files(repo, path, basename, sha256, language, size) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(repo, path) DO UPDATE SET "
                "sha256 = excluded.sha256, language = excluded.language, size = excluded.size",
                [key, path, PurePosixPath(path).name, digest, facts.language, size],
            )
        )
        content = _searchable_content(facts, text)
        stmts.append(
            (
                "INSERT INTO idx_fts(rowid, path_words, symbol_words, content) VALUES "
                "((SELECT id FROM idx_files WHERE repo = ? AND path = ?), ?, ?, ?)",
                [key, path, _words(path), _fact_words(facts), content],
            )
        )
        for s in _unique(facts.symbols):
            stmts.append(
                (
                    "INSERT INTO idx_symbols(repo, path, name, kind, line) VALUES (?, ?, ?, ?, ?)",
                    [key, path, s.name, s.kind, s.line],
                )
            )
        for r in _unique(facts.routes):
            stmts.append(
                (
                    "INSERT INTO idx_routes(repo, path, method, route, route_key, summary, origin, "
                    "line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [key, path, r.method, r.path, r.key, r.summary, r.origin, r.line],
                )
            )
        stmts.extend(self.structure.file_stmts(key, path, text, facts.language))
        stmts.extend(repo_search.term_stmts(key, path, facts))
        for st in _unique(facts.settings):
            stmts.append(
                (
                    "INSERT INTO idx_settings(repo, path, name, line) VALUES (?, ?, ?, ?)",
                    [key, path, st.name, st.line],
                )
            )
        return stmts

    # -- queries -------------------------------------------------------------------------

    def search(self, repo: str, query: str, limit: int = 5, *,
               with_snippets: bool = True) -> list[FileHit]:
        """Files ranked by relevance to ``query`` (bm25 plus path/symbol boosts)."""
        key = self._require_ready(repo)
        terms = query_terms(query)
        match = fts_query(terms)
        if not match or limit <= 0:
            return []
        hits = repo_search.search(self.db, key, terms, match, limit)
        if with_snippets:
            cut = repo_search.snippets(self.db, key, terms, [h.path for h in hits])
            hits = [h.model_copy(update={"snippet": cut.get(h.path, "")}) for h in hits]
        return hits

    def snippets(self, repo: str, query: str, paths: list[str]) -> dict[str, str]:
        """A short piece of each file's text around its first word of ``query``."""
        key = self._require_ready(repo)
        return repo_search.snippets(self.db, key, query_terms(query), paths)

    def files_named(self, repo: str, words: list[str]) -> list[str]:
        """Files whose path carries any of ``words`` (looked up, not scanned)."""
        key = self._require_ready(repo)
        return repo_search.files_with_path_terms(self.db, key,
                                                 (singular(w) for w in words if w))

    def lookup(self, repo: str, kind: RefKind, name: str) -> Lookup:
        """Does a file / symbol / route / setting called ``name`` exist?"""
        key = self._require_ready(repo)
        if kind == "route":
            found, matches, closest, files = lookup_route(self.db, self.structure, key,
                                                          name.strip())
        elif kind == "ui_text":
            found, matches, closest, files = lookup_ui_text(self.structure, key, name.strip())
        else:
            finder = {
                "file": self._lookup_file,
                "symbol": self._lookup_symbol,
                "setting": self._lookup_setting,
            }[kind]
            found, matches, closest = finder(key, name.strip())
            files = list(dict.fromkeys(m if kind == "file" else m.rsplit(":", 1)[0]
                                       for m in matches))
        return Lookup(kind=kind, name=name, found=found, matches=matches, closest=closest,
                      files=files)

    def neighbours(self, repo: str, paths: list[str]) -> list[Edge]:
        """Import, mount and render edges with one end in ``paths``."""
        key = self._require_ready(repo)
        return [Edge(src=s, dst=d, kind=k, via=v)
                for s, d, k, v in self.structure.edges(key, paths)]

    def mentions(self, repo: str, name: str, limit: int = 10, *,
                 code_only: bool = False) -> list[str]:
        """Files whose text contains ``name`` as a whole word (full-text match on its
        words, then the exact spelling checked in the stored content)."""
        key = self._require_ready(repo)
        bare = name.strip().removesuffix("()")
        match = _content_match(bare)
        if match is None:
            return []
        rs = self.db.execute(
            _CONTAINING.format(
                "f.path, substr(t.content, max(instr(t.content, ?) - 1, 1), length(?) + 2), "
                "instr(t.content, ?), t.rowid") + " LIMIT ?",
            # enough rows that a name mostly seen inside longer ones ("Key" in
            # "KeyDocument") is still found whole in a later file
            [match, bare, bare, bare, key, bare, max(limit * 5, 40)])
        word = re.compile(rf"(?<![\w]){re.escape(bare)}(?![\w])")
        out: list[str] = []
        unsure: dict[int, str] = {}  # rowid -> path
        for p, around, at, rowid in rs.rows:
            if code_only and demotion(str(p)) < 0.6:
                continue
            if word.search(str(around) if int(at) > 1 else " " + str(around)):
                out.append(str(p))
            else:
                unsure[int(rowid)] = str(p)
        out += self._whole_word_later(unsure, word)
        return sorted(out, key=lambda p: (-demotion(p), p))[:limit]

    def _whole_word_later(self, rows: dict[int, str], word: re.Pattern[str]) -> list[str]:
        """The files of ``rows`` (rowid -> path) whose first spelling of a name is inside
        a longer word ("read" in "thread") but a later one is whole: one read of their
        contents."""
        if not rows:
            return []
        rs = self.db.execute(
            f"SELECT rowid, content FROM idx_fts WHERE rowid IN ({','.join('?' * len(rows))})",
            list(rows))
        return [rows[int(r)] for r, content in rs.rows if word.search(str(content))]

    def path_literals(self, repo: str, word: str, limit: int = 40) -> list[tuple[str, str]]:
        """Quoted strings with a ``/`` and ``word`` as a path segment (``"/people/<string:
        handle>/timeline"``, ``url: '/subscriptions/:datasetId'``) in the code files
        whose text has ``word``, with the file of each: route paths however the code
        declares them (a route table, a registration helper)."""
        key = self._require_ready(repo)
        match = _content_match(word)
        if match is None:
            return []
        rs = self.db.execute(_CONTAINING.format("f.path, t.content") + " ORDER BY f.path LIMIT ?",
                             [match, key, word, limit])
        segment = re.compile(rf"(?:^|/){re.escape(word)}(?:/|$)")
        out: list[tuple[str, str]] = []
        for p, content in rs.rows:
            if demotion(str(p)) < 0.6:
                continue  # tests, docs, translations: not where routes are declared
            for m in _PATH_LITERAL.finditer(str(content)):
                if segment.search(m.group(2)):
                    out.append((str(p), m.group(2)))
        return list(dict.fromkeys(out))

    def files(self, repo: str) -> list[str]:
        """Every indexed file of ``repo``."""
        key = self._require_ready(repo)
        return self._column("SELECT path FROM idx_files WHERE repo = ? ORDER BY path", [key])

    def files_under(self, repo: str, directory: str, limit: int = 500) -> list[str]:
        """Files below ``directory`` (repo-relative; a keyed range, not a scan)."""
        key = self._require_ready(repo)
        base = directory.strip("/")
        if not base:
            return []
        return self._column("SELECT path FROM idx_files WHERE repo = ? AND path > ? AND "
                            "path < ? ORDER BY path LIMIT ?",
                            [key, base + "/", base + "0", limit])

    def settings_files(self, repo: str) -> list[str]:
        """Files that declare the most settings, most first."""
        key = self._require_ready(repo)
        rs = self.db.execute(
            "SELECT path, COUNT(DISTINCT name) AS n FROM idx_settings WHERE repo = ? "
            "GROUP BY path HAVING n >= 2 ORDER BY n DESC, path LIMIT 5", [key])
        return [str(r[0]) for r in rs.rows]

    def models(self, repo: str) -> list[ModelRef]:
        """Models and schemas defined in the repository."""
        key = self._require_ready(repo)
        return [ModelRef(name=n, table=t, path=p) for n, t, p in self.structure.models(key)]

    def _column(self, sql: str, args: list[Any]) -> list[str]:
        return [str(r[0]) for r in self.db.execute(sql, args).rows]

    def _lookup_file(self, key: str, name: str) -> tuple[bool, list[str], str | None]:
        rel = name.replace("\\", "/").lstrip("/")
        while rel.startswith("./"):
            rel = rel[2:]
        if not rel:
            return False, [], None
        if self._column("SELECT path FROM idx_files WHERE repo = ? AND path = ?", [key, rel]):
            return True, [rel], None
        base = PurePosixPath(rel).name
        candidates = self._column(
            "SELECT path FROM idx_files WHERE repo = ? AND basename = ? ORDER BY path", [key, base]
        )
        matches = [p for p in candidates if p == rel or p.endswith("/" + rel)]
        if len(matches) == 1:
            return True, matches, None
        if matches:
            return False, matches, None
        paths = self._column("SELECT path FROM idx_files WHERE repo = ?", [key])
        if "/" in rel:
            return False, [], closest(rel, paths)
        by_base = {PurePosixPath(p).name: p for p in sorted(paths, reverse=True)}
        hit = closest(base, list(by_base))
        return False, [], by_base[hit] if hit else None

    def _lookup_symbol(self, key: str, name: str) -> tuple[bool, list[str], str | None]:
        name = name.removesuffix("()")
        rows = self.db.execute(
            "SELECT DISTINCT path, line FROM idx_symbols WHERE repo = ? AND name = ? "
            "ORDER BY path, line",
            [key, name],
        ).rows
        if rows:
            return True, [f"{r[0]}:{r[1]}" for r in rows], None
        names = self._column("SELECT DISTINCT name FROM idx_symbols WHERE repo = ?", [key])
        return False, [], closest(name, names)

    def _lookup_setting(self, key: str, name: str) -> tuple[bool, list[str], str | None]:
        rows = self.db.execute(
            "SELECT DISTINCT path, line FROM idx_settings WHERE repo = ? AND name = ? "
            "ORDER BY path, line",
            [key, name],
        ).rows
        if rows:
            return True, [f"{r[0]}:{r[1]}" for r in rows], None
        names = self._column("SELECT DISTINCT name FROM idx_settings WHERE repo = ?", [key])
        return False, [], closest(name, names)

    def endpoints(self, repo: str) -> list[ApiEndpoint]:
        """HTTP routes and OpenAPI operations, with the file each was found in."""
        key = self._require_ready(repo)
        rows = self.db.execute(
            "SELECT method, route, path, summary FROM idx_routes WHERE repo = ? "
            "ORDER BY route, method, origin, path",
            [key],
        ).rows
        return [ApiEndpoint(method=m, path=p, source=s, summary=summ) for m, p, s, summ in rows]

    def path_exists(self, repo: str, path: str) -> bool:
        """True when ``path`` (repo-relative) is an indexed file or a directory of one."""
        key = self._require_ready(repo)
        rel = path.replace("\\", "/").strip("/")
        while rel.startswith("./"):
            rel = rel[2:]
        if not rel or rel == ".":
            return True
        prefix = rel.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        return bool(
            self.db.execute(
                "SELECT 1 FROM idx_files WHERE repo = ? AND (path = ? OR path LIKE ? ESCAPE '\\') "
                "LIMIT 1",
                [key, rel, prefix],
            ).rows
        )


# -- helpers ---------------------------------------------------------------------------------


def _words(text: str) -> str:
    """Searchable words of a path or name: the parts and the original segments."""
    parts = split_words(text)
    segments = [s for s in re.split(r"[/\s]+", text) if s]
    return " ".join([*parts, *segments])


def _fact_words(facts: FileFacts) -> str:
    names = [s.name for s in facts.symbols]
    names += [f"{r.method} {r.path} {r.summary}" for r in facts.routes]
    names += [s.name for s in facts.settings]
    return " ".join(_words(n) for n in dict.fromkeys(names))


# a quoted path: segments of word characters, dots, dashes and parameters in any
# spelling (``:id``, ``<int:id>``, ``{id}``, ``${id}``), with at least one ``/``
_SEG = r"[\w.:<>{}$*-]+"
_PATH_LITERAL = re.compile(rf"""(['"`])((?:/{_SEG})+/?|{_SEG}(?:/{_SEG})+/?)\1""")


# the files of an index whose stored content has a spelling (parameters: the full-text
# query, then those of the selected columns, the index key, the spelling); the full-text
# match first (materialised): otherwise the planner may walk every file of the
# repository and search its whole text
_CONTAINING = ("WITH hit AS MATERIALIZED (SELECT rowid AS id FROM idx_fts WHERE idx_fts "
               "MATCH ?) SELECT {} FROM hit JOIN idx_files f ON f.id = hit.id JOIN idx_fts t "
               "ON t.rowid = hit.id WHERE f.repo = ? AND instr(t.content, ?) > 0")


def _content_match(name: str) -> str | None:
    """The full-text query for a name in stored content: its words as a phrase
    (``archive_exporter``, ``archive-exporter``) or, for a name of several words, the
    one token a camelCase spelling is (``ArchiveExporter``), which the tokenizer does
    not split. ``None`` for a name too short to look for."""
    words = [re.sub(r"[^0-9a-z]", "", w.lower()) for w in split_words(name)]
    words = [w for w in words if w]
    if len(name) < 3 or not words:
        return None
    phrase = '"' + " ".join(words) + '"'
    if len(words) == 1:
        return f"content : {phrase}"
    return f'content : ({phrase} OR "{"".join(words)}")'


def _searchable_content(facts: FileFacts, text: str) -> str:
    if facts.language == "dotenv":  # keys only: values may be secrets
        return " ".join(s.name for s in facts.settings)
    return text[:CONTENT_CHARS]


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))
