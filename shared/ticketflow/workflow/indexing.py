"""Repositories for tickets: registration, the durable indexing task, readiness.

A person names a repository by git URL (and an optional ref); the registration is
theirs alone (:func:`repo_id_for` hashes the owner in). Asking for an index
(:meth:`Indexer.request`: a ticket starting, the page's "register" or "re-index",
``ticketflow index``) lists the remote's refs once to resolve the ref to a commit and
names the index of that commit (:func:`index_id_for`), so every ticket on the same
repository and commit shares one index. A new index is enqueued as an
``index_repository`` task; the task (:meth:`Indexer.run`), delivered at least once:

1. returns at once when the index is finished or the task is of an older epoch;
2. waits out its backoff, fails the index past its deadline or after
   ``max_attempts`` claims, and otherwise claims it (a lease with expiry, taken over
   at once from a dead process on this host);
3. fetches the commit shallowly into a temporary directory (removed afterwards,
   and swept if a killed process left it), refuses more than ``max_files`` files or
   ``max_bytes`` bytes, and builds the index incrementally from the owner's latest
   ready index of the same URL (any ref), renewing its lease as it goes;
4. records the outcome: ``ready`` with the build's stats, or ``failed`` with a
   message a person can act on (terminal errors), or gives the lease back with a
   backoff and raises (retryable errors: the queue retries).

:meth:`Indexer.sweep` re-enqueues indexes whose task was lost or whose builder died
(under a new epoch) and fails those past their deadline, so no index is left
``indexing``. A local directory (embedded only) is indexed in place from its work
tree, uncommitted changes included.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from ticketflow.domain import NotFoundError, RepoContext
from ticketflow.domain.errors import RetryableError, TerminalError
from ticketflow.ports import Clock
from ticketflow.ports.leases import lease_holder_dead, new_lease_id
from ticketflow.ports.repositories import (
    IndexBuilder,
    IndexQueue,
    IndexRecord,
    IndexStats,
    IndexTask,
    RepositoryRecord,
    RepositoryStore,
    RepositoryView,
    context_state,
)
from ticketflow.repo_index.fetch import (
    NO_CREDENTIALS,
    GitCredentials,
    RepoLocation,
    RepoRejectedError,
    RepoTooLargeError,
    RepoUnreachableError,
    fetch_commit,
    parse_location,
    resolve,
)
from ticketflow.repo_index.walker import walk

log = logging.getLogger("ticketflow.indexing")

TEMP_PREFIX = "ticketflow-index-"
IndexOutcome = Literal["ready", "failed", "finished", "stale", "unknown", "lost"]
FaultHook = Callable[[str, int], None]


def _digest(*parts: str, n: int = 24) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:n]


def repo_id_for(owner_id: str, url: str, ref: str | None) -> str:
    """One registration per owner, URL and ref."""
    return "repo-" + _digest(owner_id, url, ref or "", n=20)


def index_id_for(repo_id: str, commit: str | None, *, ref: str | None = None) -> str:
    """The index of ``commit`` of a registration; ``commit`` ``None``: the work tree
    (a local directory) or, with ``ref``, a ref not resolved yet."""
    if commit is not None:
        return "ix-" + _digest(repo_id, commit)
    return "ix-" + _digest(repo_id, "@" + (ref or "worktree"))


@dataclass(frozen=True)
class IndexerConfig:
    """Bounds and policies of indexing (from ``Settings``; see ``settings.py``)."""

    schemes: frozenset[str] = frozenset({"https", "http", "file"})
    allow_local: bool = False
    credentials: GitCredentials = NO_CREDENTIALS
    max_files: int = 50_000
    max_bytes: int = 500_000_000
    deadline_s: float = 1500.0
    max_attempts: int = 5
    lease_s: float = 60.0
    resolve_timeout_s: float = 20.0
    fetch_timeout_s: float = 120.0
    keep: int = 3
    backoff_s: float = 2.0
    max_backoff_s: float = 300.0
    progress_every_s: float = 1.0
    workdir: Path | None = None


class LeaseLostError(Exception):
    """Another worker took the index over (our lease expired): stop building."""


@dataclass
class Indexer:
    """Registration, the index task, and readiness (see the module doc)."""

    store: RepositoryStore
    builder: IndexBuilder
    queue: IndexQueue
    clock: Clock
    config: IndexerConfig = field(default_factory=IndexerConfig)
    view: RepositoryView | None = None
    faults: FaultHook | None = None

    # -- registration -------------------------------------------------------------------------

    def location(self, url: str) -> RepoLocation:
        return parse_location(url, schemes=self.config.schemes,
                              allow_local=self.config.allow_local)

    def register(self, owner_id: str, url: str, ref: str | None = None) -> RepositoryRecord:
        """Register ``url`` (validated, canonical) at ``ref`` for ``owner_id``;
        idempotent. Raises ``RepoRejectedError`` for a URL that cannot be used here."""
        loc = self.location(url)
        ref = (ref or "").strip() or None
        if loc.kind == "path":
            ref = None
        now = self.clock.now()
        return self.store.register(RepositoryRecord(
            repo_id=repo_id_for(owner_id, loc.url, ref), owner_id=owner_id, url=loc.url,
            ref=ref, kind=loc.kind, created_at=now, updated_at=now))

    def repository_for(self, owner_id: str, repo_id: str) -> RepositoryRecord:
        """``owner_id``'s registration ``repo_id``; another user's is refused exactly
        like a missing one is not (``PermissionError``), so ids can be told apart only
        by their owner."""
        repo = self.store.get_repository(repo_id)
        if repo is None:
            raise NotFoundError(f"no repository {repo_id}")
        if repo.owner_id != owner_id:
            raise PermissionError(f"repository {repo_id} is registered by another user")
        return repo

    def index_for(self, owner_id: str, index_id: str) -> IndexRecord | None:
        """The index ``index_id`` when ``owner_id`` may read it, else ``None``."""
        rec = self.store.get_index(index_id)
        return rec if rec is not None and rec.owner_id == owner_id else None

    def add(self, owner_id: str, url: str, ref: str | None = None, *,
            refresh: bool = False) -> tuple[RepositoryRecord, IndexRecord]:
        """Register ``url`` at ``ref`` for ``owner_id`` and request its index, refusing
        (``RepoRejectedError``, nothing stored) a repository that cannot be indexed as
        named: a misspelt URL, a server path that is not a git repository, an unknown
        ref, access refused. A server that cannot be reached is not refused: its index
        is queued and the task retries (the page shows why it is waiting)."""
        loc = self.location(url)
        resolved = self._resolve(loc.url, ref) if loc.kind == "git" else None
        if resolved is not None and isinstance(resolved[1], RepoRejectedError):
            raise resolved[1]
        repo = self.register(owner_id, url, ref)
        return repo, self.request(repo, refresh=refresh, resolved=resolved)

    def _resolve(self, url: str, ref: str | None,
                 ) -> tuple[str | None, RepoRejectedError | RepoUnreachableError | None]:
        try:
            return resolve(self.location(url), (ref or "").strip() or None,
                           credentials=self.config.credentials,
                           timeout_s=self.config.resolve_timeout_s).commit, None
        except (RepoRejectedError, RepoUnreachableError) as exc:
            return None, exc

    def request(self, repo: RepositoryRecord, *, refresh: bool = False,
                resolved: tuple[str | None, Exception | None] | None = None) -> IndexRecord:
        """Resolve the registration's ref and make sure the index of that commit exists
        or is on its way (see the module doc); returns the index record. ``refresh``
        re-indexes a local directory's work tree even when its index is ready (a git
        commit never changes, so it does not apply there). ``resolved`` is the ref's
        resolution when the caller has just made it (one round trip, not two)."""
        now = self.clock.now()
        commit: str | None = None
        rejected: RepoRejectedError | None = None
        note: str | None = None
        if repo.kind == "git":
            commit, error = resolved or self._resolve(repo.url, repo.ref)
            if isinstance(error, RepoRejectedError):
                rejected = error
            elif error is not None:  # unreachable: the task retries with backoff
                note = str(error)
        index_id = index_id_for(repo.repo_id, commit, ref=repo.ref if repo.kind == "git"
                                else None)
        record = IndexRecord(
            index_id=index_id, repo_id=repo.repo_id, owner_id=repo.owner_id, url=repo.url,
            ref=repo.ref, commit=commit, deadline_at=now + timedelta(
                seconds=self.config.deadline_s), last_error=note, created_at=now,
            updated_at=now)
        stored, enqueue = self.store.request_index(record,
                                                   refresh=refresh and repo.kind == "path")
        if rejected is not None:
            self.store.finish(index_id, None, now, error=str(rejected))
            stored = self._get(index_id)
        elif enqueue:
            self._enqueue(IndexTask(index_id=index_id, epoch=stored.epoch))
        log.info("index requested", extra={"repo_id": repo.repo_id, "index_id": index_id,
                                           "commit": commit, "state": stored.state})
        self._project(repo, stored)
        return stored

    def attach(self, owner_id: str, url: str | None, ref: str | None = None, *,
               repo_id: str | None = None) -> RepoContext:
        """The repository context of a ticket starting: ``repo_id`` must be the
        owner's; a URL is registered for the owner. The index is requested (and
        shared with every ticket on the same commit)."""
        if repo_id:
            repo = self.repository_for(owner_id, repo_id)
        elif url:
            repo = self.register(owner_id, url, ref)
        else:
            raise ValueError("attach needs a repository URL or id")
        return context_of(repo, self.request(repo))

    # -- the task ---------------------------------------------------------------------------

    def run(self, task: IndexTask) -> IndexOutcome:
        """One delivery of an index task (see the module doc). Raises
        ``RetryableError`` when the queue should deliver it again later."""
        self._sweep_temp()
        rec = self.store.get_index(task.index_id)
        if rec is None:
            log.warning("index task for an unknown index", extra={"index_id": task.index_id})
            return "unknown"
        if rec.finished:
            return "finished"
        if task.epoch < rec.epoch:
            return "stale"
        now = self.clock.now()
        if now > rec.deadline_at:
            return self._fail(rec, None, f"indexing did not finish within "
                              f"{self.config.deadline_s:.0f}s ({rec.attempts} attempt(s)"
                              + (f"; last error: {rec.last_error}" if rec.last_error else "")
                              + ")")
        if rec.not_before is not None and now < rec.not_before:
            raise RetryableError(f"index {rec.index_id} backs off until {rec.not_before}",
                                 code="index_backoff", retry_after_s=(
                                     rec.not_before - now).total_seconds())
        lease = new_lease_id()
        until = now + timedelta(seconds=self.config.lease_s)
        claimed = self.store.claim(rec.index_id, lease, until, now)
        if claimed is None and lease_holder_dead(rec.lease_id):
            claimed = self.store.claim(rec.index_id, lease, until, now,
                                       steal_from=rec.lease_id)
        if claimed is None:
            again = self.store.get_index(rec.index_id)
            if again is None or again.finished:
                return "finished"
            raise RetryableError(f"index {rec.index_id} is being built by another worker",
                                 code="index_busy", retry_after_s=self.config.lease_s / 2)
        if claimed.attempts > self.config.max_attempts:
            return self._fail(claimed, lease, f"gave up after {self.config.max_attempts} "
                              f"attempts; last error: {claimed.last_error or 'interrupted'}")
        self._project_index(claimed)
        try:
            stats = self._build(claimed, lease)
        except LeaseLostError:
            log.warning("index lease lost", extra={"index_id": rec.index_id})
            return "lost"
        except TerminalError as exc:
            return self._fail(claimed, lease, str(exc))
        except Exception as exc:  # retryable, named or not: back off and let the queue retry
            return self._retry(claimed, lease, exc)
        if not self.store.finish(claimed.index_id, lease, self.clock.now(), stats=stats):
            log.warning("index lease lost before it was marked ready",
                        extra={"index_id": rec.index_id})
            return "lost"
        for old in self.store.drop_old(claimed.repo_id, self.config.keep):
            self.builder.drop(old)
        done = self._get(claimed.index_id)
        log.info("index ready", extra={"index_id": done.index_id, "commit": done.commit,
                                       **stats.model_dump(exclude={"skipped"})})
        self._project_index(done)
        return "ready"

    def _build(self, rec: IndexRecord, lease: str) -> IndexStats:
        repo = self.store.get_repository(rec.repo_id)
        if repo is None:
            raise TerminalError(f"repository {rec.repo_id} is no longer registered")
        loc = parse_location(rec.url, schemes=self.config.schemes,
                             allow_local=self.config.allow_local and repo.kind == "path")
        remaining = (rec.deadline_at - self.clock.now()).total_seconds()
        deadline = time.monotonic() + max(remaining, 1.0)
        beat = self._heartbeat(rec, lease, deadline)
        if loc.kind == "path":
            walked = list(walk(loc.local_path))
            self._check_count(rec.url, len(walked))
            return self.builder.build(rec.index_id, walked, total=len(walked),
                                      max_bytes=self.config.max_bytes, heartbeat=beat)
        creds = self.config.credentials
        commit = rec.commit or resolve(loc, rec.ref, credentials=creds,
                                       timeout_s=self.config.resolve_timeout_s).commit
        base = self.store.latest_ready(rec.owner_id, rec.url, exclude=rec.index_id)
        if not self.store.set_commit(rec.index_id, lease, commit,
                                     base.index_id if base else None):
            raise LeaseLostError(rec.index_id)
        root = self.config.workdir or Path(tempfile.gettempdir())
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-",
                                         dir=root) as tmp:
            t0 = time.perf_counter()
            tree = fetch_commit(loc, commit, Path(tmp) / "repo.git", credentials=creds,
                                timeout_s=self.config.fetch_timeout_s,
                                max_bytes=self.config.max_bytes, deadline=deadline)
            fetch_s = time.perf_counter() - t0
            files = tree.files()
            self._check_count(rec.url, len(files))
            self._fault("index_fetched", len(files))
            stats = self.builder.build(rec.index_id, files, total=len(files),
                                       base=base.index_id if base else None,
                                       max_bytes=self.config.max_bytes, heartbeat=beat)
            return stats.model_copy(update={"pack_bytes": tree.pack_bytes,
                                            "fetch_s": round(fetch_s, 3),
                                            "skipped": tree.skipped})

    def _check_count(self, url: str, count: int) -> None:
        if count > self.config.max_files:
            raise RepoTooLargeError(
                f"{url} is too large to index: {count:,} files, more than the limit of "
                f"{self.config.max_files:,} (TICKETFLOW_INDEX_MAX_FILES)")

    def _heartbeat(self, rec: IndexRecord, lease: str,
                   deadline: float) -> Callable[[int, int], None]:
        renew_every = max(self.config.lease_s / 4, 0.05)
        last_renew = last_show = time.monotonic()

        def beat(done: int, total: int) -> None:
            nonlocal last_renew, last_show
            self._fault("index_file", done)
            now_m = time.monotonic()
            if now_m > deadline:
                raise TerminalError(f"indexing did not finish within "
                                    f"{self.config.deadline_s:.0f}s", code="index_deadline")
            if now_m - last_renew >= renew_every:
                now = self.clock.now()
                until = now + timedelta(seconds=self.config.lease_s)
                if not self.store.heartbeat(rec.index_id, lease, until, now):
                    raise LeaseLostError(rec.index_id)
                last_renew = now_m
            if self.view is not None and now_m - last_show >= self.config.progress_every_s:
                last_show = now_m
                with contextlib.suppress(Exception):  # progress for people; never fatal
                    self._project_index(self._get(rec.index_id))

        return beat

    def _retry(self, rec: IndexRecord, lease: str, exc: Exception) -> IndexOutcome:
        message = str(exc) if isinstance(exc, RetryableError) else f"{type(exc).__name__}: {exc}"
        message = self.config.credentials.scrub(message)
        delay = min(self.config.backoff_s * 2 ** max(rec.attempts - 1, 0),
                    self.config.max_backoff_s)
        now = self.clock.now()
        self.store.release(rec.index_id, lease, now, error=message,
                           not_before=now + timedelta(seconds=delay))
        log.warning("index attempt failed; will retry", extra={
            "index_id": rec.index_id, "attempt": rec.attempts, "error": message,
            "retry_after_s": delay})
        self._project_index(self._get(rec.index_id))
        raise RetryableError(message, code=getattr(exc, "code", "index_retry"),
                             retry_after_s=delay) from exc

    def _fail(self, rec: IndexRecord, lease: str | None, message: str) -> IndexOutcome:
        message = self.config.credentials.scrub(message)
        self.store.finish(rec.index_id, lease, self.clock.now(), error=message)
        log.warning("index failed", extra={"index_id": rec.index_id, "error": message})
        self._project_index(self._get(rec.index_id))
        return "failed"

    # -- repairs ------------------------------------------------------------------------------

    def sweep(self, *, quiet_s: float | None = None) -> int:
        """Re-enqueue indexes left pending or indexing with no live lease (a lost task,
        a killed builder), or fail them past their deadline. Returns how many."""
        now = self.clock.now()
        quiet = self.config.lease_s if quiet_s is None else quiet_s
        n = 0
        for rec in self.store.stalled(now, now - timedelta(seconds=quiet)):
            if now > rec.deadline_at:
                self._fail(rec, None, f"indexing did not finish within "
                           f"{self.config.deadline_s:.0f}s (interrupted)")
            else:
                task = self.store.redispatch(rec.index_id, rec.epoch, now)
                if task is not None:
                    self._enqueue(task)
            n += 1
        self._sweep_temp()
        return n

    def _sweep_temp(self) -> None:
        """Remove work directories that a killed process (on this host) left behind."""
        root = self.config.workdir or Path(tempfile.gettempdir())
        with contextlib.suppress(OSError):
            for entry in root.glob(f"{TEMP_PREFIX}*"):
                pid = entry.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------

    def _get(self, index_id: str) -> IndexRecord:
        rec = self.store.get_index(index_id)
        if rec is None:
            raise NotFoundError(f"no index {index_id}")
        return rec

    def _enqueue(self, task: IndexTask) -> None:
        try:
            self.queue.enqueue(task)
        except RetryableError as exc:  # the sweeper enqueues it again later
            log.warning("index task not enqueued", extra={"task": task.name,
                                                          "error": str(exc)})

    def _fault(self, point: str, n: int) -> None:
        if self.faults is not None:
            self.faults(point, n)

    def _project(self, repo: RepositoryRecord, index: IndexRecord | None) -> None:
        if self.view is None:
            return
        try:
            self.view.project(repo, index)
        except Exception:  # the page catches up at the next change; never fatal
            log.exception("repository projection failed", extra={"repo_id": repo.repo_id})

    def _project_index(self, index: IndexRecord) -> None:
        if self.view is None:
            return
        repo = self.store.get_repository(index.repo_id)
        if repo is not None and repo.latest_index_id in (None, index.index_id):
            self._project(repo, index)


def context_of(repo: RepositoryRecord, index: IndexRecord) -> RepoContext:
    """What a ticket records about its repository when its run starts."""
    st = index.status
    return RepoContext(url=repo.url, ref=repo.ref, repo_id=repo.repo_id, commit=index.commit,
                       index_id=index.index_id, status=context_state(st),
                       files_done=st.files_done, files_total=st.files_total,
                       error=st.error or (index.last_error if st.state != "ready" else None))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

