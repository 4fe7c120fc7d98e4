"""What a request says that step 5's ranking reads, before any file is scored: its
words, the files behind the code names it mentions, the entities it talks about, the
pages it names, and whether it brings in a dependency. :mod:`.retrieval_features`
turns these into features of each candidate file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ticketflow.ports import RepoIndex
from ticketflow.preflight import extract_references
from ticketflow.repo_index.extract import split_words
from ticketflow.repo_index.paths import demotion, path_words, singular

__all__ = ["STOP", "Named", "entity_files", "implies_dependency", "manifests", "named_files",
           "page_files", "terms"]

STOP = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "has", "have", "in", "into", "is", "it", "its", "of", "on", "or", "our", "should", "so",
    "that", "the", "their", "them", "then", "there", "these", "this", "to", "too", "was",
    "we", "were", "when", "which", "while", "who", "will", "with", "would", "you", "your",
    "must", "need", "needs", "want", "wants", "able", "page", "add", "new", "make", "use",
    "using", "allow", "let", "all", "any", "each", "every", "only", "also", "same"
])


def terms(text: str) -> set[str]:
    """The request's content words, singular and lower-case."""
    return {singular(w) for w in split_words(text) if len(w) > 2 and w.lower() not in STOP}


@dataclass(frozen=True)
class Named:
    """A file behind a code reference of the request: ``kind`` is the reference's
    (file, symbol, route, setting, ui_text); ``how`` says how the file was found:
    ``defines`` (it is, defines, declares or shows the name), ``mentions`` (its text
    uses a name nothing defines, or it reads settings) or ``closest`` (the files of the
    closest real name, for a name that does not exist)."""

    path: str
    kind: str
    how: str


def named_files(index: RepoIndex, repo: str, text: str) -> list[Named]:
    """Files behind the code references and quoted labels of ``text``, in order (two
    at most per reference)."""
    out: dict[str, Named] = {}
    for ref in extract_references(text):
        if ref.kind == "description":
            continue
        look = index.lookup(repo, ref.kind, ref.name)
        if ref.creates and not look.found:
            continue  # a name still to be made: other code that mentions it is not it
        if ref.creates and ref.kind in ("file", "ui_text"):
            continue  # a file or label still to be made points nowhere yet
        files = [(p, "defines") for p in look.files]
        if not files and ref.kind in ("symbol", "setting"):
            files = [(p, "mentions") for p in index.mentions(repo, ref.name, limit=2)]
        if ref.kind == "setting" and not look.found:
            files += [(p, "mentions") for p in index.settings_files(repo)]
        # the code that reads a setting first; a route or name also declared by test
        # setup (a mock app) points at the product code
        files.sort(key=lambda f: (_is_dotenv(f[0]), -demotion(f[0])))
        if files and demotion(files[0][0]) == 1.0:
            files = [f for f in files if demotion(f[0]) == 1.0]
        if not files and look.closest:
            files = [(look.closest, "closest")] if ref.kind == "file" else [
                (p, "closest") for p in index.lookup(repo, ref.kind, look.closest).files]
        for p, how in files[:2]:
            if p not in out:
                out[p] = Named(p, ref.kind, how)
    return [n for n in out.values() if index.path_exists(repo, n.path)]


def _is_dotenv(path: str) -> bool:
    return PurePosixPath(path).name.startswith(".env")


def entity_files(index: RepoIndex, repo: str, words: set[str]) -> list[tuple[str, int]]:
    """Model files of entities the request names, most specific entity first, with the
    number of words the entity's name has."""
    out: dict[str, int] = {}
    for m in index.models(repo):
        name = {singular(w) for w in split_words(m.name)}
        table = {singular(w) for w in split_words(m.table)} if m.table else set()
        size = max(len(name) if name <= words else 0, len(table) if table and
                   table <= words else 0)
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
UI_FILE = re.compile(r"\.(html?|jinja2?|j2|vue|svelte|hbs|handlebars|ejs|njk|tsx|jsx)$|"
                     r"(^|/)(templates|pages|views|components|screens)/")
_GENERIC_UI = frozenset({"template", "page", "view", "component", "screen", "src", "app",
                         "index", "layout", "base", "html", "tsx", "jsx", "vue", "lib",
                         "project", "file", "package", "module", "the"})


def page_files(index: RepoIndex, repo: str, text: str) -> list[tuple[str, float]]:
    """Templates and components for "the X page / form / dialog" of the request: the
    UI files whose path carries the most words of X (and few others), with how well
    (0, 1]."""
    out: dict[str, float] = {}
    for m in _PAGE.finditer(text):
        name = {singular(w) for w in split_words(m.group(1))} - STOP - _NOT_NAMES
        if not name:
            continue
        specific = 1.0 + 0.25 * (len(name) - 1)
        for p in index.files_named(repo, sorted(name)):
            if not UI_FILE.search(p):
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


_NEW_DEPENDENCY = re.compile(r"\b(librar(?:y|ies)|packages?|dependenc(?:y|ies)|sdk|install|"
                             r"npm|pip|pypi|upgrade|bump)\b", re.I)
MANIFESTS = frozenset({"package.json", "pyproject.toml", "setup.py", "setup.cfg",
                       "requirements.txt", "Pipfile", "go.mod", "Cargo.toml", "Gemfile",
                       "composer.json", "pom.xml", "build.gradle"})


def implies_dependency(text: str) -> bool:
    """Does the request bring in or upgrade a dependency?"""
    return _NEW_DEPENDENCY.search(text) is not None


def manifests(files: list[str], near: list[str]) -> list[str]:
    """The package manifest closest to the best-ranked files ``near`` (one at most)."""
    found = [p for p in files if PurePosixPath(p).name in MANIFESTS]

    def distance(manifest: str) -> int:
        home = str(PurePosixPath(manifest).parent)
        shared = [n for n in near if home == "." or n.startswith(home + "/")]
        return (0 if shared else 100) + manifest.count("/")

    return sorted(found, key=lambda p: (distance(p), p))[:1]
