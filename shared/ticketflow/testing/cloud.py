"""The cloud shape for tests and benchmarks, on the one stack builder
(:class:`ticketflow.dev.stack.Stack`).

:func:`cloud_stack` is the emulators a test module (or a benchmark) shares: the Cloud
Tasks emulator, the Firestore emulator with the rules and the triggers, the Auth
emulator; no functions yet. A :class:`CloudDeployment` is one deployment on it: its
own database (from the stack's database factory) and queue, its functions processes
started and killed as the test needs, with the settings that make tests quick, and
the reads a test makes (the run store, waiting for a run, calling a function).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ticketflow.adapters.firestore import FirestoreDocumentStore, firestore_client
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repositories import LibsqlRepositoryStore
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.dev.database import DatabasePart
from ticketflow.dev.emulators import EmulatorError
from ticketflow.dev.processes import FunctionsServer
from ticketflow.dev.stack import TRIGGERS, Stack, Trigger
from ticketflow.ports.records import RunRecord
from ticketflow.testing.git_repos import index_now, make_repo
from ticketflow.testing.waiting import wait_until

SECRET_HEADER = "X-Ticketflow-Task-Secret"
QUICK = {"TICKETFLOW_LLM": "offline", "TICKETFLOW_INDEX_WAIT_S": "0",
         "TICKETFLOW_RETRY_BACKOFF_SCALE": "0.01", "TICKETFLOW_OUTBOX_GRACE_S": "0"}
"""Settings of a test deployment: the offline model, no wait for an index, short
retry backoffs, the sweep re-dispatching at once."""


def cloud_stack(log_dir: Path, *, state_dir: Path | None = None,
                triggers: Sequence[Trigger] = TRIGGERS) -> Stack:
    """The shared emulators (not started): Cloud Tasks (no queue: each deployment
    makes its own), Firestore with the rules and ``triggers``, Auth."""
    return (Stack(state_dir or log_dir / "state", log_dir=log_dir)
            .with_tasks(queue=None).with_firestore(triggers=triggers).with_auth())


def document_store(stack: Stack, timeout_s: float = 5.0) -> FirestoreDocumentStore:
    """The server's (rules-bypassing) view of the stack's Firestore."""
    assert stack.firestore is not None
    client = firestore_client(stack.firestore.project_id, stack.firestore.host_port)
    return FirestoreDocumentStore(client, timeout_s=timeout_s)


@dataclass
class CloudDeployment:
    """One deployment on a started :class:`Stack`: a database, a queue, and the
    functions processes it starts (each with :data:`QUICK` + ``env`` + the call's own
    overrides). :meth:`close` stops them and closes the database connection."""

    stack: Stack
    database: DatabasePart
    queue: str
    env: dict[str, str] = field(default_factory=dict)
    server: FunctionsServer | None = None
    processes: list[FunctionsServer] = field(default_factory=list)
    _db: Database | None = None

    @classmethod
    def create(cls, stack: Stack, name: str = "deployment", **env: str) -> CloudDeployment:
        """A new database and queue on ``stack`` (no functions started yet)."""
        suffix = uuid.uuid4().hex[:8]
        queue = f"q-{suffix}"
        stack.ensure_queue(queue)
        return cls(stack, stack.new_database(f"{name}-{suffix}"), queue, dict(env))

    @property
    def url(self) -> str:
        """Where the functions the triggers reach listen."""
        return self.stack.functions_url

    @property
    def secret(self) -> str:
        return self.stack.secret

    def start_functions(self, *, port: int = 0, server: str = "gunicorn",
                        name: str = "functions", **extra: str) -> FunctionsServer:
        """A functions process of this deployment (on the trigger port unless ``port``);
        a process that cannot start fails the test with its log."""
        try:
            proc = self.stack.start_functions(
                port=port, server=server, name=f"{name}-{self.queue}",
                env={**QUICK, **self.env, **extra}, database=self.database, queue=self.queue)
        except EmulatorError as exc:
            raise AssertionError(f"functions did not start: {exc}") from exc
        self.processes.append(proc)
        if proc.port == self.stack.functions_port:
            self.server = proc
        return proc

    def stop_functions(self, proc: FunctionsServer | None = None, *,
                       kill: bool = False) -> None:
        """Stop ``proc`` (default: every process of this deployment)."""
        for p in [proc] if proc is not None else list(self.processes):
            self.stack.stop_functions(p, kill=kill)
            if p in self.processes:
                self.processes.remove(p)
            if p is self.server:
                self.server = None

    @property
    def db(self) -> Database:
        """A connection of this process to the deployment's database."""
        if self._db is None:
            self._db = self.stack.connect(self.database)
        return self._db

    def runs(self) -> LibsqlRunStore:
        return LibsqlRunStore(self.db)

    def repositories(self) -> LibsqlRepositoryStore:
        return LibsqlRepositoryStore(self.db)

    def git_url(self, repo: Path) -> str:
        """``repo`` (a folder of files) as a git repository by ``file://`` URL, made once
        per deployment: a deployed function names repositories by URL only."""
        target = self.stack.state_dir / "repos" / f"{self.queue}-{repo.name}"
        if not (target / ".git").is_dir():
            make_repo(target, repo)
        return f"file://{target}"

    def index_for(self, owner: str, url: str) -> str:
        """Build ``owner``'s index of ``url`` in this deployment's database ahead of a
        test, as the index task would (must end ``ready``); the index id."""
        rec = index_now(self.database.url, owner, url,
                        db_auth_token=self.database.auth_token)
        if rec.state != "ready":
            raise AssertionError(f"indexing {url} ended {rec.state}: {rec.status}")
        return str(rec.index_id)

    def run(self, run_id: str) -> RunRecord:
        record = self.runs().get_run(run_id)
        assert record is not None, run_id
        return record

    def wait_run(self, run_id: str, check: Callable[[RunRecord], bool], what: str,
                 timeout_s: float = 60.0) -> RunRecord:
        return wait_until(lambda: (r if check(r := self.run(run_id)) else None), timeout_s,
                          what=what, logs=self.stack.logs)

    def post(self, path: str, json: Any = None, *, content: bytes | None = None,
             token: str | None = None, secret: bool = False, base: str | None = None,
             headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST ``json`` (or raw ``content``) to a function: ``token`` as the bearer,
        ``secret`` as Cloud Tasks would."""
        sent: dict[str, str] = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if secret:
            sent[SECRET_HEADER] = self.secret
        return httpx.post(f"{base or self.url}{path}", json=json, content=content,
                          headers=sent, timeout=30.0)

    def close(self) -> None:
        self.stop_functions()
        if self._db is not None:
            self._db.close()
            self._db = None
