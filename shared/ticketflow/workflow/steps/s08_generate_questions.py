"""Step 8: questions whose answers would change the ticket (may be none)."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Question
from ticketflow.ports.llm import GENERATE_QUESTIONS, Questions, QuestionsPayload
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput
from ticketflow.workflow.steps.s03_preflight import PreflightOutput
from ticketflow.workflow.steps.s07_generate_draft import DraftOutput


class QuestionsOutput(StepOutput):
    STEP: ClassVar[str] = "generate_questions"

    questions: list[Question] = []


def generate_questions(ctx: StepContext) -> QuestionsOutput:
    payload = QuestionsPayload(
        request=ctx.request,
        intent=ctx.output(IntentOutput).intent,
        findings=ctx.output(PreflightOutput).findings,
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
