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

Before anything starts, every port the stack will listen on is checked: one that is
taken refuses the start, naming the process that holds it (a leftover emulator would
otherwise answer the health checks of a new one). The emulators start in parallel,
each health-checked; every process runs in its own process group and logs to
``log_dir``. Two optional parts make a stack that runs for days behave like the
deployed one: :meth:`Stack.with_scheduler` (Cloud Scheduler's sweep job) and
:meth:`Stack.with_persistence` (the emulators' data kept with the database's from
one start to the next, see :mod:`ticketflow.dev.persistence`).

:meth:`Stack.stop` (or leaving the ``with`` block, or a failed start) stops every
part that started, within a bounded time: the scheduler, then the functions, then
(when kept) the emulators' data is exported, then every other process group gets
SIGTERM at once and SIGKILL at the deadline. :meth:`Stack.hurry` (a second Ctrl-C)
skips the export and kills every group that is still there at once. After
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
import logging
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.database import DatabaseFactory, DatabasePart, sqld_databases
from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    PROJECT_ROOT,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    Supervised,
    free_port,
    start_in_parallel,
)
from ticketflow.dev.persistence import LocalData
from ticketflow.dev.ports import check_free
from ticketflow.dev.processes import (
    FunctionsServer,
    HostingEmulator,
    TasksEmulator,
    wait_port_free,
)
from ticketflow.dev.sample import SampleRepository, prepare_sample
from ticketflow.dev.scheduler import SweepScheduler

CREATED = "google.cloud.firestore.document.v1.created"
UPDATED = "google.cloud.firestore.document.v1.updated"
RULES = PROJECT_ROOT / "firestore.rules"
DEFAULT_QUEUE = "ticketflow-steps"
FUNCTIONS_GRACE_S = 5.0  # in-flight requests finish (gunicorn's graceful timeout)
STOP_GRACE_S = 10.0  # every other part, all at once
log = logging.getLogger("ticketflow.dev")

