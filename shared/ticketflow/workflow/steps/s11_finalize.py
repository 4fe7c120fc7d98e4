"""Step 11: save the content to the ticket, set it ready and unlock, atomically.

Idempotent: if a crash replays this step after the ticket was finalized by this
run, the ticket is left as it is.
"""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import AEC, AECContent, AECStatus, settle_findings
from ticketflow.domain.errors import TerminalError
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput
from ticketflow.workflow.steps.s02_detect_type import TypeOutput
from ticketflow.workflow.steps.s03_preflight import PreflightOutput
from ticketflow.workflow.steps.s04_review_findings import ReviewOutput
from ticketflow.workflow.steps.s05_repo_context import RepoContextOutput
from ticketflow.workflow.steps.s08_generate_questions import QuestionsOutput
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput
from ticketflow.workflow.steps.s10_refine_draft import RefineOutput


class FinalizeOutput(StepOutput):
    STEP: ClassVar[str] = "finalize"

    aec_id: str
    status: str


def build_content(ctx: StepContext) -> AECContent:
    intent_out = ctx.output(IntentOutput)
    det = ctx.output(TypeOutput).detection
    refined = ctx.output(RefineOutput)
    answers = ctx.output(AnswersOutput).answers
    questions = ctx.output(QuestionsOutput).questions
    decision = ctx.output(ReviewOutput).decision
    answered = {q.finding_id: answers.answers[q.id] for q in questions
                if q.finding_id and q.id in answers.answers}
    findings = settle_findings(ctx.output(PreflightOutput).findings,
                               proceeded=decision in ("proceed", "expired_proceed"),
                               expired=decision == "expired_proceed", answered=answered)
    return AECContent(
        type=det.type, type_confidence=det.confidence, intent=intent_out.intent,
        acceptance_criteria=refined.draft.acceptance_criteria,
        assumptions=refined.draft.assumptions, repo_paths=refined.draft.repo_paths,
        findings=findings, questions=questions,
        answers=answers.answers, refinements=refined.refinements,
        decisions=refined.draft.decisions,
        generated_by=intent_out.provider,
        fallback_steps=[name for name, out in ctx.outputs.items() if out.get("fallback")],
        repository=ctx.output(RepoContextOutput).repository or ctx.request.repository,
    )


def finalize(ctx: StepContext) -> FinalizeOutput:
    run_id = ctx.run.run_id
    content = build_content(ctx)

    def apply(aec: AEC) -> AEC:
        if aec.status is AECStatus.READY and not aec.locked and (
            aec.generation_state is not None and aec.generation_state.run_id == run_id
        ):
            return aec  # already finalized by this run (replay after a crash)
        if not aec.holds(run_id):
            raise TerminalError(
                f"ticket {aec.id} is no longer locked by this run", code="lock_lost"
            )
        return aec.finalize(run_id, content)

    saved = ctx.deps.documents.mutate(ctx.run.aec_id, apply)
    if saved is None:
        raise TerminalError(f"ticket {ctx.run.aec_id} was deleted", code="aec_deleted")
    return FinalizeOutput(aec_id=saved.id, status=saved.status.value,
                          detail=f"{len(content.acceptance_criteria)} acceptance criteria saved")
