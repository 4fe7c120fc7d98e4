"""Composition root of the embedded default: one libSQL file holds the runs, the
tickets, the task queue and the repository index; an in-process worker pool runs
the steps. The cloud functions build the same engine from other adapters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql_database import Database
from ticketflow.adapters.libsql_documents import LibsqlDocumentStore
from ticketflow.adapters.libsql_queue import LibsqlTaskQueue, LocalWorkerPool
from ticketflow.adapters.libsql_runs import LibsqlRunStore
from ticketflow.adapters.offline_llm import OfflineLanguageModel
from ticketflow.ports import Clock, LanguageModel
from ticketflow.repo_index.store import LibsqlRepoIndex
from ticketflow.settings import Settings
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.runtime import Engine


def build_llm(settings: Settings) -> LanguageModel:
    """Claude when a key is set (or asked for), else the labelled offline provider."""
    want = settings.llm
    if want == "offline" or (want == "auto" and not os.environ.get("ANTHROPIC_API_KEY")):
        return OfflineLanguageModel()
    from ticketflow.adapters.anthropic_llm import ClaudeLanguageModel, ClaudeSettings
    from ticketflow.metrics import LlmUsageRecorder

    # every call's tokens, cost and latency go to ``llm_calls`` in the run store's
    # database (its own connection, opened on the first call)
    recorder = LlmUsageRecorder(url=db_url_with_path(settings), auth_token=settings.db_auth_token)
    return ClaudeLanguageModel(ClaudeSettings(), on_usage=recorder)


def db_url_with_path(settings: Settings) -> str:
    url = settings.db_url
    if url.startswith("file:"):
        Path(url[5:]).parent.mkdir(parents=True, exist_ok=True)
    return url


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

    def worker_pool(self, workers: int | None = None) -> LocalWorkerPool:
        s = self.settings
        return LocalWorkerPool(
            self.queue, self.engine.run_step, workers=workers or s.workers,
            visibility_s=(s.step_timeout_s or 180.0) + s.lease_grace_s, poll_s=s.poll_s,
            on_idle=self.engine.sweep, idle_every_s=s.sweep_interval_s,
            on_start=lambda: self.engine.sweep(grace_s=0.0),
        )

    def close(self) -> None:
        self.engine.close()
        self.db.close()


def open_embedded(settings: Settings | None = None, *, llm: LanguageModel | None = None,
                  clock: Clock | None = None) -> EmbeddedApp:
    s = settings or Settings()
    clock = clock or SystemClock()
    db = Database(db_url_with_path(s), auth_token=s.db_auth_token, driver=s.db_driver)
    runs = LibsqlRunStore(db)
    documents = LibsqlDocumentStore(db, clock)
    queue = LibsqlTaskQueue(db, clock=clock, max_deliveries=s.max_deliveries)
    index = LibsqlRepoIndex(db)
    model = llm or build_llm(s)
    deps = StepDeps(llm=model, documents=documents, clock=clock, index=index,
                    index_wait_s=s.index_wait_s)
    engine = Engine(runs=runs, documents=documents, queue=queue, deps=deps, settings=s)
    return EmbeddedApp(s, db, runs, documents, queue, index, model, engine)
