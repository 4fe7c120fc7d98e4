"""The repositories port: who registered which repository, the indexes built of it
(one per commit), the durable indexing task, and the view people watch.

A repository registration belongs to one user (``owner_id``): two users naming the
same URL get two registrations and two indexes, so one user's index is never read
for another. An index is keyed by ``index_id`` (one commit of one registration, or
the work tree of a local directory); its state and progress are the repository
index's own status (:meth:`RepoIndex.status` of the same id), so there is one source
of truth for "ready".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Literal, Protocol

from pydantic import Field

from ticketflow.domain.models import Model, RepoState
from ticketflow.ports.repo_index import IndexState, IndexStatus

RepoKind = Literal["git", "path"]
_STATE: dict[str, RepoState] = {"none": "none", "pending": "queued", "indexing": "indexing",
                                "ready": "ready", "failed": "failed"}


def context_state(status: IndexStatus) -> RepoState:
    """The ticket's word for an index state (``pending`` is shown as ``queued``)."""
    return _STATE[status.state]


class RepositoryRecord(Model):
    """A user's registration of a repository: a git URL (or, embedded, a local
    directory) and the ref to follow (``None``: the remote's default branch)."""

    repo_id: str
    owner_id: str
    url: str
    ref: str | None = None
    kind: RepoKind = "git"
    latest_index_id: str | None = None
    created_at: datetime
    updated_at: datetime


class IndexStats(Model):
    """What one build did: files extracted anew, copied unchanged from the previous
    index of the repository (or kept in place), removed; bytes read; pack size."""

    extracted: int = 0
    copied: int = 0
    kept: int = 0
    removed: int = 0
    bytes_read: int = 0
    pack_bytes: int = 0
    fetch_s: float = 0.0
    build_s: float = 0.0
    skipped: dict[str, int] = Field(default_factory=dict)


class IndexRecord(Model):
    """One index: of ``commit`` (``None`` until resolved, and for a local directory)
    of a registration, with the bookkeeping of its durable task (epoch, attempts,
    lease, backoff, deadline). ``status`` is the repository index's status of the
    same id (state, progress, error)."""

    index_id: str
    repo_id: str
    owner_id: str
    url: str
    ref: str | None = None
    commit: str | None = None
    base_index_id: str | None = None
    epoch: int = 0
    attempts: int = 0
    lease_id: str | None = None
    lease_until: datetime | None = None
    not_before: datetime | None = None
    deadline_at: datetime
    last_error: str | None = None
    stats: IndexStats = Field(default_factory=IndexStats)
    seq: int = 0
    status: IndexStatus = Field(default_factory=lambda: IndexStatus(state="pending"))
    created_at: datetime
    updated_at: datetime

    @property
    def state(self) -> IndexState:
        return self.status.state

    @property
    def finished(self) -> bool:
        return self.status.state in ("ready", "failed")


class IndexView(Model):
    """The latest index of a registration, as the page shows it."""

    index_id: str
    commit: str | None = None
    state: RepoState
    files_done: int = 0
    files_total: int = 0
    error: str | None = None
    last_error: str | None = Field(None, description="while retrying: why the last "
                                   "attempt failed")
    attempts: int = 0
    updated_at: datetime | None = None
    stats: IndexStats = Field(default_factory=IndexStats)


class RepositoryDoc(Model):
    """``repositories/{repoId}``: a registration and its latest index, written by the
    server only, read by its owner's page (live)."""

    repo_id: str
    owner_id: str
    url: str
    ref: str | None = None
    kind: RepoKind = "git"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    seq: int = 0
    index: IndexView | None = None

    @classmethod
    def of(cls, repo: RepositoryRecord, index: IndexRecord | None) -> RepositoryDoc:
        view = None
        updated = repo.updated_at
        if index is not None:
            st = index.status
            updated = max(repo.updated_at, index.updated_at)
            view = IndexView(
                index_id=index.index_id, commit=index.commit, state=context_state(st),
                files_done=st.files_done, files_total=st.files_total, error=st.error,
                last_error=index.last_error if st.state != "ready" else None,
                attempts=index.attempts, updated_at=st.updated_at or index.updated_at,
                stats=index.stats.model_copy(update={"skipped": {}}))
        return cls(repo_id=repo.repo_id, owner_id=repo.owner_id, url=repo.url, ref=repo.ref,
                   kind=repo.kind, created_at=repo.created_at, updated_at=updated,
                   seq=index.seq if index else 0, index=view)


class IndexTask(Model):
    """One delivery of ``index_repository``; the name is deterministic per epoch."""

    index_id: str
    epoch: int = Field(default=0, ge=0)

    @property
    def name(self) -> str:
        return f"index-{self.index_id}-{self.epoch}"


