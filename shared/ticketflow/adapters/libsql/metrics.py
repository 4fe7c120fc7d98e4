"""Operating metrics, read from the run store's libSQL database.

Most of what a run costs is already recorded by the runtime, once, where it
happens: ``runs`` (start, end, status, error), ``step_attempts`` (one row per
attempt: started, finished, outcome ``committed | suspended | retry | failed``, or
no outcome at all when the worker died), ``step_outputs`` (``done | skipped |
degraded``) and ``actions`` (every action, accepted or rejected; ``system:expiry``
for expired waits). This module adds two small tables of its own:

* ``llm_calls``: one row per language-model call, written by
  :class:`LlmUsageRecorder` (the Claude adapter's ``on_usage``), attributed to the
  run, step and attempt through :data:`ticketflow.observability.tracing.current_step`;
* ``ticket_events``: content edits of tickets, written by :func:`record_ticket_edit`
  where an edit is saved (the CLI), or where one is observed (the ``on_aec_updated``
  Firestore trigger, for the web page's direct edits; keyed by the event id), for
  the edit-after-completion rate.

:func:`compute_stats` turns all of it into the story's success metrics; see
``docs/metrics.md`` for the definitions.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from libsql_client import LibsqlError

from ticketflow.adapters.libsql.database import Database, apply_schema, rows_as_dicts
from ticketflow.observability.summary import summary
from ticketflow.observability.tracing import current_step

if TYPE_CHECKING:
    from ticketflow.adapters.claude import UsageRecord

log = logging.getLogger("ticketflow.adapters.libsql.metrics")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS llm_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, aec_id TEXT, step INTEGER,
        step_name TEXT, attempt INTEGER, task TEXT NOT NULL, model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
        latency_ms INTEGER NOT NULL DEFAULT 0, http_attempts INTEGER NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL, trace_id TEXT, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS llm_calls_run ON llm_calls(run_id, step)",
    """CREATE TABLE IF NOT EXISTS ticket_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, aec_id TEXT NOT NULL, kind TEXT NOT NULL,
        uid TEXT, status_before TEXT, fields TEXT, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ticket_events_aec ON ticket_events(aec_id, created_at)",
]
# Version 2: the id of the event that reported an edit (NULL for edits recorded where
# they are saved), unique so that a redelivered event records nothing more.
SCHEMA_V2 = [
    "ALTER TABLE ticket_events ADD COLUMN event_id TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS ticket_events_event ON ticket_events(event_id)",
]

FINISHED = ("completed", "failed", "cancelled")
ABANDONING_ACTIONS = ("abort", "edit", "cancel")  # the run ends at the suspension


def ensure_schema(db: Database) -> None:
    """Create the metrics tables (the composition roots do it when they open the
    database; readers rely on it and never write)."""
    apply_schema(db, "metrics", 1, SCHEMA)
    try:
        apply_schema(db, "metrics", 2, SCHEMA_V2)
    except LibsqlError as exc:
        # Another process migrated first: its batch (column, index, version) committed.
        if "duplicate column" not in str(exc).lower():
            raise


def _now() -> datetime:
    return datetime.now(UTC)


# -- writers ---------------------------------------------------------------------------------


class LlmUsageRecorder:
    """``on_usage`` callback of :class:`~ticketflow.adapters.claude.ClaudeLanguageModel`:
    one ``llm_calls`` row per call, with the run, step and attempt of the step that
    made it (``None`` outside a step). Opens its database on first use.

    Rows are written without an fsync (``durable=False``): a metrics row lost with
    the machine costs nothing but the number.
    """

    def __init__(self, db: Database | None = None, *, url: str | None = None,
                 auth_token: str | None = None) -> None:
        if db is None and url is None:
            raise ValueError("LlmUsageRecorder needs a database or a URL")
        self._db = db
        self._url = url
        self._auth_token = auth_token
        self._owned = False
        self._ready = False
        self._lock = threading.Lock()

    def _database(self) -> Database:
        with self._lock:
            if self._db is None:
                assert self._url is not None
                self._db = Database(self._url, auth_token=self._auth_token)
                self._owned = True
            if not self._ready:
                ensure_schema(self._db)
                self._ready = True
            return self._db

    def __call__(self, record: UsageRecord) -> None:
        scope = current_step.get()
        self._database().execute(
            "INSERT INTO llm_calls(run_id, aec_id, step, step_name, attempt, task, model, "
            "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
            "latency_ms, http_attempts, outcome, trace_id, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [scope.run_id if scope else None, scope.aec_id if scope else None,
             scope.step if scope else None, scope.step_name if scope else None,
             scope.attempt if scope else None, record.task, record.model,
             record.input_tokens, record.output_tokens, record.cache_read_tokens,
             record.cache_write_tokens, record.cost_usd, record.latency_ms, record.attempts,
             record.outcome, scope.trace_id if scope else None, _now().isoformat()],
            durable=False,
        )

    def close(self) -> None:
        with self._lock:
            if self._owned and self._db is not None:
                self._db.close()
            self._db = None
            self._ready = False


