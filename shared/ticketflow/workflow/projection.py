"""From the run store's truth to the live progress people see (``generationState``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ticketflow.domain import GenerationState, StepProgress
from ticketflow.ports.records import RunRecord, StepRecord
from ticketflow.workflow.definition import WorkflowDefinition

_AT_REST = {"running": "running", "suspended": "suspended", "failed": "failed"}
EDIT_REASONS = ("edit", "wait_expired")
"""A run cancelled for one of these went back to a draft for the person to edit."""


_ROWS: dict[tuple[Any, ...], StepProgress] = {}
_ROWS_KEPT = 4096


def _row(index: int, name: str, title: str, status: str, detail: str = "",
         fallback: bool = False, started_at: datetime | None = None,
         finished_at: datetime | None = None) -> StepProgress:
    """One step's row, validated once: rows are immutable values, and a run's progress
    repeats most of them on every step (the steps done, the steps waiting), so an equal
    row is taken from the rows built before (bounded; time zones are part of the key,
    so a row always renders as it would when built anew)."""
    key = (index, name, title, status, detail, fallback, started_at,
           getattr(started_at, "tzinfo", None), finished_at,
           getattr(finished_at, "tzinfo", None))
    row = _ROWS.get(key)
    if row is None:
        if len(_ROWS) >= _ROWS_KEPT:
            _ROWS.clear()
        row = _ROWS[key] = StepProgress.model_validate({
            "index": index, "name": name, "title": title, "status": status,
            "detail": detail, "fallback": fallback, "started_at": started_at,
            "finished_at": finished_at})
    return row


def build_state(run: RunRecord, steps: list[StepRecord],
                definition: WorkflowDefinition) -> GenerationState:
    """The progress of ``run``: one row per step of its definition, the suspension
    with what the person must answer, the error. Each row is an immutable value taken
    from the rows built before when an equal one exists (:func:`_row`); the state is
    validated once around them."""
    done = {s.step_index: s for s in steps}
    rows: list[StepProgress] = []
    for spec in definition.steps:
        rec = done.get(spec.index)
        if rec is not None:
            rows.append(_row(spec.index, spec.name, spec.title, rec.status, rec.detail,
                             bool(isinstance(rec.output, dict) and rec.output.get("fallback")),
                             rec.started_at, rec.finished_at))
        elif spec.index == run.step_index:
            detail = ""
            if run.status == "failed" and run.error is not None:
                detail = run.error.message
            if run.status == "suspended" and run.suspension is not None:
                detail = ("waiting for your review of critical findings"
                          if run.suspension.kind == "review" else "waiting for your answers")
            rows.append(_row(spec.index, spec.name, spec.title,
                             _AT_REST.get(run.status, "waiting"), detail))
        else:
            rows.append(_row(spec.index, spec.name, spec.title, "waiting"))
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
