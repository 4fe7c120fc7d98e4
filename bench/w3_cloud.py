"""W3, cloud part: the chaos soak through the real cloud stack (definitions: docs/benchmarks.md).

Every piece in its own process, as in the end-to-end tests: the functions
(``functions/dev_app.py``, every target, werkzeug's single-process server so that a
``kill -9`` takes everything in flight with it), the Cloud Tasks emulator dispatching
into ``/run_step``, the Cloud Firestore emulator evaluating ``firestore.rules`` and
delivering the action trigger to ``/on_action_created``, the Auth emulator issuing ID
tokens. The functions use the Claude adapter against the local fake Messages API (in
this process), run state in a libSQL file, the ticket and its progress in Firestore.

This process plays the person and the platform: it creates tickets, starts runs with
``start_generation`` and an ID token, answers suspensions by creating action documents
through the Firestore REST API with that token (the rules apply), and calls ``/sweep``
every second (Cloud Scheduler). Faults injected at random:

* ``kill -9`` of the functions process while a step holds its lease, then a restart;
* crash points in a restarted functions process (``TICKETFLOW_CRASH_AT`` at
  ``before_execute | mid_step | after_commit | after_dispatch`` of a random step;
  ``after_commit`` = between commit and enqueue), then a clean restart and ``/sweep``;
* language-model 429s with retry-after, 529s, 500s, hangs past the client timeout,
  schema-violating, truncated and tool-less answers;
* duplicated task deliveries: ``/run_step`` POSTed again (with the task secret) for a
  committed step, and for the step in flight;
* duplicated trigger events: an action's CloudEvent POSTed again to
  ``/on_action_created``;
* two action documents racing for one suspension (two threads, back to back);
* malformed action documents written around the rules with the server client (each
  must get a ``rejected`` verdict with a reason on the document) and through REST with
  the user's token (each must be denied by the rules);
* edits of locked tickets through REST with the owner's token (must be denied).

A trigger event the emulator could not deliver because the functions were down is
delivered again after a few seconds (as the platform's retry would).

Then the faults stop, the runs drain, and the invariants are checked from libSQL and
Firestore: ``stuck``, ``steps_committed_twice``, ``actions_accepted_twice``,
``content_lost`` (every ready ticket in Firestore carries the content of its run's
step outputs), ``other_violations`` (wrong verdicts, rules that let a bad write in).

    python bench/w3_cloud.py                  # 20 runs, one JSON object as the last line
    python bench/w3_cloud.py --cloud-runs 6 --quick

``bench/w3.py`` calls :func:`run_cloud_soak` and puts its result under
``emulator_suite``. Logs of every process go to ``test-artifacts/w3-cloud/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._chaos import CRASH_POINTS, FINISHED, NON_SUSPENDING, REQUESTS  # noqa: E402
from tests.integration.cloud_support import action_event_body, rest_value  # noqa: E402

from ticketflow.adapters.clock import SystemClock  # noqa: E402
from ticketflow.adapters.cloud_tasks import CloudTasksSettings, ensure_queue  # noqa: E402
from ticketflow.adapters.firestore import (  # noqa: E402
    FirestoreDocumentStore,
    firestore_client,
)
from ticketflow.adapters.libsql.database import Database  # noqa: E402
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex  # noqa: E402
from ticketflow.adapters.libsql.runs import LibsqlRunStore  # noqa: E402
from ticketflow.adapters.offline import OfflineLanguageModel  # noqa: E402
from ticketflow.dev.emulators import start_in_parallel  # noqa: E402
from ticketflow.dev.stack import (  # noqa: E402
    ACTION_PATTERN,
    TRIGGER_ID,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    FunctionsServer,
    TasksEmulator,
    free_port,
    functions_env,
    wait_port_free,
)
from ticketflow.domain import AEC, AECContent  # noqa: E402
from ticketflow.ports.records import RunRecord  # noqa: E402
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault  # noqa: E402
from ticketflow.workflow.context import StepContext, StepDeps  # noqa: E402
from ticketflow.workflow.steps.s11_finalize import build_content  # noqa: E402

SAMPLE_REPO = ROOT / "examples" / "sample-repo"
LOG_DIR = ROOT / "test-artifacts" / "w3-cloud"
SECRET = "w3-cloud-task-secret"
INVARIANTS = ("stuck", "steps_committed_twice", "steps_executed_after_commit",
              "actions_accepted_twice", "content_lost", "other_violations")


def chaos_env(llm_url: str, *, quick: bool) -> dict[str, str]:
    """The functions' settings in the soak: short timeouts and waits so faults resolve
    fast (the embedded part's values, with waits long enough for the trigger path)."""
    wait = "10" if quick else "15"
    return {
        "TICKETFLOW_LLM": "claude", "ANTHROPIC_API_KEY": "test-key",
        "TICKETFLOW_LLM_BASE_URL": llm_url,
        "TICKETFLOW_LLM_TIMEOUT_S": "1.0", "TICKETFLOW_LLM_MAX_RETRIES": "2",
        "TICKETFLOW_LLM_BACKOFF_BASE_S": "0.05", "TICKETFLOW_LLM_BACKOFF_MAX_S": "0.2",
        "TICKETFLOW_LLM_MAX_RETRY_AFTER_S": "2",
        "TICKETFLOW_STEP_TIMEOUT_S": "6", "TICKETFLOW_LEASE_GRACE_S": "1",
        "TICKETFLOW_RUN_TIMEOUT_S": "300", "TICKETFLOW_RETRY_BACKOFF_SCALE": "0.02",
        "TICKETFLOW_OUTBOX_GRACE_S": "1", "TICKETFLOW_STALL_AFTER_S": "4",
        "TICKETFLOW_REVIEW_WAIT_S": wait, "TICKETFLOW_QUESTIONS_WAIT_S": wait,
        "TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_FIRESTORE_TIMEOUT_S": "5",
    }


# -- Firestore REST as the signed-in owner (the rules apply) --------------------------------


@dataclass
class WrittenAction:
    aec_id: str
    action_id: str
    fields: dict[str, Any]
    kind: str  # reply | race | bad_server
    written_at: float
    redelivered: int = 0
    verdict: str | None = None
    reason: str | None = None


@dataclass
class Race:
    run_id: str
    action_ids: list[str] = field(default_factory=list)


# -- the stack ------------------------------------------------------------------------------


class Stack:
    """The emulators (started once) and the functions process (killed and restarted)."""

    def __init__(self, work: Path, llm_url: str, *, quick: bool,
                 faults: Counter[str], notes: Counter[str]) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.db_path = work / "w3-cloud.db"
        self.port = free_port()
        self.tasks = TasksEmulator(LOG_DIR)
        self.firestore = FirestoreEmulator(LOG_DIR, functions_emulator=f"127.0.0.1:{self.port}")
        self.auth = AuthEmulator(LOG_DIR)
        self.queue = f"w3c-{uuid.uuid4().hex[:6]}"
        self.llm_url = llm_url
        self.quick = quick
        self.faults = faults
        self.notes = notes
        self.functions: FunctionsServer | None = None
        self.spec: str | None = None
        self.started = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        start_in_parallel(self.tasks, self.firestore, self.auth)
        self.firestore.register_trigger(TRIGGER_ID, ACTION_PATTERN)
        ensure_queue(CloudTasksSettings(project_id=self.firestore.project_id,
                                        queue=self.queue, emulator_host=self.tasks.host_port))
        with Database(f"file:{self.db_path}") as db:
            LibsqlRepoIndex(db).index(str(SAMPLE_REPO))
        self.start_functions()

    def env(self, spec: str | None) -> dict[str, str]:
        extra = chaos_env(self.llm_url, quick=self.quick)
        if spec:
            extra["TICKETFLOW_CRASH_AT"] = spec
        return functions_env(
            db_url=f"file:{self.db_path}", project_id=self.firestore.project_id,
            firestore_host=self.firestore.host_port, tasks_host=self.tasks.host_port,
            queue=self.queue, functions_url=self.url, secret=SECRET,
            auth_host=self.auth.host_port, extra=extra)

    def start_functions(self, spec: str | None = None) -> None:
        wait_port_free("127.0.0.1", self.port, 20.0)
        self.started += 1
        proc = FunctionsServer(LOG_DIR, self.env(spec), port=self.port, server="werkzeug",
                               name=f"w3c-functions-{self.started}")
        proc.start()
        self.functions, self.spec = proc, spec

    @property
    def alive(self) -> bool:
        return self.functions is not None and self.functions.running

    def restart(self, spec: str | None = None) -> None:
        if self.functions is not None:
            self.functions.stop(grace_s=0.0)  # SIGKILL to the whole group
        self.functions = None
        self.start_functions(spec)

    def reap(self) -> bool:
        """A functions process a crash point killed: count it, start a clean one, sweep."""
        if self.functions is None or self.functions.running:
            return False
        spec = self.spec
        if spec:
            self.faults[f"kill9_at_{spec.split(':')[0]}"] += 1
        else:
            self.faults["functions_exit_unexpected"] += 1
        self.restart(None)
        self.post_sweep()
        return True

    def post_sweep(self) -> dict[str, Any] | None:
        try:
            resp = httpx.post(f"{self.url}/sweep", headers={"X-Ticketflow-Task-Secret": SECRET},
                              timeout=30.0)
        except httpx.HTTPError:
            return None
        return resp.json() if resp.status_code == 200 else None

    def stop(self) -> None:
        for p in (self.functions, self.auth, self.firestore, self.tasks):
            if p is not None:
                with contextlib.suppress(Exception):
                    p.stop()


# -- the soak -------------------------------------------------------------------------------


class CloudSoak:
    def __init__(self, *, runs: int, seed: int, quick: bool, concurrency: int,
                 kill_budget: int, drain_s: float, work: Path) -> None:
        self.n_runs = runs
        self.rng = random.Random(seed)
        self.quick = quick
        self.concurrency = concurrency
        self.kill_budget = kill_budget
        self.drain_s = drain_s
        self.faults: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.violations: list[str] = []
        self.api = FakeMessagesAPI().start()
        server: Any = self.api._server
        server.handle_error = lambda *a: self.notes.update(["llm_connection_reset"])
        self.stack = Stack(work, self.api.url, quick=quick, faults=self.faults,
                           notes=self.notes)
        self.db: Database | None = None
        self.client: Any = None
        self.http = httpx.Client(timeout=30.0)
        self.pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="w3c")
        self.pending: list[Future[Any]] = []
        self.run_ids: list[str] = []
        self.aec_ids: list[str] = []
        self.handled: set[str] = set()
        self.ignored: set[str] = set()
        self.actions: dict[str, WrittenAction] = {}
        self.races: list[Race] = []
        self.kills = 0
        self.lock = threading.Lock()

    # -- setup ------------------------------------------------------------------------------

    def start(self) -> None:
        self.stack.start()
        self.db = Database(f"file:{self.stack.db_path}")
        self.runs = LibsqlRunStore(self.db)
        fs = self.stack.firestore
        self.client = firestore_client(fs.project_id, fs.host_port)
        self.documents = FirestoreDocumentStore(self.client, timeout_s=10.0)
        self.uid, self.token = self.stack.auth.sign_up(
            f"w3c-{uuid.uuid4().hex[:6]}@example.com", "pw-123456")
        self.base = f"{fs.base_url}/v1/projects/{fs.project_id}/databases/(default)/documents"

    def close(self) -> None:
        for f in self.pending:
            with contextlib.suppress(Exception):
                f.result(timeout=30)
        self.pool.shutdown(wait=True)
        self.stack.stop()
        self.http.close()
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        if self.db is not None:
            self.db.close()
        self.api.stop()

    # -- REST as the owner --------------------------------------------------------------------

    def rest_commit(self, write: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.base}:commit", json={"writes": [write]},
                              headers={"Authorization": f"Bearer {self.token}"})

    def rest_action(self, aec_id: str, fields: dict[str, Any],
                    action_id: str | None = None) -> tuple[str, httpx.Response]:
        action_id = action_id or f"w3c-{uuid.uuid4().hex[:12]}"
        fs = self.stack.firestore
        name = (f"projects/{fs.project_id}/databases/(default)/documents/aecs/{aec_id}"
                f"/actions/{action_id}")
        return action_id, self.rest_commit({
            "update": {"name": name, "fields": {k: rest_value(v) for k, v in fields.items()}},
            "currentDocument": {"exists": False},
            "updateTransforms": [{"fieldPath": "createdAt",
                                  "setToServerValue": "REQUEST_TIME"}]})

    def rest_edit(self, aec_id: str, description: str) -> httpx.Response:
        fs = self.stack.firestore
        name = f"projects/{fs.project_id}/databases/(default)/documents/aecs/{aec_id}"
        return self.rest_commit({
            "update": {"name": name, "fields": {"description": rest_value(description)}},
            "updateMask": {"fieldPaths": ["description"]},
            "currentDocument": {"exists": True}})

    def post_event(self, w: WrittenAction) -> int | None:
        body = action_event_body(w.fields, w.aec_id, w.action_id,
                                 project_id=self.stack.firestore.project_id)
        try:
            resp = self.http.post(f"{self.stack.url}/on_action_created", content=body, headers={
                "ce-specversion": "1.0", "ce-id": uuid.uuid4().hex,
                "ce-source": f"//firestore.googleapis.com/projects/"
                             f"{self.stack.firestore.project_id}/databases/(default)",
                "ce-type": "google.cloud.firestore.document.v1.created",
                "ce-subject": f"documents/aecs/{w.aec_id}/actions/{w.action_id}",
                "Content-Type": "application/protobuf"})
        except httpx.HTTPError:
            return None
        return resp.status_code

    # -- runs -------------------------------------------------------------------------------

    def start_run(self) -> bool:
        if len(self.aec_ids) <= len(self.run_ids):  # else: the last start failed, again
            req = REQUESTS[len(self.run_ids) % len(REQUESTS)]
            aec = self.documents.create(AEC.new(
                aec_id=f"aec-{uuid.uuid4().hex[:12]}", owner_id=self.uid, title=req["title"],
                description=req["description"],
                repo=str(SAMPLE_REPO) if req["repo"] else None))
            self.aec_ids.append(aec.id)
        aec_id = self.aec_ids[len(self.run_ids)]
        try:
            resp = self.http.post(f"{self.stack.url}/start_generation", json={"aecId": aec_id},
                                  headers={"Authorization": f"Bearer {self.token}"})
        except httpx.HTTPError:
            self.notes["start_while_functions_down"] += 1
            return False
        if resp.status_code == 409:
            # a start whose answer was lost with a killed process: the run exists
            runs = self.runs.list_runs(10, aec_id=aec_id)
            if runs:
                self.notes["start_answer_lost_run_exists"] += 1
                self.run_ids.append(runs[0].run_id)
                return True
        if resp.status_code != 202:
            self.notes[f"start_{resp.status_code}"] += 1
            return False
        self.run_ids.append(str(resp.json()["runId"]))
        return True

    def all_runs(self) -> list[RunRecord]:
        return self.runs.list_runs(10_000)

    # -- answering ----------------------------------------------------------------------------

    def reply_fields(self, run: RunRecord) -> dict[str, Any]:
        assert run.suspension is not None
        x = self.rng.random()
        base = {"runId": run.run_id, "token": run.suspension.token, "uid": self.uid}
        if run.suspension.kind == "review":
            return {**base, "type": "proceed" if x < 0.85 else ("edit" if x < 0.95
                                                                 else "cancel")}
        if x < 0.6:
            qs = [q["id"] for q in run.suspension.payload.get("questions", [])]
            return {**base, "type": "answer", "answers": {q: f"answer to {q}" for q in qs}}
        return {**base, "type": "skip"}

    def write_reply(self, run: RunRecord, fields: dict[str, Any], kind: str) -> str | None:
        action_id, resp = self.rest_action(run.aec_id, fields)
        if resp.status_code == 403 and self.documents.get(run.aec_id) is None:
            # the racing 'cancel' deleted the ticket first: nothing left to act on
            self.notes["action_denied_ticket_deleted"] += 1
            return None
        if resp.status_code != 200:
            self.violations.append(f"a valid action was denied by the rules: "
                                   f"{resp.status_code} {resp.text[:200]}")
            return None
        with self.lock:
            self.actions[action_id] = WrittenAction(run.aec_id, action_id, fields, kind,
                                                    time.monotonic())
        return action_id

    def bad_actions(self, run: RunRecord) -> None:
        """Malformed documents: around the rules (rejected on the doc), through REST
        with the owner's token (denied by the rules)."""
        assert run.suspension is not None
        token = run.suspension.token
        around: list[dict[str, Any]] = [
            {"runId": run.run_id, "type": "explode", "token": token, "uid": self.uid},
            {"runId": run.run_id, "type": "answer", "token": token, "uid": self.uid,
             "answers": "yes"},
            {"token": token, "uid": self.uid},
            {"runId": run.run_id, "type": "proceed", "token": token},
            {"runId": run.run_id, "type": "proceed", "token": token, "uid": "intruder"},
            {"runId": run.run_id, "type": "proceed", "token": "0" * 32, "uid": self.uid},
        ]
        for doc in self.rng.sample(around, 2):
            action_id = f"w3c-bad-{uuid.uuid4().hex[:8]}"
            (self.client.collection("aecs").document(run.aec_id).collection("actions")
             .document(action_id).set(doc))
            with self.lock:
                self.actions[action_id] = WrittenAction(run.aec_id, action_id, doc,
                                                        "bad_server", time.monotonic())
            self.faults["malformed_action_around_rules"] += 1
        through: list[dict[str, Any]] = [
            {"runId": run.run_id, "type": "explode", "token": token, "uid": self.uid},
            {"runId": run.run_id, "type": "proceed", "token": token, "uid": self.uid,
             "extra": "field"},
            {"runId": run.run_id, "type": "proceed", "token": token, "uid": "intruder"},
            {"runId": run.run_id, "type": "answer", "token": token, "uid": self.uid,
             "answers": "yes"},
            {"runId": run.run_id, "type": "proceed", "token": token * 20, "uid": self.uid},
            {"runId": "", "type": "proceed", "token": token, "uid": self.uid},
        ]
        for doc in self.rng.sample(through, 2):
            _, resp = self.rest_action(run.aec_id, doc)
            self.faults["malformed_action_through_rules"] += 1
            if resp.status_code != 403:
                self.violations.append(f"the rules let a malformed action in: {doc} -> "
                                       f"{resp.status_code}")

    def race(self, run: RunRecord) -> None:
        a, b = self.reply_fields(run), self.reply_fields(run)
        barrier = threading.Barrier(2)
        race = Race(run.run_id)

        def go(fields: dict[str, Any]) -> None:
            barrier.wait()
            action_id = self.write_reply(run, fields, "race")
            if action_id:
                with self.lock:
                    race.action_ids.append(action_id)

        fa, fb = self.pool.submit(go, a), self.pool.submit(go, b)
        fa.result()
        fb.result()
        self.races.append(race)
        self.faults["racing_actions"] += 1
        if len(race.action_ids) == 2 and self.stack.alive and self.rng.random() < 0.5:
            # and their events delivered at once, besides the trigger's own deliveries:
            # two requests deciding one suspension in the same functions process
            ready = threading.Barrier(2)

            def deliver(action_id: str) -> None:
                ready.wait()
                self.post_event(self.actions[action_id])

            futures = [self.pool.submit(deliver, a) for a in race.action_ids]
            for f in futures:
                f.result()
            self.faults["racing_actions_concurrent_events"] += 1

    def answer(self, run: RunRecord, chaos: bool) -> None:
        assert run.suspension is not None
        token = run.suspension.token
        if token in self.handled:
            return
        self.handled.add(token)
        if chaos and self.rng.random() < 0.05:
            self.ignored.add(token)
            self.faults["wait_left_to_expire"] += 1
            return
        first = len(self.handled)  # the first ones get every kind, short soaks too
        if chaos and (first == 1 or self.rng.random() < 0.3):
            self.bad_actions(run)
        if chaos and (first == 2 or self.rng.random() < 0.3):
            self.race(run)
            return
        self.write_reply(run, self.reply_fields(run), "reply")

    # -- faults -----------------------------------------------------------------------------

    def crash_spec(self) -> str:
        point = self.rng.choices(CRASH_POINTS, weights=(15, 30, 40, 15))[0]
        steps = range(1, 12) if point == "before_execute" else NON_SUSPENDING
        return f"{point}:{self.rng.choice(list(steps))}"

    def kill_mid_step(self, runs: list[RunRecord]) -> None:
        now = datetime.now(UTC)
        busy = [r for r in runs if r.status == "running" and r.lease_id
                and r.lease_until is not None and r.lease_until > now]
        if not busy or not self.stack.alive or self.kills >= self.kill_budget:
            return
        self.kills += 1
        self.faults["kill9_mid_step_random"] += 1
        # most of the time the new process carries a crash point of its own; the first
        # one crashes between commit and enqueue
        if self.kills == 1:
            spec: str | None = f"after_commit:{self.rng.choice(NON_SUSPENDING)}"
        else:
            spec = self.crash_spec() if self.rng.random() < 0.7 else None
        self.stack.restart(spec)
        if self.stack.spec:
            self.kills += 1  # it will die once more

    def llm_fault(self) -> None:
        kind = self.rng.choice(["rate_limited", "overloaded", "server_error", "hang",
                                "malformed", "truncated", "no_tool_use"])
        fault = {
            "rate_limited": lambda: Fault.rate_limited(retry_after=0.05),
            "overloaded": Fault.overloaded, "server_error": Fault.server_error,
            "hang": lambda: Fault.hang(2.0), "malformed": Fault.malformed,
            "truncated": Fault.truncated, "no_tool_use": Fault.no_tool_use,
        }[kind]()
        if kind == "malformed" and self.rng.random() < 0.25:
            self.api.enqueue(fault, Fault.malformed())  # the corrective retry fails too
            self.faults["llm_malformed_twice"] += 1
            return
        self.api.enqueue(fault)
        self.faults[f"llm_{kind}"] += 1

    def duplicate_delivery(self, runs: list[RunRecord]) -> None:
        live = [r for r in runs if r.status in ("running", "suspended") and r.step_index > 1]
        if not live or not self.stack.alive:
            return
        run = self.rng.choice(live)
        headers = {"X-Ticketflow-Task-Secret": SECRET}
        if run.status == "running" and self.rng.random() < 0.4:
            body = {"runId": run.run_id, "stepIndex": run.step_index, "epoch": run.epoch}

            def deliver() -> None:
                try:
                    resp = self.http.post(f"{self.stack.url}/run_step", json=body,
                                          headers=headers)
                    out = (resp.json().get("outcome") if resp.status_code == 200
                           else resp.status_code)
                    self.notes[f"inflight_duplicate_{out}"] += 1
                except (httpx.HTTPError, ValueError):
                    self.notes["inflight_duplicate_connection_lost"] += 1

            self.pending.append(self.pool.submit(deliver))
            self.faults["duplicate_delivery_inflight_step"] += 1
            return
        step = self.rng.randint(1, run.step_index - 1)
        try:
            resp = self.http.post(f"{self.stack.url}/run_step", headers=headers,
                                  json={"runId": run.run_id, "stepIndex": step,
                                        "epoch": run.epoch})
        except httpx.HTTPError:
            return
        self.faults["duplicate_delivery_committed_step"] += 1
        outcome = resp.json().get("outcome") if resp.status_code == 200 else None
        if outcome != "duplicate":
            self.violations.append(f"duplicate delivery of committed step {step} of "
                                   f"{run.run_id}: {resp.status_code} {resp.text[:200]}")

    def duplicate_event(self) -> None:
        decided = [w for w in self.actions.values() if w.verdict is not None]
        if not decided or not self.stack.alive:
            return
        w = self.rng.choice(decided)
        code = self.post_event(w)
        if code is None:
            return
        self.faults["duplicate_trigger_event"] += 1
        if code != 200:
            self.violations.append(f"duplicated event for {w.action_id} answered {code}")
            return
        again = self.documents.get_action_result(w.aec_id, w.action_id)
        if again is None or again.status != w.verdict:
            self.violations.append(f"duplicated event changed the verdict of {w.action_id}: "
                                   f"{w.verdict} -> {again and again.status}")

    def locked_edit(self, runs: list[RunRecord]) -> None:
        live = [r for r in runs if r.status in ("running", "suspended")]
        if not live:
            return
        run = self.rng.choice(live)
        aec = self.documents.get(run.aec_id)
        if aec is None or not aec.locked:
            return
        resp = self.rest_edit(run.aec_id, aec.description + " (edited)")
        self.faults["edit_on_locked_ticket"] += 1
        if resp.status_code == 200:
            after = self.documents.get(run.aec_id)
            self.notes["edit_accepted_while_run_finishing"] += 1
            if after is not None and after.locked and after.status.value != "ready":
                self.violations.append(f"the rules let an edit of locked {run.aec_id} in")
        elif resp.status_code != 403:
            self.notes[f"locked_edit_{resp.status_code}"] += 1

    def unlocked_edit(self, runs: list[RunRecord]) -> None:
        """The control: an edit of a finished, unlocked ticket is allowed by the rules."""
        done = [r for r in runs if r.status == "completed"]
        if not done:
            return
        run = self.rng.choice(done)
        aec = self.documents.get(run.aec_id)
        if aec is None or aec.locked:
            return
        resp = self.rest_edit(run.aec_id, aec.description + " (v2)")
        self.notes[f"unlocked_edit_{resp.status_code}"] += 1

    # -- verdicts -------------------------------------------------------------------------------

    def collect_verdicts(self, redeliver_after_s: float) -> int:
        """Read verdicts of undecided actions; deliver again the events the emulator lost
        while the functions were down. Returns how many are still undecided."""
        now = time.monotonic()
        undecided = 0
        for w in list(self.actions.values()):
            if w.verdict is not None:
                continue
            result = self.documents.get_action_result(w.aec_id, w.action_id)
            if result is not None:
                w.verdict, w.reason = result.status, result.reason
                if w.kind == "bad_server" and (result.status != "rejected" or not result.reason):
                    self.violations.append(f"malformed action {w.fields} got {result.status} "
                                           f"({result.reason!r})")
                continue
            undecided += 1
            if (now - w.written_at > redeliver_after_s * (1 + w.redelivered)
                    and self.stack.alive and self.post_event(w) == 200):
                w.redelivered += 1
                self.notes["trigger_event_redelivered_after_loss"] += 1
        return undecided

    # -- main loop ----------------------------------------------------------------------------

    def tick(self, chaos: bool) -> list[RunRecord]:
        self.stack.reap()
        runs = [r for r in self.all_runs() if r.active]
        for run in runs:
            if run.status == "suspended" and run.suspension is not None and (
                    chaos or run.suspension.token not in self.ignored):
                self.answer(run, chaos)
        if chaos:
            r = self.rng.random
            if r() < (0.12 if self.kills else 0.5):
                self.kill_mid_step(runs)
            if r() < 0.15 and self.api.pending_faults == 0:
                self.llm_fault()
            if r() < 0.10:
                self.duplicate_delivery(runs)
            if r() < 0.05:
                self.duplicate_event()
            if r() < 0.05:
                self.locked_edit(runs)
            if r() < 0.01:
                self.unlocked_edit(runs)
        self.pending = [f for f in self.pending if not f.done()]
        return runs

    def soak(self) -> float:
        t0 = time.monotonic()
        last_sweep = last_verdicts = 0.0

        def housekeeping() -> int:
            nonlocal last_sweep, last_verdicts
            undecided = 0
            if time.monotonic() - last_sweep > 1.0:
                self.stack.post_sweep()
                last_sweep = time.monotonic()
            if time.monotonic() - last_verdicts > 1.0:
                undecided = self.collect_verdicts(redeliver_after_s=6.0)
                last_verdicts = time.monotonic()
            return undecided

        give_up = t0 + 60 + 30 * self.n_runs  # bounded even if starts keep failing
        while len(self.run_ids) < self.n_runs and time.monotonic() < give_up:
            runs = self.tick(chaos=True)
            if sum(r.status == "running" for r in runs) < self.concurrency:
                self.start_run()
            housekeeping()
            time.sleep(0.05)
        until = time.monotonic() + (5 if self.quick else 10)
        while time.monotonic() < until:
            self.tick(chaos=True)
            housekeeping()
            time.sleep(0.05)
        # calm: no more crash points or new language-model faults
        if self.stack.spec or not self.stack.alive:
            if self.stack.alive:
                self.notes["crash_point_disarmed_unfired"] += 1
            self.stack.restart(None)
        drain_until = time.monotonic() + self.drain_s
        while time.monotonic() < drain_until:
            runs = self.tick(chaos=False)
            last_verdicts = 0.0  # every pass
            undecided = housekeeping()
            if not runs and not self.unprojected() and not undecided:
                break
            time.sleep(0.1)
        for f in self.pending:
            with contextlib.suppress(Exception):
                f.result(timeout=30)
        self.collect_verdicts(redeliver_after_s=0.0)
        return time.monotonic() - t0

    def unprojected(self) -> int:
        assert self.db is not None
        rs = self.db.execute("SELECT COUNT(*) FROM runs WHERE projected_seq < seq")
        return int(rs.rows[0][0])

    # -- checks -----------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        assert self.db is not None
        db = self.db
        runs = self.all_runs()
        status = Counter(r.status for r in runs)
        deps = StepDeps(llm=OfflineLanguageModel(), documents=self.documents,
                        clock=SystemClock(), index=LibsqlRepoIndex(db))
        stuck: list[str] = []
        content_lost: list[str] = []
        failed_persisted = 0
        by_aec = {r.aec_id: r for r in sorted(runs, key=lambda r: r.created_at)}
        for run in runs:
            aec = self.documents.get(run.aec_id)
            if run.status == "running":
                stuck.append(f"{run.run_id}: still running at step {run.step_index}")
                continue
            if aec is None:  # 'cancel' at a review deletes the ticket
                if not (run.status == "cancelled" and run.cancel_reason == "deleted"):
                    content_lost.append(f"{run.run_id}: ticket {run.aec_id} missing")
                continue
            if run.status in FINISHED and aec.locked:
                stuck.append(f"{run.run_id}: {run.status} but ticket still locked")
            if run.status == "suspended" and not aec.locked:
                stuck.append(f"{run.run_id}: waiting for a person on an unlocked ticket")
            if run.projected_seq < run.seq:
                stuck.append(f"{run.run_id}: progress not projected")
            if run.status == "failed":
                if run.error is not None and aec.status.value == "failed" and aec.error:
                    failed_persisted += 1
                else:
                    stuck.append(f"{run.run_id}: failed without a persisted error on the "
                                 f"ticket ({aec.status.value})")
            if run.status == "completed" and aec.status.value != "ready":
                content_lost.append(f"{run.run_id}: completed, ticket {aec.status.value}")
        for aec_id in self.aec_ids:  # every ready ticket carries its run's outputs
            aec = self.documents.get(aec_id)
            if aec is None or aec.status.value != "ready":
                continue
            last = by_aec.get(aec_id)
            if last is None or last.status != "completed":
                content_lost.append(f"{aec_id}: ready without a completed run")
                continue
            outputs = {s.step_name: s.output for s in self.runs.steps(last.run_id)}
            try:
                want = build_content(StepContext(run=last, deps=deps, outputs=outputs))
            except (KeyError, ValueError) as exc:
                content_lost.append(f"{last.run_id}: step outputs incomplete: {exc}")
                continue
            have = AECContent.model_validate(
                {k: getattr(aec, k) for k in AECContent.model_fields})
            if have != want:
                content_lost.append(f"{last.run_id}: ticket content differs from its outputs")
        twice = db.execute(
            "SELECT run_id, step_index FROM step_attempts WHERE outcome = 'committed' "
            "GROUP BY run_id, step_index HAVING COUNT(*) > 1").rows
        after = db.execute(
            "SELECT a.run_id, a.step_index FROM step_attempts a JOIN step_outputs o "
            "ON o.run_id = a.run_id AND o.step_index = a.step_index "
            "WHERE a.started_at > o.finished_at").rows
        accepted_twice = db.execute(
            "SELECT run_id, token FROM actions WHERE status = 'accepted' AND token != '' "
            "GROUP BY run_id, token HAVING COUNT(*) > 1").rows
        race_outcomes: Counter[str] = Counter()
        for race in self.races:
            verdicts = sorted(str(self.actions[a].verdict) for a in race.action_ids)
            race_outcomes["_".join(verdicts)] += 1
            if verdicts.count("accepted") > 1:
                self.violations.append(f"two racing actions accepted on {race.run_id}")
        undecided = [w.action_id for w in self.actions.values() if w.verdict is None]
        return {
            "runs": len(runs),
            "completed": status.get("completed", 0),
            "failed_with_persisted_error": failed_persisted,
            "cancelled": status.get("cancelled", 0),
            "waiting_for_person": status.get("suspended", 0),
            "stuck": len(stuck),
            "steps_committed_twice": len(twice),
            "steps_executed_after_commit": len(after),
            "actions_accepted_twice": len(accepted_twice),
            "content_lost": len(content_lost),
            "other_violations": len(self.violations),
            "actions_written": len(self.actions),
            "actions_without_verdict": len(undecided),
            "racing_outcomes": dict(race_outcomes),
            "faults_injected": dict(sorted(self.faults.items())),
            "faults_total": sum(self.faults.values()),
            "llm_faults_left_unconsumed": self.api.pending_faults,
            "llm_requests": len(self.api.requests),
            "functions_processes_started": self.stack.started,
            "failures_by_code": dict(Counter(r.error.code for r in runs
                                             if r.status == "failed" and r.error)),
            "cancel_reasons": dict(Counter(r.cancel_reason or "" for r in runs
                                           if r.status == "cancelled")),
            "observed": dict(sorted(self.notes.items())),
            "details": {"stuck": stuck[:5], "content_lost": content_lost[:5],
                        "violations": self.violations[:5], "undecided": undecided[:5]},
        }


