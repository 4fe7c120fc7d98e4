"""W2: the cloud path on the emulator suite (definitions: docs/benchmarks.md).

The W1 workload (11 no-op steps returning about 1 KB, a critical finding at step 4
and questions at step 9, both answered as soon as they are seen) through the real
cloud path, every piece in its own process:

* the functions (``functions/dev_app.py``: every target, functions-framework apps)
  under gunicorn (1 worker, 8 threads), with the no-op workflow installed by
  ``bench/_w2_workload.py`` through ``TICKETFLOW_APP_HOOK``; that module also
  records, in the functions process, when each request entered, committed,
  projected and enqueued (wall clock, same machine);
* the Cloud Tasks emulator (``gcloud-tasks-emulator``) dispatching into ``run_step``;
* the Cloud Firestore emulator with the ``aecs/{aecId}/actions/{actionId}`` trigger
  delivered to ``on_action_created``;
* the Auth emulator (``start_generation`` needs an ID token);
* the database: a libSQL server (sqld, as deployed) by default, or with ``--db file``
  a libSQL file shared by the functions (the pre-server shape), to compare the two.

This process plays the web page: it starts runs with ``start_generation``, follows
every ticket with one Python ``on_snapshot`` listener on the ``aecs`` collection, and
answers a suspension as soon as the listener shows it, by creating the action
document with the Python client (which bypasses the security rules; the rules are
loaded and covered by the end-to-end tests).

    python bench/w2.py                   # prints one JSON object as its last line
    python bench/w2.py --sequential 5 --concurrent 20   # a quicker look
    python bench/w2.py --db file         # the same on a libSQL file
    python bench/w2.py --db-witness      # count the requests that reach sqld (slower)

The stack is the one stack builder (``ticketflow.dev.stack``); the figures are
computed in ``bench/_w2_analysis.py``. Logs of every process go to
``test-artifacts/w2/``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import itertools
import json
import os
import queue
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from google.cloud import firestore

from _w2_analysis import (
    Action,
    Run,
    analyse,
    libsql_check,
    load_events,
    p50,
    profile_top,
)
from ticketflow.adapters.cloud_tasks import CloudTasksQueue, CloudTasksSettings, ensure_queue
from ticketflow.dev.database import file_databases
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.dev.stack import ACTION_CREATED, Stack
from ticketflow.domain import AEC
from ticketflow.observability.summary import summary
from ticketflow.ports import StepTask
from ticketflow.testing.cloud import document_store
from ticketflow.testing.proxy import CountingProxy
from ticketflow.testing.receiver import TaskReceiver

SEQUENTIAL_RUNS = 10
WARMUP_RUNS = 2
CONCURRENT_RUNS = 50
PROBE_HOPS = 15
RUN_TIMEOUT_S = 30.0
CONCURRENT_TIMEOUT_S = 150.0
LOG_DIR = PROJECT_ROOT / "test-artifacts" / "w2"
FINAL = ("completed", "failed", "cancelled")


# -- the emulator's dispatcher on its own ------------------------------------------------------


def probe_dispatcher(stack: Stack) -> dict[str, Any]:
    """What the Cloud Tasks emulator adds by itself, against an instant HTTP target:
    a chain (each task enqueued from inside the previous delivery, like run_step) and
    a burst (many tasks enqueued at once)."""
    assert stack.tasks is not None
    done = threading.Event()
    expect = [0]
    enqueued: list[float] = []
    chain: list[Callable[[int], None] | None] = [None]

    def on_request(n: int) -> None:
        if chain[0] is not None and n < expect[0]:
            chain[0](n)
        if n >= expect[0]:
            done.set()

    def reset(n: int) -> None:
        receiver.reset()
        enqueued.clear()
        expect[0] = n
        done.clear()

    receiver = TaskReceiver(on_request).start()
    settings = CloudTasksSettings(project_id=stack.project_id, queue="w2-probe",
                                  target_url=f"{receiver.url}/probe",
                                  emulator_host=stack.tasks.host_port, secret=stack.secret)
    ensure_queue(settings)
    q = CloudTasksQueue(settings)
    tag = uuid.uuid4().hex[:8]
    try:
        reset(PROBE_HOPS + 1)

        def step(n: int) -> None:
            q.enqueue(StepTask(run_id=f"chain-{tag}-{n}", step_index=1, epoch=0))
            enqueued.append(time.time())

        chain[0] = step
        step(0)
        done.wait(30)
        # task k (k >= 1) was enqueued from inside delivery k - 1
        hops = [(a - e) * 1000 for e, a in zip(enqueued[1:], receiver.arrivals[1:],
                                                strict=False)]
        chain[0] = None
        reset(PROBE_HOPS)
        t0 = time.time()
        for n in range(PROBE_HOPS):
            q.enqueue(StepTask(run_id=f"burst-{tag}-{n}", step_index=1, epoch=0))
        t_enqueued = time.time()
        done.wait(30)
        arrivals = sorted(receiver.arrivals)
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
        return {
            "chain_enqueue_to_delivery_ms": summary(hops),
            "burst_gap_between_deliveries_ms": summary(gaps),
            "burst_first_delivery_after_last_enqueue_ms":
                round((arrivals[0] - t_enqueued) * 1000, 2) if arrivals else None,
            "burst_enqueue_ms_each": round((t_enqueued - t0) * 1000 / PROBE_HOPS, 2),
        }
    finally:
        receiver.stop()
        with contextlib.suppress(Exception):
            q.client.transport.close()


# -- the page: a listener, the answers -----------------------------------------------------------


class Page:
    """``on_snapshot`` listeners (one query listener on ``aecs``, or one per ticket as
    the web page does); answers suspensions as they appear."""

    def __init__(self, client: firestore.Client, uid: str, mode: str = "doc") -> None:
        self.client = client
        self.uid = uid
        self.lock = threading.Lock()
        self.runs: dict[str, Run] = {}  # by aec id
        self.seen: dict[str, list[tuple[int, float]]] = defaultdict(list)  # aec -> (seq, t)
        self.actions: list[Action] = []
        self.errors: list[str] = []
        self.finished: queue.Queue[str] = queue.Queue()
        self.writer = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="answer")
        self.callbacks = 0
        self.callback_ms = 0.0
        self.mode = mode
        self.watches: dict[str, Any] = {}
        if mode == "query":
            self.watches["*"] = client.collection("aecs").on_snapshot(self._on_snapshot)

    def close(self) -> None:
        for watch in list(self.watches.values()):
            with contextlib.suppress(Exception):
                watch.unsubscribe()
        self.writer.shutdown(wait=True, cancel_futures=True)

    def track(self, run: Run) -> None:
        with self.lock:
            self.runs[run.aec_id] = run
        if self.mode == "doc":
            ref = self.client.collection("aecs").document(run.aec_id)
            self.watches[run.aec_id] = ref.on_snapshot(self._on_snapshot)

    def untrack(self, aec_id: str) -> None:
        watch = self.watches.pop(aec_id, None)
        if watch is not None:
            with contextlib.suppress(Exception):
                watch.unsubscribe()

    def _on_snapshot(self, docs: Any, changes: Any, read_time: Any) -> None:
        t = time.time()
        for change in changes:
            if change.type.name == "REMOVED":
                continue
            snap = change.document
            gs = (snap.to_dict() or {}).get("generationState")
            if not gs:
                continue
            aec_id = snap.id
            with self.lock:
                self.seen[aec_id].append((int(gs.get("seq", 0)), t))
                run = self.runs.get(aec_id)
            if run is None or gs.get("runId") != run.run_id:
                continue
            status = gs.get("status")
            susp = gs.get("suspension")
            if status == "suspended" and susp and susp["token"] not in run.answered:
                run.answered.add(susp["token"])
                self.writer.submit(self._answer, run, susp["kind"], susp["token"], t)
            elif status in FINAL and run.t_done is None:
                run.t_done, run.status = t, str(status)
                self.finished.put(aec_id)
        self.callbacks += 1
        self.callback_ms += (time.time() - t) * 1000

    def _answer(self, run: Run, kind: str, token: str, t_seen: float) -> None:
        act = Action(aec_id=run.aec_id, run_id=run.run_id, kind=kind,
                     action_id=f"act-{uuid.uuid4().hex[:12]}", t_seen=t_seen)
        body = {"type": "proceed" if kind == "review" else "skip", "runId": run.run_id,
                "token": token, "uid": self.uid, "createdAt": firestore.SERVER_TIMESTAMP}
        ref = (self.client.collection("aecs").document(run.aec_id)
               .collection("actions").document(act.action_id))
        try:
            act.t_write0 = time.time()
            result = ref.create(body, timeout=10)
            act.t_write1 = time.time()
            act.t_created = result.update_time.timestamp()
        except Exception as exc:
            self.errors.append(f"{run.run_id}: action write failed: {exc!r}")
            return
        with self.lock:
            self.actions.append(act)


# -- the stack ------------------------------------------------------------------------------------


def w2_stack(tmp: Path, profile: bool = False, db: str = "sqld") -> Stack:
    """The emulators (only the action trigger: no ``on_aec_updated`` load), the
    database (``sqld``: the stack's default, a libSQL server; ``file``: a libSQL file)
    and one functions process running the no-op workload (not started)."""
    env = {"TICKETFLOW_LLM": "offline", "TICKETFLOW_INDEX_WAIT_S": "0",
           "TICKETFLOW_APP_HOOK": "bench._w2_workload:install",
           "TICKETFLOW_W2_EVENTS": str(events_path(tmp)),
           "PYTHONPATH": os.pathsep.join(
               [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    if profile:
        env["TICKETFLOW_W2_PROFILE"] = str(profile_path(tmp))
    databases = file_databases(tmp / "databases") if db == "file" else None
    return (Stack(tmp, log_dir=LOG_DIR, databases=databases)
            .with_database("w2")
            .with_tasks("w2-steps").with_firestore(triggers=[ACTION_CREATED]).with_auth()
            .with_functions(env=env, name="w2-functions"))


def events_path(tmp: Path) -> Path:
    return tmp / "events.jsonl"


def profile_path(tmp: Path) -> Path:
    return tmp / "functions.prof"


# -- driving runs ---------------------------------------------------------------------------------


class Driver:
    """Starts runs as the page would and waits for them (through :class:`Page`)."""

    def __init__(self, s: Stack, listener: str) -> None:
        self.s = s
        assert s.auth is not None
        self.url = s.functions_url
        self.uid, self.token = s.auth.sign_in_anonymously()
        self.store = document_store(s, timeout_s=10.0)
        self.client = self.store.client
        self.page = Page(self.client, self.uid, listener)
        # No kept-alive connections: gunicorn closes an idle one after 2 s, and a start
        # sent on it just then is reset (seen under load); a new connection is cheap.
        self.http = httpx.Client(timeout=30.0,
                                 limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self.page.close()
        self.http.close()
        with contextlib.suppress(Exception):
            self.client.close()  # type: ignore[no-untyped-call]

    def new_ticket(self) -> Run:
        aec = self.store.create(AEC.new(
            aec_id="aec-" + uuid.uuid4().hex[:12], owner_id=self.uid,
            title="Fix the PDF download of paid invoices",
            description="Downloading the PDF of a paid invoice fails with a 500 error."))
        run = Run(aec_id=aec.id)
        self.page.track(run)
        return run

    def start(self, run: Run) -> None:
        run.t_start = time.time()
        resp = self.http.post(f"{self.url}/start_generation", json={"aecId": run.aec_id},
                              headers={"Authorization": f"Bearer {self.token}"})
        if resp.status_code != 202:
            raise RuntimeError(f"start_generation: {resp.status_code} {resp.text}")
        run.run_id = resp.json()["runId"]

    def wait(self, runs: list[Run], timeout_s: float) -> None:
        pending = {r.aec_id for r in runs if r.t_done is None}
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                pending.discard(self.page.finished.get(timeout=0.5))
            pending = {r.aec_id for r in runs if r.t_done is None}
            if self.s.dead():
                raise RuntimeError(f"process(es) exited: {self.s.dead()}")
        for r in runs:
            if r.t_done is not None:
                self.page.untrack(r.aec_id)

    def firestore_baseline(self, n: int = 20) -> dict[str, Any]:
        """The emulator's own cost, from this process: a document read, a blind write,
        and the store's read-modify-write transaction (what a projection does)."""
        run = self.new_ticket()
        self.page.untrack(run.aec_id)
        ref = self.client.collection("aecs").document(run.aec_id)
        out: dict[str, list[float]] = defaultdict(list)
        for i in range(n):
            t0 = time.perf_counter()
            ref.get(timeout=10)
            t1 = time.perf_counter()
            ref.update({"description": f"blind write {i}"}, timeout=10)
            t2 = time.perf_counter()
            self.store.mutate(run.aec_id, lambda a, i=i: a.model_copy(
                update={"description": f"transaction {i}"}))
            t3 = time.perf_counter()
            out["get"].append((t1 - t0) * 1000)
            out["update"].append((t2 - t1) * 1000)
            out["transaction"].append((t3 - t2) * 1000)
        return {f"{k}_ms_p50": p50(v) for k, v in out.items()}


# -- main -----------------------------------------------------------------------------------------


NOTES = [
    "gcloud-tasks-emulator 0.6.2 runs one dispatcher thread per queue: it snapshots the "
    "queue, POSTs its tasks one at a time (urllib, waiting for each response), then "
    "sleeps 0.1 s. A step's next task is enqueued while the dispatcher is still waiting "
    "for that step's response, so every hop of a chain waits the full 0.1 s sleep "
    "(emulator_dispatch_interval_ms), and concurrent runs on one queue are dispatched "
    "strictly one after another: 50 concurrent runs measure the emulator's serial "
    "dispatcher, not the functions' capacity. Real Cloud Tasks dispatches concurrently "
    "(max_concurrent_dispatches) with typically tens of ms of enqueue-to-delivery.",
    "in_function_ms is ours: from the run_step request entering the function to the "
    "next task's enqueue returning (claim, no-op handler in the step pool, libSQL "
    "commit, Cloud Tasks CreateTask). dispatch_wait_ms (enqueue returned -> next "
    "run_step entry) is the emulator's.",
    "progress latency starts at the functions process's timestamp taken right after the "
    "libSQL commit returned (step commits and resume commits) and ends when this "
    "process's Python on_snapshot listener (one query listener on 'aecs') first sees "
    "that generationState.seq or a later one; same machine, wall clock. The web page's "
    "DOM is not measured here.",
    "resume latency starts at the action document's commit time on the Firestore "
    "emulator (WriteResult.update_time) and ends at the handler start of step 5 / 10 "
    "recorded in the functions process; the Firestore emulator delivers the trigger "
    "over HTTP to on_action_created, which records the verdict, projects, then enqueues "
    "step 5 / 10, which again waits for the emulator's 0.1 s dispatcher sleep.",
    "step_cycle_ms is the step-to-step cycle of one run (run_step entry of step N "
    "to run_step entry of step N+1, for the 8 pairs not separated by a suspension): "
    "in_function_overhead_ms + the emulator's dispatch wait, the handler being a no-op. "
    "The headline numbers are the sequential runs (one run at a time); the concurrent_* "
    "ones are the 50 runs started at once, where the serial dispatcher dominates.",
    "The Firestore emulator delivers the trigger in ~5 ms when idle but ~100 ms (p50) "
    "while 50 runs write (resume_parts_ms_p50.created_to_trigger_entry).",
    "With --listener query (one Python query listener on 'aecs' instead of one document "
    "listener per ticket) snapshots lag by seconds on the emulator under 50 concurrent "
    "runs (measured p50 ~6 s), although the projection is written in ~10 ms; the web "
    "page's ticket list uses a query listener, its ticket view a document listener.",
    "Action documents are written with the Python server client, which bypasses the "
    "security rules (they are covered by tests/integration/test_firestore_rules.py).",
    "One gunicorn worker with 8 threads; the emulators, the functions and this process "
    "share the machine's cores, so absolute numbers are pessimistic.",
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequential", type=int, default=SEQUENTIAL_RUNS)
    p.add_argument("--concurrent", type=int, default=CONCURRENT_RUNS)
    p.add_argument("--listener", choices=("doc", "query"), default="doc",
                   help="one listener per ticket, as the web page (default), or one "
                   "query listener on the collection")
    p.add_argument("--profile", action="store_true", help="cProfile every request in the "
                   "functions process (slower: timings are not comparable)")
    p.add_argument("--db", choices=("sqld", "file"), default="sqld",
                   help="the functions' database: a libSQL server (default, as deployed) "
                   "or a libSQL file")
    p.add_argument("--db-witness", action="store_true",
                   help="put a counting HTTP proxy between the functions and sqld and "
                   "report the requests that reached it per step (the proxy adds latency: "
                   "timings are not comparable)")
    p.add_argument("--details", action="store_true", help="print the full breakdown "
                   "on stderr as well")
    args = p.parse_args()
    t_all = time.time()
    load_before = os.getloadavg()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    if args.db_witness and args.db != "sqld":
        p.error("--db-witness counts requests to a server: use it with --db sqld")
    proxy: CountingProxy | None = None
    with tempfile.TemporaryDirectory(prefix="ticketflow-w2-") as tmp, \
            contextlib.ExitStack() as parts:
        stack = w2_stack(Path(tmp), args.profile, args.db)
        if args.db_witness:  # the functions reach sqld through the proxy
            assert stack.database is not None
            proxy = parts.enter_context(CountingProxy(stack.database.url))
            stack.with_env(TICKETFLOW_DB_URL=proxy.url)
        s = parts.enter_context(stack)
        t_stack = time.time() - t_all
        probe = probe_dispatcher(s)
        drv = Driver(s, args.listener)
        try:
            baseline = drv.firestore_baseline()
            seq_requests = proxy.count() if proxy else 0
            seq_runs: list[Run] = []
            for i in range(WARMUP_RUNS + args.sequential):
                run = drv.new_ticket()
                drv.start(run)
                drv.wait([run], RUN_TIMEOUT_S)
                if i >= WARMUP_RUNS:
                    seq_runs.append(run)
            seq_requests = (proxy.count() - seq_requests) if proxy else 0
            conc = [drv.new_ticket() for _ in range(args.concurrent)]
            t0 = time.time()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(drv.start, conc))
            t_started = time.time()
            drv.wait(conc, CONCURRENT_TIMEOUT_S)
            t_end = max((r.t_done for r in conc if r.t_done), default=time.time())
            time.sleep(0.5)  # late snapshots of the last commits
            events = load_events(events_path(Path(tmp)))
            seq_stats = analyse(seq_runs, events, drv.page)
            conc_stats = analyse(conc, events, drv.page)
            with s.connect() as db:
                check = libsql_check(db, [r.run_id for r in conc if r.run_id])
            page_errors = list(drv.page.errors)
            callbacks = drv.page.callbacks
            callback_ms = drv.page.callback_ms
            time.sleep(0.2)
            profile = profile_top(profile_path(Path(tmp))) if args.profile else []
        finally:
            drv.close()
    completed = conc_stats["completed"]
    result: dict[str, Any] = {
        "benchmark": "W2",
        "database": args.db,
        "step_cycle_ms_p50": seq_stats["step_cycle_ms"]["p50"],
        "step_cycle_ms_p95": seq_stats["step_cycle_ms"]["p95"],
        "round_trips_per_step": seq_stats["round_trips_per_step_p50"],
        "round_trips_per_action": seq_stats["round_trips_per_action_p50"],
        "in_function_overhead_ms_p50": seq_stats["in_function_ms"]["p50"],
        "in_function_overhead_ms_p95": seq_stats["in_function_ms"]["p95"],
        "emulator_dispatch_interval_ms": probe["chain_enqueue_to_delivery_ms"]["p50"],
        "dispatch_wait_ms_p50": seq_stats["dispatch_wait_ms"]["p50"],
        "progress_latency_ms_p50": seq_stats["progress_ms"]["p50"],
        "progress_latency_ms_p95": seq_stats["progress_ms"]["p95"],
        "resume_latency_ms_p50": seq_stats["resume_ms"]["p50"],
        "resume_latency_ms_p95": seq_stats["resume_ms"]["p95"],
        "single_run_ms_p50": seq_stats["single_run_ms"]["p50"],
        "runs_completed": completed,
        "runs_lost": args.concurrent - completed,
        "concurrent_wall_s": round(t_end - t0, 2),
        "concurrent_start_calls_s": round(t_started - t0, 2),
        "concurrent_runs_per_s": round(completed / (t_end - t0), 2) if completed else 0.0,
        "concurrent_step_cycle_ms_p50": conc_stats["step_cycle_ms"]["p50"],
        "concurrent_step_cycle_ms_p95": conc_stats["step_cycle_ms"]["p95"],
        "concurrent_in_function_overhead_ms_p50": conc_stats["in_function_ms"]["p50"],
        "concurrent_in_function_overhead_ms_p95": conc_stats["in_function_ms"]["p95"],
        "concurrent_progress_latency_ms_p50": conc_stats["progress_ms"]["p50"],
        "concurrent_progress_latency_ms_p95": conc_stats["progress_ms"]["p95"],
        "concurrent_resume_latency_ms_p50": conc_stats["resume_ms"]["p50"],
        "concurrent_resume_latency_ms_p95": conc_stats["resume_ms"]["p95"],
        "libsql": check,
        **({"db_witness": {
            "sqld_requests_per_step": round(seq_requests / (
                (WARMUP_RUNS + args.sequential) * 11), 2),
            "what": "HTTP requests (Hrana round trips) that reached sqld during the "
                    "sequential runs, every function included (start, steps, actions, "
                    "projections' reads), per step executed"}} if proxy else {}),
        "listener": args.listener,
        "emulator_probe": probe,
        "firestore_emulator_from_bench_process": baseline,
        "sequential": seq_stats,
        "concurrent": conc_stats,
        "listener_callbacks": callbacks,
        "listener_callback_ms_total": round(callback_ms, 1),
        "page_errors": page_errors[:5],
        **({"profile_functions_process": profile} if args.profile else {}),
        "notes": NOTES,
        "runs": {"sequential": args.sequential, "warmup": WARMUP_RUNS,
                 "concurrent": args.concurrent},
        "stack_start_s": round(t_stack, 1),
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "logs": str(LOG_DIR),
        "elapsed_s": round(time.time() - t_all, 1),
    }
    if args.details:
        print(json.dumps(result, indent=2), file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
