"""Which files of a repository a request is about (step 5's ranking).

Four signals, strongest first:

1. **What the request names.** Files that define (or are) the code names it mentions,
   declare the routes it names, or show the labels it quotes; for a name that does not
   exist, the files of the closest real one.
2. **The entities it talks about.** Models and schemas whose name or table matches a
   noun of the request, and files named after them (``repositories/webhook_log.py``).
3. **Words.** The index's full-text ranking (identifier-aware: ``camelCase`` and
   ``snake_case`` split, path segments weighed most), tests, migrations, translations,
   lock files and prose demoted.
   A request that brings in or upgrades a dependency also gets the package manifest.
4. **Structure.** Neighbours of the best files in the import, route and render graphs:
   the template a view renders, the view that renders a template, the file that mounts
   a router, the service a route imports; weighed by how many request words their path
   carries.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ticketflow.ports import FileHit, RepoIndex
from ticketflow.preflight import extract_references
from ticketflow.repo_index.extract import split_words
from ticketflow.repo_index.paths import (
    COMPILED,
    compiled_sources,
    demotion,
    path_words,
    singular,
)
from ticketflow.workflow import retrieval_structure as structure

__all__ = ["LIMIT", "MAX_PINNED", "retrieve"]

LIMIT = 8
MAX_PINNED = 3
_SEEDS = 4
_EDGE_WEIGHT = {"renders": 0.9, "routes": 0.8, "mounts": 0.6, "import": 0.5}
_STOP = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "has", "have", "in", "into", "is", "it", "its", "of", "on", "or", "our", "should", "so",
    "that", "the", "their", "them", "then", "there", "these", "this", "to", "too", "was",
    "we", "were", "when", "which", "while", "who", "will", "with", "would", "you", "your",
    "must", "need", "needs", "want", "wants", "able", "page", "add", "new", "make", "use",
    "using", "allow", "let", "all", "any", "each", "every", "only", "also", "same"
])


def _terms(text: str) -> set[str]:
    return {singular(w) for w in split_words(text) if len(w) > 2 and w.lower() not in _STOP}


def _named_files(index: RepoIndex, repo: str, text: str) -> list[str]:
    """Files behind the code references and quoted labels of ``text``, in order."""
    paths: list[str] = []
    for ref in extract_references(text):
        if ref.kind == "description":
            continue
        look = index.lookup(repo, ref.kind, ref.name)
        files = list(look.files)
        if ref.creates and not look.found:
            continue  # a name still to be made: other code that mentions it is not it
        if not files and ref.kind in ("symbol", "setting"):
            files = index.mentions(repo, ref.name, limit=2)
        if ref.kind == "setting" and not look.found:
            files += index.settings_files(repo)
        # the code that reads a setting first; a route or name also declared by test
        # setup (a mock app) points at the product code
        files.sort(key=lambda p: (_is_dotenv(p), -demotion(p)))
        if files and demotion(files[0]) == 1.0:
            files = [p for p in files if demotion(p) == 1.0]
        if not files and look.closest:
            files = [look.closest] if ref.kind == "file" else list(
                index.lookup(repo, ref.kind, look.closest).files)
        if ref.creates and ref.kind in ("file", "ui_text"):
            continue  # a file or label still to be made points nowhere yet
        for p in files[:2]:
            if p not in paths:
                paths.append(p)
    return paths


def _is_dotenv(path: str) -> bool:
    return PurePosixPath(path).name.startswith(".env")


def _entity_files(index: RepoIndex, repo: str, terms: set[str]) -> list[tuple[str, int]]:
    """Model files of entities the request names, most specific entity first, with the
    number of words the entity's name has."""
    out: dict[str, int] = {}
    for m in index.models(repo):
        words = {singular(w) for w in split_words(m.name)}
        table = {singular(w) for w in split_words(m.table)} if m.table else set()
        size = max(len(words) if words <= terms else 0, len(table) if table and
                   table <= terms else 0)
        if size and size > out.get(m.path, 0):
            out[m.path] = size
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


