"""W1: orchestration overhead of the embedded default (definitions: docs/benchmarks.md).

The real 11-step workflow shape (names, indices, retry policies, timeouts, the two
suspensions) with every handler replaced by an instant no-op that returns about
1 KB of JSON. Step 4 always suspends for a review of a critical finding, step 9
always suspends for questions; a driver answers each suspension through
``Engine.act`` as soon as the worker reports it. Runs, tickets and the task queue
are the real libSQL adapters on a temporary file with the product's worker pool,
every checkpoint, outbox row and answer committed with an fsync as in a real run.

Also counted, with the database's own witness (``DbStats``: SQLite's trace callback
for statements; the write transactions holding a durable batch; the ``fdatasync``
calls on the WAL, each covering every commit written before it): the statements,
transactions, durable commits and fsyncs of a run and of one step. Timings are never
taken with the witness on.

    python bench/w1.py            # prints one JSON object as its last line
    python bench/w1.py --quick    # the sequential runs and one round of 100 only

``--crash-child DB SIDE`` and ``--worker-child DB WORKERS READY`` are internal.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import queue
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _workload import BLOB, FINDINGS, QUESTIONS, BenchOutput, bench_output
from ticketflow.adapters.libsql.database import Database
from ticketflow.cli.driver import LOCAL_UID, Reply, act, drive
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AEC
from ticketflow.ports import StepTask
from ticketflow.settings import Settings
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.definition import DEFINITIONS, STEPS, StepSpec, WorkflowDefinition
from ticketflow.workflow.runtime import Engine, FaultHook, StepResult
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput

SEQUENTIAL_RUNS = 30
WARMUP_RUNS = 3
CONCURRENT_RUNS = 100
THROUGHPUT_REPEATS = 3  # the concurrent case runs this often; its median is reported
WITNESS_RUNS = 10
WORKERS = Settings().workers  # the product's default worker count
POLL_S = 0.01
CRASH_STEP = 7
CRASH_SLOW_S = 2.0
CLIENT_TIMEBOX_S = 40.0  # the libsql-client executor is much slower: time-box its 100 runs
ORDINARY = (2, 3, 5, 6, 7, 10)  # steps followed by a step of the same worker, no action


# -- the no-op workflow -------------------------------------------------------------------


class Probe:
    """What the handlers record: when steps 5 and 10 start, and (in the crash child)
    every execution, appended to a side file with fsync."""

    def __init__(self) -> None:
        self.started: dict[tuple[str, int], float] = {}
        self.side_file: str | None = None
        self.slow: dict[int, float] = {}


PROBE = Probe()


def _handler(index: int, output: type[BenchOutput]) -> Callable[[StepContext], StepOutput]:
    def handler(ctx: StepContext) -> StepOutput:
        t = time.perf_counter()
        if index in (5, 10):
            PROBE.started[(ctx.run.run_id, index)] = t
        if PROBE.side_file is not None:
            fd = os.open(PROBE.side_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{index}\n".encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        delay = PROBE.slow.get(index)
        if delay:
            time.sleep(delay)
        if index == 4:
            raise Suspend("review", {"findings": FINDINGS})
        if index == 9:
            raise Suspend("questions", {"questions": QUESTIONS})
        return output(detail=f"no-op step {index}", blob=BLOB)

    return handler


def _bench_step(spec: StepSpec) -> StepSpec:
    output = bench_output(spec.name)  # each output names its step
    return dataclasses.replace(spec, handler=_handler(spec.index, output), output=output)


BENCH = WorkflowDefinition("w1-bench.1", tuple(_bench_step(s) for s in STEPS))
DEFINITIONS[BENCH.version] = BENCH  # runs pin this version; run_step looks it up here


def open_app(db: Path, driver: str, workers: int,
             faults: FaultHook | None = None) -> EmbeddedApp:
    settings = Settings(db_url=f"file:{db}", db_driver=driver,  # type: ignore[arg-type]
                        llm="offline", workers=workers, poll_s=POLL_S, index_wait_s=0.0)
    app = open_embedded(settings)
    app.engine.close()
    app.engine = Engine(runs=app.runs, documents=app.documents, queue=app.queue,
                        deps=app.engine.deps, settings=settings, definition=BENCH,
                        faults=faults)
    return app


def new_ticket(app: EmbeddedApp) -> str:
    aec = app.documents.create(AEC.new(
        aec_id="aec-" + uuid.uuid4().hex[:12], owner_id=LOCAL_UID,
        title="Fix the PDF download of paid invoices",
        description="Downloading the PDF of a paid invoice fails with a 500 error."))
    return aec.id


def reply_for(kind: str) -> Reply:
    return Reply("proceed") if kind == "review" else Reply("skip")


# -- measurement harness ----------------------------------------------------------------


Event = tuple[str, str, float]  # outcome, run id, perf_counter


@contextmanager
def pool(app: EmbeddedApp, workers: int) -> Iterator[queue.Queue[Event]]:
    """The embedded worker pool, reporting each run's suspensions and its end."""
    events: queue.Queue[Event] = queue.Queue()

    def handler(task: StepTask) -> StepResult:
        res = app.run_chained(task)
        if res.outcome in ("suspended", "completed", "failed", "lost"):
            events.put((res.outcome, res.run_id, time.perf_counter()))
        return res

    with app.worker_pool(workers, handler=handler):
        yield events


