"""The chaos soak of the cloud shape (benchmark W3's cloud part; definitions in
``docs/benchmarks.md``).

Every piece in its own process, as in the end-to-end tests: the functions
(``functions/dev_app.py``, every target, werkzeug's single-process server so that a
``kill -9`` takes everything in flight with it), the Cloud Tasks emulator dispatching
into ``/run_step``, the Cloud Firestore emulator evaluating ``firestore.rules`` and
delivering the action trigger to ``/on_action_created``, the Auth emulator issuing ID
tokens. The functions use the Claude adapter against the local fake Messages API (in
this process), run state on a libSQL server (sqld, the stack's default database, as
deployed), the ticket and its progress in Firestore.

This process plays the person and the platform: it creates tickets, starts runs with
``start_generation`` and an ID token, answers suspensions by creating action documents
through the Firestore REST API with that token (the rules apply), and calls ``/sweep``
every second (Cloud Scheduler). Faults injected (each kind forced at its first
chance, then at random; the functions processes are witnessed, see
:mod:`~ticketflow.testing.chaos.cloud_state`):

* SIGKILL from outside of the functions process group while the side file says one
  of its handlers runs (steps 3 and 7 are slowed a little), then a restart;
* crash points in a restarted functions process (``TICKETFLOW_CRASH_AT`` at
  ``before_execute | after_execute | after_commit | after_dispatch`` of a random step;
  ``after_commit`` = between commit and enqueue), then a clean restart and ``/sweep``;
* SIGKILL of the database server and a restart, when the stack's database is one
  (with a libSQL file there is none: the result says so);
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
delivered again after a few seconds (as the platform's retry would). Then the faults
stop, the runs drain, and the invariants are computed from the witness
(:meth:`~ticketflow.testing.chaos.cloud_state.CloudSoakState.check`); a fault counts
only where it took effect. Logs of every process go to ``test-artifacts/w3-cloud/``.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from ticketflow.dev.database import SqldServer
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.domain import AEC
from ticketflow.ports.records import RunRecord
from ticketflow.testing.chaos.cloud_state import LOG_DIR, CloudSoakState, Race, WrittenAction
from ticketflow.testing.chaos.common import (
    CRASH_POINTS,
    LLM_FAULTS,
    NON_SUSPENDING,
    REQUESTS,
    chaos_seed,
    environment,
    inject_llm_fault,
    rng_for,
    violated,
)
from ticketflow.testing.cloud import SECRET_HEADER


class CloudSoak(CloudSoakState):
    """The driver of the cloud soak (see the module doc)."""

    # -- REST as the owner ------------------------------------------------------------------

    def rest_action(self, aec_id: str, fields: dict[str, Any],
                    action_id: str | None = None) -> tuple[str, httpx.Response]:
        assert self.rest is not None
        return self.rest.write_action(aec_id, fields,
                                      action_id or f"w3c-{uuid.uuid4().hex[:12]}")

    def rest_edit(self, aec_id: str, description: str) -> httpx.Response:
        assert self.rest is not None
        return self.rest.edit(aec_id, {"description": description})

    # -- runs -------------------------------------------------------------------------------

    def start_run(self) -> bool:
        if len(self.aec_ids) <= len(self.run_ids):  # else: the last start failed, again
            req = REQUESTS[len(self.run_ids) % len(REQUESTS)]
            request = {"title": req["title"], "description": req["description"],
                       "repo": self.stack.repo_url if req["repo"] else None}
            aec = self.documents.create(AEC.new(
                aec_id=f"aec-{uuid.uuid4().hex[:12]}", owner_id=self.uid, **request))
            self.aec_ids.append(aec.id)
            self.requests[aec.id] = request
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

    # -- answering ----------------------------------------------------------------------------

    def reply_fields(self, run: RunRecord, x: float) -> dict[str, Any]:
        assert run.suspension is not None
        base = {"runId": run.run_id, "token": run.suspension.token, "uid": self.uid}
        if run.suspension.kind == "review":
            return {**base, "type": "proceed" if x < 0.85 else ("edit" if x < 0.95
                                                                 else "cancel")}
        if x < 0.6:
            qs = [q["id"] for q in run.suspension.payload.get("questions", [])]
            return {**base, "type": "answer", "answers": {q: f"answer to {q}" for q in qs}}
        return {**base, "type": "skip"}

    def write_reply(self, run: RunRecord, fields: dict[str, Any], kind: str) -> str | None:
        assert run.suspension is not None
        action_id = f"w3c-{uuid.uuid4().hex[:12]}"
        try:
            _, resp = self.rest_action(run.aec_id, fields, action_id)
        except httpx.HTTPError:
            # the emulator did not answer in time: the write may still land; its
            # verdict is collected if it did (see collect_verdicts)
            self.notes["action_write_unanswered"] += 1
            with self.lock:
                self.actions[action_id] = WrittenAction(
                    run.aec_id, action_id, fields, kind, time.monotonic(), run.run_id,
                    run.suspension.kind, uncertain=True)
            return action_id
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
                                                    time.monotonic(), run.run_id,
                                                    run.suspension.kind)
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
                                                        "bad_server", time.monotonic(),
                                                        run.run_id)
            self.effect["malformed_action_around_rules"] += 1
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
            try:
                _, resp = self.rest_action(run.aec_id, doc)
            except httpx.HTTPError:
                self.notes["malformed_action_unanswered"] += 1
                continue
            self.effect["malformed_action_through_rules"] += 1
            if resp.status_code != 403:
                self.violations.append(f"the rules let a malformed action in: {doc} -> "
                                       f"{resp.status_code}")

    def race(self, run: RunRecord, rng: random.Random) -> None:
        a, b = self.reply_fields(run, rng.random()), self.reply_fields(run, rng.random())
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
        self.effect["racing_actions"] += 1
        certain = all(not self.actions[a].uncertain for a in race.action_ids)
        if len(race.action_ids) == 2 and certain and self.stack.alive and rng.random() < 0.5:
            # and their events delivered at once, besides the trigger's own deliveries:
            # two requests deciding one suspension in the same functions process
            ready = threading.Barrier(2)

            def deliver(action_id: str) -> None:
                ready.wait()
                self.post_event(self.actions[action_id])

            futures = [self.pool.submit(deliver, a) for a in race.action_ids]
            for f in futures:
                f.result()
            self.effect["racing_actions_concurrent_events"] += 1

    def answer(self, run: RunRecord, chaos: bool) -> None:
        assert run.suspension is not None
        token = run.suspension.token
        if token in self.handled:
            return
        self.handled.add(token)
        index = self.run_ids.index(run.run_id) if run.run_id in self.run_ids else -1
        rng = rng_for(self.seed, "run", index, run.suspension.kind)
        first = len(self.handled)  # the first ones get every kind, short soaks too
        if chaos and (first == 3 or (first > 3 and rng.random() < 0.05)):
            self.ignored.add(token)
            self.effect["wait_left_to_expire"] += 1
            return
        if chaos and (first == 1 or rng.random() < 0.3):
            self.bad_actions(run)
        if chaos and (first == 2 or rng.random() < 0.3):
            self.race(run, rng)
            return
        self.write_reply(run, self.reply_fields(run, rng.random()), "reply")

    # -- faults -----------------------------------------------------------------------------

    def crash_spec(self) -> str:
        point = self.rng.choices(CRASH_POINTS, weights=(15, 30, 40, 15))[0]
        steps = range(1, 12) if point == "before_execute" else NON_SUSPENDING
        return f"{point}:{self.rng.choice(list(steps))}"

    def landed_mid_handler(self) -> bool:
        """Has an outside kill caught a handler running? (The side file holds a start
        of the killed process without its end; a handler can end between the look
        that chose the moment and the signal, most often on a loaded machine.)"""
        return any(n > 0 and k[0] in self.outside_pids for k, n in self.running.items())

    def kill_mid_handler(self) -> None:
        """SIGKILL the functions from outside while one of their handlers runs (the
        side file says so), and start new ones: most carry a crash point of their own,
        the first few one of each kind in turn. Until one has caught a handler running,
        a few kills beyond the budget are allowed, so that every soak has that kind."""
        budget = self.kill_budget + (0 if self.landed_mid_handler() else 4)
        if not self.handler_running() or not self.stack.alive or self.kills >= budget:
            return
        if self.stack.pid is not None:
            self.outside_pids.add(self.stack.pid)
        self.kills += 1
        self.injected["kill9_outside"] += 1  # where it landed: from the side file
        if self.armed < len(CRASH_POINTS):
            point = CRASH_POINTS[(self.armed + 2) % len(CRASH_POINTS)]  # after_commit first
            steps = range(1, 12) if point == "before_execute" else NON_SUSPENDING
            spec: str | None = f"{point}:{self.rng.choice(list(steps))}"
        else:
            spec = self.crash_spec() if self.rng.random() < 0.7 else None
        self.armed += spec is not None
        self.stack.restart(spec, how="outside")
        if self.stack.spec:
            self.kills += 1  # it will die once more

    def kill_database(self) -> None:
        if self.stack.kill_database():
            self.effect["kill9_database_server"] += 1

    def duplicate_delivery(self, runs: list[RunRecord]) -> None:
        live = [r for r in runs if r.status in ("running", "suspended") and r.step_index > 1]
        if not live or not self.stack.alive:
            return
        run = self.rng.choice(live)
        headers = {SECRET_HEADER: self.stack.secret}
        # the first duplicate is of a committed step, so short soaks get that kind too
        first = not self.effect["duplicate_delivery_committed_step"]
        if run.status == "running" and not first and self.rng.random() < 0.4:
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
            self.effect["duplicate_delivery_inflight_step"] += 1
            return
        step = self.rng.randint(1, run.step_index - 1)
        try:
            resp = self.http.post(f"{self.stack.url}/run_step", headers=headers,
                                  json={"runId": run.run_id, "stepIndex": step,
                                        "epoch": run.epoch})
        except httpx.HTTPError:
            return
        self.effect["duplicate_delivery_committed_step"] += 1
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
        self.effect["duplicate_trigger_event"] += 1
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
        try:
            resp = self.rest_edit(run.aec_id, aec.description + " (edited)")
        except httpx.HTTPError:
            self.notes["locked_edit_unanswered"] += 1
            return
        self.effect["edit_on_locked_ticket"] += 1
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
        try:
            resp = self.rest_edit(run.aec_id, aec.description + " (v2)")
        except httpx.HTTPError:
            self.notes["unlocked_edit_unanswered"] += 1
            return
        self.notes[f"unlocked_edit_{resp.status_code}"] += 1

    # -- main loop ----------------------------------------------------------------------------

    def want(self, kind: str, rate: float) -> bool:
        """Inject ``kind`` now: always until it first happened, then at ``rate``."""
        return not (self.effect[kind] or self.injected[kind]) or self.rng.random() < rate

    FORCED = ("kill9_outside", "duplicate_delivery_committed_step", "duplicate_trigger_event",
              "edit_on_locked_ticket", "racing_actions", "malformed_action_through_rules",
              "wait_left_to_expire")

    def all_kinds_met(self) -> bool:
        consumed = {s.fault for s in self.api.served_log() if s.fault}
        return (all(self.effect[k] or self.injected[k] for k in self.FORCED)
                and self.landed_mid_handler() and len(consumed) >= len(LLM_FAULTS))

    def tick(self, chaos: bool) -> list[RunRecord]:
        self.stack.reap()
        self.read_side()
        runs = [r for r in self.all_runs() if r.active]
        for run in runs:
            if run.status == "suspended" and run.suspension is not None and (
                    chaos or run.suspension.token not in self.ignored):
                self.answer(run, chaos)
        if chaos:
            r = self.rng.random
            if not self.landed_mid_handler() or self.rng.random() < 0.12:
                self.kill_mid_handler()
            if self.stack.database_killable and self.want("kill9_database_server", 0.01):
                self.kill_database()
            if r() < 0.15 and self.api.pending_faults == 0:
                inject_llm_fault(self.api, self.rng, self.injected)
            if self.want("duplicate_delivery_committed_step", 0.10):
                self.duplicate_delivery(runs)
            if self.want("duplicate_trigger_event", 0.05):
                self.duplicate_event()
            if self.want("edit_on_locked_ticket", 0.05):
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
        # the last runs take faults too: on until most are done, for at least a few
        # seconds, longer while a kind was never injected
        tail = time.monotonic()
        cap = tail + (60 if self.quick else 90)
        while time.monotonic() < cap:
            runs = self.tick(chaos=True)
            housekeeping()
            if time.monotonic() - tail > 5 and self.all_kinds_met() and (
                    sum(r.status == "running" for r in runs) <= self.concurrency // 2):
                break
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

def run_cloud_soak(runs: int = 20, *, seed: int | None = None, quick: bool = False,
                   concurrency: int = 4, kill_budget: int | None = None,
                   drain_s: float = 120.0, completion_floor: float = 0.5,
                   keep: Path | None = None) -> dict[str, Any]:
    """The cloud part of W3; ``invariants_ok`` / ``violated`` say whether it held
    (every invariant, and at least ``completion_floor`` of the runs ready). ``seed``:
    see :func:`~ticketflow.testing.chaos.common.chaos_seed`. Raises
    :class:`EmulatorError` when the stack cannot start."""
    seed = chaos_seed(seed)
    kill_budget = max(3, runs // 2) if kill_budget is None else kill_budget
    t0 = time.perf_counter()
    # the functions processes inherit this environment: no settings left over from a
    # caller's environment
    with environment(clear_prefixes=("TICKETFLOW_", "ANTHROPIC_")), \
            tempfile.TemporaryDirectory(prefix="ticketflow-w3c-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        soak = CloudSoak(runs=runs, seed=seed, quick=quick, concurrency=concurrency,
                         kill_budget=kill_budget, drain_s=drain_s, work=work)
        try:
            t_start = time.perf_counter()
            soak.start()
            startup_s = time.perf_counter() - t_start
            database = soak.stack.stack.database
            kind = "sqld" if isinstance(database, SqldServer) else "file"
            soak_s = soak.soak()
            result = soak.check()
        finally:
            soak.close()
    broken = violated(result, runs, completion_floor)
    return {
        "seed": seed,
        **result,
        "invariants_ok": not broken,
        "violated": broken,
        "config": {"runs": runs, "quick": quick, "concurrency": concurrency,
                   "kill_budget": kill_budget, "seed": seed, "server": "werkzeug",
                   "database": kind, "completion_floor": completion_floor},
        "startup_s": round(startup_s, 1),
        "soak_s": round(soak_s, 1),
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "logs": str(LOG_DIR.relative_to(PROJECT_ROOT)),
    }
