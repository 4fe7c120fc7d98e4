"""The repository index port: what exists in a repository (files, symbols, routes,
settings, text shown to people), how its files hang together (imports, mounted
routers, rendered templates and components, models), readiness, and relevance
search. Steps 3, 5, 6 and 7 read it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import Field

from ticketflow.domain.models import Model

IndexState = Literal["none", "pending", "indexing", "ready", "failed"]
RefKind = Literal["file", "symbol", "route", "setting", "ui_text"]


class IndexStatus(Model):
    """Readiness of one repository's index, with progress while it is being built."""

    state: IndexState
    files_total: int = 0
    files_done: int = 0
    error: str | None = None
    updated_at: datetime | None = None


class FileHit(Model):
    """A file ranked for a query (repo-relative path, higher score first)."""

    path: str
    score: float
    snippet: str = ""
    language: str | None = None


class Lookup(Model):
    """Whether a named file / symbol / route / setting / piece of UI text exists, where
    (``matches``: locations or the matching declarations; ``files``: the files that
    define, declare or show it), and the closest real name when it does not."""

    kind: RefKind
    name: str
    found: bool
    matches: list[str] = Field(default_factory=list)
    closest: str | None = None
    files: list[str] = Field(default_factory=list)


class Edge(Model):
    """``src`` imports / mounts / renders ``dst``, or routes requests to a handler in it
    (repo-relative paths)."""

    src: str
    dst: str
    kind: Literal["import", "mounts", "renders", "routes"]
    #: of a ``renders`` edge: the views in ``src`` that render ``dst`` (function or class
    #: names, space-separated; "" when unknown)
    via: str = ""


class ModelRef(Model):
    """A model or schema the repository defines (SQLAlchemy, Django, Prisma, TypeORM,
    Drizzle, pydantic), with its table when known."""

    name: str
    table: str = ""
    path: str


class ApiEndpoint(Model):
    """An HTTP operation declared in the repository (route table or OpenAPI file)."""

    method: str
    path: str
    source: str
    summary: str = ""


class RepoIndex(Protocol):
    def status(self, repo: str) -> IndexStatus:
        """Readiness of ``repo``'s index (``none`` if never indexed)."""
        ...

    def search(self, repo: str, query: str, limit: int = 5, *,
               with_snippets: bool = True) -> list[FileHit]:
        """Files ranked by relevance to ``query``; repo-relative paths (``snippet``
        left empty without ``with_snippets``)."""
        ...

    def snippets(self, repo: str, query: str, paths: list[str]) -> dict[str, str]:
        """A short piece of each of ``paths`` around its first word of ``query``."""
        ...

    def files_named(self, repo: str, words: list[str]) -> list[str]:
        """Files whose path (directories or file name) carries any of ``words``."""
        ...

    def lookup(self, repo: str, kind: RefKind, name: str) -> Lookup:
        """Does a file / symbol / route / setting called ``name`` exist (or, for
        ``ui_text``, does any template or component show that text)?"""
        ...

    def neighbours(self, repo: str, paths: list[str]) -> list[Edge]:
        """Import, mount and render edges with one end in ``paths``."""
        ...

    def models(self, repo: str) -> list[ModelRef]:
        """Models and schemas defined in the repository."""
        ...

    def mentions(self, repo: str, name: str, limit: int = 10, *,
                 code_only: bool = False) -> list[str]:
        """Files whose text contains ``name`` as a whole word (used, if not defined:
        a dictionary key, a column, an environment variable read by a framework);
        ``code_only`` leaves out tests, docs, changelogs, translations and the like."""
        ...

    def path_literals(self, repo: str, word: str, limit: int = 40) -> list[tuple[str, str]]:
        """Quoted strings with a ``/`` and ``word`` as one of their path segments, in
        the code files whose text has ``word``, each with its file: route paths however
        the code declares them (a route table, a registration helper)."""
        ...

    def files(self, repo: str) -> list[str]:
        """Every indexed file of ``repo`` (repo-relative paths)."""
        ...

    def files_under(self, repo: str, directory: str, limit: int = 500) -> list[str]:
        """Files below ``directory`` (repo-relative), in path order."""
        ...

    def settings_files(self, repo: str) -> list[str]:
        """Files that declare the most settings (configuration modules, ``.env``
        examples), most first."""
        ...

    def endpoints(self, repo: str) -> list[ApiEndpoint]:
        """HTTP routes and OpenAPI operations found in the repository."""
        ...

    def path_exists(self, repo: str, path: str) -> bool:
        """Whether ``path`` (repo-relative) is an indexed file of ``repo``."""
        ...
