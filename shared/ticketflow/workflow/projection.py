"""From the run store's truth to the live progress people see (``generationState``)."""

from __future__ import annotations

from ticketflow.domain import Draft, Finding, GenerationState, Question, StepProgress, Suspension
from ticketflow.domain.aec import StepState
from ticketflow.ports.records import RunRecord, StepRecord
from ticketflow.workflow.definition import WorkflowDefinition


def build_state(run: RunRecord, steps: list[StepRecord],
                definition: WorkflowDefinition) -> GenerationState:
    done = {s.step_index: s for s in steps}
    rows: list[StepProgress] = []
    for spec in definition.steps:
        rec = done.get(spec.index)
        status: StepState = "waiting"
        detail = ""
        started = finished = None
        if rec is not None:
            status = "done" if rec.status == "done" else rec.status
            detail, started, finished = rec.detail, rec.started_at, rec.finished_at
        elif spec.index == run.step_index:
            status = {
                "running": "running", "suspended": "suspended", "failed": "failed",
            }.get(run.status, "waiting")  # type: ignore[assignment]
            if run.status == "failed" and run.error is not None:
                detail = run.error.message
            if run.status == "suspended" and run.suspension is not None:
                detail = ("waiting for your review of critical findings"
                          if run.suspension.kind == "review" else "waiting for your answers")
        fallback = bool(rec is not None and isinstance(rec.output, dict)
                        and rec.output.get("fallback"))
        rows.append(StepProgress(index=spec.index, name=spec.name, title=spec.title,
                                 status=status, detail=detail, fallback=fallback,
                                 started_at=started, finished_at=finished))
    suspension = None
    if run.status == "suspended" and run.suspension is not None:
        p = run.suspension.payload
        suspension = Suspension(
            kind=run.suspension.kind, token=run.suspension.token,
            findings=[Finding.model_validate(f) for f in p.get("findings", [])],
            questions=[Question.model_validate(q) for q in p.get("questions", [])],
            draft=Draft.model_validate(p["draft"]) if p.get("draft") else None,
            expires_at=run.suspension.expires_at,
        )
    return GenerationState(
        run_id=run.run_id, status=run.status,
        current_step=min(run.step_index, definition.steps[-1].index),
        total_steps=len(definition.steps), steps=rows, suspension=suspension,
        error=run.error, cancel_reason=run.cancel_reason, provider=run.provider,
        seq=run.seq, updated_at=run.updated_at,
    )
