"""W2's analysis (see ``bench/w2.py``): the records of the runs and actions this process
saw, the events the functions process wrote (``bench/_w2_workload.py``), and the
figures computed from both. (The leading underscore keeps this module out of
``make bench``'s ``bench/w*.py``.)"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticketflow.adapters.libsql.database import Database
from ticketflow.observability.summary import percentile, summary

STEP_PAIRS = ((1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (8, 9), (10, 11))


ROUND_TRIPS = {"libsql_calls": "libsql", "firestore_rpcs": "firestore",
               "enqueue_n": "cloud_tasks"}  # keys the functions process records


def p50(values: list[float]) -> float | None:
    """The median (nearest rank) in ms, rounded to 0.01."""
    value = percentile(values, 50)
    return None if value is None else round(value, 2)


@dataclass
class Run:
    aec_id: str
    run_id: str = ""
    t_start: float = 0.0
    t_done: float | None = None
    status: str = ""
    answered: set[str] = field(default_factory=set)


@dataclass
class Action:
    aec_id: str
    run_id: str
    kind: str
    action_id: str
    t_seen: float
    t_write0: float = 0.0
    t_write1: float = 0.0
    t_created: float = 0.0  # the document's update_time (the emulator's commit)


def load_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def first_seen(seen: list[tuple[int, float]], seq: int, after: float) -> float | None:
    """When the listener first saw ``seq`` or a later one (after ``after`` - 1 s)."""
    times = [t for s, t in seen if s >= seq and t >= after - 1.0]
    return min(times) if times else None


def analyse(runs: list[Run], events: list[dict[str, Any]], page: Any) -> dict[str, Any]:
    """The sequential or concurrent figures of ``runs`` (``page``: the listener's
    observations, :class:`w2.Page`)."""
    run_ids = {r.run_id for r in runs}
    by_aec = {r.aec_id: r for r in runs}
    handler: dict[tuple[str, int], float] = {}
    steps: dict[tuple[str, int], dict[str, Any]] = {}
    acts: dict[str, dict[str, Any]] = {}
    triggers: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("k") == "handler" and e["run"] in run_ids:
            handler.setdefault((e["run"], e["step"]), e["t"])
        elif e.get("k") in ("http", "engine") and e.get("run") in run_ids and \
                e.get("outcome") in ("committed", "completed", "suspended"):
            steps.setdefault((e["run"], int(e["step"])), e)
        elif e.get("k") == "trigger":
            action_id = str(e.get("subject") or "").rsplit("/", 1)[-1]
            triggers[action_id] = e
            if "act_t0" in e:
                acts[action_id] = e
        elif e.get("k") == "act" and e.get("run") in run_ids:
            acts.setdefault(e["action"], e)

    cycle, in_function, dispatch_wait, request_ms = [], [], [], []
    parts: dict[str, list[float]] = defaultdict(list)
    round_trips: dict[str, list[float]] = {k: [] for k in ROUND_TRIPS}
    action_trips: dict[str, list[float]] = {k: [] for k in ROUND_TRIPS}
    for r in runs:
        for a, b in STEP_PAIRS:
            ea, eb = steps.get((r.run_id, a)), steps.get((r.run_id, b))
            if ea and eb:
                cycle.append((eb["t_entry"] - ea["t_entry"]) * 1000)
                if "enqueue_t1" in ea:
                    dispatch_wait.append((eb["t_entry"] - ea["enqueue_t1"]) * 1000)
        for i in range(1, 12):
            e = steps.get((r.run_id, i))
            if not e:
                continue
            request_ms.append((e["t_exit"] - e["t_entry"]) * 1000)
            if i not in (4, 9):
                for key, n in round_trips.items():
                    n.append(e.get(key, 0))
            dispatched = e.get("mark_dispatched_t1", e.get("enqueue_t1"))
            if i not in (4, 9) and dispatched is not None:
                in_function.append((dispatched - e["t_entry"]) * 1000)
                h = handler.get((r.run_id, i))
                for label in ("get_run", "claim", "steps", "mutate", "commit", "project",
                              "mark_projected", "enqueue", "mark_dispatched"):
                    if f"{label}_ms" in e:
                        parts[label].append(e[f"{label}_ms"])
                if h is not None and "commit_t0" in e:
                    parts["handler_dispatch_to_commit"].append((e["commit_t0"] - h) * 1000)
                    parts["entry_to_handler"].append((h - e["t_entry"]) * 1000)

    # progress: commit (step commits and resume commits) -> listener sees the seq
    progress, progress_steps, progress_resume = [], [], []
    proj_write, watch_delivery = [], []
    for e in [*steps.values(), *acts.values()]:
        aec_id, seq = e.get("aec"), e.get("seq", e.get("projected_seq"))
        t_commit = e.get("commit_t1", e.get("resume_t1"))
        if aec_id not in by_aec or seq is None or t_commit is None:
            continue
        with page.lock:
            t_seen = first_seen(list(page.seen.get(aec_id, [])), int(seq), t_commit)
        if t_seen is None:
            continue
        ms = (t_seen - t_commit) * 1000
        progress.append(ms)
        (progress_resume if "resume_t1" in e else progress_steps).append(ms)
        if "project_t1" in e:
            proj_write.append((e["project_t1"] - t_commit) * 1000)
            watch_delivery.append((t_seen - e["project_t1"]) * 1000)

    # resume: action document created -> next step's handler starts
    resume, resume_client, seen_to_write = [], [], []
    rparts: dict[str, list[float]] = defaultdict(list)
    for act in page.actions:
        if act.run_id not in run_ids:
            continue
        nxt = 5 if act.kind == "review" else 10
        h = handler.get((act.run_id, nxt))
        seen_to_write.append((act.t_write0 - act.t_seen) * 1000)
        if h is None:
            continue
        resume.append((h - act.t_created) * 1000)
        resume_client.append((h - act.t_write0) * 1000)
        trig, ae, se = triggers.get(act.action_id), acts.get(act.action_id), \
            steps.get((act.run_id, nxt))
        if trig:
            rparts["created_to_trigger_entry"].append((trig["t_entry"] - act.t_created) * 1000)
            if "act_t0" in trig:
                rparts["trigger_decode_to_act"].append(
                    (trig["act_t0"] - trig["t_entry"]) * 1000)
        if ae:
            for key, n in action_trips.items():
                n.append(ae.get(key, 0))
            for label in ("resume", "project", "enqueue"):
                if f"{label}_ms" in ae:
                    rparts[f"act_{label}"].append(ae[f"{label}_ms"])
            if "act_t1" in ae and "act_t0" in ae:
                rparts["act_total"].append((ae["act_t1"] - ae["act_t0"]) * 1000)
            if se and "enqueue_t1" in ae:
                rparts["enqueue_to_step_entry"].append((se["t_entry"] - ae["enqueue_t1"]) * 1000)
        if se:
            rparts["step_entry_to_handler"].append((h - se["t_entry"]) * 1000)

    done = [r for r in runs if r.status == "completed" and r.t_done]
    single = [(r.t_done - r.t_start) * 1000 for r in done if r.t_done]
    return {
        "runs": len(runs),
        "completed": len(done),
        "single_run_ms": summary(single),
        "step_cycle_ms": summary(cycle),
        "in_function_ms": summary(in_function),
        "run_step_request_ms": summary(request_ms),
        "dispatch_wait_ms": summary(dispatch_wait),
        "in_function_parts_ms_p50": {k: p50(v) for k, v in parts.items()},
        "round_trips_per_step_p50": {ROUND_TRIPS[k]: p50(v) for k, v in round_trips.items()},
        "round_trips_per_action_p50": {ROUND_TRIPS[k]: p50(v)
                                       for k, v in action_trips.items()},
        "progress_ms": summary(progress),
        "progress_step_commits_ms": summary(progress_steps),
        "progress_resume_commits_ms": summary(progress_resume),
        "progress_commit_to_projection_written_ms": summary(proj_write),
        "progress_projection_written_to_listener_ms": summary(watch_delivery),
        "resume_ms": summary(resume),
        "resume_from_client_write_start_ms": summary(resume_client),
        "resume_parts_ms_p50": {k: p50(v) for k, v in rparts.items()},
        "seen_to_action_write_ms": summary(seen_to_write),
    }


def libsql_check(db: Database, run_ids: list[str]) -> dict[str, Any]:
    marks = ",".join("?" for _ in run_ids)
    statuses = {str(r[0]): str(r[1]) for r in db.execute(
        f"SELECT run_id, status FROM runs WHERE run_id IN ({marks})", run_ids).rows}
    twice = db.execute(
        f"SELECT COUNT(*) FROM (SELECT run_id, step_index FROM step_outputs "
        f"WHERE run_id IN ({marks}) GROUP BY run_id, step_index HAVING COUNT(*) > 1)",
        run_ids).rows[0][0]
    outputs = db.execute(
        f"SELECT COUNT(*) FROM step_outputs WHERE run_id IN ({marks})", run_ids).rows[0][0]
    return {"completed": sum(1 for s in statuses.values() if s == "completed"),
            "statuses": dict(sorted(_count(statuses.values()).items())),
            "steps_committed_twice": twice, "step_outputs": outputs}


def profile_top(path: Path, n: int = 18) -> list[dict[str, Any]]:
    """The functions process's hottest functions (own time), per profiled request."""
    if not path.exists():
        return []
    import pstats

    st = pstats.Stats(str(path))
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    requests = max(1, sum(v[1] for k, v in raw.items() if k[0].endswith("functions_http.py")
                          and k[2] in ("run_step", "on_action_created")))
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:n]
    return [{"fn": f"{Path(k[0]).name}:{k[1]}:{k[2]}", "calls_per_req": round(v[1] / requests, 1),
             "own_ms_per_req": round(v[2] * 1000 / requests, 3),
             "cum_ms_per_req": round(v[3] * 1000 / requests, 3)} for k, v in rows]


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for v in values:
        out[str(v)] += 1
    return out
