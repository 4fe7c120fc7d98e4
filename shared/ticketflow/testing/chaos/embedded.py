"""The chaos soak of the embedded default (benchmark W3; definitions in
``docs/benchmarks.md``).

Runs the real 11-step workflow (Claude adapter against the local fake Messages API,
whose outputs vary per call; the real preflight against ``examples/sample-repo``) in
worker *processes* (:mod:`ticketflow.testing.chaos.worker`) sharing one libSQL file,
every process witnessed (:mod:`ticketflow.testing.witness`: a side file of handler
executions and accepted commits, model requests tagged by step), and injects:

* SIGKILL from outside of a worker while one of its handlers runs (the side file
  says which are running; steps 3 and 7 are slowed a little so kills land there), and
  crash points ``before_execute | after_execute | after_commit | after_dispatch`` of a
  random step armed in workers (``TICKETFLOW_CRASH_AT``; the first four workers get
  one each);
* language-model faults: 429 with retry-after, 529, 500, hangs past the client
  timeout, schema-violating, truncated and tool-less answers (each kind first once);
* duplicated task deliveries: ``run_step`` again for a committed step, the step in
  flight delivered a second time, finished queue tasks put back;
* two actions racing for one suspension (two database connections, two threads);
* malformed action documents and well-formed but invalid actions;
* edits of tickets locked by their run; deadlines that pass mid-run;
* waits left unanswered until they expire (resolved by policy by the sweep).

Each kind is forced at its first chance, then comes at random. The driver answers
the other suspensions (proceed / edit / cancel at a review, answers or skip at
questions), its choices per run drawn from the seed. Then every fault stops, the
workers drain, and the invariants are computed from the witness
(:mod:`ticketflow.testing.chaos.invariants`); a fault counts only where it took
effect (a kill only if it landed while a lease was held or between a commit and what
follows, a model fault only if a request consumed it).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ticketflow.adapters.libsql.metrics import compute_stats, record_ticket_edit
from ticketflow.cli.driver import LOCAL_UID
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AEC, AECLockedError
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import StepTask
from ticketflow.ports.records import RunRecord
from ticketflow.settings import Settings
from ticketflow.testing.chaos.common import (
    LLM_FAULTS,
    LLM_SETTINGS,
    REQUESTS,
    RUN_SETTINGS,
    SAMPLE_REPO,
    SLOW_HANDLERS,
    chaos_seed,
    environment,
    fake_llm,
    inject_llm_fault,
    rng_for,
    unprojected,
    violated,
)
from ticketflow.testing.chaos.invariants import ActionSeen, StartedRun
from ticketflow.testing.chaos.report import Evidence, report
from ticketflow.testing.chaos.workers import Workers
from ticketflow.testing.witness import FILE_ENV, SLOW_ENV, SideFile, instrument
from ticketflow.workflow.actions import ActionRequest, parse_action


@dataclass(frozen=True)
class EmbeddedSoakConfig:
    """``runs`` in all, ``concurrency`` executing at once on ``workers`` processes;
    ``kill_rate``: chance per 20 ms tick of a SIGKILL of a worker running a handler;
    ``ignore_rate``: share of suspensions left to expire; ``quick``: shorter waits and
    drain; ``seed`` (``None``: :func:`~ticketflow.testing.chaos.common.chaos_seed`)
    fixes the fault schedule's choices; ``completion_floor``: the least share of runs
    that must end ready."""

    runs: int = 200
    quick: bool = False
    workers: int = 3
    concurrency: int = 12
    kill_rate: float = 0.03
    ignore_rate: float = 0.05
    drain_s: float = 180.0
    seed: int | None = None
    completion_floor: float = 0.5


def chaos_env(db: Path, llm_url: str, side: Path, *, quick: bool) -> dict[str, str]:
    """Settings of the soak: short timeouts, waits and sweeps so faults resolve fast;
    the witness's side file and slowed handlers."""
    return {
        "TICKETFLOW_DB_URL": f"file:{db}", **LLM_SETTINGS, "TICKETFLOW_LLM_BASE_URL": llm_url,
        **RUN_SETTINGS, "TICKETFLOW_POLL_S": "0.02", "TICKETFLOW_SWEEP_INTERVAL_S": "0.5",
        "TICKETFLOW_REVIEW_WAIT_S": "2" if quick else "3",
        "TICKETFLOW_QUESTIONS_WAIT_S": "2" if quick else "3",
        "TICKETFLOW_WORKERS": "2", "PYTHONUNBUFFERED": "1",
        FILE_ENV: str(side), SLOW_ENV: SLOW_HANDLERS,
    }


