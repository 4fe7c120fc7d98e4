"""Composition root of the embedded default: one libSQL file holds the runs, the
tickets, the task queues and the repository index; in-process worker pools run the
steps and the index tasks. The cloud functions build the same engine from other
adapters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.documents import LibsqlDocumentStore
from ticketflow.adapters.libsql.metrics import ensure_schema as ensure_metrics_schema
from ticketflow.adapters.libsql.queue import LibsqlTaskQueue, LocalWorkerPool
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.adapters.libsql.repositories import LibsqlIndexQueue, LibsqlRepositoryStore
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.compose.llm import build_fallback, build_llm, db_url_with_path
from ticketflow.compose.repositories import build_repositories
from ticketflow.ports import Clock, LanguageModel, StepTask
from ticketflow.ports.repositories import IndexRecord
from ticketflow.settings import Settings
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.indexing import Indexer
from ticketflow.workflow.runtime import Engine, FaultHook, StepResult


@dataclass
class EmbeddedApp:
    settings: Settings
    db: Database
    runs: LibsqlRunStore
    documents: LibsqlDocumentStore
    queue: LibsqlTaskQueue
    index: LibsqlRepoIndex
    llm: LanguageModel
    engine: Engine
    repositories: LibsqlRepositoryStore
    indexer: Indexer
    index_queue: LibsqlTaskQueue

    def worker_pool(self, workers: int | None = None, *,
                    handler: Callable[[StepTask], object] | None = None) -> LocalWorkerPool:
        """The in-process workers. While they run, the engine hands them the tasks it
        dispatches directly, and each worker runs a run's next step itself after a
        commit (``run_step(task, chain=True)``); the queue carries retries, delays and
        whatever another process enqueues. ``handler`` replaces that call
        (benchmarks observe results with it)."""
        s = self.settings
        pool = LocalWorkerPool(
            self.queue, handler or self.run_chained, workers=workers or s.workers,
            visibility_s=(s.step_timeout_s or 180.0) + s.lease_grace_s, poll_s=s.poll_s,
            on_idle=self.engine.sweep, idle_every_s=s.sweep_interval_s,
        )

        def started() -> None:
            self.engine.handoff = pool.offer
            self.engine.sweep(grace_s=0.0)

        def stopped() -> None:
            if self.engine.handoff == pool.offer:
                self.engine.handoff = None

        pool.on_start, pool.on_stop = started, stopped
        return pool

    def run_chained(self, task: StepTask) -> StepResult:
        """What an embedded worker does with a task: the step, and the run's next
        steps after it (see ``Engine.run_step``)."""
        return self.engine.run_step(task, chain=True)

    def index_pool(self) -> LocalWorkerPool:
        """One worker delivering index tasks (the local ``index_repository``)."""
        s = self.settings

        def deliver(task: StepTask) -> object:
            return self.indexer.run(LibsqlIndexQueue.as_index(task))

        return LocalWorkerPool(
            self.index_queue, deliver, workers=1,
            visibility_s=s.index_deadline_s + s.index_lease_s, poll_s=s.poll_s,
            on_idle=self.indexer.sweep, idle_every_s=s.sweep_interval_s)

    def index_repository(self, url: str, ref: str | None = None, *, owner: str = "local",
                         on_progress: Callable[[IndexRecord], None] | None = None,
                         timeout_s: float | None = None) -> IndexRecord:
        """Register ``url`` for ``owner``, request its index and run the index queue
        until that index is ready or failed (``ticketflow index``; a local directory's
        work tree is indexed again, incrementally). Raises ``RepoRejectedError``
        (nothing registered) for a repository that cannot be indexed as named."""
        _, rec = self.indexer.add(owner, url, ref, refresh=True)
        deadline = time.monotonic() + (timeout_s or self.settings.index_deadline_s + 60)
        with self.index_pool():
            while True:
                current = self.repositories.get_index(rec.index_id)
                assert current is not None
                if on_progress is not None:
                    on_progress(current)
                if current.finished:
                    return current
                if time.monotonic() > deadline:
                    raise TimeoutError(f"index {rec.index_id} of {url} did not finish")
                time.sleep(min(self.settings.poll_s, 0.2))

    def close(self) -> None:
        self.engine.close()
        self.db.close()


def open_embedded(settings: Settings | None = None, *, llm: LanguageModel | None = None,
                  clock: Clock | None = None, faults: FaultHook | None = None,
                  read_only: bool = False) -> EmbeddedApp:
    """Open (creating if needed) the database ``settings.db_url`` names and build the
    engine on it. ``read_only`` opens an existing file without writing to it (for
    commands that only read). ``faults`` is the crash tests' hook (``None`` in real
    use). If anything fails, what was opened is closed before the error is raised
    (a libSQL client left open keeps a thread, and the process, alive)."""
    s = settings or Settings()
    clock = clock or SystemClock()
    url = s.db_url if read_only else db_url_with_path(s)
    db = Database(url, auth_token=s.db_auth_token, driver=s.db_driver, read_only=read_only)
    try:
        runs = LibsqlRunStore(db)
        documents = LibsqlDocumentStore(db, clock)
        queue = LibsqlTaskQueue(db, clock=clock, max_deliveries=s.max_deliveries)
        index_queue = LibsqlTaskQueue(db, queue="index", clock=clock,
                                      max_deliveries=s.max_deliveries)
        repos = build_repositories(db, s, clock, LibsqlIndexQueue(index_queue),
                                   allow_local=True, faults=faults, create=not read_only)
        if not read_only:
            ensure_metrics_schema(db)
        model = llm or build_llm(s)
    except BaseException:
        db.close()
        raise
    deps = StepDeps(llm=model, documents=documents, clock=clock, index=repos.index,
                    index_wait_s=s.index_wait_s, repositories=repos.store,
                    fallback=build_fallback(s, model))
    engine = Engine(runs=runs, documents=documents, queue=queue, deps=deps, settings=s,
                    faults=faults, indexer=repos.indexer)
    return EmbeddedApp(s, db, runs, documents, queue, repos.index, model, engine, repos.store,
                       repos.indexer, index_queue)