@contextlib.contextmanager
def _clean_environ() -> Iterator[None]:
    """The functions processes inherit this environment: no settings left over from a
    caller (``bench/w3.py``'s embedded part sets its own in ``os.environ``)."""
    saved = {k: v for k, v in os.environ.items()
             if k.startswith(("TICKETFLOW_", "ANTHROPIC_"))}
    for k in saved:
        del os.environ[k]
    try:
        yield
    finally:
        os.environ.update(saved)


def run_cloud_soak(runs: int = 20, *, seed: int | None = None, quick: bool = False,
                   concurrency: int = 4, kill_budget: int | None = None,
                   drain_s: float = 120.0, keep: Path | None = None) -> dict[str, Any]:
    """The cloud part of W3; ``invariants_ok`` / ``violated`` say whether it held.
    Raises :class:`EmulatorError` when the stack cannot start."""
    seed = random.randrange(1 << 30) if seed is None else seed
    kill_budget = max(3, runs // 2) if kill_budget is None else kill_budget
    t0 = time.perf_counter()
    with _clean_environ(), tempfile.TemporaryDirectory(prefix="ticketflow-w3c-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        soak = CloudSoak(runs=runs, seed=seed, quick=quick, concurrency=concurrency,
                         kill_budget=kill_budget, drain_s=drain_s, work=work)
        try:
            t_start = time.perf_counter()
            soak.start()
            startup_s = time.perf_counter() - t_start
            soak_s = soak.soak()
            result = soak.check()
        finally:
            soak.close()
    violated = [k for k in INVARIANTS if result[k]]
    if result["runs"] < runs:
        violated.append("runs")
    return {
        **result,
        "invariants_ok": not violated,
        "violated": violated,
        "config": {"runs": runs, "quick": quick, "concurrency": concurrency,
                   "kill_budget": kill_budget, "seed": seed, "server": "werkzeug"},
        "startup_s": round(startup_s, 1),
        "soak_s": round(soak_s, 1),
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "logs": str(LOG_DIR.relative_to(ROOT)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud-runs", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="shorter waits and drain")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--kill-budget", type=int, default=None,
                   help="most functions-process kills (default: runs / 2, at least 3)")
    p.add_argument("--drain-s", type=float, default=120.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", type=Path, default=None, help="keep the database here")
    args = p.parse_args()
    from ticketflow.observability.logs import configure_logging

    configure_logging("CRITICAL")
    try:
        out = run_cloud_soak(args.cloud_runs, seed=args.seed, quick=args.quick,
                             concurrency=args.concurrency, kill_budget=args.kill_budget,
                             drain_s=min(args.drain_s, 90.0) if args.quick else args.drain_s,
                             keep=args.keep)
    except EmulatorError as exc:
        print(json.dumps({"benchmark": "W3-cloud", "error": f"stack did not start: {exc}"}))
        return 2
    print(json.dumps({"benchmark": "W3-cloud", **out}))
    return 0 if out["invariants_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
