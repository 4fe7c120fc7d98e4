"""Answers reach the ticket in the order the questions were asked, whatever order the
action's document gives them in (a Firestore map has none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.domain import Draft, Question, TicketRequest
from ticketflow.ports.llm import REFINE_DRAFT, Refined, RefinePayload
from ticketflow.ports.records import RunRecord, SuspensionRecord
from ticketflow.workflow.actions import ActionRequest, Decision, decide
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ASKED = ["q1", "q2", "q3"]


def _waiting_run() -> RunRecord:
    suspension = SuspensionRecord(
        kind="questions", token="tok-1", suspended_at=NOW,
        payload={"questions": [{"id": q, "text": f"Question {q}?"} for q in ASKED]})
    return RunRecord(run_id="run-1", aec_id="aec-1", owner_id="ada", workflow_version="v1",
                     status="suspended", step_index=9, suspension=suspension,
                     deadline_at=NOW + timedelta(hours=1), input={}, created_at=NOW,
                     updated_at=NOW)


def test_an_accepted_answer_keeps_the_order_of_the_questions() -> None:
    req = ActionRequest(action_id="act-1", run_id="run-1", aec_id="aec-1", type="answer",
                        token="tok-1", uid="ada",
                        answers={"q3": "monthly", "q1": "paid only", "q2": "CSV"})
    decision = decide(req, _waiting_run())
    assert isinstance(decision, Decision) and isinstance(decision.output, AnswersOutput)
    assert list(decision.output.answers.answers) == ["q1", "q2", "q3"]


def test_the_offline_refinement_follows_the_questions_not_the_answers() -> None:
    questions = [Question(id=q, text=f"Which option for {q}?", why="Scope") for q in ASKED]
    draft = Draft(acceptance_criteria=["The report downloads"])
    out = OfflineLanguageModel().generate(REFINE_DRAFT, RefinePayload(
        request=TicketRequest(title="Monthly report"), draft=draft, questions=questions,
        answers={"q3": "monthly", "q1": "paid only", "q2": "CSV"}), Refined)
    assert [r.question_id for r in out.refinements] == ["q1", "q2", "q3"]
    assert out.draft.decisions == ["Which option for q1: paid only.",
                                   "Which option for q2: CSV.",
                                   "Which option for q3: monthly."]
