"""The repository index port: what exists in a repository (files, symbols, routes,
settings), readiness, and relevance search. Steps 3, 5, 6 and 7 read it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import Field

from ticketflow.domain.models import Model

IndexState = Literal["none", "pending", "indexing", "ready", "failed"]
RefKind = Literal["file", "symbol", "route", "setting"]


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
    """Whether a named file / symbol / route / setting exists, where, and the closest
    real name when it does not."""

    kind: RefKind
    name: str
    found: bool
    matches: list[str] = Field(default_factory=list)
    closest: str | None = None


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

    def search(self, repo: str, query: str, limit: int = 5) -> list[FileHit]:
        """Files ranked by relevance to ``query``; repo-relative paths."""
        ...

    def lookup(self, repo: str, kind: RefKind, name: str) -> Lookup:
        """Does a file / symbol / route / setting called ``name`` exist?"""
        ...

    def endpoints(self, repo: str) -> list[ApiEndpoint]:
        """HTTP routes and OpenAPI operations found in the repository."""
        ...

    def path_exists(self, repo: str, path: str) -> bool:
        """Whether ``path`` (repo-relative) is an indexed file of ``repo``."""
        ...