class RepositoryStore(Protocol):
    """Registrations and index records (libSQL). Every state change of an index is
    one conditional statement, so two deliveries of its task cannot both build it."""

    def register(self, record: RepositoryRecord) -> RepositoryRecord:
        """Insert ``record`` unless the owner already registered that URL and ref;
        returns the stored registration either way."""
        ...

    def get_repository(self, repo_id: str) -> RepositoryRecord | None: ...

    def repositories(self, owner_id: str, limit: int = 100) -> list[RepositoryRecord]:
        """The owner's registrations, newest first."""
        ...

    def request_index(self, record: IndexRecord, *,
                      refresh: bool = False) -> tuple[IndexRecord, bool]:
        """Make ``record`` the registration's latest index: insert it as ``pending``,
        or, when that index exists and failed (or is ready and ``refresh``: a work
        tree that changes without commits), queue it again under a new epoch
        (attempts and deadline reset). Returns the stored record and whether a task
        must be enqueued (``False`` while it is queued, running or ready)."""
        ...

    def get_index(self, index_id: str) -> IndexRecord | None: ...

    def latest_ready(self, owner_id: str, url: str, *,
                     exclude: str | None = None) -> IndexRecord | None:
        """The newest ``ready`` index of ``url`` among ``owner_id``'s registrations
        (any ref: the base of an incremental build), other than ``exclude``."""
        ...

    def claim(self, index_id: str, lease_id: str, until: datetime, now: datetime, *,
              steal_from: str | None = None) -> IndexRecord | None:
        """Take the index's lease when it is pending or indexing and nobody holds a
        live lease (or the holder is ``steal_from``); counts an attempt. ``None`` when
        not claimed."""
        ...

    def heartbeat(self, index_id: str, lease_id: str, until: datetime, now: datetime) -> bool:
        """Extend our lease (bumps ``seq``); ``False`` when we no longer hold it."""
        ...

    def set_commit(self, index_id: str, lease_id: str, commit: str,
                   base_index_id: str | None) -> bool: ...

    def release(self, index_id: str, lease_id: str, now: datetime, *, error: str,
                not_before: datetime) -> bool:
        """Give the lease back after a retryable failure; no attempt before
        ``not_before`` (backoff)."""
        ...

    def finish(self, index_id: str, lease_id: str | None, now: datetime, *,
               stats: IndexStats | None = None, error: str | None = None) -> bool:
        """Mark the index ``ready`` with the build's ``stats`` (``error`` ``None``), or
        ``failed`` with ``error``, together with giving the lease back: one batch,
        only while ``lease_id`` holds it. With ``lease_id`` ``None`` (the sweeper, a
        request that could not resolve its ref) only an index nobody holds a live
        lease on is failed. ``False`` when the guard refused."""
        ...

    def stalled(self, now: datetime, quiet_since: datetime) -> list[IndexRecord]:
        """Pending or indexing indexes whose lease expired (or was never taken) and
        that nothing has touched since ``quiet_since``: lost tasks and crashed builds."""
        ...

    def redispatch(self, index_id: str, epoch: int, now: datetime) -> IndexTask | None:
        """Move a stalled index to the next epoch (compare-and-set on ``epoch``);
        the task to enqueue, or ``None`` when someone else did it."""
        ...

    def drop_old(self, repo_id: str, keep: int) -> list[str]:
        """Forget all but the ``keep`` newest finished indexes of a registration
        (never its latest); returns the ids whose content the caller deletes."""
        ...


class IndexQueue(Protocol):
    """At-least-once delivery of index tasks (Cloud Tasks; libSQL embedded)."""

    def enqueue(self, task: IndexTask) -> bool:
        """Schedule ``task``; ``False`` when a task of that name exists. Raises
        ``RetryableError`` when the queue is unreachable."""
        ...


class SourceFile(Protocol):
    """A file to index: its repo-relative POSIX path and its bytes."""

    @property
    def path(self) -> str: ...

    def read(self) -> bytes: ...


Heartbeat = Callable[[int, int], None]
"""Called with ``(files_done, files_total)`` while a build runs; raises to stop it."""


class IndexBuilder(Protocol):
    """The write side of the repository index (the read side is ``RepoIndex``)."""

    def status(self, repo: str) -> IndexStatus: ...

    def build(self, key: str, files: Iterable[SourceFile], *, total: int,
              base: str | None = None, max_bytes: int | None = None,
              heartbeat: Heartbeat | None = None) -> IndexStats:
        """(Re)build index ``key`` from ``files``, leaving it complete but not yet
        ``ready`` (:meth:`RepositoryStore.finish` marks it, under the lease). A file whose
        content hash equals the one already in ``key`` is kept; equal to ``base``'s
        (the repository's previous index), copied from it; otherwise extracted.
        Files of ``key`` no longer in the source are removed. Progress is committed
        in chunks (an interrupted build resumes from them). Raises a terminal error
        once more than ``max_bytes`` have been read."""
        ...

    def mark(self, repo: str, state: IndexState, *, error: str | None = None) -> IndexStatus:
        ...

    def drop(self, key: str) -> None:
        """Delete index ``key``'s content and status."""
        ...


class RepositoryView(Protocol):
    """Where people watch a registration and its latest index (Firestore
    ``repositories/{repoId}``); embedded, the CLI reads the store instead."""

    def project(self, repo: RepositoryRecord, index: IndexRecord | None) -> None:
        """Write the registration with its latest index, ignored when ``index.seq`` is
        not newer than what is shown."""
        ...
