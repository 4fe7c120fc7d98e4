"""The story's test cases on the embedded default (real libSQL file, real workers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.embedded import (
    CLEAN,
    CRITICAL,
    QUESTIONS,
    SAMPLE_REPO,
    new_ticket,
    run_to_end,
    settings_for,
)

from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AECLockedError, AECStatus, InvalidTransitionError, Severity


@pytest.fixture(params=["native", "libsql-client"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedApp]:
    application = open_embedded(settings_for(tmp_path, db_driver=request.param))
    yield application
    application.close()


def test_1_happy_path_without_repository(app: EmbeddedApp) -> None:
    aec = new_ticket(app, CLEAN)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id)
    assert final.status == "completed"
    ticket = app.documents.get(aec.id)
    assert ticket is not None
    assert ticket.status is AECStatus.READY and not ticket.locked
    assert ticket.acceptance_criteria and ticket.repo_paths == []
    assert ticket.generated_by is not None and ticket.generated_by.offline
    steps = {s.step_index: s.status for s in app.runs.steps(run.run_id)}
    assert sorted(steps) == list(range(1, 12))
    assert steps[4] == "skipped" and steps[9] == "skipped" and steps[5] == "skipped"
    gs = ticket.generation_state
    assert gs is not None and gs.status == "completed" and gs.seq >= 11


def test_2_happy_path_with_repository(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id, Reply("skip"))
    assert final.status == "completed"
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY
    assert "web/src/components/InvoiceList.tsx" in ticket.repo_paths
    for path in ticket.repo_paths:
        assert (SAMPLE_REPO / path).is_file(), path
    assert not [f for f in ticket.findings if f.severity is Severity.CRITICAL]


@pytest.mark.parametrize("decision", ["proceed", "edit", "cancel"])
def test_3_suspension_on_critical_findings(app: EmbeddedApp, decision: str) -> None:
    aec = new_ticket(app, CRITICAL, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    waiting = run_to_end(app, run.run_id)
    assert waiting.status == "suspended" and waiting.step_index == 4
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.AWAITING_REVIEW and ticket.locked
    susp = ticket.generation_state.suspension if ticket.generation_state else None
    assert susp is not None and susp.kind == "review"
    missing = {f.evidence for f in susp.findings}
    assert any("pdf_renderer.py" in e for e in missing)
    assert any(f.suggestion and "billing/pdf.py" in f.suggestion for f in susp.findings)

    final = run_to_end(app, run.run_id, Reply(decision), Reply("skip"))  # type: ignore[arg-type]
    ticket = app.documents.get(aec.id)
    if decision == "proceed":
        assert final.status == "completed"
        assert ticket is not None and ticket.status is AECStatus.READY
        executed = [s.step_index for s in app.runs.steps(run.run_id)]
        assert executed == list(range(1, 12))
        # steps 1-3 ran once: resuming never re-ran them
        assert [a.step_index for a in app.runs.attempts(run.run_id)].count(3) == 1
    elif decision == "edit":
        assert final.status == "cancelled" and final.cancel_reason == "edit"
        assert ticket is not None and ticket.status is AECStatus.DRAFT and not ticket.locked
        assert ticket.title == CRITICAL["title"]
        edited = ticket.edit(description="now editable")
        assert edited.description == "now editable"
    else:
        assert final.status == "cancelled" and final.cancel_reason == "deleted"
        assert ticket is None


@pytest.mark.parametrize("mode", ["answer", "skip"])
def test_4_suspension_on_questions(app: EmbeddedApp, mode: str) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    waiting = run_to_end(app, run.run_id)
    assert waiting.status == "suspended" and waiting.step_index == 9
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.AWAITING_ANSWERS
    gs = ticket.generation_state
    assert gs is not None and gs.suspension is not None
    questions = gs.suspension.questions
    assert questions and gs.suspension.draft is not None
    reply = (Reply("answer", {questions[0].id: "under 2 s for 10,000 invoices"})
             if mode == "answer" else Reply("skip"))
    final = run_to_end(app, run.run_id, reply)
    assert final.status == "completed"
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY
    steps = {s.step_index: s for s in app.runs.steps(run.run_id)}
    if mode == "answer":
        assert steps[10].status == "done"
        assert ticket.answers == {questions[0].id: "under 2 s for 10,000 invoices"}
        assert any("10,000" in c for c in ticket.acceptance_criteria)
        assert ticket.refinements and ticket.refinements[0].question_id == questions[0].id
    else:
        assert steps[10].status == "skipped" and ticket.answers == {}


def test_7_user_edit_during_run_is_refused(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    with pytest.raises(AECLockedError, match="locked by generation run"):
        app.documents.mutate(aec.id, lambda a: a.edit(title="changed mid-run"))
    run_to_end(app, run.run_id)  # now waiting at step 9, still locked
    with pytest.raises(AECLockedError):
        app.documents.mutate(aec.id, lambda a: a.edit(description="overwrite"))
    run_to_end(app, run.run_id, Reply("skip"))
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.title == QUESTIONS["title"]
    assert ticket.description == QUESTIONS["description"] and ticket.acceptance_criteria


def test_8_everything_generated_is_persisted(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    run_to_end(app, run.run_id, Reply("answer", {"q1": "2 seconds"}))
    steps = {s.step_name: s.output for s in app.runs.steps(run.run_id)}
    app.close()
    reopened = open_embedded(app.settings)  # a fresh process would see the same
    try:
        ticket = reopened.documents.get(aec.id)
        assert ticket is not None
        assert ticket.intent is not None and ticket.intent.goal == \
            steps["extract_intent"]["intent"]["goal"]
        assert ticket.type is not None and ticket.type.value == \
            steps["detect_type"]["detection"]["type"]
        assert ticket.acceptance_criteria == steps["refine_draft"]["draft"]["acceptanceCriteria"]
        assert ticket.assumptions == steps["refine_draft"]["draft"]["assumptions"]
        assert ticket.repo_paths == steps["refine_draft"]["draft"]["repoPaths"]
        assert [f.id for f in ticket.findings] == \
            [f["id"] for f in steps["preflight"]["findings"]]
        assert [q.id for q in ticket.questions] == \
            [q["id"] for q in steps["generate_questions"]["questions"]]
        assert ticket.answers == {"q1": "2 seconds"}
    finally:
        reopened.close()


def test_9_invalid_transitions_are_refused(app: EmbeddedApp) -> None:
    aec = new_ticket(app, CLEAN)
    with pytest.raises(InvalidTransitionError, match="from 'draft' to 'ready'"):
        app.documents.mutate(aec.id, lambda a: a.transition(AECStatus.READY))
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    run_to_end(app, run.run_id)
    with pytest.raises(InvalidTransitionError, match="from 'ready' to 'awaiting_review'"):
        app.documents.mutate(aec.id, lambda a: a.transition(AECStatus.AWAITING_REVIEW))
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY


def test_10_resume_after_restart(tmp_path: Path) -> None:
    """A process that stops at a suspension and a new one that finishes the run."""
    settings = settings_for(tmp_path)
    first = open_embedded(settings)
    aec = new_ticket(first, CRITICAL, repo=SAMPLE_REPO)
    run = first.engine.start(aec.id, uid=LOCAL_UID)
    assert run_to_end(first, run.run_id).status == "suspended"
    first.close()
    second = open_embedded(settings)
    try:
        final = run_to_end(second, run.run_id, Reply("proceed"), Reply("skip"))
        assert final.status == "completed"
        attempts = second.runs.attempts(run.run_id)
        by_outcome: dict[str | None, list[int]] = {}
        for a in attempts:
            by_outcome.setdefault(a.outcome, []).append(a.step_index)
        assert sorted(by_outcome["committed"]) == [1, 2, 3, 5, 6, 7, 8, 10, 11]
        assert sorted(by_outcome["suspended"]) == [4, 9]
        assert set(by_outcome) == {"committed", "suspended"}
    finally:
        second.close()
