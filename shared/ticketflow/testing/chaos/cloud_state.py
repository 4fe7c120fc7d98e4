"""The cloud chaos soak's state: the stack under test, what the soak wrote, and the
invariants checked at the end (:meth:`CloudSoakState.check`). The soak itself, which
drives the runs and injects the faults, is :mod:`ticketflow.testing.chaos.cloud`.

Invariants, from libSQL and Firestore: ``stuck`` (runs neither finished nor waiting
for a person, tickets left locked or unprojected, failures without the error on the
ticket), ``steps_committed_twice``, ``steps_executed_after_commit``,
``actions_accepted_twice``, ``content_lost`` (every ready ticket in Firestore carries
the content of its run's step outputs), ``other_violations`` (wrong verdicts, rules
that let a bad write in).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.dev.processes import FunctionsServer
from ticketflow.dev.stack import ACTION_CREATED, Stack
from ticketflow.domain import AECContent
from ticketflow.ports.records import RunRecord
from ticketflow.testing.chaos.common import (
    FINISHED,
    LLM_SETTINGS,
    RUN_SETTINGS,
    SAMPLE_REPO,
    fake_llm,
    store_invariants,
    unprojected,
)
from ticketflow.testing.cloud import SECRET_HEADER, document_store
from ticketflow.testing.crash import ENV as CRASH_ENV
from ticketflow.testing.rest import User, UserRest, action_event
from ticketflow.workflow.context import StepContext, StepDeps
from ticketflow.workflow.steps.s11_finalize import build_content

LOG_DIR = PROJECT_ROOT / "test-artifacts" / "w3-cloud"


def chaos_env(llm_url: str, *, quick: bool) -> dict[str, str]:
    """The functions' settings in the soak: short timeouts and waits so faults resolve
    fast (the embedded soak's values, with waits long enough for the trigger path)."""
    wait = "10" if quick else "15"
    return {**LLM_SETTINGS, "TICKETFLOW_LLM_BASE_URL": llm_url, **RUN_SETTINGS,
            "TICKETFLOW_REVIEW_WAIT_S": wait, "TICKETFLOW_QUESTIONS_WAIT_S": wait,
            "TICKETFLOW_FIRESTORE_TIMEOUT_S": "5"}


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


class ChaosStack:
    """The emulators (started once) and the functions process (killed and restarted),
    on the one stack builder."""

    def __init__(self, work: Path, llm_url: str, *, quick: bool,
                 faults: Counter[str], notes: Counter[str]) -> None:
        self.stack = (Stack(work, log_dir=LOG_DIR)
                      .with_database("w3-cloud")
                      .with_tasks(queue=f"w3c-{uuid.uuid4().hex[:6]}")
                      .with_firestore(triggers=[ACTION_CREATED]).with_auth()
                      .with_env(**chaos_env(llm_url, quick=quick)))
        self.faults = faults
        self.notes = notes
        self.functions: FunctionsServer | None = None
        self.spec: str | None = None
        self.started = 0

    @property
    def url(self) -> str:
        return self.stack.functions_url

    @property
    def secret(self) -> str:
        return self.stack.secret

    def start(self) -> None:
        self.stack.start()
        with self.stack.connect() as db:
            LibsqlRepoIndex(db).index(str(SAMPLE_REPO))
        self.start_functions()

    def start_functions(self, spec: str | None = None) -> None:
        self.started += 1
        self.functions = self.stack.start_functions(
            server="werkzeug", name=f"w3c-functions-{self.started}",
            env={CRASH_ENV: spec} if spec else None)
        self.spec = spec

    @property
    def alive(self) -> bool:
        return self.functions is not None and self.functions.running

    def restart(self, spec: str | None = None) -> None:
        if self.functions is not None:
            self.stack.stop_functions(self.functions, kill=True)  # SIGKILL to the group
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
            resp = httpx.post(f"{self.url}/sweep", headers={SECRET_HEADER: self.secret},
                              timeout=30.0)
        except httpx.HTTPError:
            return None
        data: dict[str, Any] | None = resp.json() if resp.status_code == 200 else None
        return data

    def stop(self) -> None:
        self.stack.stop()


# -- the soak -------------------------------------------------------------------------------


class CloudSoakState:
    """What the cloud soak set up, did and saw, and the checks made on it at the end
    (the driving is :class:`ticketflow.testing.chaos.cloud.CloudSoak`'s)."""

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
        self.api = fake_llm(self.notes)
        self.stack = ChaosStack(work, self.api.url, quick=quick, faults=self.faults,
                                notes=self.notes)
        self.db: Database | None = None
        self.client: Any = None
        self.rest: UserRest | None = None
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
        stack = self.stack.stack
        assert stack.firestore is not None and stack.auth is not None
        self.db = stack.connect()
        self.runs = LibsqlRunStore(self.db)
        self.documents = document_store(stack, timeout_s=10.0)
        self.client = self.documents.client
        user = User.signed_up(stack.auth, f"w3c-{uuid.uuid4().hex[:6]}@example.com")
        self.uid, self.token = user
        self.rest = UserRest(stack.firestore, user)

    def close(self) -> None:
        for f in self.pending:
            with contextlib.suppress(Exception):
                f.result(timeout=30)
        self.pool.shutdown(wait=True)
        self.stack.stop()
        self.http.close()
        if self.rest is not None:
            self.rest.close()
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        if self.db is not None:
            self.db.close()
        self.api.stop()

    def post_event(self, w: WrittenAction) -> int | None:
        project = self.stack.stack.project_id
        body, headers = action_event(
            w.fields, w.aec_id, w.action_id, project_id=project, subject=True,
            source=f"//firestore.googleapis.com/projects/{project}/databases/(default)")
        try:
            resp = self.http.post(f"{self.stack.url}/on_action_created", content=body,
                                  headers=headers)
        except httpx.HTTPError:
            return None
        return resp.status_code

    # -- runs and verdicts -------------------------------------------------------------------

    def all_runs(self) -> list[RunRecord]:
        return self.runs.list_runs(10_000)

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

    def unprojected(self) -> int:
        assert self.db is not None
        return unprojected(self.db)

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
        broken = store_invariants(db)
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
            **{k: len(v) for k, v in broken.items()},
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
