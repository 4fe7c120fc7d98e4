"""Step 9: stop for a person to answer the questions or skip them."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Answers
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s07_generate_draft import DraftOutput
from ticketflow.workflow.steps.s08_generate_questions import QuestionsOutput


class AnswersOutput(StepOutput):
    STEP: ClassVar[str] = "ask_questions"

    answers: Answers
    action_id: str | None = None


def ask_questions(ctx: StepContext) -> AnswersOutput:
    qs = ctx.output(QuestionsOutput).questions
    if not qs:
        return AnswersOutput(answers=Answers(skipped=True), outcome="skipped",
                             detail="no questions to ask")
    draft = ctx.output(DraftOutput).draft
    raise Suspend("questions", {"questions": [q.doc() for q in qs], "draft": draft.doc()})