__all__ = ["ACTION_CREATED", "AEC_UPDATED", "TRIGGERS", "EmulatorError", "Stack", "Trigger",
           "index_queue_name"]


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
    scheduler: SweepScheduler | None = None
    persistence: LocalData | None = None
    functions: list[FunctionsServer] = field(default_factory=list, init=False)
    urls: dict[str, str] = field(default_factory=dict, init=False)
    notes: list[str] = field(default_factory=list, init=False)
    stopped_note: str = field(default="", init=False)
    _plans: list[_FunctionsPlan] = field(default_factory=list, init=False)
    _dist: Path | None = field(default=None, init=False)
    _started: list[_Part] = field(default_factory=list, init=False)
    _hurry: threading.Event = field(default_factory=threading.Event, init=False)
    _sweep_every_s: float | None = field(default=None, init=False)
    _sample_at: Path | None = field(default=None, init=False)
    sample: SampleRepository | None = field(default=None, init=False)

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

    def with_scheduler(self, every_s: float = 10.0) -> Stack:
        """Cloud Scheduler's job: ``POST /sweep`` to the first functions process every
        ``every_s`` (production: every minute), see :mod:`ticketflow.dev.scheduler`."""
        self._sweep_every_s = every_s
        return self

    def with_sample(self, target: Path) -> Stack:
        """Make (or keep) the bundled sample as a git repository at ``target`` on start
        and offer its ``file://`` URL to the page (:mod:`ticketflow.dev.sample`)."""
        self._sample_at = target
        return self

    def with_persistence(self, folder: Path) -> Stack:
        """Keep the emulators' data consistent with the database's between starts
        (export at stop, import at start; all empty together after an unclean stop),
        see :mod:`ticketflow.dev.persistence`. Needs the Firestore and Auth parts."""
        self.persistence = LocalData(folder)
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

    def ports(self) -> list[tuple[str, int]]:
        """Every ``(part, port)`` this stack will listen on."""
        out: list[tuple[str, int]] = []
        port = getattr(self.database, "port", None)
        if self.database is not None and isinstance(port, int) and port:
            out.append((self.database.name, port))
        out += [(p.name, p.port) for p in (self.tasks, self.firestore, self.auth, self.hosting)
                if p is not None]
        out += [(plan.name, plan.port) for plan in self._plans]
        return out

    def start(self) -> Stack:
        """Start every chosen part (see the module doc); on failure stop what started.
        A port already in use refuses the start before anything runs
        (:class:`~ticketflow.dev.ports.PortTakenError`, naming its holder)."""
        self.logs_at.mkdir(parents=True, exist_ok=True)
        self._hurry.clear()
        check_free(LOCALHOST, self.ports())
        try:
            if self._sample_at is not None:
                self.sample = prepare_sample(self._sample_at)
                self.notes.append(
                    f"sample repository: {self.sample.url} (git, commit "
                    f"{self.sample.commit[:12]}, {'made' if self.sample.made else 'kept'} "
                    "from examples/sample-repo); the page offers it to whoever signs in: "
                    "\"Use the sample repository\" registers and indexes it")
            if self.persistence is not None:
                self._prepare_data(self.persistence)
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
            if self._sweep_every_s is not None and self._plans:
                self.scheduler = SweepScheduler(self.logs_at, f"{self.functions_url}/sweep",
                                                self.secret, interval_s=self._sweep_every_s)
                self._started.append(self.scheduler)
                self.scheduler.start()
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

    def hurry(self) -> None:
        """Make a :meth:`stop` in progress (or the next one) kill every process group
        at once and skip saving the data; safe to call from a signal handler."""
        self._hurry.set()

    def stop(self) -> None:
        """Stop every part that started, within a bounded time (see the module doc).
        Even when interrupted, every process group still running is killed."""
        try:
            self._stop_parts()
        except BaseException:
            self._hurry.set()
            self._kill_everything()
            raise
        finally:
            self.functions.clear()

    def _stop_parts(self) -> None:
        parts = list(reversed(self._started))
        if self.scheduler is not None and self.scheduler in parts:
            self.scheduler.stop()
        functions = [p for p in parts if isinstance(p, FunctionsServer)]
        self._stop_together(functions, FUNCTIONS_GRACE_S)
        if self.persistence is not None:
            self.stopped_note = self._save_data(self.persistence)
        rest = [p for p in parts if p not in functions and p is not self.scheduler]
        self._stop_together([p for p in rest if isinstance(p, Supervised)], STOP_GRACE_S)
        for part in rest:
            if not isinstance(part, Supervised):
                with contextlib.suppress(Exception):
                    part.stop()
        self._started.clear()

    def _stop_together(self, parts: Sequence[_Part], grace_s: float) -> None:
        """SIGTERM to every group at once, SIGKILL to those left at the deadline (at
        once when hurried)."""
        procs = [p for p in parts if isinstance(p, Supervised)]
        for p in procs:
            p.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while any(p.running for p in procs) and time.monotonic() < deadline \
                and not self._hurry.is_set():
            time.sleep(0.05)
        for p in procs:
            if p.running:
                p.signal_group(signal.SIGKILL)
        for p in procs:
            p.wait_exit(5.0)
            p.release()
        for p in procs:
            if p in self._started:
                self._started.remove(p)

    def _kill_everything(self) -> None:
        for part in list(self._started):
            if isinstance(part, Supervised):
                part.signal_group(signal.SIGKILL)
                with contextlib.suppress(Exception):
                    part.release()
            else:
                with contextlib.suppress(Exception):
                    part.stop()
        self._started.clear()

    def _save_data(self, data: LocalData) -> str:
        if self._hurry.is_set():
            return "data: not saved (stopped at once); the next start begins empty"
        if self.firestore is None or self.auth is None or not (
                self.firestore.running and self.auth.running):
            return "data: not saved (an emulator had exited); the next start begins empty"
        try:
            data.save(self.firestore, self.auth)
        except Exception as exc:  # the next start empties everything together
            log.error("the emulators' data was not saved", extra={"error": str(exc)})
            return f"data: not saved ({exc}); the next start begins empty"
        return f"data: saved in {data.export_dir}; the next start continues from it"

    def _prepare_data(self, data: LocalData) -> None:
        if self.firestore is None or self.auth is None:
            raise EmulatorError("keeping the data needs the Firestore and Auth emulators")
        plan = data.prepare(database_has_data=_has_data(self.database))
        if plan == "import":
            self.firestore.import_from = data.firestore_export
            self.auth.import_from = data.export_dir
        elif plan == "wiped" and self.database is not None:
            if not hasattr(self.database, "fresh"):
                raise EmulatorError(f"{self.database.name} cannot be emptied")
            self.database.fresh = True
        self.notes.append(f"data: {data.note}")

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
                  "functionsUrl": self.functions_url,
                  "sampleRepository": self.sample.url if self.sample else None}
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


def _has_data(database: DatabasePart | None) -> bool:
    """Whether a database part already holds data (a file, or a server's folder)."""
    where = getattr(database, "path", None) or getattr(database, "db_dir", None)
    if not isinstance(where, Path) or not where.exists():
        return False
    return where.stat().st_size > 0 if where.is_file() else any(where.iterdir())
