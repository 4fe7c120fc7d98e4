"""One composable local deployment of the cloud shape, for ``ticketflow dev``, the
tests and the benchmarks.

A :class:`Stack` is assembled from parts, then started; each part is optional:

* a database (:mod:`ticketflow.dev.database`: a libSQL server, sqld, unless the
  stack's factory makes files), started first;
* the Cloud Tasks emulator (``gcloud-tasks-emulator``) with the step queue and its
  index queue (:func:`index_queue_name`) created;
* the Cloud Firestore emulator (Google Cloud CLI) with ``firestore.rules`` and the
  triggers it delivers to the functions (:data:`TRIGGERS`: action documents created
  -> ``on_action_created``, tickets updated -> ``on_aec_updated``);
* the Auth emulator (firebase-tools);
* N functions processes (``functions/dev_app.py``, every target in one process,
  under gunicorn or werkzeug's single-process server), each with its own environment
  overrides; the first listens where the Firestore emulator delivers the triggers;
* the Hosting emulator serving a copy of the built page whose ``config.js`` points
  at this stack.

The emulators start in parallel, each health-checked; every process runs in its own
process group and logs to ``log_dir``; :meth:`Stack.stop` (or leaving the ``with``
block, or a failed start) stops every part that started, in reverse order. After
the start, more functions processes (another environment, a crash point, another
database or queue) can be started and killed; the test and benchmark conveniences
built on this (users, REST writes as a signed-in user, waiting) are in
:mod:`ticketflow.testing`.

    stack = (Stack(root / ".devstack").with_database("ticketflow")
             .with_tasks().with_firestore().with_auth().with_functions())
    with stack:
        ...
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.database import DatabaseFactory, DatabasePart, SqldServer, sqld_databases
from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    PROJECT_ROOT,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    free_port,
    start_in_parallel,
)
from ticketflow.dev.processes import (
    FunctionsServer,
    HostingEmulator,
    TasksEmulator,
    wait_port_free,
)

CREATED = "google.cloud.firestore.document.v1.created"
UPDATED = "google.cloud.firestore.document.v1.updated"
RULES = PROJECT_ROOT / "firestore.rules"
DEFAULT_QUEUE = "ticketflow-steps"

__all__ = ["ACTION_CREATED", "AEC_UPDATED", "TRIGGERS", "EmulatorError", "Stack", "Trigger",
           "dev_stack", "index_queue_name", "serve_forever"]


def index_queue_name(queue: str) -> str:
    """The queue of ``index_repository`` tasks that goes with a step queue (one pair
    per stack or deployment, so a long index never delays a step)."""
    return f"{queue}-index"


@dataclass(frozen=True)
class Trigger:
    """A Firestore trigger the emulator delivers to the functions; ``functions/dev_app.py``
    routes ``/functions/projects/{project}/triggers/{id}`` by this ``id``."""

    id: str
    pattern: str
    event_type: str = CREATED


ACTION_CREATED = Trigger("on-action-created", "aecs/{aecId}/actions/{actionId}")
AEC_UPDATED = Trigger("on-aec-updated", "aecs/{aecId}", UPDATED)
TRIGGERS = (ACTION_CREATED, AEC_UPDATED)


class _Part(Protocol):
    name: str

    @property
    def running(self) -> bool: ...

    def stop(self) -> None: ...

    def log_tail(self, lines: int = 40) -> str: ...


@dataclass
class _FunctionsPlan:
    server: str
    env: dict[str, str]
    name: str
    port: int
    threads: int


@dataclass
class Stack:
    """See the module doc. Choose parts with the ``with_*`` methods, then :meth:`start`
    (or ``with``); ``start`` raises :class:`EmulatorError` with the failing part's log.

    ``functions_port`` (a free one unless given) is where the first functions process
    listens and the Firestore emulator delivers events; ``secret`` is the task secret
    the functions accept on ``/run_step`` and ``/sweep``; ``databases`` makes every
    database of the stack, by name (default: a fresh sqld server each, data under
    ``state_dir/databases``, as deployed; :func:`~ticketflow.dev.database.file_databases`
    makes libSQL files instead): the one place that decides what a database is.
    """

    state_dir: Path
    log_dir: Path | None = None
    project_id: str = DEFAULT_PROJECT_ID
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    functions_port: int = 0
    databases: DatabaseFactory | None = None
    database: DatabasePart | None = None
    queue: str | None = None
    tasks: TasksEmulator | None = None
    firestore: FirestoreEmulator | None = None
    auth: AuthEmulator | None = None
    hosting: HostingEmulator | None = None
    triggers: tuple[Trigger, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    functions: list[FunctionsServer] = field(default_factory=list, init=False)
    urls: dict[str, str] = field(default_factory=dict, init=False)
    _plans: list[_FunctionsPlan] = field(default_factory=list, init=False)
    _dist: Path | None = field(default=None, init=False)
    _started: list[_Part] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.log_dir = self.log_dir or self.state_dir / "logs"
        self.functions_port = self.functions_port or free_port()
        if self.databases is None:
            self.databases = sqld_databases(self.state_dir / "databases", self.logs_at)

    @property
    def logs_at(self) -> Path:
        assert self.log_dir is not None
        return self.log_dir

    # -- choosing the parts ---------------------------------------------------------------

    def with_database(self, database: DatabasePart | str = "ticketflow") -> Stack:
        """The database of the functions (and of :attr:`db_url`): a part, or the name
        of one for :attr:`databases` to make."""
        if isinstance(database, str):
            assert self.databases is not None
            database = self.databases(database)
        self.database = database
        return self

    def with_tasks(self, queue: str | None = DEFAULT_QUEUE, *, port: int = 0) -> Stack:
        """The Cloud Tasks emulator; ``queue`` is created at start (``None``: none, each
        deployment creates its own with :meth:`ensure_queue`)."""
        self.tasks = TasksEmulator(self.logs_at, port=port)
        self.queue = queue
        return self

    def with_firestore(self, *, port: int = 0, rules: Path | None = RULES,
                       triggers: Sequence[Trigger] = TRIGGERS) -> Stack:
        """The Firestore emulator evaluating ``rules``, delivering ``triggers`` to the
        functions on :attr:`functions_port`."""
        self.firestore = FirestoreEmulator(
            self.logs_at, port=port, rules_path=rules, project_id=self.project_id,
            functions_emulator=f"{LOCALHOST}:{self.functions_port}")
        self.triggers = tuple(triggers)
        return self

    def with_auth(self, *, port: int = 0) -> Stack:
        """The Auth emulator (the functions then accept its unsigned tokens)."""
        self.auth = AuthEmulator(self.logs_at, port=port, project_id=self.project_id)
        return self

    def with_functions(self, *, server: str = "gunicorn", env: Mapping[str, str] | None = None,
                       name: str = "functions", port: int = 0, threads: int = 8) -> Stack:
        """One more functions process started with the stack. The first one without a
        ``port`` listens on :attr:`functions_port`; others on a free port."""
        if not port and not any(p.port == self.functions_port for p in self._plans):
            port = self.functions_port
        self._plans.append(_FunctionsPlan(server, dict(env or {}), name,
                                          port or free_port(), threads))
        return self

    def with_hosting(self, dist: Path, *, port: int = 0) -> Stack:
        """The Hosting emulator serving a copy of ``dist`` (a built page)."""
        self._dist = dist
        self.hosting = HostingEmulator(self.logs_at, self.state_dir / "hosting", port=port,
                                       project_id=self.project_id)
        return self

    def with_env(self, **env: str) -> Stack:
        """Environment overrides for every functions process."""
        self.env.update(env)
        return self

    # -- where things are -----------------------------------------------------------------

    @property
    def functions_url(self) -> str:
        return f"http://{LOCALHOST}:{self.functions_port}"

    @property
    def db_url(self) -> str:
        if self.database is None:
            raise EmulatorError("this stack has no database part")
        return self.database.url

    def connect(self, database: DatabasePart | None = None) -> Database:
        """A connection of this process to ``database`` (default: the stack's)."""
        database = database or self.database
        if database is None:
            raise EmulatorError("this stack has no database part")
        return Database(database.url, auth_token=database.auth_token)

    def functions_env(self, port: int, *, database: DatabasePart | None = None,
                      queue: str | None = None, env: Mapping[str, str] | None = None,
                      ) -> dict[str, str]:
        """The environment of a functions process on ``port`` (see ``deploy/README.md``
        for each setting): the stack's parts, then :attr:`env`, then ``env``."""
        database = database or self.database
        out = {"TICKETFLOW_PROJECT_ID": self.project_id,
               "GOOGLE_CLOUD_PROJECT": self.project_id,
               "TICKETFLOW_TASKS_PROJECT_ID": self.project_id,
               "TICKETFLOW_TASKS_TARGET_URL": f"http://{LOCALHOST}:{port}/run_step",
               "TICKETFLOW_TASKS_INDEX_TARGET_URL":
                   f"http://{LOCALHOST}:{port}/index_repository",
               "TICKETFLOW_TASKS_SECRET": self.secret,
               "TICKETFLOW_ALLOW_EMULATOR_AUTH": "1",
               "TICKETFLOW_LLM": os.environ.get("TICKETFLOW_LLM", "auto")}
        if database is not None:
            out["TICKETFLOW_DB_URL"] = database.url
            if database.auth_token:
                out["TICKETFLOW_DB_AUTH_TOKEN"] = database.auth_token
        if self.firestore is not None:
            out["TICKETFLOW_FIRESTORE_EMULATOR_HOST"] = self.firestore.host_port
        if self.tasks is not None:
            out["TICKETFLOW_TASKS_EMULATOR_HOST"] = self.tasks.host_port
        if queue or self.queue:
            out["TICKETFLOW_TASKS_QUEUE"] = str(queue or self.queue)
            out["TICKETFLOW_TASKS_INDEX_QUEUE"] = index_queue_name(str(queue or self.queue))
        if self.auth is not None:
            out["FIREBASE_AUTH_EMULATOR_HOST"] = self.auth.host_port
        return {**out, **self.env, **(env or {})}

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Stack:
        """Start every chosen part (see the module doc); on failure stop what started."""
        self.logs_at.mkdir(parents=True, exist_ok=True)
        try:
            if self.database is not None:
                self._started.append(self.database)
                self.database.start()
            emulators = [p for p in (self.tasks, self.firestore, self.auth) if p is not None]
            self._started.extend(emulators)
            start_in_parallel(*emulators)
            if self.queue:
                self.ensure_queue(self.queue)
            if self.firestore is not None:
                for trigger in self.triggers:
                    self.firestore.register_trigger(trigger.id, trigger.pattern,
                                                    trigger.event_type)
            for plan in self._plans:
                self.start_functions(port=plan.port, server=plan.server, name=plan.name,
                                     env=plan.env, threads=plan.threads)
            if self.hosting is not None and self._dist is not None:
                self._write_public_dir(self._dist, self.hosting.public_dir)
                self._started.append(self.hosting)
                self.hosting.start()
        except BaseException:
            self.stop()
            raise
        self.urls = self._urls()
        return self

    def start_functions(self, *, port: int = 0, server: str = "gunicorn",
                        name: str = "functions", env: Mapping[str, str] | None = None,
                        database: DatabasePart | None = None, queue: str | None = None,
                        threads: int = 8) -> FunctionsServer:
        """Start one more functions process (on :attr:`functions_port` unless ``port``)
        with the stack's environment plus ``env``, and return it once it answers."""
        port = port or self.functions_port
        wait_port_free(LOCALHOST, port, 20.0)
        proc = FunctionsServer(self.logs_at, self.functions_env(port, database=database,
                                                                queue=queue, env=env),
                               port=port, server=server, name=name, threads=threads)
        self.functions.append(proc)
        self._started.append(proc)
        proc.start()
        return proc

    def stop_functions(self, proc: FunctionsServer, *, kill: bool = False) -> None:
        """Stop one functions process (``kill``: SIGKILL to its group, no SIGTERM
        first: a crash)."""
        if kill:
            proc.kill()
        else:
            proc.stop(grace_s=10.0)
        if proc in self.functions:
            self.functions.remove(proc)
        if proc in self._started:
            self._started.remove(proc)

    def ensure_queue(self, queue: str) -> None:
        """Create ``queue`` and its index queue on the Cloud Tasks emulator (idempotent)."""
        from ticketflow.adapters.cloud_tasks import CloudTasksSettings, ensure_queue

        if self.tasks is None:
            raise EmulatorError("this stack has no Cloud Tasks emulator")
        for name in (queue, index_queue_name(queue)):
            ensure_queue(CloudTasksSettings(project_id=self.project_id, queue=name,
                                            emulator_host=self.tasks.host_port))

    def new_database(self, name: str) -> DatabasePart:
        """A further database from :attr:`databases`, started, stopped with the stack."""
        assert self.databases is not None
        database = self.databases(name)
        self._started.append(database)
        database.start()
        return database

    def stop(self) -> None:
        """Stop every part that started, the last started first."""
        while self._started:
            part = self._started.pop()
            with contextlib.suppress(Exception):
                part.stop()
        self.functions.clear()

    def dead(self) -> list[str]:
        """Names of the parts that were started and have exited."""
        return [p.name for p in self._started if not p.running]

    def alive(self) -> bool:
        return not self.dead()

    def logs(self, lines: int = 30) -> str:
        """The tail of every started part's log, for a failure message."""
        return "\n".join(f"== {p.name}\n{tail}" for p in self._started
                         if (tail := p.log_tail(lines)))

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    def _write_public_dir(self, dist: Path, public: Path) -> None:
        """A copy of ``dist`` whose ``config.js`` points at this stack."""
        shutil.rmtree(public, ignore_errors=True)
        shutil.copytree(dist, public)
        config = {"projectId": self.project_id, "useEmulators": True,
                  "firestoreEmulator": self.firestore.host_port if self.firestore else None,
                  "authEmulator": self.auth.base_url if self.auth else None,
                  "functionsUrl": self.functions_url}
        (public / "config.js").write_text(
            f"window.__TICKETFLOW_CONFIG__ = {json.dumps(config, indent=2)};\n")

    def _urls(self) -> dict[str, str]:
        urls: dict[str, str] = {}
        if self.functions:
            urls["functions"] = self.functions_url
        if self.firestore is not None:
            urls["firestore"] = self.firestore.base_url
        if self.auth is not None:
            urls["auth"] = self.auth.base_url
        if self.tasks is not None:
            urls["tasks (gRPC)"] = self.tasks.host_port
        if self.functions:
            urls["run_step secret"] = self.secret
        if self.database is not None:
            urls["database"] = self.database.url
        if self.hosting is not None:
            urls["web"] = self.hosting.base_url
        urls["logs"] = str(self.logs_at)
        return urls


def dev_stack(root: Path = PROJECT_ROOT, *, functions_port: int = 8090,
              firestore_port: int = 8080, auth_port: int = 9099, hosting_port: int = 5000,
              tasks_port: int = 9022, database_port: int = 8091, hosting: bool = True,
              server: str = "gunicorn", state_dir: Path | None = None,
              dist: Path | None = None) -> Stack:
    """What ``ticketflow dev`` runs: every part, on fixed ports, state in
    ``root/.devstack`` (the database: a sqld server on ``database_port`` keeping its
    data in ``sqld/ticketflow`` from one start to the next, as deployed; logs; the
    served page), the page (``dist``, default ``root/web/dist``) served when it is
    built."""
    state = state_dir or root / ".devstack"
    stack = Stack(state, functions_port=functions_port)
    stack = (stack.with_database(SqldServer(stack.logs_at, state / "sqld" / "ticketflow",
                                            name="sqld-ticketflow", port=database_port,
                                            fresh=False))
             .with_tasks(port=tasks_port)
             .with_firestore(port=firestore_port, rules=root / "firestore.rules")
             .with_auth(port=auth_port)
             .with_functions(server=server))
    dist = dist or root / "web" / "dist"
    if hosting and (dist / "index.html").exists():
        stack.with_hosting(dist, port=hosting_port)
    return stack


def serve_forever(stack: Stack, print_fn: Callable[[str], object] = print) -> int:
    """Start ``stack``, print where everything is, wait for Ctrl-C (or a crash)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        with stack:
            width = max(len(k) for k in stack.urls)
            for name, url in stack.urls.items():
                print_fn(f"{name.ljust(width)}  {url}")
            print_fn("Ctrl-C stops everything.")
            while stack.alive():
                time.sleep(1.0)
            print_fn(f"stopped: {', '.join(stack.dead())} exited; see {stack.logs_at}")
            return 1
    except KeyboardInterrupt:
        return 0
    except EmulatorError as exc:
        print_fn(f"error: {exc}")
        return 1
