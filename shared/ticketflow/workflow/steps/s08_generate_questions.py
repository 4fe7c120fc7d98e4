"""Step 8: questions whose answers would change the ticket (may be none).

Only the findings still open are asked about: the critical ones the person chose to
proceed past at the review (step 4) were settled there and are never asked again."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Finding, Question, Severity
from ticketflow.ports.llm import GENERATE_QUESTIONS, Questions, QuestionsPayload
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput
from ticketflow.workflow.steps.s03_preflight import PreflightOutput
from ticketflow.workflow.steps.s04_review_findings import ReviewOutput
from ticketflow.workflow.steps.s07_generate_draft import DraftOutput


class QuestionsOutput(StepOutput):
    STEP: ClassVar[str] = "generate_questions"

    questions: list[Question] = []


def open_findings(ctx: StepContext) -> list[Finding]:
    """Step 3's findings less those the review settled (see the module doc)."""
    findings = ctx.output(PreflightOutput).findings
    if ctx.output(ReviewOutput).decision in ("proceed", "expired_proceed"):
        return [f for f in findings if f.severity is not Severity.CRITICAL]
    return findings


def generate_questions(ctx: StepContext) -> QuestionsOutput:
    payload = QuestionsPayload(
        request=ctx.request,
        intent=ctx.output(IntentOutput).intent,
        findings=open_findings(ctx),
        draft=ctx.output(DraftOutput).draft,
    )
    got, fallback = generate(ctx, GENERATE_QUESTIONS, payload, Questions)
    qs = got.questions
    ids = [q.id for q in qs]
    if len(set(ids)) != len(ids):
        qs = [q.model_copy(update={"id": f"q{i + 1}"}) for i, q in enumerate(qs)]
    return QuestionsOutput(questions=qs, detail=label(f"{len(qs)} question(s)", fallback),
                           fallback=fallback,
                           outcome="degraded" if fallback else "done" if qs else "skipped")