_PAGE = re.compile(r"\b(?:the|on|in|to|from|a|an)\s+((?:[A-Za-z][\w'-]*\s+){0,3}?"
                   r"[A-Za-z][\w'-]*)\s+(?:page|screen|view|form|dialog|modal|tab|panel)\b",
                   re.I)
_NOT_NAMES = frozenset({"s", "empty", "blank", "whole", "next", "previous", "main", "first",
                        "last", "single", "different", "separate", "own", "current",
                        "existing", "right", "wrong", "broken", "same", "other", "this",
                        "that", "his", "her", "their", "my", "our", "each"})
_UI_FILE = re.compile(r"\.(html?|jinja2?|j2|vue|svelte|hbs|handlebars|ejs|njk|tsx|jsx)$|"
                      r"(^|/)(templates|pages|views|components|screens)/")
_GENERIC_UI = frozenset({"template", "page", "view", "component", "screen", "src", "app",
                         "index", "layout", "base", "html", "tsx", "jsx", "vue", "lib",
                         "project", "file", "package", "module", "the"})


def _page_files(index: RepoIndex, repo: str, text: str) -> list[tuple[str, float]]:
    """Templates and components for "the X page / form / dialog" of the request: the
    UI files whose path carries the most words of X (and few others)."""
    out: dict[str, float] = {}
    for m in _PAGE.finditer(text):
        name = {singular(w) for w in split_words(m.group(1))} - _STOP - _NOT_NAMES
        if not name:
            continue
        specific = 1.0 + 0.25 * (len(name) - 1)
        for p in index.files_named(repo, sorted(name)):
            if not _UI_FILE.search(p):
                continue
            words = path_words(p) - _GENERIC_UI
            shared = words & name
            if not shared:
                continue
            stem = {singular(w) for w in split_words(PurePosixPath(p).name.split(".")[0])}
            frac = len(shared) / len(name) * (1.0 if stem & name else 0.7)
            frac *= specific / (1.0 + 0.1 * len(words - name))
            out[p] = max(out.get(p, 0.0), min(frac, 1.0))
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:3]


def _coverage(path: str, terms: set[str]) -> float:
    if not terms:
        return 0.0
    return len(path_words(path) & terms) / min(len(terms), 4)


_NEW_DEPENDENCY = re.compile(r"\b(librar(?:y|ies)|packages?|dependenc(?:y|ies)|sdk|install|"
                             r"npm|pip|pypi|upgrade|bump)\b", re.I)
_MANIFESTS = frozenset({"package.json", "pyproject.toml", "setup.py", "setup.cfg",
                        "requirements.txt", "Pipfile", "go.mod", "Cargo.toml", "Gemfile",
                        "composer.json", "pom.xml", "build.gradle"})


def _manifests(files: list[str], near: list[str]) -> list[str]:
    """Package manifests, the one closest to the best-ranked files first."""
    found = [p for p in files if PurePosixPath(p).name in _MANIFESTS]

    def distance(manifest: str) -> int:
        home = str(PurePosixPath(manifest).parent)
        shared = [n for n in near if home == "." or n.startswith(home + "/")]
        return (0 if shared else 100) + manifest.count("/")

    return sorted(found, key=lambda p: (distance(p), p))[:1]


