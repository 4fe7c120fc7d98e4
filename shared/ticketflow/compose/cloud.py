"""Composition root of the cloud functions: libSQL run store (``TICKETFLOW_DB_URL``),
Firestore document store, Cloud Tasks queues (steps, and index tasks on their own
queue), the repository index and registrations (git URLs only: a deployed function
cannot read a local path) with their Firestore view, and the LLM, built once per
process on first use (a function instance serves many requests).

Safety, for a process that looks deployed (``K_SERVICE`` is set by Cloud Functions
and Cloud Run):

* ``FIREBASE_AUTH_EMULATOR_HOST`` makes firebase-admin accept unsigned tokens for the
  whole process, so it is refused, unless ``TICKETFLOW_ALLOW_EMULATOR_AUTH`` is set
  AND the emulator host is a loopback address (a local run under a ``K_SERVICE``);
* a ``file:`` database URL is refused: a function's disk is per instance and
  vanishes, so runs kept there would be lost; the deployed shape is a libSQL server.

A build that fails closes what it opened and is tried again by the next request
(the database may be back), except when the database refused the credentials: a
wrong token stays wrong until the setting changes, so :func:`get_app` answers with
that error, logged once, for the wait it names (60 s) without asking the server
again: one database request and one error line per instance per minute, whatever
the request rate.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.cloud_tasks import CloudTasksQueue, CloudTasksSettings
from ticketflow.adapters.cloud_tasks_index import CloudTasksIndexQueue
from ticketflow.adapters.firestore import FirestoreDocumentStore, firestore_client
from ticketflow.adapters.firestore_repositories import FirestoreRepositoryView
from ticketflow.adapters.libsql.database import Database, DatabaseAuthError
from ticketflow.adapters.libsql.metrics import ensure_schema as ensure_metrics_schema
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.adapters.libsql.repositories import LibsqlRepositoryStore
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.compose.llm import build_fallback, build_llm, db_url_with_path
from ticketflow.compose.repositories import build_repositories
from ticketflow.ports import Clock, LanguageModel, TaskQueue
from ticketflow.settings import Settings
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.indexing import Indexer
from ticketflow.workflow.runtime import Engine, FaultHook

log = logging.getLogger("ticketflow.functions")


class UnsafeEnvironmentError(RuntimeError):
    """The process is configured in a way that must never reach production."""


class CloudSettings(BaseSettings):
    """Where the cloud adapters connect (besides ``TICKETFLOW_DB_URL`` and
    ``TICKETFLOW_TASKS_*``)."""

    model_config = SettingsConfigDict(env_prefix="TICKETFLOW_", env_file=".env",
                                      extra="ignore", populate_by_name=True)

    project_id: str = Field("demo-ticketflow", validation_alias=AliasChoices(
        "TICKETFLOW_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"))
    firestore_emulator_host: str | None = Field(None, validation_alias=AliasChoices(
        "TICKETFLOW_FIRESTORE_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"))
    firestore_timeout_s: float = Field(10.0, gt=0)
    firestore_collection: str = "aecs"
    cors_origins: str = Field("*", description="comma-separated origins allowed to call "
                              "start_generation from a browser, or *")
    allow_emulator_auth: bool = False


def _is_loopback(host_port: str) -> bool:
    host = host_port.strip()
    if host.startswith("["):  # [::1]:9099
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Refuse what must never reach a deployed function (see module doc)."""
    env = os.environ if env is None else env
    service = env.get("K_SERVICE")
    if not service:
        return
    emulator = env.get("FIREBASE_AUTH_EMULATOR_HOST")
    allowed = env.get("TICKETFLOW_ALLOW_EMULATOR_AUTH", "").lower() in ("1", "true", "yes")
    if emulator and not (allowed and _is_loopback(emulator)):
        why = ("TICKETFLOW_ALLOW_EMULATOR_AUTH only applies to an emulator on a loopback "
               f"address, not {emulator}" if allowed else
               "set TICKETFLOW_ALLOW_EMULATOR_AUTH=1 only for a local run")
        raise UnsafeEnvironmentError(
            f"FIREBASE_AUTH_EMULATOR_HOST is set in a deployed function (K_SERVICE="
            f"{service}): it disables ID token verification for the whole process. "
            f"Unset it ({why}).")
    db_url = env.get("TICKETFLOW_DB_URL", Settings.model_fields["db_url"].default)
    if str(db_url).startswith("file:") or "://" not in str(db_url):
        raise UnsafeEnvironmentError(
            f"TICKETFLOW_DB_URL is a local file ({db_url}) in a deployed function "
            f"(K_SERVICE={service}): a function's disk is per instance and is lost with "
            "it, so runs and checkpoints would vanish. Point it at a libSQL server "
            "(libsql://, https:// or wss://), see deploy/README.md.")


