"""Wiring of repository indexing, shared by the embedded and the cloud composition
roots: the libSQL store and builder on the run database, bounds from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.index_build import LibsqlIndexBuilder
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.adapters.libsql.repositories import LibsqlRepositoryStore
from ticketflow.ports import Clock
from ticketflow.ports.repositories import IndexQueue, RepositoryView
from ticketflow.repo_index.fetch import GitCredentials
from ticketflow.settings import Settings
from ticketflow.workflow.indexing import FaultHook, Indexer, IndexerConfig


def indexer_config(s: Settings, *, allow_local: bool) -> IndexerConfig:
    """Bounds and policies from ``TICKETFLOW_INDEX_*``, ``TICKETFLOW_REPO_URL_SCHEMES``
    and ``TICKETFLOW_GIT_CREDENTIALS``; local directories only where ``allow_local``."""
    schemes = frozenset(x.strip().lower() for x in s.repo_url_schemes.split(",") if x.strip())
    creds = GitCredentials.parse(s.git_credentials.get_secret_value()
                                 if s.git_credentials else None)
    return IndexerConfig(
        schemes=schemes, allow_local=allow_local, credentials=creds,
        max_files=s.index_max_files, max_bytes=s.index_max_bytes,
        deadline_s=s.index_deadline_s, max_attempts=s.index_max_attempts,
        lease_s=s.index_lease_s, resolve_timeout_s=s.index_resolve_timeout_s,
        fetch_timeout_s=s.index_fetch_timeout_s, keep=s.index_keep,
        backoff_s=s.index_backoff_s * s.retry_backoff_scale,
        workdir=Path(s.index_workdir) if s.index_workdir else None)


@dataclass
class Repositories:
    """What indexing is made of, on one database."""

    index: LibsqlRepoIndex
    store: LibsqlRepositoryStore
    builder: LibsqlIndexBuilder
    indexer: Indexer


def build_repositories(db: Database, s: Settings, clock: Clock, queue: IndexQueue, *,
                       allow_local: bool, view: RepositoryView | None = None,
                       faults: FaultHook | None = None,
                       index: LibsqlRepoIndex | None = None,
                       create: bool = True) -> Repositories:
    """``create`` off: a read-only database, whose tables are not created."""
    index = index or LibsqlRepoIndex(db)
    store = LibsqlRepositoryStore(db, create=create)
    builder = LibsqlIndexBuilder(index)
    indexer = Indexer(store=store, builder=builder, queue=queue, clock=clock,
                      config=indexer_config(s, allow_local=allow_local), view=view,
                      faults=faults)
    return Repositories(index, store, builder, indexer)
