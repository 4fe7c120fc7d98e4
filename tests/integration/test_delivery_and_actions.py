"""At-least-once delivery, racing actions, and bad input on the embedded default."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AEC, AECStatus, ConflictError, RequiredFieldsError
from ticketflow.ports import StepTask
from ticketflow.ports.records import RunRecord
from ticketflow.testing.embedded import (
    CRITICAL,
    QUESTIONS,
    SAMPLE_REPO,
    new_ticket,
    run_to_end,
    settings_for,
)
from ticketflow.workflow.actions import ActionRequest, Rejection, parse_action


def _suspended_at(app: EmbeddedApp, request: dict[str, str], step: int,
                  *replies: Reply) -> RunRecord:
    aec = new_ticket(app, request, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    waiting = run_to_end(app, run.run_id, *replies)
    assert waiting.status == "suspended" and waiting.step_index == step
    return waiting


def _action(run: RunRecord, type_: str, action_id: str, **kw: object) -> ActionRequest:
    token = run.suspension.token if run.suspension else ""
    return ActionRequest.model_validate({"action_id": action_id, "run_id": run.run_id,
                                         "aec_id": run.aec_id, "type": type_,
                                         "token": token, "uid": run.owner_id, **kw})


def test_duplicate_delivery_of_every_step_is_a_noop(app: EmbeddedApp) -> None:
    aec = new_ticket(app, CRITICAL, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id, Reply("proceed"), Reply("skip"))
    assert final.status == "completed"
    before = app.runs.get_run(run.run_id)
    ticket_before = app.documents.get(aec.id)
    for step in range(1, 12):
        result = app.engine.run_step(StepTask(run_id=run.run_id, step_index=step))
        assert result.outcome in ("duplicate", "not_active")
    after = app.runs.get_run(run.run_id)
    assert after == before
    assert app.documents.get(aec.id) == ticket_before
    assert len(app.runs.steps(run.run_id)) == 11


def test_duplicate_delivery_while_running_does_not_execute_twice(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    task = StepTask(run_id=run.run_id, step_index=1)
    assert app.engine.run_step(task).outcome == "committed"
    assert app.engine.run_step(task).outcome == "duplicate"
    assert [a.step_index for a in app.runs.attempts(run.run_id)] == [1]


def test_two_actions_race_exactly_one_wins(app: EmbeddedApp) -> None:
    waiting = _suspended_at(app, CRITICAL, 4)
    results = []
    barrier = threading.Barrier(2)

    def go(type_: str, action_id: str) -> None:
        barrier.wait()
        results.append(app.engine.act(_action(waiting, type_, action_id)))

    threads = [threading.Thread(target=go, args=("proceed", "a1")),
               threading.Thread(target=go, args=("edit", "a2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == ["accepted", "rejected"]
    loser = next(r for r in results if r.status == "rejected")
    assert loser.reason and ("already resolved" in loser.reason or "not waiting" in loser.reason)
    recorded = {a.action_id: a.status for a in app.runs.actions(waiting.run_id)}
    assert sorted(recorded.values()) == ["accepted", "rejected"]


def test_same_action_delivered_twice_is_idempotent(app: EmbeddedApp) -> None:
    waiting = _suspended_at(app, CRITICAL, 4)
    first = app.engine.act(_action(waiting, "proceed", "dup-1"))
    second = app.engine.act(_action(waiting, "proceed", "dup-1"))
    assert first.status == second.status == "accepted"
    assert len(app.runs.actions(waiting.run_id)) == 1
    assert len([s for s in app.runs.steps(waiting.run_id) if s.step_index == 4]) == 1


def test_two_tickets_actions_with_the_same_id_are_two_actions(app: EmbeddedApp) -> None:
    """An action id names a document under its ticket: two tickets may use the same
    one, and each gets its own verdict (the second is not given the first's)."""
    first = _suspended_at(app, CRITICAL, 4)
    second = _suspended_at(app, CRITICAL, 4)
    assert first.aec_id != second.aec_id
    one = app.engine.act(_action(first, "proceed", "act-same"))
    two = app.engine.act(_action(second, "cancel", "act-same"))
    assert (one.aec_id, one.type, one.status) == (first.aec_id, "proceed", "accepted")
    assert (two.aec_id, two.type, two.status) == (second.aec_id, "cancel", "accepted")
    after_first = app.runs.get_run(first.run_id)
    after_second = app.runs.get_run(second.run_id)
    assert after_first is not None and after_first.status == "running"
    assert after_second is not None and after_second.status == "cancelled"
    # Redelivered, each ticket's action gets its own first verdict back.
    assert app.engine.act(_action(second, "cancel", "act-same")).type == "cancel"


@pytest.mark.parametrize("case,kwargs,reason", [
    ("unknown question", {"answers": {"q99": "x"}}, "unknown question id(s): q99"),
    ("no answers", {"answers": {}}, "needs at least one answer"),
    ("wrong verb", {"type_override": "proceed"}, "does not answer questions"),
    ("stale token", {"token": "not-the-token"}, "stale or wrong token"),
    ("another run", {"run_id": "run-doesnotexist"}, "unknown run"),
    ("another ticket", {"aec_id": "aec-other"}, "belongs to another ticket"),
    ("not the owner", {"uid": "mallory"}, "only the ticket's owner"),
])
def test_bad_actions_are_rejected_and_the_run_untouched(
    app: EmbeddedApp, case: str, kwargs: dict[str, object], reason: str,
) -> None:
    waiting = _suspended_at(app, QUESTIONS, 9)
    type_ = str(kwargs.pop("type_override", "answer"))
    req = _action(waiting, type_, f"bad-{case}", **kwargs)
    result = app.engine.act(req)
    assert result.status == "rejected"
    assert result.reason is not None and reason in result.reason
    assert app.runs.get_run(waiting.run_id) == waiting
    ticket = app.documents.get(waiting.aec_id)
    assert ticket is not None and ticket.status is AECStatus.AWAITING_ANSWERS


@pytest.mark.parametrize("doc,reason", [
    ({"type": "explode", "runId": "r", "token": "t"}, "type"),
    ({"type": "answer", "runId": "r", "answers": "not a map"}, "answers"),
    ({"type": "answer", "runId": "r", "answers": {"q1": "  "}}, "empty answer"),
    ({"type": "proceed"}, "runId"),
])
def test_malformed_action_documents_get_a_reason(doc: dict[str, object], reason: str) -> None:
    parsed = parse_action(doc, action_id="x", aec_id="a")
    assert isinstance(parsed, Rejection) and parsed.code == "invalid_action"
    assert reason in parsed.reason


def test_empty_title_is_refused() -> None:
    with pytest.raises(RequiredFieldsError, match="title"):
        AEC.new(aec_id="a", owner_id="u", title="   ")


def test_second_start_on_a_running_ticket_conflicts(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    app.engine.start(aec.id, uid=LOCAL_UID)
    with pytest.raises(ConflictError, match="already has a generation in progress"):
        app.engine.start(aec.id, uid=LOCAL_UID)
    with pytest.raises(PermissionError):
        app.engine.start(aec.id, uid="someone-else")


def test_cancel_a_running_generation(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    app.engine.run_step(StepTask(run_id=run.run_id, step_index=1))
    # a step claimed before the cancel cannot commit after it
    claimed = app.runs.claim(run.run_id, 2, "host:1:x", run.deadline_at, run.created_at)
    assert claimed is not None
    result = app.engine.cancel(run.run_id, uid=LOCAL_UID)
    assert result.status == "accepted"
    assert not app.runs.commit(run.run_id, 2, "host:1:x", run.created_at,
                               next_task=StepTask(run_id=run.run_id, step_index=3))
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.DRAFT and not ticket.locked
    final = app.runs.get_run(run.run_id)
    assert final is not None and final.status == "cancelled" and final.cancel_reason == "user"
    assert app.engine.run_step(StepTask(run_id=run.run_id, step_index=2)).outcome == \
        "not_active"


def test_expired_wait_is_resolved_by_policy(tmp_path: Path) -> None:
    # No idle sweep while driving: only the explicit sweep below may resolve the wait
    # (an idle sweep racing the driver's poll would finish the run before it is seen
    # waiting).
    application = open_embedded(settings_for(tmp_path, questions_wait_s=0.0,
                                             review_wait_s=0.0, sweep_interval_s=3600.0))
    try:
        waiting = _suspended_at(application, QUESTIONS, 9)
        report = application.engine.sweep()
        assert report.expired_waits == 1
        final = run_to_end(application, waiting.run_id)
        assert final.status == "completed"
        actions = application.runs.actions(waiting.run_id)
        assert [(a.type, a.uid, a.status) for a in actions] == \
            [("skip", "system:expiry", "accepted")]
    finally:
        application.close()


def test_run_past_its_deadline_fails_and_unlocks(tmp_path: Path) -> None:
    application = open_embedded(settings_for(tmp_path, run_timeout_s=0.0))
    try:
        aec = new_ticket(application, QUESTIONS)
        run = application.engine.start(aec.id, uid=LOCAL_UID)
        final = run_to_end(application, run.run_id)
        assert final.status == "failed" and final.error is not None
        assert final.error.code == "run_timeout"
        ticket = application.documents.get(aec.id)
        assert ticket is not None and ticket.status is AECStatus.FAILED
        assert not ticket.locked and ticket.error is not None
        assert "time limit" in ticket.error.message
    finally:
        application.close()


def test_replay_with_a_different_step_name_fails_loudly(app: EmbeddedApp) -> None:
    """A run pins its version; if that version's steps were renamed under it, the
    replay is refused with a persisted error instead of drifting silently."""
    import dataclasses

    from ticketflow.workflow.definition import DEFINITIONS

    aec = new_ticket(app, QUESTIONS)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    assert app.engine.run_step(StepTask(run_id=run.run_id, step_index=1)).outcome == \
        "committed"
    pinned = DEFINITIONS[run.workflow_version]
    first = pinned.steps[0]
    goal_output = type("GoalOutput", (first.output,), {"STEP": "extract_goal"})
    renamed = dataclasses.replace(pinned, steps=(
        dataclasses.replace(first, name="extract_goal", output=goal_output),
        *pinned.steps[1:]))
    DEFINITIONS[run.workflow_version] = renamed
    try:
        result = app.engine.run_step(StepTask(run_id=run.run_id, step_index=2))
    finally:
        DEFINITIONS[run.workflow_version] = pinned
    assert result.outcome == "failed"
    final = app.runs.get_run(run.run_id)
    assert final is not None and final.error is not None
    assert final.error.code == "step_mismatch" and "extract_intent" in final.error.message
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.FAILED and not ticket.locked


def test_unknown_workflow_version_fails_with_a_clear_error(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    app.db.execute("UPDATE runs SET workflow_version = 'retired-1' WHERE run_id = ?",
                   [run.run_id])
    result = app.engine.run_step(StepTask(run_id=run.run_id, step_index=1))
    assert result.outcome == "failed" and "retired-1 is not deployed" in result.detail