def record_ticket_edit(db: Database, aec_id: str, *, uid: str, fields: Iterable[str],
                       status_before: str | None, at: datetime | None = None,
                       event_id: str | None = None) -> bool:
    """Record a person's content edit of a ticket, after the edit was saved.

    Call it where ``AEC.edit`` is applied (CLI, web API) with the ticket's status
    before the edit; an edit refused because the ticket is locked is not recorded.
    ``event_id`` (the id of the event that reported the edit) makes it idempotent: a
    second call with the same id records nothing. Returns whether a row was written.
    """
    ensure_schema(db)
    rs = db.execute(
        "INSERT INTO ticket_events(aec_id, kind, uid, status_before, fields, created_at, "
        "event_id) VALUES (?, 'edit', ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
        [aec_id, uid, status_before, ",".join(sorted(fields)), (at or _now()).isoformat(),
         event_id],
        durable=False,
    )
    return bool(rs.rows_affected == 1)


# -- per run ---------------------------------------------------------------------------------


def _ts(v: Any) -> datetime | None:
    if v is None:
        return None
    d = datetime.fromisoformat(str(v))
    return d if d.tzinfo else d.replace(tzinfo=UTC)


@dataclass
class Wait:
    """One suspension: from the step's suspended commit to the action that resolved it."""

    step: int
    started_at: datetime
    ended_at: datetime | None = None
    resolved_by: str | None = None  # action type
    expired: bool = False

    @property
    def abandoned(self) -> bool:
        return self.expired or self.resolved_by in ABANDONING_ACTIONS

    def seconds(self, now: datetime) -> float:
        return ((self.ended_at or now) - self.started_at).total_seconds()


@dataclass
class RunMetrics:
    run_id: str
    aec_id: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    cancel_reason: str | None
    error_code: str | None
    attempts: int = 0
    retries: int = 0
    interrupted_attempts: int = 0
    degraded_steps: int = 0
    waits: list[Wait] = field(default_factory=list)
    person_actions: int = 0
    rejected_actions: int = 0
    llm_calls: int = 0
    llm_tokens: int = 0
    llm_cost_usd: float = 0.0
    edited_after_completion: bool = False

    def duration_s(self, now: datetime) -> float:
        return ((self.finished_at or now) - self.created_at).total_seconds()

    def wait_s(self, now: datetime) -> float:
        return sum(w.seconds(now) for w in self.waits)

    def doc(self, now: datetime) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "aec_id": self.aec_id, "status": self.status,
            "duration_s": round(self.duration_s(now), 3),
            "wait_s": round(self.wait_s(now), 3),
            "active_s": round(self.duration_s(now) - self.wait_s(now), 3),
            "attempts": self.attempts, "retries": self.retries,
            "interrupted_attempts": self.interrupted_attempts,
            "degraded_steps": self.degraded_steps, "waits": len(self.waits),
            "abandoned": any(w.abandoned for w in self.waits),
            "person_actions": self.person_actions, "rejected_actions": self.rejected_actions,
            "llm_calls": self.llm_calls, "llm_tokens": self.llm_tokens,
            "llm_cost_usd": round(self.llm_cost_usd, 6),
            "error_code": self.error_code, "cancel_reason": self.cancel_reason,
        }


def _where_since(since: datetime | None, col: str = "created_at") -> tuple[str, list[Any]]:
    if since is None:
        return "1 = 1", []
    return f"{col} >= ?", [since.isoformat()]


