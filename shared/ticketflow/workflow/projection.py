"""From the run store's truth to the live progress people see (``generationState``)."""

from __future__ import annotations

from typing import Any

from ticketflow.domain import GenerationState
from ticketflow.ports.records import RunRecord, StepRecord
from ticketflow.workflow.definition import WorkflowDefinition

_AT_REST = {"running": "running", "suspended": "suspended", "failed": "failed"}
EDIT_REASONS = ("edit", "wait_expired")
"""A run cancelled for one of these went back to a draft for the person to edit."""


def build_state(run: RunRecord, steps: list[StepRecord],
                definition: WorkflowDefinition) -> GenerationState:
    """The progress of ``run``: one row per step of its definition, the suspension
    with what the person must answer, the error. Built as plain data and validated
    once (a model per row costs twice as much, on every step of every run)."""
    done = {s.step_index: s for s in steps}
    rows: list[dict[str, Any]] = []
    for spec in definition.steps:
        row: dict[str, Any] = {"index": spec.index, "name": spec.name, "title": spec.title,
                               "status": "waiting"}
        rec = done.get(spec.index)
        if rec is not None:
            row.update(status=rec.status, detail=rec.detail, started_at=rec.started_at,
                       finished_at=rec.finished_at,
                       fallback=bool(isinstance(rec.output, dict) and rec.output.get("fallback")))
        elif spec.index == run.step_index:
            row["status"] = _AT_REST.get(run.status, "waiting")
            if run.status == "failed" and run.error is not None:
                row["detail"] = run.error.message
            if run.status == "suspended" and run.suspension is not None:
                row["detail"] = ("waiting for your review of critical findings"
                                 if run.suspension.kind == "review"
                                 else "waiting for your answers")
        rows.append(row)
    suspension = None
    if run.status == "suspended" and run.suspension is not None:
        p = run.suspension.payload
        suspension = {"kind": run.suspension.kind, "token": run.suspension.token,
                      "findings": p.get("findings", []), "questions": p.get("questions", []),
                      "draft": p.get("draft") or None,
                      "expires_at": run.suspension.expires_at}
    findings: list[Any] = []  # beside the edit form: the review's findings of the run
    if run.status == "cancelled" and run.cancel_reason in EDIT_REASONS:
        found = done.get(definition.by_name("preflight").index)
        if found is not None and isinstance(found.output.get("findings"), list):
            findings = found.output["findings"]
    return GenerationState.model_validate({
        "run_id": run.run_id, "status": run.status, "findings": findings,
        "current_step": min(run.step_index, definition.steps[-1].index),
        "total_steps": len(definition.steps), "steps": rows, "suspension": suspension,
        "error": run.error, "cancel_reason": run.cancel_reason, "provider": run.provider,
        "seq": run.seq, "updated_at": run.updated_at,
    })
