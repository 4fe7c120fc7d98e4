"""The chaos soak of the embedded default (benchmark W3; definitions in
``docs/benchmarks.md``).

Runs the real 11-step workflow (Claude adapter against the local fake Messages API,
the real preflight against ``examples/sample-repo``) in worker *processes*
(:mod:`ticketflow.testing.chaos.worker`) sharing one libSQL file, and injects at random:

* ``kill -9`` of a worker process while it holds a step (mid-step), and through
  ``TICKETFLOW_CRASH_AT`` at ``before_execute | mid_step | after_commit |
  after_dispatch`` of a random step (``after_commit`` = between commit and enqueue);
* language-model faults: 429 with retry-after, 529, 500, hangs past the client
  timeout, schema-violating, truncated and tool-less answers;
* duplicated task deliveries: ``run_step`` called again for committed steps, an
  in-flight step delivered a second time, and finished queue tasks put back;
* two actions racing for one suspension (two database connections, two threads);
* malformed action documents and well-formed but invalid actions;
* edits of tickets locked by their run; deadlines that pass mid-run;
* waits left unanswered until they expire (resolved by policy by the sweep).

The driver answers the other suspensions (proceed / edit / cancel at a review,
answers or skip at questions). Then every fault stops, the workers drain, and the
invariants are checked from the database (:func:`run_embedded_soak`).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ticketflow.adapters.libsql.metrics import compute_stats, record_ticket_edit
from ticketflow.cli.driver import LOCAL_UID
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.domain import AEC, AECContent, AECLockedError
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import StepTask
from ticketflow.ports.records import RunRecord
from ticketflow.settings import Settings
from ticketflow.testing.chaos.common import (
    CRASH_POINTS,
    FINISHED,
    LLM_SETTINGS,
    NON_SUSPENDING,
    REQUESTS,
    RUN_SETTINGS,
    SAMPLE_REPO,
    environment,
    fake_llm,
    inject_llm_fault,
    store_invariants,
    unprojected,
    violated,
)
from ticketflow.workflow.actions import ActionRequest, parse_action
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.s11_finalize import build_content

WORKER = "ticketflow.testing.chaos.worker"


@dataclass(frozen=True)
class EmbeddedSoakConfig:
    """``runs`` in all, ``concurrency`` executing at once on ``workers`` processes;
    ``kill_rate``: chance per 20 ms tick of a ``kill -9`` of a worker holding a step;
    ``ignore_rate``: share of suspensions left to expire; ``quick``: shorter waits and
    drain; ``seed`` makes the faults repeatable."""

    runs: int = 200
    quick: bool = False
    workers: int = 3
    concurrency: int = 12
    kill_rate: float = 0.03
    ignore_rate: float = 0.05
    drain_s: float = 180.0
    seed: int = 0


def chaos_env(db: Path, llm_url: str, *, quick: bool) -> dict[str, str]:
    """Settings of the soak: short timeouts, waits and sweeps so faults resolve fast."""
    return {
        "TICKETFLOW_DB_URL": f"file:{db}", **LLM_SETTINGS, "TICKETFLOW_LLM_BASE_URL": llm_url,
        **RUN_SETTINGS, "TICKETFLOW_POLL_S": "0.02", "TICKETFLOW_SWEEP_INTERVAL_S": "0.5",
        "TICKETFLOW_REVIEW_WAIT_S": "2" if quick else "3",
        "TICKETFLOW_QUESTIONS_WAIT_S": "2" if quick else "3",
        "TICKETFLOW_WORKERS": "2", "PYTHONUNBUFFERED": "1",
    }


class Workers:
    """Worker subprocesses; each may carry a ``TICKETFLOW_CRASH_AT`` point."""

    def __init__(self, n: int, env: dict[str, str], log_dir: Path, rng: random.Random,
                 faults: Counter[str]) -> None:
        self.env = env
        self.log_dir = log_dir
        self.rng = rng
        self.faults = faults
        self.procs: dict[int, tuple[subprocess.Popen[bytes], str | None]] = {}
        self.spawned = 0
        self.chaos = True
        for _ in range(n):
            self.spawn()

    def spawn(self) -> None:
        spec = None
        if self.chaos and self.rng.random() < 0.5:
            point = self.rng.choice(CRASH_POINTS)
            steps = range(1, 12) if point == "before_execute" else NON_SUSPENDING
            spec = f"{point}:{self.rng.choice(list(steps))}"
        env = {k: v for k, v in os.environ.items() if k != "TICKETFLOW_CRASH_AT"}
        env |= self.env
        if spec:
            env["TICKETFLOW_CRASH_AT"] = spec
        self.spawned += 1
        log = open(self.log_dir / f"worker-{self.spawned}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", WORKER], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        log.close()
        self.procs[proc.pid] = (proc, spec)

    def reap(self) -> None:
        """Count the workers a crash point killed and start new ones in their place."""
        for pid, (proc, spec) in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.procs[pid]
            if code == -signal.SIGKILL and spec:
                self.faults[f"kill9_at_{spec.split(':')[0]}"] += 1
            elif code != 0:
                self.faults["worker_exit_unexpected"] += 1
            self.spawn()

    def kill(self, pid: int) -> bool:
        if pid not in self.procs:
            return False
        proc, _ = self.procs.pop(pid)
        proc.kill()
        proc.wait()  # no zombie: a dead lease holder must look dead to the others
        self.spawn()
        return True

    def calm(self) -> None:
        """No more crash points: replace the workers that carry one."""
        self.chaos = False
        for pid, (proc, spec) in list(self.procs.items()):
            if spec:
                del self.procs[pid]
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                self.spawn()

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            proc.terminate()
        for proc, _ in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


# -- the driver --------------------------------------------------------------------------------


class Soak:
    """The driver of the embedded soak (see the module doc); one instance per soak."""

    def __init__(self, config: EmbeddedSoakConfig, work: Path) -> None:
        self.args = config
        self.rng = random.Random(config.seed)
        self.faults: Counter[str] = Counter()
        self.violations: list[str] = []
        self.notes: Counter[str] = Counter()
        self.work = work
        self.db = work / "w3.db"
        self.api = fake_llm(self.notes)
        self.env = chaos_env(self.db, self.api.url, quick=config.quick)
        # this process runs steps too (duplicate deliveries): it reads the same settings
        self._restore = contextlib.ExitStack()
        self._restore.enter_context(environment(self.env))
        self.app = open_embedded(Settings())
        self.app2 = open_embedded(Settings())  # a second connection: racing actions
        self.app.index.index(str(SAMPLE_REPO))
        self.run_ids: list[str] = []
        self.handled: set[str] = set()  # suspension tokens already dealt with
        self.ignored: set[str] = set()
        self.deadline_runs: set[str] = set()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="chaos")
        self.pending: list[Any] = []
        (work / "logs").mkdir(exist_ok=True)
        self.workers = Workers(config.workers, self.env, work / "logs", self.rng, self.faults)

    def close(self) -> None:
        self.workers.stop()
        self.pool.shutdown(wait=True)
        self.app2.close()
        self.app.close()
        self.api.stop()
        self._restore.close()

    # -- runs ----------------------------------------------------------------------------

    def start_run(self) -> None:
        req = REQUESTS[len(self.run_ids) % len(REQUESTS)]
        aec = self.app.documents.create(AEC.new(
            aec_id="aec-" + uuid.uuid4().hex[:12], owner_id=LOCAL_UID, title=req["title"],
            description=req["description"], repo=str(SAMPLE_REPO) if req["repo"] else None))
        run = self.app.engine.start(aec.id, uid=LOCAL_UID, trace_id=uuid.uuid4().hex)
        self.run_ids.append(run.run_id)

    def active(self) -> list[RunRecord]:
        return [r for r in self.app.runs.list_runs(10_000) if r.active]

    # -- faults --------------------------------------------------------------------------------

    def kill_mid_step(self) -> None:
        rs = self.app.db.execute("SELECT lease_id FROM runs WHERE status = 'running' "
                                 "AND lease_id IS NOT NULL")
        pids = [int(str(r[0]).split(":")[1]) for r in rs.rows
                if str(r[0]).count(":") >= 2 and str(r[0]).split(":")[1].isdigit()]
        pids = [p for p in pids if p in self.workers.procs]
        if pids and self.workers.kill(self.rng.choice(pids)):
            self.faults["kill9_mid_step_random"] += 1

    def duplicate_delivery(self, runs: list[RunRecord]) -> None:
        running = [r for r in runs if r.status == "running"]
        if not running:
            return
        run = self.rng.choice(running)
        mode = self.rng.random()
        if mode < 0.4 and run.step_index > 1:
            step = self.rng.randint(1, run.step_index - 1)
            res = self.app.engine.run_step(StepTask(run_id=run.run_id, step_index=step,
                                                    epoch=run.epoch))
            if res.outcome != "duplicate":
                self.violations.append(f"duplicate delivery of committed step {step} of "
                                       f"{run.run_id} returned {res.outcome}")
            self.faults["duplicate_delivery_committed_step"] += 1
        elif mode < 0.7:
            task = StepTask(run_id=run.run_id, step_index=run.step_index, epoch=run.epoch)

            def deliver() -> None:
                try:
                    self.notes[f"inflight_duplicate_{self.app.engine.run_step(task).outcome}"
                               ] += 1
                except RetryableError as exc:
                    self.notes[f"inflight_duplicate_{exc.code}"] += 1

            self.pending.append(self.pool.submit(deliver))
            self.faults["duplicate_delivery_inflight_step"] += 1
        else:
            rs = self.app.db.execute(
                "UPDATE queue_tasks SET status = 'pending', available_at = ?, "
                "lease_owner = NULL, leased_until = NULL WHERE run_id = ? AND status = 'done'",
                [datetime.now(UTC).isoformat(), run.run_id], durable=False)
            if rs.rows_affected:
                self.faults["duplicate_delivery_requeued_tasks"] += rs.rows_affected

    def locked_edit(self, runs: list[RunRecord]) -> None:
        if not runs:
            return
        run = self.rng.choice(runs)
        before = self.app.documents.get(run.aec_id)
        try:
            self.app.documents.mutate(
                run.aec_id, lambda a: a.edit(description=a.description + " (edited)"))
        except AECLockedError:
            self.faults["edit_on_locked_ticket"] += 1
            return
        # accepted: the ticket was unlocked (the run just finalized it at step 11)
        self.notes["edit_accepted_while_run_finishing"] += 1
        record_ticket_edit(self.app.db, run.aec_id, uid=LOCAL_UID, fields=["description"],
                           status_before=before.status.value if before else None)

    def pass_deadline(self, runs: list[RunRecord]) -> None:
        running = [r for r in runs if r.status == "running" and r.run_id not in
                   self.deadline_runs]
        if not running:
            return
        run = self.rng.choice(running)
        rs = self.app.db.execute(
            "UPDATE runs SET deadline_at = ? WHERE run_id = ? AND status = 'running'",
            [(datetime.now(UTC) - timedelta(seconds=1)).isoformat(), run.run_id])
        if rs.rows_affected:
            self.deadline_runs.add(run.run_id)
            self.faults["deadline_passed"] += 1

    # -- people ---------------------------------------------------------------------------------

    def request(self, run: RunRecord, type_: str, *, answers: dict[str, str] | None = None,
                token: str | None = None, uid: str = LOCAL_UID) -> ActionRequest:
        assert run.suspension is not None
        return ActionRequest(action_id=f"w3-{uuid.uuid4().hex[:12]}", run_id=run.run_id,
                             aec_id=run.aec_id, type=type_,
                             token=run.suspension.token if token is None else token,
                             uid=uid, answers=answers)

    def reply(self, run: RunRecord) -> ActionRequest:
        assert run.suspension is not None
        x = self.rng.random()
        if run.suspension.kind == "review":
            t = "proceed" if x < 0.85 else ("edit" if x < 0.95 else "cancel")
            return self.request(run, t)
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
            parsed = parse_action(doc, action_id=f"w3-bad-{uuid.uuid4().hex[:8]}",
                                  aec_id=run.aec_id)
            self.faults["malformed_action_document"] += 1
            if isinstance(parsed, ActionRequest):
                rec = self.app.engine.act(parsed)
                if rec.status == "accepted":
                    self.violations.append(f"malformed action accepted: {doc}")
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
            rec = self.app.engine.act(req)
            self.faults["invalid_action"] += 1
            if rec.status == "accepted":
                self.violations.append(f"invalid action accepted: {req.type} on "
                                       f"{run.run_id}")

    def answer(self, run: RunRecord) -> None:
        assert run.suspension is not None
        token = run.suspension.token
        if token in self.handled:
            return
        self.handled.add(token)
        if self.rng.random() < self.args.ignore_rate:
            self.ignored.add(token)
            self.faults["wait_left_to_expire"] += 1
            return
        if self.rng.random() < 0.25:
            self.bad_actions(run)
        if self.rng.random() < 0.3:
            a, b = self.reply(run), self.reply(run)
            barrier = threading.Barrier(2)

            def go(app: EmbeddedApp, req: ActionRequest) -> str:
                barrier.wait()
                return app.engine.act(req).status

            fa = self.pool.submit(go, self.app, a)
            fb = self.pool.submit(go, self.app2, b)
            statuses = sorted([fa.result(), fb.result()])
            self.faults["racing_actions"] += 1
            self.notes[f"race_{'_'.join(statuses)}"] += 1
            if statuses.count("accepted") > 1:
                self.violations.append(f"two racing actions accepted on {run.run_id}")
            return
        rec = self.app.engine.act(self.reply(run))
        if rec.status != "accepted":
            self.notes[f"reply_rejected: {rec.reason}"] += 1

    # -- main loop --------------------------------------------------------------------------------

    def tick(self, chaos: bool) -> list[RunRecord]:
        self.workers.reap()
        runs = self.active()
        for run in runs:
            if run.status == "suspended" and run.suspension is not None and (
                    chaos or run.suspension.token not in self.ignored):
                self.answer(run)
        if chaos:
            r = self.rng.random
            if r() < self.args.kill_rate:
                self.kill_mid_step()
            if r() < 0.15 and self.api.pending_faults == 0:
                inject_llm_fault(self.api, self.rng, self.faults)
            if r() < 0.08:
                self.duplicate_delivery(runs)
            if r() < 0.04:
                self.locked_edit(runs)
            if r() < 0.002:
                self.pass_deadline(runs)
        self.pending = [f for f in self.pending if not f.done()]
        return runs

    def soak(self) -> float:
        t0 = time.monotonic()
        last_sweep = 0.0
        while len(self.run_ids) < self.args.runs:
            runs = self.tick(chaos=True)
            running = sum(r.status == "running" for r in runs)
            if running < self.args.concurrency:
                self.start_run()
            if time.monotonic() - last_sweep > 0.5:
                self.app.engine.sweep()
                last_sweep = time.monotonic()
            self.maybe_edit_completed()
            time.sleep(0.02)
        # let the last runs take faults too, then stop injecting and drain
        until = time.monotonic() + (5 if self.args.quick else 10)
        while time.monotonic() < until:
            self.tick(chaos=True)
            time.sleep(0.02)
        self.workers.calm()
        drain_until = time.monotonic() + self.args.drain_s
        while time.monotonic() < drain_until:
            runs = self.tick(chaos=False)
            if time.monotonic() - last_sweep > 0.5:
                self.app.engine.sweep()
                last_sweep = time.monotonic()
            if not runs and not self.unprojected():
                break
            time.sleep(0.05)
        for f in self.pending:
            f.result(timeout=30)
        return time.monotonic() - t0

    def unprojected(self) -> int:
        return unprojected(self.app.db)

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

    # -- checks --------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        db = self.app.db
        runs = self.app.runs.list_runs(10_000)
        status = Counter(r.status for r in runs)
        stuck: list[str] = []
        content_lost: list[str] = []
        failed_persisted = 0
        for run in runs:
            aec = self.app.documents.get(run.aec_id)
            if run.status == "running":
                stuck.append(f"{run.run_id}: still running at step {run.step_index}")
                continue
            if aec is None:
                if not (run.status == "cancelled" and run.cancel_reason == "deleted"):
                    content_lost.append(f"{run.run_id}: ticket {run.aec_id} missing")
                continue
            if run.status in FINISHED and aec.locked:
                stuck.append(f"{run.run_id}: {run.status} but ticket still locked")
            if run.projected_seq < run.seq:
                stuck.append(f"{run.run_id}: progress not projected")
            if run.status == "failed":
                if run.error is not None and aec.status.value == "failed" and aec.error:
                    failed_persisted += 1
                else:
                    stuck.append(f"{run.run_id}: failed without a persisted error on the "
                                 f"ticket ({aec.status.value})")
            if run.status == "completed":
                outputs = {s.step_name: s.output for s in self.app.runs.steps(run.run_id)}
                try:
                    want = build_content(StepContext(run=run, deps=self.app.engine.deps,
                                                     outputs=outputs))
                except (KeyError, ValueError) as exc:
                    content_lost.append(f"{run.run_id}: step outputs incomplete: {exc}")
                    continue
                have = AECContent.model_validate(
                    {k: getattr(aec, k) for k in AECContent.model_fields})
                if aec.status.value != "ready" or have != want:
                    content_lost.append(f"{run.run_id}: ticket {aec.status.value}, content "
                                        f"{'differs' if have != want else 'ok'}")
        broken = store_invariants(db)
        consumed = {k: v for k, v in self.faults.items()}
        pending_llm = self.api.pending_faults
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
            "faults_injected": dict(sorted(consumed.items())),
            "faults_total": sum(consumed.values()),
            "llm_faults_left_unconsumed": pending_llm,
            "failures_by_code": dict(Counter(r.error.code for r in runs
                                             if r.status == "failed" and r.error)),
            "cancel_reasons": dict(Counter(r.cancel_reason or "" for r in runs
                                           if r.status == "cancelled")),
            "observed": dict(sorted(self.notes.items())),
            "details": {"stuck": stuck[:5], "content_lost": content_lost[:5],
                        "violations": self.violations[:5]},
        }


def run_embedded_soak(config: EmbeddedSoakConfig, *, keep: Path | None = None,
                      ) -> dict[str, Any]:
    """One soak; the database and the workers' logs go to ``keep`` (default: a
    temporary folder, removed). The result has the counts of the outcomes and of each
    invariant, ``violated`` (empty when every invariant held), the faults injected,
    the story's metrics of the soak's database (``stats``) and the configuration."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ticketflow-w3-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        soak = Soak(config, work)
        try:
            soak_s = soak.soak()
            soak.workers.stop()
            result = soak.check()
            stats = compute_stats(soak.app.db)
        finally:
            soak.close()
    broken = violated(result, config.runs)
    return {
        **result,
        "invariants_ok": not broken,
        "violated": broken,
        "stats": {k: stats[k] for k in ("completion_rate", "time_to_ready_s", "abandonment",
                                        "crash_recovery", "retries_total")},
        "llm_calls": stats["llm"]["calls"], "llm_outcomes": stats["llm"]["outcomes"],
        "config": {**asdict(config), "worker_processes_started": soak.workers.spawned},
        "soak_s": round(soak_s, 1),
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