class Driver:
    """Answers suspensions as soon as the pool reports them; records act() times."""

    def __init__(self, app: EmbeddedApp, events: queue.Queue[Event]) -> None:
        self.app = app
        self.events = events
        self.acted: dict[tuple[str, int], float] = {}
        self.done: dict[str, float] = {}
        self.failed: list[str] = []

    def until_finished(self, run_ids: set[str], timeout_s: float = 120.0, *,
                       give_up: bool = False) -> None:
        """Answer and collect until every run ended; after ``timeout_s`` raise, or
        (``give_up``) return with what finished so far."""
        pending = set(run_ids)
        deadline = time.monotonic() + timeout_s
        while pending:
            try:
                outcome, run_id, t = self.events.get(
                    timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                if give_up:
                    return
                raise TimeoutError(f"{len(pending)} run(s) did not finish") from None
            if outcome == "suspended":
                run = self.app.runs.get_run(run_id)
                assert run is not None and run.suspension is not None
                t0 = time.perf_counter()
                record = act(self.app, run, reply_for(run.suspension.kind))
                self.acted[(run_id, run.step_index + 1)] = t0
                if record.status != "accepted":
                    raise RuntimeError(f"{run_id}: action rejected: {record.reason}")
            elif outcome == "completed":
                self.done[run_id] = t
                pending.discard(run_id)
            else:
                self.failed.append(f"{run_id}: {outcome}")
                pending.discard(run_id)
            if time.monotonic() > deadline:
                if give_up:
                    return
                raise TimeoutError(f"{len(pending)} run(s) did not finish")


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def r3(x: float) -> float:
    return round(x, 3)


def resume_latencies(driver: Driver, run_ids: list[str]) -> list[float]:
    out = []
    for run_id in run_ids:
        for step in (5, 10):
            t0 = driver.acted.get((run_id, step))
            t1 = PROBE.started.get((run_id, step))
            if t0 is not None and t1 is not None:
                out.append((t1 - t0) * 1000)
    return out


def concurrent_runs(app: EmbeddedApp, events: queue.Queue[Event],
                    timebox_s: float) -> dict[str, Any]:
    """100 runs started at once; a driver thread answers their suspensions."""
    tickets = [new_ticket(app) for _ in range(CONCURRENT_RUNS)]
    many = Driver(app, events)
    started: list[str] = []
    ready = threading.Event()
    err: list[BaseException] = []

    def answer() -> None:
        ready.wait()
        try:
            many.until_finished(set(started), timeout_s=timebox_s, give_up=timebox_s < 120)
        except BaseException as exc:
            err.append(exc)

    t_start = time.perf_counter()
    # the driver thread learns the run ids once they exist; earlier events wait
    thread = threading.Thread(target=answer, name="driver")
    thread.start()
    for aec_id in tickets:
        started.append(app.engine.start(aec_id, uid=LOCAL_UID).run_id)
    ready.set()
    thread.join()
    if err:
        raise err[0]
    completed = len(many.done)
    timed_out = completed + len(many.failed) < CONCURRENT_RUNS
    wall = (time.perf_counter() if timed_out else max(many.done.values())) - t_start
    return {"runs_per_s": round(completed / wall, 1), "completed": completed,
            "wall_s": round(wall, 2), "timed_out": timed_out, "failed": len(many.failed),
            "resume_latency_ms_p50": r3(pct(resume_latencies(many, started), 50))}


def measure(db_dir: Path, driver_name: str, workers: int, *,
            sequential: int = SEQUENTIAL_RUNS, repeats: int = THROUGHPUT_REPEATS,
            timebox_s: float = 120.0) -> dict[str, Any]:
    """Sequential runs, then 100 runs at once (``repeats`` times), on a fresh file."""
    db = db_dir / f"w1-{driver_name}-{workers}.db"
    app = open_app(db, driver_name, workers)
    try:
        with pool(app, workers) as events:
            drv = Driver(app, events)
            single: list[float] = []
            seq_runs: list[str] = []
            for i in range(WARMUP_RUNS + sequential):
                aec_id = new_ticket(app)
                t0 = time.perf_counter()
                run = app.engine.start(aec_id, uid=LOCAL_UID)
                drv.until_finished({run.run_id})
                if i >= WARMUP_RUNS:
                    single.append((drv.done[run.run_id] - t0) * 1000)
                    seq_runs.append(run.run_id)
            resume = resume_latencies(drv, seq_runs)
            rounds = [concurrent_runs(app, events, timebox_s) for _ in range(repeats)]
    finally:
        app.close()
    tp = sorted(rounds, key=lambda r: r["runs_per_s"])[len(rounds) // 2]  # the median
    p50 = pct(single, 50)
    return {
        "single_run_ms_p50": r3(p50),
        "single_run_ms_p95": r3(pct(single, 95)),
        "per_step_overhead_ms_p50": r3(p50 / 11),
        "resume_latency_ms_p50": r3(pct(resume, 50)),
        "resume_latency_ms_p95": r3(pct(resume, 95)),
        "throughput_runs_per_s_100": tp["runs_per_s"],
        "throughput_completed": tp["completed"],
        "throughput_wall_s": tp["wall_s"],
        "throughput_timed_out": tp["timed_out"],
        "throughput_failed": sum(r["failed"] for r in rounds) + len(drv.failed),
        "throughput_resume_latency_ms_p50": tp["resume_latency_ms_p50"],
        "throughput_rounds_runs_per_s": [r["runs_per_s"] for r in rounds],
    }


def fsync_ms(db_dir: Path, n: int = 60) -> dict[str, float]:
    """One single-row commit waiting for its WAL fsync (durable) and not, on this disk."""
    db = Database(f"file:{db_dir / 'fsync.db'}")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")
        out = {}
        for durable in (True, False):
            times = []
            for i in range(n):
                t0 = time.perf_counter()
                db.execute("INSERT INTO t(v) VALUES (?)", [f"row {i}"], durable=durable)
                times.append((time.perf_counter() - t0) * 1000)
            out["fsync_ms_p50" if durable else "commit_no_fsync_ms_p50"] = r3(pct(times, 50))
        return out
    finally:
        db.close()


# -- what a run and a step cost, counted by the database ---------------------------------


def witness(db_dir: Path, workers: int, runs: int = WITNESS_RUNS) -> dict[str, Any]:
    """Statements, transactions and fsyncs per run and per ordinary step, from the
    database's own counters (no timing is taken here: the trace callback costs)."""
    marks: list[tuple[int, dict[str, int]]] = []
    holder: list[EmbeddedApp] = []

    def at_step_start(point: str, step: int) -> None:
        if point == "before_execute" and holder:
            marks.append((step, holder[0].db.stats.snapshot()))

    app = open_app(db_dir / "w1-witness.db", "native", workers, faults=at_step_start)
    holder.append(app)
    per_run: list[dict[str, int]] = []
    steps_seen: list[dict[str, int]] = []
    try:
        with pool(app, workers) as events:
            drv = Driver(app, events)
            drv.until_finished({app.engine.start(new_ticket(app), uid=LOCAL_UID).run_id})
            app.db.set_witness(True)
            for _ in range(runs):
                aec_id = new_ticket(app)
                marks.clear()
                before = app.db.stats.snapshot()
                drv.until_finished({app.engine.start(aec_id, uid=LOCAL_UID).run_id})
                after = app.db.stats.snapshot()
                per_run.append({k: after[k] - before[k] for k in after})
                by_step = dict(marks)
                for n in ORDINARY:
                    if n in by_step and n + 1 in by_step:
                        steps_seen.append({k: by_step[n + 1][k] - by_step[n][k]
                                           for k in after})
            app.db.set_witness(False)
    finally:
        app.close()

    def median(rows: list[dict[str, int]], key: str) -> float:
        return float(statistics.median(r[key] for r in rows)) if rows else float("nan")

    def fsyncs(r: dict[str, int]) -> int:
        return r["wal_syncs"] + 2 * r["checkpoints"]

    for rows in (per_run, steps_seen):
        for r in rows:
            r["fsyncs"] = fsyncs(r)
    keys = ("calls", "statements", "trigger_programs", "transactions", "durable_commits",
            "fsyncs")
    return {
        "runs": runs,
        "per_run": {k: median(per_run, k) for k in keys},
        "per_step": {k: median(steps_seen, k) for k in keys},
        "per_step_of_a_run": {k: round(median(per_run, k) / 11, 2) for k in keys},
        "ordinary_steps_counted": len(steps_seen),
        "note": "per_run: start, 11 steps, 2 actions, and the driver's 2 reads of the "
                "run before its actions; per_step: from one step's start to the next's "
                "(handler, commit, projection, next claim), steps 2,3,5,6,7,10",
    }



# -- several worker processes on one file --------------------------------------------------


def worker_child(db: str, workers: int, ready_file: str) -> int:
    """A worker process on the shared database: runs steps until SIGTERM."""
    app = open_app(Path(db), "native", workers)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with app.worker_pool(workers):
        Path(ready_file).write_text("ready")
        stop.wait()
    app.close()
    return 0


def multiprocess_throughput(db_dir: Path, processes: int, workers_each: int = 1,
                            timeout_s: float = 120.0) -> dict[str, Any]:
    """100 runs started at once, executed by ``processes`` worker processes on one
    libSQL file; this process answers each suspension as soon as it sees it."""
    db = db_dir / f"w1-mp-{processes}.db"
    app = open_app(db, "native", 1)
    children: list[subprocess.Popen[bytes]] = []
    try:
        tickets = [new_ticket(app) for _ in range(CONCURRENT_RUNS)]
        readies = [db_dir / f"w1-mp-ready-{processes}-{i}" for i in range(processes)]
        for ready in readies:
            children.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--worker-child", str(db),
                 str(workers_each), str(ready)]))
        deadline = time.monotonic() + 30
        while not all(r.exists() for r in readies):
            if time.monotonic() > deadline:
                raise TimeoutError("worker processes did not start")
            time.sleep(0.02)
        t0 = time.perf_counter()
        runs = {app.engine.start(a, uid=LOCAL_UID).run_id for a in tickets}
        done: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while len(done) < len(runs) and time.monotonic() < deadline:
            rows = app.db.execute(
                "SELECT run_id, status FROM runs WHERE status IN "
                "('suspended', 'completed', 'failed', 'cancelled')").rows
            for run_id, status in rows:
                if run_id not in runs or run_id in done:
                    continue
                if status == "suspended":
                    run = app.runs.get_run(str(run_id))
                    if run is not None and run.suspension is not None:
                        act(app, run, reply_for(run.suspension.kind))
                else:
                    done.add(str(run_id))
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        completed = int(app.db.execute(
            "SELECT COUNT(*) FROM runs WHERE status = 'completed'").rows[0][0])
    finally:
        for c in children:
            c.terminate()
        for c in children:
            c.wait(10)
        app.close()
    return {"processes": processes, "workers_each": workers_each, "completed": completed,
            "wall_s": round(wall, 2), "runs_per_s": round(completed / wall, 1)}


