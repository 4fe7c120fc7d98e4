"""The cloud chaos soak's state: the stack under test, what the soak wrote and saw,
and the evidence handed to the invariants at the end (:meth:`CloudSoakState.check`,
computed by :mod:`ticketflow.testing.chaos.report` from the witness: the side file
the functions processes append to, the fake Messages API's log, the verdicts read
back from the action documents in Firestore, and the tickets in Firestore against
uninterrupted runs). The soak itself, which drives the runs and injects the faults,
is :mod:`ticketflow.testing.chaos.cloud`.

Every functions process is witnessed through
``TICKETFLOW_APP_HOOK=ticketflow.testing.witness:install``. A kill is a real SIGKILL
of the functions process group (no SIGTERM first); when the stack's database is a
server process (a part with ``kill()``, such as a supervised libSQL server), it is
killed and restarted the same way (:meth:`ChaosStack.kill_database`); with a libSQL
file there is no such process, and the result says so.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.dev.processes import FunctionsServer
from ticketflow.dev.stack import ACTION_CREATED, Stack
from ticketflow.ports.records import RunRecord
from ticketflow.testing.chaos.common import (
    LLM_SETTINGS,
    RUN_SETTINGS,
    SAMPLE_REPO,
    SLOW_HANDLERS,
    fake_llm,
    rng_for,
    unprojected,
)
from ticketflow.testing.chaos.invariants import ActionSeen, Kill, StartedRun, leases_of
from ticketflow.testing.chaos.report import Evidence, report
from ticketflow.testing.cloud import SECRET_HEADER, document_store
from ticketflow.testing.crash import ENV as CRASH_ENV
from ticketflow.testing.git_repos import index_now, make_repo
from ticketflow.testing.rest import User, UserRest, action_event
from ticketflow.testing.witness import APP_HOOK, FILE_ENV, SLOW_ENV, SideFile

LOG_DIR = PROJECT_ROOT / "test-artifacts" / "w3-cloud"


def chaos_env(llm_url: str, side: Path, *, quick: bool) -> dict[str, str]:
    """The functions' settings in the soak: short timeouts and waits so faults resolve
    fast (the embedded soak's values, with waits long enough for the trigger path),
    and the witness installed."""
    wait = "10" if quick else "15"
    return {**LLM_SETTINGS, "TICKETFLOW_LLM_BASE_URL": llm_url, **RUN_SETTINGS,
            "TICKETFLOW_REVIEW_WAIT_S": wait, "TICKETFLOW_QUESTIONS_WAIT_S": wait,
            "TICKETFLOW_FIRESTORE_TIMEOUT_S": "5", "TICKETFLOW_APP_HOOK": APP_HOOK,
            FILE_ENV: str(side), SLOW_ENV: SLOW_HANDLERS}


@dataclass
class WrittenAction:
    aec_id: str
    action_id: str
    fields: dict[str, Any]
    kind: str  # reply | race | bad_server
    written_at: float
    run_id: str = ""
    suspension: str = ""  # review | questions
    uncertain: bool = False  # the write was not answered: it may or may not have landed
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

    def __init__(self, work: Path, llm_url: str, side: Path, *, quick: bool,
                 notes: Counter[str]) -> None:
        self.stack = (Stack(work, log_dir=LOG_DIR)
                      .with_database("w3-cloud")
                      .with_tasks(queue=f"w3c-{uuid.uuid4().hex[:6]}")
                      .with_firestore(triggers=[ACTION_CREATED]).with_auth()
                      .with_env(**chaos_env(llm_url, side, quick=quick)))
        self.work = work
        self.repo_url = f"file://{work / 'sample-repo'}"  # named by URL, as deployed
        self.notes = notes
        self.functions: FunctionsServer | None = None
        self.spec: str | None = None
        self.started = 0
        self.kills: list[Kill] = []
        self.db: Database | None = None  # the driver's connection (leases of the dead)

    @property
    def url(self) -> str:
        return self.stack.functions_url

    @property
    def secret(self) -> str:
        return self.stack.secret

    def start(self) -> None:
        self.stack.start()
        make_repo(self.work / "sample-repo", SAMPLE_REPO)
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

    @property
    def pid(self) -> int | None:
        return self.functions.pid if self.functions is not None else None

    def leases(self, pid: int | None) -> list[tuple[str, int]]:
        return leases_of(self.db, pid) if self.db is not None and pid else []

    def restart(self, spec: str | None = None, *, how: str | None = None) -> None:
        """SIGKILL the functions process group (written down as ``how`` when given),
        then start a new process carrying ``spec``."""
        if self.functions is not None:
            pid = self.functions.pid
            self.stack.stop_functions(self.functions, kill=True)
            if how and pid:
                self.kills.append(Kill(pid, how, self.leases(pid)))
        self.functions = None
        self.start_functions(spec)

    def reap(self) -> bool:
        """A functions process a crash point killed: write it down, start a clean one,
        sweep."""
        if self.functions is None or self.functions.running:
            return False
        pid, spec = self.functions.pid, self.spec
        if spec and pid:
            self.kills.append(Kill(pid, f"at_{spec.split(':')[0]}", self.leases(pid)))
        else:
            self.notes["functions_exit_unexpected"] += 1
        self.stack.stop_functions(self.functions, kill=True)  # reaped; its group gone too
        self.functions = None
        self.start_functions(None)
        self.post_sweep()
        return True

    @property
    def database_killable(self) -> bool:
        """The database is a server process this soak can SIGKILL (see module doc)."""
        return callable(getattr(self.stack.database, "kill", None))

    def kill_database(self) -> bool:
        """SIGKILL the database server and start it again (False: it is a file)."""
        part: Any = self.stack.database
        if not self.database_killable:
            return False
        part.kill()
        part.start()
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
        self.seed = seed
        self.rng = rng_for(seed, "ticks")
        self.quick = quick
        self.concurrency = concurrency
        self.kill_budget = kill_budget
        self.drain_s = drain_s
        self.effect: Counter[str] = Counter()     # what the driver saw take effect
        self.injected: Counter[str] = Counter()   # what was decided
        self.notes: Counter[str] = Counter()
        self.violations: list[str] = []
        self.work = work
        self.api = fake_llm(self.notes)
        self.side = SideFile(work / "witness.jsonl")
        self.side_at = 0
        self.running: Counter[tuple[int, str, int, int]] = Counter()
        self.stack = ChaosStack(work, self.api.url, self.side.path, quick=quick,
                                notes=self.notes)
        self.db: Database | None = None
        self.client: Any = None
        self.rest: UserRest | None = None
        self.http = httpx.Client(timeout=30.0)
        self.pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="w3c")
        self.pending: list[Future[Any]] = []
        self.run_ids: list[str] = []
        self.aec_ids: list[str] = []
        self.requests: dict[str, dict[str, Any]] = {}  # aec -> the request made
        self.handled: set[str] = set()
        self.ignored: set[str] = set()
        self.actions: dict[str, WrittenAction] = {}
        self.races: list[Race] = []
        self.kills = 0
        self.outside_pids: set[int] = set()  # functions processes killed from outside
        self.armed = 0  # functions processes started with a crash point
        self.lock = threading.Lock()

    # -- setup ------------------------------------------------------------------------------

    def start(self) -> None:
        self.stack.start()
        stack = self.stack.stack
        assert stack.firestore is not None and stack.auth is not None
        self.db = stack.connect()
        self.stack.db = self.db
        self.runs = LibsqlRunStore(self.db)
        self.documents = document_store(stack, timeout_s=10.0)
        self.client = self.documents.client
        user = User.signed_up(stack.auth, f"w3c-{uuid.uuid4().hex[:6]}@example.com")
        self.uid, self.token = user
        # the user's index of the sample, ready before the soak (the functions share it)
        assert index_now(stack.db_url, self.uid, self.stack.repo_url).state == "ready"
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
            if w.uncertain and now - w.written_at > 10.0 and not self.action_exists(w):
                with self.lock:
                    self.actions.pop(w.action_id, None)  # the unanswered write never landed
                self.notes["action_write_never_landed"] += 1
                continue
            undecided += 1
            if (now - w.written_at > redeliver_after_s * (1 + w.redelivered)
                    and self.stack.alive and (not w.uncertain or self.action_exists(w))
                    and self.post_event(w) == 200):
                w.redelivered += 1
                self.notes["trigger_event_redelivered_after_loss"] += 1
        return undecided

    def action_exists(self, w: WrittenAction) -> bool:
        ref = (self.client.collection("aecs").document(w.aec_id).collection("actions")
               .document(w.action_id))
        return bool(ref.get(timeout=10.0).exists)

    def unprojected(self) -> int:
        assert self.db is not None
        return unprojected(self.db)

    def read_side(self) -> None:
        """Follow the side file: which handlers are running now, in which process."""
        self.side_at = self.side.follow_handlers(self.side_at, self.running)

    def handler_running(self) -> bool:
        pid = self.stack.pid
        return pid is not None and any(n > 0 and k[0] == pid for k, n in self.running.items())

    # -- checks -----------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """The invariants, from the witness (:func:`ticketflow.testing.chaos.report.report`)."""
        assert self.db is not None
        race_outcomes: Counter[str] = Counter()
        for race in self.races:
            verdicts = sorted(str(self.actions[a].verdict) for a in race.action_ids
                              if a in self.actions)
            race_outcomes["_".join(verdicts)] += 1
        by_aec = {r.aec_id: r for r in sorted(self.all_runs(), key=lambda r: r.created_at)}
        started = [StartedRun(run_id, aec_id, self.requests[aec_id])
                   for run_id, aec_id in zip(self.run_ids, self.aec_ids, strict=False)
                   if by_aec.get(aec_id) is not None]
        seen = [ActionSeen(w.run_id, w.aec_id, w.action_id, w.suspension,
                           str(w.fields.get("type")), str(w.fields.get("token") or ""),
                           w.fields.get("answers") if isinstance(w.fields.get("answers"), dict)
                           else None, "bad" if w.kind == "bad_server" else w.kind,
                           w.verdict, w.reason)
                for w in self.actions.values()]
        evidence = Evidence(
            side=self.side.records(), served=self.api.served_log(), started=started,
            tickets={s.aec_id: self.documents.get(s.aec_id) for s in started},
            actions=seen, kills=self.stack.kills,
            running=[f"{r.run_id}: still running at step {r.step_index}"
                     for r in self.all_runs() if r.status == "running"],
            violations=self.violations, effect=self.effect, injected=self.injected,
            llm_faults_queued_unconsumed=self.api.pending_faults, notes=self.notes,
            extra={"actions_written": len(self.actions),
                   "actions_without_verdict": sum(w.verdict is None
                                                  for w in self.actions.values()),
                   "racing_outcomes": dict(race_outcomes),
                   "functions_processes_started": self.stack.started,
                   "database_server": ("killed with SIGKILL and restarted"
                                       if self.stack.database_killable else
                                       "none: the stack's database is a libSQL file")})
        return report(evidence, self.db, self.work)