def _rows(db: Database, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    return rows_as_dicts(db.execute(sql, args))


def run_metrics(db: Database, *, since: datetime | None = None,
                now: datetime | None = None) -> list[RunMetrics]:
    """One :class:`RunMetrics` per run created at or after ``since``."""
    now = now or _now()
    where, args = _where_since(since)
    in_runs = f"run_id IN (SELECT run_id FROM runs WHERE {where})"
    runs = _rows(db, f"SELECT run_id, aec_id, status, step_index, created_at, finished_at, "
                     f"cancel_reason, error FROM runs WHERE {where} ORDER BY created_at", args)
    out: dict[str, RunMetrics] = {}
    pointer: dict[str, int] = {}
    for r in runs:
        code = None
        if r["error"]:
            code = json.loads(r["error"]).get("code")
        out[r["run_id"]] = RunMetrics(
            run_id=r["run_id"], aec_id=r["aec_id"], status=r["status"],
            created_at=_ts(r["created_at"]) or now, finished_at=_ts(r["finished_at"]),
            cancel_reason=r["cancel_reason"], error_code=code)
        pointer[r["run_id"]] = int(r["step_index"])

    attempts = _rows(db, f"SELECT run_id, step_index, attempt, started_at, finished_at, "
                         f"outcome FROM step_attempts WHERE {in_runs} "
                         f"ORDER BY run_id, started_at", args)
    outputs = _rows(db, f"SELECT run_id, step_index, status FROM step_outputs "
                        f"WHERE {in_runs}", args)
    committed = {(o["run_id"], int(o["step_index"])) for o in outputs}
    latest_attempt: dict[tuple[str, int], int] = {}
    for a in attempts:
        key = (a["run_id"], int(a["step_index"]))
        latest_attempt[key] = max(latest_attempt.get(key, 0), int(a["attempt"]))
    suspended: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for a in attempts:
        m = out.get(a["run_id"])
        if m is None:
            continue
        key = (a["run_id"], int(a["step_index"]))
        m.attempts += 1
        if a["outcome"] == "retry":
            m.retries += 1
        if a["finished_at"] is None and _interrupted(m, key, int(a["attempt"]), committed,
                                                     latest_attempt, pointer[m.run_id]):
            m.interrupted_attempts += 1
        if a["outcome"] == "suspended" and a["finished_at"] is not None:
            suspended[a["run_id"]].append((key[1], _ts(a["finished_at"]) or now))
    for o in outputs:
        if o["status"] == "degraded" and o["run_id"] in out:
            out[o["run_id"]].degraded_steps += 1

    actions = _rows(db, f"SELECT run_id, type, uid, status, created_at FROM actions "
                        f"WHERE {in_runs} ORDER BY created_at", args)
    accepted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for act in actions:
        m = out.get(act["run_id"])
        if m is None:
            continue
        person = not str(act["uid"] or "").startswith("system:")
        if act["status"] == "accepted":
            accepted[act["run_id"]].append(act)
            m.person_actions += int(person)
        elif person:
            m.rejected_actions += 1
    for run_id, susps in suspended.items():
        m = out[run_id]
        for step, t_s in sorted(susps, key=lambda s: s[1]):
            wait = Wait(step=step, started_at=t_s)
            for act in accepted.get(run_id, []):
                at = _ts(act["created_at"]) or now
                if at >= t_s:
                    wait.ended_at, wait.resolved_by = at, act["type"]
                    wait.expired = str(act["uid"]).startswith("system:expiry")
                    break
            else:
                if m.finished_at is not None:
                    wait.ended_at = m.finished_at
            m.waits.append(wait)

    for c in _rows(db, f"SELECT run_id, COUNT(*) AS n, "
                       f"SUM(input_tokens + output_tokens + cache_read_tokens "
                       f"+ cache_write_tokens) AS tokens, SUM(cost_usd) AS cost "
                       f"FROM llm_calls WHERE {in_runs} GROUP BY run_id", args):
        m = out[c["run_id"]]
        m.llm_calls, m.llm_tokens, m.llm_cost_usd = int(c["n"]), int(c["tokens"] or 0), \
            float(c["cost"] or 0.0)

    _mark_edits(db, out)
    return list(out.values())


def _interrupted(m: RunMetrics, key: tuple[str, int], attempt: int,
                 committed: set[tuple[str, int]], latest: dict[tuple[str, int], int],
                 pointer: int) -> bool:
    """An attempt without an end that can no longer end: its worker died (or lost its
    lease). One still running is not counted."""
    return (m.status in FINISHED or key in committed or key[1] < pointer
            or attempt < latest[key])


def _mark_edits(db: Database, runs: dict[str, RunMetrics]) -> None:
    completed = [m for m in runs.values() if m.status == "completed" and m.finished_at]
    if not completed:
        return
    aecs = sorted({m.aec_id for m in completed})
    marks = ",".join("?" for _ in aecs)
    edits: dict[str, list[datetime]] = defaultdict(list)
    for e in _rows(db, f"SELECT aec_id, created_at FROM ticket_events WHERE kind = 'edit' "
                       f"AND aec_id IN ({marks})", aecs):
        edits[e["aec_id"]].append(_ts(e["created_at"]) or _now())
    starts: dict[str, list[datetime]] = defaultdict(list)
    for r in _rows(db, f"SELECT aec_id, created_at FROM runs WHERE aec_id IN ({marks})",
                   aecs):
        starts[r["aec_id"]].append(_ts(r["created_at"]) or _now())
    for m in completed:
        assert m.finished_at is not None
        later = [s for s in starts[m.aec_id] if s > m.finished_at]
        until = min(later) if later else None
        m.edited_after_completion = any(
            t > m.finished_at and (until is None or t < until) for t in edits[m.aec_id])


# -- aggregates ---------------------------------------------------------------------------------


def _r(v: float | None, nd: int = 3) -> float | None:
    return None if v is None else round(v, nd)


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _dist(values: list[float]) -> dict[str, float | int | None]:
    return summary(values, digits=3, extras=())


def step_stats(db: Database, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Per step: attempts, outcomes, retries, interrupted attempts, p50/p95 duration of
    the attempts that finished (ms), degraded outputs, and fallbacks (outputs the
    offline provider produced because the model failed after its retries)."""
    where, args = _where_since(since)
    in_runs = f"run_id IN (SELECT run_id FROM runs WHERE {where})"
    attempts = _rows(db, f"SELECT a.step_index, a.started_at, a.finished_at, a.outcome, "
                         f"o.step_name FROM step_attempts a LEFT JOIN step_outputs o "
                         f"ON o.run_id = a.run_id AND o.step_index = a.step_index "
                         f"WHERE a.{in_runs}", args)
    degraded = Counter(int(r["step_index"]) for r in _rows(
        db, f"SELECT step_index FROM step_outputs WHERE status = 'degraded' AND {in_runs}",
        args))
    # steps the offline provider produced because the model failed after its retries
    fallbacks = Counter(int(r["step_index"]) for r in _rows(
        db, f"SELECT step_index FROM step_outputs WHERE json_extract(output, '$.fallback') "
            f"IS NOT NULL AND {in_runs}", args))
    names: dict[int, str] = {}
    outcomes: dict[int, Counter[str]] = defaultdict(Counter)
    durations: dict[int, list[float]] = defaultdict(list)
    for a in attempts:
        i = int(a["step_index"])
        if a["step_name"]:
            names[i] = a["step_name"]
        outcomes[i][a["outcome"] or "unfinished"] += 1
        start, end = _ts(a["started_at"]), _ts(a["finished_at"])
        if start and end and a["outcome"] in ("committed", "suspended"):
            durations[i].append((end - start).total_seconds() * 1000)
    rows = []
    for i in sorted(outcomes):
        o = outcomes[i]
        rows.append({
            "step": i, "name": names.get(i, ""), "attempts": sum(o.values()),
            "committed": o["committed"], "suspended": o["suspended"], "retries": o["retry"],
            "failed": o["failed"], "unfinished": o["unfinished"], "degraded": degraded[i],
            "fallbacks": fallbacks[i],
            "duration_ms": _dist(durations[i]),
        })
    return rows


def llm_stats(db: Database, *, since: datetime | None = None) -> dict[str, Any]:
    where, args = _where_since(since)
    rows = _rows(db, f"SELECT task, outcome, input_tokens, output_tokens, cache_read_tokens, "
                     f"cache_write_tokens, cost_usd, latency_ms, http_attempts FROM llm_calls "
                     f"WHERE {where}", args)
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[r["task"]].append(r)

    def tokens(r: dict[str, Any]) -> int:
        return int(r["input_tokens"] + r["output_tokens"] + r["cache_read_tokens"]
                   + r["cache_write_tokens"])

    return {
        "calls": len(rows),
        "outcomes": dict(Counter(r["outcome"] for r in rows)),
        "tokens": sum(tokens(r) for r in rows),
        "cost_usd": round(sum(float(r["cost_usd"]) for r in rows), 6),
        "http_retries": sum(max(int(r["http_attempts"]) - 1, 0) for r in rows),
        "by_task": {
            task: {"calls": len(rs), "tokens": sum(tokens(r) for r in rs),
                   "cost_usd": round(sum(float(r["cost_usd"]) for r in rs), 6),
                   "latency_ms": _dist([float(r["latency_ms"]) for r in rs])}
            for task, rs in sorted(by_task.items())
        },
    }


def compute_stats(db: Database, *, since: datetime | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """The success metrics over the runs created at or after ``since`` (see
    ``docs/metrics.md``)."""
    now = now or _now()
    runs = run_metrics(db, since=since, now=now)
    status = Counter(m.status for m in runs)
    finished = [m for m in runs if m.status in FINISHED]
    completed = [m for m in runs if m.status == "completed"]
    with_wait = [m for m in finished if m.waits]
    abandoned = [m for m in with_wait if any(w.abandoned for w in m.waits)]
    all_waits = [w for m in runs for w in m.waits]
    interrupted = [m for m in finished if m.interrupted_attempts
                   and not (m.status == "cancelled" and m.cancel_reason == "user")]
    completed_cost = [m.llm_cost_usd for m in completed]
    return {
        "since": since.isoformat() if since else None,
        "generated_at": now.isoformat(),
        "runs": {"total": len(runs), **{s: status.get(s, 0) for s in
                                        ("running", "suspended", *FINISHED)}},
        "completion_rate": _rate(len(completed), len(finished)),
        "time_to_ready_s": {
            "excluding_waits": _dist([m.duration_s(now) - m.wait_s(now) for m in completed]),
            "including_waits": _dist([m.duration_s(now) for m in completed]),
        },
        "waiting_for_person_s": _dist([w.seconds(now) for w in all_waits
                                       if w.ended_at is not None]),
        "user_actions_per_run": {
            "accepted_mean": _r(sum(m.person_actions for m in finished) / len(finished))
            if finished else None,
            "rejected_total": sum(m.rejected_actions for m in runs),
        },
        "abandonment": {
            "rate": _rate(len(abandoned), len(with_wait)),
            "runs_abandoned": len(abandoned), "runs_that_waited": len(with_wait),
            "waits_expired": sum(1 for w in all_waits if w.expired),
            "cancelled_at_suspension": sum(1 for w in all_waits
                                           if w.resolved_by in ABANDONING_ACTIONS
                                           and not w.expired),
        },
        "edit_after_completion": {
            "rate": _rate(sum(m.edited_after_completion for m in completed), len(completed)),
            "edited": sum(m.edited_after_completion for m in completed),
            "completed": len(completed),
        },
        "crash_recovery": {
            "rate": _rate(sum(m.status == "completed" for m in interrupted), len(interrupted)),
            "interrupted_runs": len(interrupted),
            "recovered": sum(m.status == "completed" for m in interrupted),
            "still_active": sum(1 for m in runs if m.interrupted_attempts
                                and m.status not in FINISHED),
        },
        "degradation": {
            "runs_degraded": sum(1 for m in finished if m.degraded_steps),
            "rate": _rate(sum(1 for m in finished if m.degraded_steps), len(finished)),
        },
        "failures": dict(Counter(m.error_code or "unknown" for m in runs
                                 if m.status == "failed")),
        "retries_total": sum(m.retries for m in runs),
        "steps": step_stats(db, since=since),
        "llm": {**llm_stats(db, since=since),
                "cost_per_completed_run_usd": _r(sum(completed_cost) / len(completed_cost), 6)
                if completed_cost else None},
    }


def parse_since(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """``7d``, ``24h``, ``30m``, ``90s`` before now, or an ISO date/time (UTC if naive)."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1, "w": 7 * 86400}
    if v[-1:].lower() in units and v[:-1].replace(".", "", 1).isdigit():
        return (now or _now()) - timedelta(seconds=float(v[:-1]) * units[v[-1].lower()])
    try:
        d = datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(f"--since takes 7d, 24h, 30m or an ISO date/time, not {value!r}"
                         ) from None
    return d if d.tzinfo else d.replace(tzinfo=UTC)