class Soak:
    """The driver of the embedded soak (see the module doc); one instance per soak."""

    def __init__(self, config: EmbeddedSoakConfig, seed: int, work: Path) -> None:
        self.args = config
        self.seed = seed
        self.rng = rng_for(seed, "ticks")
        self.injected: Counter[str] = Counter()   # what was decided (not what took effect)
        self.effect: Counter[str] = Counter()     # what the driver saw take effect
        self.violations: list[str] = []
        self.notes: Counter[str] = Counter()
        self.work = work
        self.db = work / "w3.db"
        self.side = SideFile(work / "witness.jsonl")
        self.side_at = 0
        self.running: Counter[tuple[int, str, int, int]] = Counter()  # pid, run, step, attempt
        self.api = fake_llm(self.notes)
        self.env = chaos_env(self.db, self.api.url, self.side.path, quick=config.quick)
        # this process runs steps too (duplicate deliveries): same settings, witnessed
        self._restore = contextlib.ExitStack()
        self._restore.enter_context(environment(self.env))
        self.app = open_embedded(Settings())
        instrument(self.app.engine, self.app.settings, self.side)
        self.app2 = open_embedded(Settings())  # a second connection: racing actions
        assert self.app.index_repository(str(SAMPLE_REPO)).state == "ready"
        self.started: list[StartedRun] = []
        self.actions: list[ActionSeen] = []
        self.handled: set[str] = set()  # suspension tokens already dealt with
        self.ignored: set[str] = set()
        self.deadline_plan: dict[str, tuple[int, float]] = {}  # run -> (step, planned at)
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="chaos")
        self.pending: list[Future[Any]] = []
        (work / "logs").mkdir(exist_ok=True)
        self.workers = Workers(config.workers, self.env, work / "logs", self.app.db, seed,
                               self.notes)

    def close(self) -> None:
        self.workers.stop()
        self.pool.shutdown(wait=True)
        self.app2.close()
        self.app.close()
        self.api.stop()
        self._restore.close()

    def want(self, kind: str, rate: float) -> bool:
        """Inject ``kind`` now: always until it first happened, then at ``rate``."""
        return not (self.effect[kind] or self.injected[kind]) or self.rng.random() < rate

    # -- runs ----------------------------------------------------------------------------

    def start_run(self) -> None:
        req = REQUESTS[len(self.started) % len(REQUESTS)]
        request = {"title": req["title"], "description": req["description"],
                   "repo": str(SAMPLE_REPO) if req["repo"] else None}
        aec = self.app.documents.create(AEC.new(
            aec_id="aec-" + uuid.uuid4().hex[:12], owner_id=LOCAL_UID, **request))
        run = self.app.engine.start(aec.id, uid=LOCAL_UID, trace_id=uuid.uuid4().hex)
        rng = rng_for(self.seed, "run", len(self.started), "deadline")
        forced = not self.effect["deadline_passed"] and not self.deadline_plan
        if forced or rng.random() < 0.015:  # its deadline will pass mid-run
            step = 2 if forced else rng.choice((2, 5, 7, 8, 10))
            self.deadline_plan[run.run_id] = (step, time.monotonic())
        self.started.append(StartedRun(run.run_id, aec.id, request))

    def active(self) -> list[RunRecord]:
        return [r for r in self.app.runs.list_runs(10_000) if r.active]

    def read_side(self) -> None:
        """Follow the side file: which handlers are running now, in which process."""
        self.side_at = self.side.follow_handlers(self.side_at, self.running)

    # -- faults --------------------------------------------------------------------------------

    def kill_mid_handler(self) -> None:
        """SIGKILL a worker while the side file says one of its handlers runs."""
        busy = {pid for (pid, *_), n in self.running.items() if n > 0} & set(self.workers.procs)
        if busy and self.workers.kill(self.rng.choice(sorted(busy))):
            self.injected["kill9_outside"] += 1  # where it landed: from the side file

    def duplicate_delivery(self, runs: list[RunRecord]) -> None:
        running = [r for r in runs if r.status == "running"]
        if not running:
            return
        run = self.rng.choice(running)
        modes = ("duplicate_delivery_committed_step", "duplicate_delivery_inflight_step",
                 "duplicate_delivery_requeued_tasks")
        mode = next((m for m in modes if not self.effect[m]), None) or self.rng.choice(modes)
        if mode == modes[0] and run.step_index > 1:
            step = self.rng.randint(1, run.step_index - 1)
            res = self.app.engine.run_step(StepTask(run_id=run.run_id, step_index=step,
                                                    epoch=run.epoch))
            if res.outcome != "duplicate":
                self.violations.append(f"duplicate delivery of committed step {step} of "
                                       f"{run.run_id} returned {res.outcome}")
            self.effect[mode] += 1
        elif mode == modes[1]:
            task = StepTask(run_id=run.run_id, step_index=run.step_index, epoch=run.epoch)

            def deliver() -> None:
                try:
                    self.notes[f"inflight_duplicate_{self.app.engine.run_step(task).outcome}"
                               ] += 1
                except RetryableError as exc:
                    self.notes[f"inflight_duplicate_{exc.code}"] += 1

            self.pending.append(self.pool.submit(deliver))
            self.effect[mode] += 1
        elif mode == modes[2]:
            rs = self.app.db.execute(
                "UPDATE queue_tasks SET status = 'pending', available_at = ?, "
                "lease_owner = NULL, leased_until = NULL WHERE run_id = ? AND status = 'done'",
                [datetime.now(UTC).isoformat(), run.run_id], durable=False)
            self.effect[mode] += rs.rows_affected

    def locked_edit(self, runs: list[RunRecord]) -> None:
        if not runs:
            return
        run = self.rng.choice(runs)
        before = self.app.documents.get(run.aec_id)
        try:
            self.app.documents.mutate(
                run.aec_id, lambda a: a.edit(description=a.description + " (edited)"))
        except AECLockedError:
            self.effect["edit_on_locked_ticket"] += 1
            return
        # accepted: the ticket was unlocked (the run just finalized it at step 11)
        self.notes["edit_accepted_while_run_finishing"] += 1
        record_ticket_edit(self.app.db, run.aec_id, uid=LOCAL_UID, fields=["description"],
                           status_before=before.status.value if before else None)

    def pass_deadlines(self, runs: list[RunRecord]) -> None:
        """The runs planned for it have their deadline pass once at their step (a plan
        whose run ended first is dropped)."""
        live = {r.run_id for r in runs}
        for run_id, (_, at) in list(self.deadline_plan.items()):
            if run_id not in live and time.monotonic() - at > 2.0:
                del self.deadline_plan[run_id]
        for run in runs:
            step, _ = self.deadline_plan.get(run.run_id, (None, 0.0))
            if step is None or run.status != "running" or run.step_index < step:
                continue
            del self.deadline_plan[run.run_id]
            rs = self.app.db.execute(
                "UPDATE runs SET deadline_at = ? WHERE run_id = ? AND status = 'running'",
                [(datetime.now(UTC) - timedelta(seconds=1)).isoformat(), run.run_id])
            self.effect["deadline_passed"] += rs.rows_affected

    # -- people ---------------------------------------------------------------------------------

    def act(self, app: EmbeddedApp, run: RunRecord, req: ActionRequest, source: str) -> str:
        """Apply ``req``; the verdict handed back is what the person sees."""
        assert run.suspension is not None
        rec = app.engine.act(req)
        self.actions.append(ActionSeen(
            run.run_id, run.aec_id, req.action_id, run.suspension.kind, req.type, req.token,
            req.answers, source, rec.status, rec.reason))
        return rec.status

    def request(self, run: RunRecord, type_: str, *, answers: dict[str, str] | None = None,
                token: str | None = None, uid: str = LOCAL_UID) -> ActionRequest:
        assert run.suspension is not None
        return ActionRequest(action_id=f"w3-{uuid.uuid4().hex[:12]}", run_id=run.run_id,
                             aec_id=run.aec_id, type=type_,
                             token=run.suspension.token if token is None else token,
                             uid=uid, answers=answers)

    def reply(self, run: RunRecord, x: float) -> ActionRequest:
        assert run.suspension is not None
        if run.suspension.kind == "review":
            return self.request(run, "proceed" if x < 0.85 else ("edit" if x < 0.95
                                                                 else "cancel"))
        if x < 0.6:
            qs = [q["id"] for q in run.suspension.payload.get("questions", [])]
            return self.request(run, "answer", answers={q: f"answer to {q}" for q in qs})
        return self.request(run, "skip")

    def bad_actions(self, run: RunRecord) -> None:
        """Malformed documents and invalid actions: every one must be rejected."""
        assert run.suspension is not None
        token = run.suspension.token
        docs: list[dict[str, Any]] = [
            {"runId": run.run_id, "type": "explode", "token": token},
            {"runId": run.run_id, "type": "answer", "token": token, "answers": {"q1": "  "}},
            {"token": token},
            {"runId": run.run_id, "type": "answer", "token": token, "answers": "yes"},
            {"runId": run.run_id, "type": "proceed", "token": token * 20},
        ]
        for doc in self.rng.sample(docs, 2):
            action_id = f"w3-bad-{uuid.uuid4().hex[:8]}"
            parsed = parse_action(doc, action_id=action_id, aec_id=run.aec_id)
            self.effect["malformed_action_document"] += 1
            if isinstance(parsed, ActionRequest):
                self.act(self.app, run, parsed, "bad")
            else:
                self.actions.append(ActionSeen(run.run_id, run.aec_id, action_id, "",
                                               str(doc.get("type")), token, None, "bad",
                                               "rejected", parsed.reason))
        wrong_kind = "answer" if run.suspension.kind == "review" else "proceed"
        invalid = [
            self.request(run, "proceed", token="0" * 32),
            self.request(run, wrong_kind, answers={"q1": "x"} if wrong_kind == "answer"
                         else None),
            self.request(run, "skip" if run.suspension.kind == "questions" else "proceed",
                         uid="someone-else"),
        ]
        if run.suspension.kind == "questions":
            invalid.append(self.request(run, "answer", answers={"nope": "x"}))
        for req in self.rng.sample(invalid, 2):
            self.act(self.app, run, req, "invalid")
            self.effect["invalid_action"] += 1

    def answer(self, run: RunRecord) -> None:
        assert run.suspension is not None
        token = run.suspension.token
        if token in self.handled:
            return
        self.handled.add(token)
        index = next((i for i, s in enumerate(self.started) if s.run_id == run.run_id), -1)
        rng = rng_for(self.seed, "run", index, run.suspension.kind)
        first = len(self.handled)  # the first suspensions get every kind, short soaks too
        if first == 3 or (first > 3 and rng.random() < self.args.ignore_rate):
            self.ignored.add(token)
            self.effect["wait_left_to_expire"] += 1
            return
        if first == 1 or rng.random() < 0.25:
            self.bad_actions(run)
        if first == 2 or rng.random() < 0.3:
            a, b = self.reply(run, rng.random()), self.reply(run, rng.random())
            barrier = threading.Barrier(2)

            def go(app: EmbeddedApp, req: ActionRequest) -> str:
                barrier.wait()
                return self.act(app, run, req, "race")

            fa = self.pool.submit(go, self.app, a)
            fb = self.pool.submit(go, self.app2, b)
            statuses = sorted([fa.result(), fb.result()])
            self.effect["racing_actions"] += 1
            self.notes[f"race_{'_'.join(statuses)}"] += 1
            return
        if self.act(self.app, run, self.reply(run, rng.random()), "reply") != "accepted":
            self.notes["reply_rejected"] += 1

    # -- main loop --------------------------------------------------------------------------------

    def tick(self, chaos: bool) -> list[RunRecord]:
        self.workers.reap()
        self.read_side()
        runs = self.active()
        for run in runs:
            if run.status == "suspended" and run.suspension is not None and (
                    chaos or run.suspension.token not in self.ignored):
                self.answer(run)
        if chaos:
            r = self.rng.random
            if self.want("kill9_outside", self.args.kill_rate):
                self.kill_mid_handler()
            if r() < 0.15 and self.api.pending_faults == 0:
                inject_llm_fault(self.api, self.rng, self.injected)
            if r() < 0.08:
                self.duplicate_delivery(runs)
            if self.want("edit_on_locked_ticket", 0.04):
                self.locked_edit(runs)
            self.pass_deadlines(runs)
        self.pending = [f for f in self.pending if not f.done()]
        return runs

    def soak(self) -> float:
        t0 = time.monotonic()
        last_sweep = 0.0
        while len(self.started) < self.args.runs:
            runs = self.tick(chaos=True)
            if sum(r.status == "running" for r in runs) < self.args.concurrency:
                self.start_run()
            if time.monotonic() - last_sweep > 0.5:
                self.app.engine.sweep()
                last_sweep = time.monotonic()
            self.maybe_edit_completed()
            time.sleep(0.02)
        # the last runs take faults too: on until they are done (or most of them), for
        # at least a few seconds, longer while a kind was never injected
        tail = time.monotonic()
        cap = tail + (30 if self.args.quick else 60)
        while time.monotonic() < cap:
            runs = self.tick(chaos=True)
            elapsed = time.monotonic() - tail
            if elapsed > 5 and self.all_kinds_met() and (
                    sum(r.status == "running" for r in runs) <= self.args.concurrency // 4):
                break
            time.sleep(0.02)
        self.workers.calm()
        drain_until = time.monotonic() + self.args.drain_s
        while time.monotonic() < drain_until:
            runs = self.tick(chaos=False)
            if time.monotonic() - last_sweep > 0.5:
                self.app.engine.sweep()
                last_sweep = time.monotonic()
            if not runs and not unprojected(self.app.db):
                break
            time.sleep(0.05)
        for f in self.pending:
            f.result(timeout=30)
        return time.monotonic() - t0

    FORCED = ("kill9_outside", "edit_on_locked_ticket", "deadline_passed",
              "duplicate_delivery_committed_step", "duplicate_delivery_inflight_step",
              "duplicate_delivery_requeued_tasks", "racing_actions",
              "malformed_action_document", "wait_left_to_expire")

    def all_kinds_met(self) -> bool:
        """Every kind the driver injects happened, and every model fault kind was
        consumed by a request."""
        consumed = {s.fault for s in self.api.served_log() if s.fault}
        return (all(self.effect[k] or self.injected[k] for k in self.FORCED)
                and len(consumed) >= len(LLM_FAULTS))

    def maybe_edit_completed(self) -> None:
        """Now and then a person edits a ticket after its run completed."""
        if self.rng.random() > 0.02:
            return
        rs = self.app.db.execute("SELECT aec_id FROM runs WHERE status = 'completed' "
                                 "ORDER BY finished_at DESC LIMIT 5")
        if not rs.rows:
            return
        aec_id = str(self.rng.choice(rs.rows)[0])
        before = self.app.documents.get(aec_id)
        try:
            self.app.documents.mutate(aec_id, lambda a: a.edit(title=a.title + " (v2)"))
        except AECLockedError:
            return
        record_ticket_edit(self.app.db, aec_id, uid=LOCAL_UID, fields=["title"],
                           status_before=before.status.value if before else None)
        self.notes["edit_after_completion"] += 1

    def evidence(self) -> Evidence:
        return Evidence(
            side=self.side.records(), served=self.api.served_log(), started=self.started,
            tickets={s.aec_id: self.app.documents.get(s.aec_id) for s in self.started},
            actions=self.actions, kills=self.workers.kills,
            running=[f"{r.run_id}: still running at step {r.step_index}"
                     for r in self.app.runs.list_runs(10_000) if r.status == "running"],
            violations=self.violations, effect=self.effect, injected=self.injected,
            llm_faults_queued_unconsumed=self.api.pending_faults, notes=self.notes)


def run_embedded_soak(config: EmbeddedSoakConfig, *, keep: Path | None = None,
                      ) -> dict[str, Any]:
    """One soak; the database, the side file and the workers' logs go to ``keep``
    (default: a temporary folder, removed). The result has the outcomes, each
    invariant's count and witness, ``violated`` (empty when every invariant held and
    enough runs completed), the faults that took effect, the seed, the story's
    metrics of the soak's database (``stats``) and the configuration."""
    seed = chaos_seed(config.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ticketflow-w3-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        soak = Soak(config, seed, work)
        try:
            soak_s = soak.soak()
            soak.workers.stop()
            result = report(soak.evidence(), soak.app.db, work)
            stats = compute_stats(soak.app.db)
        finally:
            soak.close()
    broken = violated(result, config.runs, config.completion_floor)
    return {
        "seed": seed,
        **result,
        "invariants_ok": not broken,
        "violated": broken,
        "stats": {k: stats[k] for k in ("completion_rate", "time_to_ready_s", "abandonment",
                                        "crash_recovery", "retries_total")},
        "llm_calls": stats["llm"]["calls"], "llm_outcomes": stats["llm"]["outcomes"],
        "config": {**asdict(config), "seed": seed,
                   "worker_processes_started": soak.workers.spawned},
        "soak_s": round(soak_s, 1),
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