def retrieve(index: RepoIndex, repo: str, query: str, text: str,
             limit: int = LIMIT) -> list[FileHit]:
    """Ranked files for a request (see the module doc)."""
    terms = _terms(text)
    hits = index.search(repo, query, limit=max(40, limit * 4), with_snippets=False)
    by_path = {h.path: h for h in hits}
    score: dict[str, float] = {h.path: h.score for h in hits}
    top = hits[0].score if hits else 1.0
    pinned = [p for p in _named_files(index, repo, text) if index.path_exists(repo, p)]
    entities = _entity_files(index, repo, terms)[:3]
    for p, size in entities:
        entity = top * min(0.8 + 0.1 * size, 1.05) * demotion(p)
        score[p] = max(score.get(p, 0.0), entity)
    if entities:  # repositories, schemas, services named like the most specific entity
        best = [p for p, size in entities if size == entities[0][1]]
        entity = top * min(0.8 + 0.1 * entities[0][1], 1.05) * 0.85
        for p in structure.entity_layers(index, repo, best):
            score[p] = max(score.get(p, 0.0), entity)
    for p, frac in _page_files(index, repo, text):
        score[p] = score.get(p, 0.0) + top * 0.6 * frac * demotion(p)
    ranked = sorted(score, key=lambda p: (-score[p], p))
    if _NEW_DEPENDENCY.search(text):  # a new or upgraded dependency: its manifest
        for p in _manifests(index.files(repo), ranked[:3]):
            score[p] = max(score.get(p, 0.0), top * 0.95)
        ranked = sorted(score, key=lambda p: (-score[p], p))
    seeds = list(dict.fromkeys([*pinned[:MAX_PINNED], *ranked[:_SEEDS]]))
    bonus: dict[str, float] = {}
    for edge in index.neighbours(repo, seeds):
        for seed, other in ((edge.src, edge.dst), (edge.dst, edge.src)):
            if seed not in seeds or other in pinned or other == seed:
                continue
            base = 1.0 if seed in pinned else min(score.get(seed, 0.0) / top, 1.0)
            cov = _coverage(other, terms)
            if edge.kind == "import" and cov == 0:
                continue  # a shared utility, not part of this change
            b = top * 0.45 * base * _EDGE_WEIGHT[edge.kind] * (0.6 + 0.4 * min(cov, 1.0))
            bonus[other] = max(bonus.get(other, 0.0), b * demotion(other))
    for p, b in bonus.items():
        score[p] = score.get(p, 0.0) + b
    _structural(index, repo, text, terms, seeds, pinned, score, top)
    _demote_compiled_copies(index, repo, score)
    ordered = [*dict.fromkeys(pinned[:MAX_PINNED])]
    ordered += [p for p in sorted(score, key=lambda p: (-score[p], p)) if p not in ordered]
    out: list[FileHit] = []
    shown = index.snippets(repo, query, ordered[:limit])
    for i, p in enumerate(ordered[:limit]):
        hit = by_path.get(p)
        s = top + 1.0 - 0.01 * i if i < len(pinned[:MAX_PINNED]) else score[p]
        out.append(FileHit(path=p, score=round(s, 4), snippet=shown.get(p, ""),
                           language=hit.language if hit else _language(p)))
    return out


def _demote_compiled_copies(index: RepoIndex, repo: str, score: dict[str, float]) -> None:
    """A compiled copy (``lib/a.js``, ``dist/a.d.ts``) of a source file the repository
    holds too (``src/a.ts``) weighs less: the change is made in the source."""
    for p in list(score):
        if any(index.path_exists(repo, src) for src in compiled_sources(p)):
            score[p] *= COMPILED


def _structural(index: RepoIndex, repo: str, text: str, terms: set[str], seeds: list[str],
                pinned: list[str], score: dict[str, float], top: float) -> None:
    """Add the structural neighbours of the seeds (:mod:`.retrieval_structure`)."""
    words = {singular(w) for w in split_words(text)}

    def base(seed: str) -> float:
        return 1.0 if seed in pinned else min(score.get(seed, 0.0) / top, 1.0)

    found: dict[str, float] = {}
    for rule, weight in ((structure.companions(index, repo, seeds, words), 0.55),
                         (structure.stem_family(index, repo, seeds[:5]), 0.45),
                         (structure.action_siblings(index, repo, seeds, words), 0.6)):
        for p, (seed, strength) in rule.items():
            if p in pinned:
                continue
            found[p] = max(found.get(p, 0.0), top * weight * strength * base(seed))
    for p, strength in structure.entry_files(index, repo, words, seeds):
        found[p] = max(found.get(p, 0.0), top * 0.7 * strength)
    for p, b in found.items():
        score[p] = score.get(p, 0.0) + b


def _language(path: str) -> str | None:
    suffix = PurePosixPath(path).suffix.lower()
    return {".py": "python", ".ts": "typescript", ".tsx": "typescript", ".js": "javascript",
            ".jsx": "javascript", ".html": "html", ".vue": "vue"}.get(suffix)
