"""Step 10: refine the draft with the person's answers (only when there are any)."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Draft, Refinement
from ticketflow.domain.errors import TerminalError
from ticketflow.ports.llm import REFINE_DRAFT, Refined, RefinePayload
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s07_generate_draft import DraftOutput, existing_paths
from ticketflow.workflow.steps.s08_generate_questions import QuestionsOutput, open_findings
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput


class RefineOutput(StepOutput):
    STEP: ClassVar[str] = "refine_draft"

    draft: Draft
    refinements: list[Refinement] = []


def refine_draft(ctx: StepContext) -> RefineOutput:
    draft_out = ctx.output(DraftOutput)
    answers = ctx.output(AnswersOutput).answers
    if answers.skipped or not answers.answers:
        return RefineOutput(draft=draft_out.draft, outcome="skipped",
                            detail="no answers: draft kept as is")
    payload = RefinePayload(
        request=ctx.request, draft=draft_out.draft,
        questions=ctx.output(QuestionsOutput).questions,
        answers=answers.answers, known_paths=draft_out.draft.repo_paths,
        findings=open_findings(ctx),
    )
    refined, fallback = generate(ctx, REFINE_DRAFT, payload, Refined)
    if not refined.draft.acceptance_criteria:
        raise TerminalError("the refined draft has no acceptance criteria", code="empty_draft")
    keep, _ = existing_paths(ctx, refined.draft.repo_paths)
    draft = refined.draft.model_copy(update={"repo_paths": keep})
    return RefineOutput(draft=draft, refinements=refined.refinements, fallback=fallback,
                        outcome="degraded" if fallback else "done",
                        detail=label(f"{len(refined.refinements)} change(s) from answers",
                                     fallback))
