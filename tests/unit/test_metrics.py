"""The success metrics, on hand-written run histories with known answers, and the
language-model usage recorder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ticketflow.adapters.claude import ClaudeLanguageModel, UsageRecord
from ticketflow.adapters.libsql.database import Database, apply_schema
from ticketflow.adapters.libsql.metrics import (
    SCHEMA,
    LlmUsageRecorder,
    compute_stats,
    parse_since,
    record_ticket_edit,
    run_metrics,
)
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.compose.embedded import build_llm
from ticketflow.observability.summary import percentile, summary
from ticketflow.observability.tracing import StepScope, current_step
from ticketflow.settings import Settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def at(s: float) -> str:
    return (T0 + timedelta(seconds=s)).isoformat()


class History:
    """Writes rows the way the run store does, with chosen timestamps."""

    def __init__(self, db: Database) -> None:
        self.db = db
        LibsqlRunStore(db)  # the schema

    def run(self, run_id: str, status: str, created: float, finished: float | None, *,
            step_index: int = 12, cancel_reason: str | None = None,
            error_code: str | None = None) -> None:
        error = json.dumps({"code": error_code, "message": "x"}) if error_code else None
        self.db.execute(
            "INSERT INTO runs(run_id, aec_id, owner_id, workflow_version, status, step_index, "
            "deadline_at, input, created_at, updated_at, finished_at, cancel_reason, error) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [run_id, "aec-" + run_id, "u1", "v1", status, step_index, at(9999), "{}",
             at(created), at(finished if finished is not None else created),
             at(finished) if finished is not None else None, cancel_reason, error])

    def attempt(self, run_id: str, step: int, start: float, end: float | None,
                outcome: str | None, attempt: int = 1) -> None:
        self.db.execute(
            "INSERT INTO step_attempts(run_id, step_index, attempt, lease_id, started_at, "
            "finished_at, outcome) VALUES (?,?,?,?,?,?,?)",
            [run_id, step, attempt, f"h:1:{run_id}{step}{attempt}", at(start),
             at(end) if end is not None else None, outcome])

    def output(self, run_id: str, step: int, status: str = "done") -> None:
        self.db.execute(
            "INSERT INTO step_outputs(run_id, step_index, step_name, status, output, attempts) "
            "VALUES (?,?,?,?,?,1)", [run_id, step, f"step_{step}", status, "{}"])

    def action(self, run_id: str, type_: str, when: float, *, uid: str = "u1",
               status: str = "accepted", token: str = "tok") -> None:
        self.db.execute(
            "INSERT INTO actions(action_id, run_id, aec_id, type, token, uid, status, "
            "created_at) VALUES (?,?,?,?,?,?,?,?)",
            [f"{run_id}-{type_}-{when}-{status}", run_id, "aec-" + run_id, type_, token, uid,
             status, at(when)])

    def steps(self, run_id: str, indices: range, start: float) -> float:
        t = start
        for i in indices:
            self.attempt(run_id, i, t, t + 1, "committed")
            self.output(run_id, i)
            t += 1
        return t


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(f"file:{tmp_path}/m.db")
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def history(db: Database) -> History:
    h = History(db)
    # A: completed. Review wait 10 -> 70 (person proceeds), questions wait 80 -> 100
    # (expired, skipped by policy); step 2 retried once; step 7's first attempt never
    # ended (killed worker); step 5 degraded; edited after completion.
    h.run("A", "completed", 0, 120)
    h.steps("A", range(1, 2), 1)
    h.attempt("A", 2, 2, 3, "retry")
    h.attempt("A", 2, 3, 4, "committed", attempt=2)
    h.output("A", 2)
    h.steps("A", range(3, 4), 5)
    h.attempt("A", 4, 9, 10, "suspended")
    h.action("A", "answer", 40, status="rejected")
    h.action("A", "proceed", 70)
    h.output("A", 4)
    h.attempt("A", 5, 71, 72, "committed")
    h.output("A", 5, "degraded")
    h.steps("A", range(6, 7), 72)
    h.attempt("A", 7, 73, None, None)
    h.attempt("A", 7, 75, 77, "committed", attempt=2)
    h.output("A", 7)
    h.steps("A", range(8, 9), 77)
    h.attempt("A", 9, 79, 80, "suspended")
    h.action("A", "skip", 100, uid="system:expiry")
    h.output("A", 9)
    h.steps("A", range(10, 12), 101)
    record_ticket_edit(h.db, "aec-A", uid="u1", fields=["title"], status_before="ready",
                       at=T0 + timedelta(seconds=500))
    # B: cancelled by its owner while waiting for the review
    h.run("B", "cancelled", 0, 15, step_index=4, cancel_reason="user")
    h.steps("B", range(1, 4), 1)
    h.attempt("B", 4, 4, 5, "suspended")
    h.action("B", "abort", 15, token="")
    # C: failed at step 1 with a persisted error
    h.run("C", "failed", 0, 5, step_index=1, error_code="llm_malformed_output")
    h.attempt("C", 1, 1, 5, "failed")
    # D: running, its step 2 attempt in progress (not an interrupted attempt)
    h.run("D", "running", 200, None, step_index=2)
    h.steps("D", range(1, 2), 200)
    h.attempt("D", 2, 202, None, None)
    # E: completed, never waited; a ready ticket that nobody edited
    h.run("E", "completed", 300, 311)
    h.steps("E", range(1, 12), 300)
    return h


def test_per_run_metrics(history: History) -> None:
    by_id = {m.run_id: m for m in run_metrics(history.db, now=NOW)}
    a = by_id["A"]
    assert a.duration_s(NOW) == 120
    assert a.wait_s(NOW) == 80  # 60 for the review + 20 until the questions expired
    assert [(w.step, w.resolved_by, w.expired) for w in a.waits] == [
        (4, "proceed", False), (9, "skip", True)]
    assert (a.attempts, a.retries, a.interrupted_attempts, a.degraded_steps) == (13, 1, 1, 1)
    assert (a.person_actions, a.rejected_actions) == (1, 1)
    assert a.edited_after_completion
    assert by_id["D"].interrupted_attempts == 0
    assert by_id["B"].waits[0].abandoned and by_id["B"].wait_s(NOW) == 10
    assert not by_id["E"].edited_after_completion


def test_success_metrics(history: History) -> None:
    s = compute_stats(history.db, now=NOW)
    assert s["runs"] == {"total": 5, "running": 1, "suspended": 0, "completed": 2,
                         "failed": 1, "cancelled": 1}
    assert s["completion_rate"] == 0.5  # 2 of 4 finished
    ttr = s["time_to_ready_s"]
    assert ttr["including_waits"] == {"p50": 11.0, "p95": 120.0, "n": 2}
    assert ttr["excluding_waits"] == {"p50": 11.0, "p95": 40.0, "n": 2}
    assert s["user_actions_per_run"] == {"accepted_mean": 0.5, "rejected_total": 1}
    assert s["abandonment"] == {"rate": 1.0, "runs_abandoned": 2, "runs_that_waited": 2,
                                "waits_expired": 1, "cancelled_at_suspension": 1}
    assert s["edit_after_completion"] == {"rate": 0.5, "edited": 1, "completed": 2}
    assert s["crash_recovery"] == {"rate": 1.0, "interrupted_runs": 1, "recovered": 1,
                                   "still_active": 0}
    assert s["degradation"]["runs_degraded"] == 1
    assert s["failures"] == {"llm_malformed_output": 1}
    steps = {st["step"]: st for st in s["steps"]}
    assert steps[2]["retries"] == 1 and steps[2]["attempts"] == 5
    assert steps[7]["unfinished"] == 1
    assert steps[4]["suspended"] == 2
    assert steps[1]["duration_ms"]["p50"] == 1000.0
    json.dumps(s)  # serialisable as is


def test_since_filters_by_run_start(history: History) -> None:
    s = compute_stats(history.db, since=T0 + timedelta(seconds=250), now=NOW)
    assert s["runs"]["total"] == 1 and s["runs"]["completed"] == 1


def test_an_edit_before_a_new_run_belongs_to_the_old_run_only(db: Database) -> None:
    h = History(db)
    h.run("X", "completed", 0, 10)
    record_ticket_edit(db, "aec-X", uid="u1", fields=["title"], status_before="ready",
                       at=T0 + timedelta(seconds=5))  # before X finished: not counted
    assert not run_metrics(db, now=NOW)[0].edited_after_completion


def test_an_edit_keyed_by_its_event_id_is_recorded_once(tmp_path: Path) -> None:
    with Database(f"file:{tmp_path}/v1.db") as db:
        apply_schema(db, "metrics", 1, SCHEMA)  # a database from before event ids
        record_ticket_edit(db, "aec-X", uid="u1", fields=["title"], status_before="ready")
        assert record_ticket_edit(db, "aec-X", uid="u1", fields=["title"],
                                  status_before="ready")  # no event id: always recorded
        assert record_ticket_edit(db, "aec-X", uid="u1", fields=["description", "title"],
                                  status_before="ready", event_id="evt-1")
        assert not record_ticket_edit(db, "aec-X", uid="u1", fields=["title"],
                                      status_before="ready", event_id="evt-1")
        rows = db.execute("SELECT fields, event_id FROM ticket_events ORDER BY id").rows
        assert [tuple(r) for r in rows] == [("title", None), ("title", None),
                                            ("description,title", "evt-1")]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([float(i) for i in range(1, 11)], 50) == 5.0


def test_summary_names_its_keys_and_keeps_them_for_no_values() -> None:
    assert summary([3.0, 1.0, 2.0, 10.0]) == {"n": 4, "p50": 2.0, "p95": 10.0, "max": 10.0}
    assert summary([1.25, 2.5], quantiles=(50,), extras=("mean", "min"), suffix="_ms",
                   digits=1) == {"n": 2, "p50_ms": 1.2, "mean_ms": 1.9, "min_ms": 1.2}
    assert summary([]) == {"n": 0, "p50": None, "p95": None, "max": None}


def test_parse_since() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("90m", now=now) == now - timedelta(minutes=90)
    assert parse_since("2026-02-01") == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(ValueError, match="--since"):
        parse_since("last tuesday")


# -- language-model usage ------------------------------------------------------------------------


def test_recorder_attributes_calls_to_the_current_step(db: Database) -> None:
    LibsqlRunStore(db)
    rec = LlmUsageRecorder(db)
    usage = UsageRecord(task="generate_draft", model="m", input_tokens=100, output_tokens=20,
                        cost_usd=0.0006, latency_ms=12, attempts=2, outcome="ok")
    token = current_step.set(StepScope(run_id="run-1", aec_id="aec-1", step=7,
                                       step_name="generate_draft", attempt=3, trace_id="t"))
    try:
        rec(usage)
    finally:
        current_step.reset(token)
    rec(usage.model_copy(update={"outcome": "rate_limited", "task": "extract_intent"}))
    rows = db.execute("SELECT run_id, step, attempt, task, input_tokens, http_attempts, "
                      "outcome FROM llm_calls ORDER BY id").rows
    assert [tuple(r) for r in rows] == [
        ("run-1", 7, 3, "generate_draft", 100, 2, "ok"),
        (None, None, None, "extract_intent", 100, 2, "rate_limited")]
    s = compute_stats(db)
    assert s["llm"]["calls"] == 2 and s["llm"]["tokens"] == 240
    assert s["llm"]["outcomes"] == {"ok": 1, "rate_limited": 1}
    assert s["llm"]["http_retries"] == 2


def test_build_llm_wires_the_recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    llm = build_llm(Settings(db_url=f"file:{tmp_path}/tf.db", llm="claude"))
    assert isinstance(llm, ClaudeLanguageModel)
    recorder: Any = llm._on_usage
    assert isinstance(recorder, LlmUsageRecorder)
    recorder(UsageRecord(task="detect_type", model="m"))
    recorder.close()
    check = Database(f"file:{tmp_path}/tf.db")
    try:
        assert check.execute("SELECT task FROM llm_calls").rows[0][0] == "detect_type"
    finally:
        check.close()


@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
def test_claude_calls_through_the_fake_api_are_recorded(db: Database) -> None:
    from ticketflow.adapters.claude import ClaudeSettings
    from ticketflow.domain import TicketRequest
    from ticketflow.ports.llm import EXTRACT_INTENT
    from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault

    with FakeMessagesAPI() as api:
        api.enqueue(Fault.rate_limited(retry_after=0))
        llm = ClaudeLanguageModel(
            ClaudeSettings(base_url=api.url, api_key="k", max_retries=2),  # type: ignore[call-arg]
            on_usage=LlmUsageRecorder(db), sleep=lambda s: None)
        token = current_step.set(StepScope(run_id="run-2", aec_id="aec-2", step=1,
                                           step_name="extract_intent", attempt=1))
        try:
            out: BaseModel = llm.generate(EXTRACT_INTENT, TicketRequest(title="t"),
                                          EXTRACT_INTENT.output)
        finally:
            current_step.reset(token)
    assert out is not None
    row = db.execute("SELECT run_id, task, http_attempts, outcome, cost_usd FROM llm_calls"
                     ).rows[0]
    assert tuple(row)[:4] == ("run-2", "extract_intent", 2, "ok")
    assert float(row[4]) > 0
