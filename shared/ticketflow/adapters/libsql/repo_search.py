"""Relevance search over the libSQL repository index, with the word sets it needs
computed when a file is indexed rather than on every request.

Per file (written with the file, removed with it, copied with it between indexes):

* ``idx_file_terms`` - the file's path words and the words of the code names it
  defines, each a sorted, space-separated set of lower-case singular words
  (``WebhookLogs.tsx`` -> ``log tsx webhook``);
* ``idx_path_terms`` - one row per (path word, file), so the files whose path carries
  a word are a keyed lookup, not a scan of every file.

A search ranks with FTS5's bm25 (path words weighed most, then code names, then
content), adds how many of the query's words the path and the code names carry,
and demotes tests, migrations, translations and prose (:func:`~ticketflow.repo_index.
paths.demotion`). Snippets are cut from the stored content of the few files that are
shown (FTS5's ``snippet()`` costs milliseconds per large file).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable

from ticketflow.adapters.libsql.database import Database, Stmt
from ticketflow.ports import FileHit
from ticketflow.repo_index.extract import FileFacts, split_words
from ticketflow.repo_index.paths import demotion, singular

__all__ = ["SCHEMA", "TABLES", "files_with_path_terms", "search", "snippets", "term_stmts",
           "terms_of"]

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS idx_file_terms (
        repo TEXT NOT NULL, path TEXT NOT NULL, path_terms TEXT NOT NULL,
        symbol_terms TEXT NOT NULL, PRIMARY KEY (repo, path))""",
    """CREATE TABLE IF NOT EXISTS idx_path_terms (
        repo TEXT NOT NULL, term TEXT NOT NULL, path TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_path_terms_term ON idx_path_terms(repo, term)",
    "CREATE INDEX IF NOT EXISTS idx_path_terms_path ON idx_path_terms(repo, path)",
]
TABLES = ("idx_file_terms", "idx_path_terms")
_SNIPPET_CHARS = 160


def terms_of(text: str) -> list[str]:
    """Sorted lower-case singular words of a path or of code names."""
    return sorted({singular(w) for w in split_words(text) if w})


def term_stmts(key: str, path: str, facts: FileFacts) -> list[Stmt]:
    """The rows of both tables for one file (its old rows are deleted by the caller)."""
    names = [s.name for s in facts.symbols]
    names += [f"{r.method} {r.path} {r.summary}" for r in facts.routes]
    names += [s.name for s in facts.settings]
    path_terms = terms_of(path)
    stmts: list[Stmt] = [(
        "INSERT INTO idx_file_terms(repo, path, path_terms, symbol_terms) VALUES (?, ?, ?, ?)",
        [key, path, " ".join(path_terms), " ".join(terms_of(" ".join(dict.fromkeys(names))))])]
    for t in path_terms:
        if len(t) > 1:
            stmts.append(("INSERT INTO idx_path_terms(repo, term, path) VALUES (?, ?, ?)",
                          [key, t, path]))
    return stmts


def coverage(terms: list[str], have: list[str]) -> float:
    """Share of ``terms`` (singular) found in the sorted word list ``have``; a term of
    four letters or more also counts as a prefix (``notif`` in ``notification``)."""
    if not terms:
        return 0.0
    hits = 0
    for t in terms:
        i = bisect_left(have, t)
        if i < len(have) and (have[i] == t or (len(t) >= 4 and have[i].startswith(t))):
            hits += 1
    return hits / len(terms)


def search(db: Database, key: str, terms: list[str], match: str, limit: int) -> list[FileHit]:
    """Ranked files for FTS ``match`` built from ``terms`` (no snippets)."""
    rs = db.execute(
        "SELECT f.path, f.language, bm25(idx_fts, 6.0, 3.0, 1.0) AS rank FROM idx_fts "
        "JOIN idx_files f ON f.id = idx_fts.rowid "
        "WHERE idx_fts MATCH ? AND f.repo = ? ORDER BY rank LIMIT ?",
        [match, key, max(50, limit * 10)],
    )
    if not rs.rows:
        return []
    words = _file_terms(db, key, [str(r[0]) for r in rs.rows])
    wanted = [singular(t) for t in terms]
    best = max(-float(r[2]) for r in rs.rows) or 1.0
    scored: list[FileHit] = []
    for path, language, rank in rs.rows:
        path_terms, symbol_terms = words.get(str(path), ([], []))
        score = -float(rank) / best
        score += 1.0 * coverage(wanted, path_terms)
        score += 0.5 * coverage(wanted, symbol_terms)
        # the code a change touches before its tests, migrations, translations, docs
        score *= demotion(str(path))
        scored.append(FileHit(path=str(path), score=round(score, 4), language=language))
    scored.sort(key=lambda h: (-h.score, h.path))
    return scored[:limit]


def _file_terms(db: Database, key: str, paths: list[str]) -> dict[str, tuple[list[str],
                                                                             list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for chunk in _chunks(paths, 400):
        marks = ",".join("?" * len(chunk))
        for path, p_terms, s_terms in db.execute(
                f"SELECT path, path_terms, symbol_terms FROM idx_file_terms WHERE repo = ? "
                f"AND path IN ({marks})", [key, *chunk]).rows:
            out[str(path)] = (str(p_terms).split(), str(s_terms).split())
    for p in paths:  # a file indexed before the word sets existed: computed here
        if p not in out:
            out[p] = (terms_of(p), [])
    return out


def snippets(db: Database, key: str, terms: list[str], paths: list[str]) -> dict[str, str]:
    """A short window of each file's content around its first query word."""
    if not paths:
        return {}
    words = [re.escape(t) for t in sorted(terms, key=len, reverse=True) if len(t) > 2]
    if not words:
        return {}
    pattern = re.compile(r"\b(?:" + "|".join(words) + ")", re.I)
    marks = ",".join("?" * len(paths))
    out: dict[str, str] = {}
    for path, content in db.execute(
            f"SELECT f.path, idx_fts.content FROM idx_files f JOIN idx_fts "
            f"ON idx_fts.rowid = f.id WHERE f.repo = ? AND f.path IN ({marks})",
            [key, *paths]).rows:
        text = str(content or "")
        m = pattern.search(text)
        if m is None:
            continue
        start = max(0, text.rfind("\n", 0, max(0, m.start() - 40)) + 1)
        out[str(path)] = " ".join(text[start:start + _SNIPPET_CHARS].split())
    return out


def files_with_path_terms(db: Database, key: str, terms: Iterable[str]) -> list[str]:
    """Files whose path carries any of ``terms`` (singular lower-case words)."""
    wanted = sorted(set(terms))
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rs = db.execute(f"SELECT DISTINCT path FROM idx_path_terms WHERE repo = ? AND term IN "
                    f"({marks}) ORDER BY path", [key, *wanted])
    return [str(r[0]) for r in rs.rows]


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]

