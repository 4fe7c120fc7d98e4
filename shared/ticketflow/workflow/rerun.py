"""Changing the answers of a ready ticket: a new run that starts at the refinement.

The answers only reach the workflow at step 9 (``ask_questions``), and nothing
before it depends on them. So a ticket whose answers change needs no new intent,
type, findings, repository context, draft or questions: :func:`plan_rerun` makes a
run that starts at the step after ``ask_questions`` (10, ``refine_draft``), pinned
to the recorded outputs of every earlier step of the ticket's last completed run
(copied, never executed again: no model call is repeated) and to that run's
workflow version and request, with ``ask_questions``' output replaced by the new
answers. :meth:`ticketflow.workflow.runtime.Engine.start_from` creates and starts it.

Refused (``ConflictError``) when the ticket is not ready, its last run is not a
completed run of it, its request changed since that run (the answers may no longer
fit: generate it again from the start), or it asked no questions; answers to
questions the run did not ask, or empty ones, are a ``RequiredFieldsError``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from ticketflow.domain import (
    AEC,
    AECStatus,
    Answers,
    ConflictError,
    Provider,
    RequiredFieldsError,
    TicketRequest,
)
from ticketflow.ports.records import RunRecord, StepRecord
from ticketflow.workflow.definition import WorkflowDefinition
from ticketflow.workflow.steps.s08_generate_questions import QuestionsOutput
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput

__all__ = ["plan_rerun"]


def _clean(answers: dict[str, str], asked: list[str]) -> dict[str, str]:
    cleaned = {k.strip(): (v or "").strip() for k, v in answers.items()}
    if not cleaned:
        raise RequiredFieldsError("answers: give at least one answer")
    empty = sorted(k for k, v in cleaned.items() if not v)
    if empty:
        raise RequiredFieldsError(f"answers: empty answer for {', '.join(empty)}")
    unknown = sorted(set(cleaned) - set(asked))
    if unknown:
        raise RequiredFieldsError(f"answers: unknown question id(s) {', '.join(unknown)} "
                                  f"(this ticket asked {', '.join(asked)})")
    if any(len(v) > 4000 for v in cleaned.values()):
        raise RequiredFieldsError("answers: an answer is longer than 4000 characters")
    return cleaned


def plan_rerun(aec: AEC, last: RunRecord | None, steps: list[StepRecord],
               answers: dict[str, str], *, definition: WorkflowDefinition, now: datetime,
               run_timeout_s: float, provider: Provider | None = None,
               trace_id: str | None = None) -> tuple[RunRecord, list[StepRecord]]:
    """The new run and its pinned outputs (see the module doc); pure."""
    if aec.status is not AECStatus.READY or aec.locked:
        raise ConflictError(f"ticket {aec.id} is {aec.status.value}: answers can be changed "
                            "on a ready ticket only")
    if last is None or last.aec_id != aec.id or last.status != "completed":
        raise ConflictError(f"ticket {aec.id} has no completed run to start from")
    asked = TicketRequest.model_validate(last.input)
    # what the person wrote; ``repository`` is what ``repo`` (at its ref, which the
    # person also chose) resolved to at that start
    asked_ref = asked.repository.ref if asked.repository is not None else aec.repo_ref
    if (asked.title, asked.description, asked.repo, asked_ref) != \
            (aec.title, aec.description, aec.repo, aec.repo_ref):
        raise ConflictError("the request changed since the ticket was generated: generate "
                            "it again from the start")
    ask = definition.by_name("ask_questions")
    by_index = {s.step_index: s for s in steps}
    missing = [i for i in range(1, ask.index + 1) if i not in by_index]
    if missing:
        raise ConflictError(f"run {last.run_id} has no recorded output for step(s) "
                            f"{', '.join(map(str, missing))}")
    questions = QuestionsOutput.model_validate(
        by_index[definition.by_name("generate_questions").index].output).questions
    if not questions:
        raise ConflictError("this ticket asked no questions, so it has no answers to change")
    cleaned = _clean(answers, [q.id for q in questions])
    run = RunRecord(
        run_id="run-" + uuid.uuid4().hex[:16], aec_id=aec.id, owner_id=aec.owner_id,
        workflow_version=last.workflow_version, step_index=ask.index + 1,
        deadline_at=now + timedelta(seconds=run_timeout_s), input=last.input,
        provider=provider or last.provider, trace_id=trace_id, created_at=now,
        updated_at=now)
    source = f"from {last.run_id}"
    pinned = [s.model_copy(update={"run_id": run.run_id, "attempts": 0,
                                   "detail": f"{s.detail} ({source})" if s.detail else source})
              for s in sorted(steps, key=lambda s: s.step_index) if s.step_index < ask.index]
    output = AnswersOutput(answers=Answers(answers=cleaned),
                           detail=f"{len(cleaned)} of {len(questions)} question(s) answered, "
                                  "changed after the ticket was ready")
    pinned.append(StepRecord(run_id=run.run_id, step_index=ask.index, step_name=ask.name,
                             status="done", output=output.doc(), detail=output.detail,
                             attempts=0, started_at=now, finished_at=now))
    return run, pinned