@dataclass
class CloudApp:
    settings: Settings
    cloud: CloudSettings
    tasks: CloudTasksSettings
    db: Database
    runs: LibsqlRunStore
    documents: FirestoreDocumentStore
    queue: TaskQueue
    index: LibsqlRepoIndex
    llm: LanguageModel
    engine: Engine
    repositories: LibsqlRepositoryStore
    indexer: Indexer
    view: FirestoreRepositoryView

    def close(self) -> None:
        self.engine.close()
        self.db.close()
        self.documents.client.close()  # type: ignore[no-untyped-call]


def build_cloud_app(settings: Settings | None = None, *, cloud: CloudSettings | None = None,
                    tasks: CloudTasksSettings | None = None, llm: LanguageModel | None = None,
                    clock: Clock | None = None, faults: FaultHook | None = None) -> CloudApp:
    """Build the engine on the cloud adapters (settings from the environment).
    ``faults`` is the crash tests' hook (``None`` in a deployed function)."""
    check_environment()
    s = settings or Settings()
    c = cloud or CloudSettings()
    t = tasks or CloudTasksSettings()
    clock = clock or SystemClock()
    db = Database(db_url_with_path(s), auth_token=s.db_auth_token, driver=s.db_driver)
    client = None
    try:  # a failed build closes what it opened: a function instance retries per request
        runs = LibsqlRunStore(db)
        ensure_metrics_schema(db)
        client = firestore_client(c.project_id, c.firestore_emulator_host)
        documents = FirestoreDocumentStore(client, collection=c.firestore_collection,
                                           clock=clock, timeout_s=c.firestore_timeout_s)
        queue = CloudTasksQueue(t)
        view = FirestoreRepositoryView(client, timeout_s=c.firestore_timeout_s)
        # A deployed function cannot read a local path: repositories by git URL only.
        repos = build_repositories(db, s, clock, CloudTasksIndexQueue(t), allow_local=False,
                                   view=view, faults=faults)
        model = llm or build_llm(s)
    except BaseException:
        db.close()
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]
        raise
    deps = StepDeps(llm=model, documents=documents, clock=clock, index=repos.index,
                    index_wait_s=s.index_wait_s, repositories=repos.store,
                    fallback=build_fallback(s, model))
    engine = Engine(runs=runs, documents=documents, queue=queue, deps=deps, settings=s,
                    faults=faults, indexer=repos.indexer)
    return CloudApp(s, c, t, db, runs, documents, queue, repos.index, model, engine,
                    repos.store, repos.indexer, view)


_app: CloudApp | None = None
_factory: Callable[[], CloudApp] = build_cloud_app
_lock = threading.Lock()
_refused: tuple[float, DatabaseAuthError] | None = None  # (until, error): module doc


def get_app() -> CloudApp:
    """The process's app, built on first use (a failed build: see the module doc)."""
    global _app, _refused
    if _app is None:
        with _lock:
            if _app is None:
                now = time.monotonic()
                if _refused is not None and now < _refused[0]:
                    raise DatabaseAuthError(str(_refused[1]),
                                            retry_after_s=max(1.0, _refused[0] - now))
                try:
                    _app = _factory()
                except DatabaseAuthError as exc:
                    wait = exc.retry_after_s or 60.0
                    _refused = (now + wait, exc)
                    log.error("the database refused the credentials; not asking it again "
                              f"for {wait:.0f}s", extra={"error": str(exc)})
                    raise
                _refused = None
    return _app


def built_app() -> CloudApp | None:
    """The process's app if it was built, without building it."""
    return _app


def set_app_factory(factory: Callable[[], CloudApp]) -> None:
    """Build the process's app with ``factory`` from now on (the dev entry point arms
    crash points and benchmark workloads this way; deployed functions never call it)."""
    global _factory, _refused
    with _lock:
        _factory = factory
        _refused = None


def set_app(app: CloudApp | None) -> None:
    """Install (tests) or drop the process's app."""
    global _app, _refused
    with _lock:
        _app = app
        _refused = None