# -- crash case ---------------------------------------------------------------------------


def crash_child(db: str, side: str, slow_s: float) -> int:
    """Start a run (or continue the unfinished one) and drive it to its end."""
    PROBE.side_file = side
    if slow_s > 0:
        PROBE.slow = {CRASH_STEP: slow_s}
    app = open_app(Path(db), "native", WORKERS)
    try:
        active = [r for r in app.runs.list_runs(10) if r.active]
        run_id = (active[0].run_id if active
                  else app.engine.start(new_ticket(app), uid=LOCAL_UID).run_id)
        final = drive(app, run_id, lambda st: reply_for(st.suspension.kind)  # type: ignore[union-attr]
                      if st.suspension else None, poll_s=0.005, timeout_s=60)
        print(json.dumps({"run_id": run_id, "status": final.status}))
        return 0 if final.status == "completed" else 1
    finally:
        app.close()


def crash_case(db_dir: Path) -> dict[str, Any]:
    """kill -9 while step 7 runs (made slow), then the same command again; which step
    bodies ran twice comes from the side file the handlers append to with fsync."""
    db = db_dir / "w1-crash.db"
    side = db_dir / "w1-crash-executions.txt"
    cmd = [sys.executable, os.path.abspath(__file__), "--crash-child", str(db), str(side)]
    child = subprocess.Popen([*cmd, "--slow-s", str(CRASH_SLOW_S)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None:
        if side.exists() and str(CRASH_STEP) in side.read_text().split():
            break
        time.sleep(0.01)
    time.sleep(0.2)  # inside the slow step 7
    killed = child.poll() is None
    if killed:
        os.kill(child.pid, signal.SIGKILL)
    child.wait()
    before = [int(x) for x in side.read_text().split()] if side.exists() else []
    t0 = time.perf_counter()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    recovery_s = time.perf_counter() - t0
    executions = [int(x) for x in side.read_text().split()] if side.exists() else []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        status = conn.execute("SELECT status FROM runs").fetchall()
        outputs = conn.execute("SELECT COUNT(*) FROM step_outputs").fetchone()[0]
    finally:
        conn.close()
    twice = sorted(i for i, c in Counter(executions).items() if c > 1)
    return {
        "crash_recovered": bool(killed and again.returncode == 0 and len(status) == 1
                                and status[0][0] == "completed" and outputs == 11),
        "crash_steps_reexecuted": twice,
        "crash_killed_during_step": max(before) if before else None,
        "crash_recovery_process_s": round(recovery_s, 2),
        **({"crash_child_stderr": again.stderr[-600:]} if again.returncode else {}),
    }


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--crash-child", nargs=2, metavar=("DB", "SIDE_FILE"))
    p.add_argument("--worker-child", nargs=3, metavar=("DB", "WORKERS", "READY_FILE"))
    p.add_argument("--slow-s", type=float, default=0.0)
    p.add_argument("--quick", action="store_true",
                   help="only the sequential runs and one round of 100 runs at once "
                        "(per-step overhead, resume latency, throughput): a quick A/B")
    args = p.parse_args()
    if args.crash_child:
        return crash_child(args.crash_child[0], args.crash_child[1], args.slow_s)
    if args.worker_child:
        db, workers, ready = args.worker_child
        return worker_child(db, int(workers), ready)

    t_all = time.perf_counter()
    load_before = os.getloadavg()
    gc_pauses: list[tuple[int, float]] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((int(info["generation"]), time.perf_counter() - gc_started[0]))

    if args.quick:
        with tempfile.TemporaryDirectory(prefix="ticketflow-w1-") as tmp:
            quick = measure(Path(tmp), "native", WORKERS, repeats=1)
        print(json.dumps({"benchmark": "W1", "quick": True, "workers": WORKERS, **quick,
                          "loadavg_1m": [round(load_before[0], 2),
                                         round(os.getloadavg()[0], 2)],
                          "elapsed_s": round(time.perf_counter() - t_all, 1)}))
        return 0
    gc.callbacks.append(on_gc)
    with tempfile.TemporaryDirectory(prefix="ticketflow-w1-") as tmp:
        d = Path(tmp)
        native = measure(d, "native", WORKERS)
        peak_rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        client = measure(d, "libsql-client", WORKERS, repeats=1, timebox_s=CLIENT_TIMEBOX_S)
        counted = witness(d, WORKERS)
        processes = multiprocess_throughput(d, 2)
        crash = crash_case(d)
        disk = fsync_ms(d)
    gc.callbacks.remove(on_gc)
    full = [ms * 1000 for gen, ms in gc_pauses if gen == 2]
    result: dict[str, Any] = {
        "benchmark": "W1",
        "driver": "native",
        "workers": WORKERS,
        **{k: v for k, v in native.items() if k != "throughput_failed"},
        "peak_rss_mb": peak_rss,
        **crash,
        **disk,
        **{f"libsql_client_{k}": v for k, v in client.items()
           if k not in ("throughput_failed", "throughput_rounds_runs_per_s")},
        "throughput_runs_per_s_100_multiprocess": processes["runs_per_s"],
        "multiprocess": processes,
        "witness": counted,
        "statements_per_step": counted["per_step"]["statements"],
        "fsyncs_per_step": counted["per_step"]["fsyncs"],
        "durable_commits_per_run": counted["per_run"]["durable_commits"],
        "fsyncs_per_run": counted["per_run"]["fsyncs"],
        "gc_full_collections": len(full),
        "gc_full_pause_ms_max": r3(max(full)) if full else 0.0,
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "runs": {"sequential": SEQUENTIAL_RUNS, "warmup": WARMUP_RUNS,
                 "concurrent": CONCURRENT_RUNS, "concurrent_repeats": THROUGHPUT_REPEATS},
        "python": sys.version.split()[0],
        "elapsed_s": round(time.perf_counter() - t_all, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
