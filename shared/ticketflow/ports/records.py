"""What the run store keeps about a run: the run, its committed steps, its actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from ticketflow.domain import Provider, RunError
from ticketflow.domain.models import Model

RunStatus = Literal["running", "suspended", "completed", "failed", "cancelled"]
ACTIVE: tuple[RunStatus, ...] = ("running", "suspended")
StepStatus = Literal["done", "skipped", "degraded"]


class SuspensionRecord(Model):
    kind: Literal["review", "questions"]
    token: str
    payload: dict[str, Any]
    suspended_at: datetime
    expires_at: datetime | None = None


class RunRecord(Model):
    """One generation run. ``step_index`` is the next step to execute (past the last
    one when the run is done)."""

    run_id: str
    aec_id: str
    owner_id: str
    workflow_version: str
    status: RunStatus = "running"
    step_index: int = 1
    epoch: int = 0
    attempt: int = 0
    lease_id: str | None = None
    lease_until: datetime | None = None
    seq: int = 1
    projected_seq: int = 0
    suspension: SuspensionRecord | None = None
    deadline_at: datetime
    cancel_reason: str | None = None
    error: RunError | None = None
    input: dict[str, Any]
    provider: Provider | None = None
    trace_id: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def committed_run(run: RunRecord, now: datetime, *,
                  suspension: SuspensionRecord | None = None, complete: bool = False,
                  provider: Provider | None = None) -> RunRecord:
    """The run as :meth:`~ticketflow.ports.runs.RunStore.commit` of its current step
    leaves it, from the claimed ``run``: lease released, ``seq`` one higher, then
    suspended with ``suspension``, or moved to the next step (``complete``: the run
    is done). What a store returns from that commit equals this."""
    update: dict[str, Any] = {"lease_id": None, "lease_until": None, "seq": run.seq + 1,
                              "updated_at": now}
    if suspension is not None:
        update |= {"status": "suspended", "suspension": suspension}
    else:
        update |= {"step_index": run.step_index + 1, "attempt": 0}
    if complete:
        update |= {"status": "completed", "finished_at": now}
    if provider is not None:
        update["provider"] = provider
    return run.model_copy(update=update)


def resumed_run(run: RunRecord, now: datetime, *,
                cancel_reason: str | None = None) -> RunRecord:
    """The suspended ``run`` as :meth:`~ticketflow.ports.runs.RunStore.resume` leaves
    it at ``now``: on at its next step, its deadline moved by the time it waited, or
    cancelled with ``cancel_reason``; ``seq`` one higher, the suspension gone."""
    update: dict[str, Any] = {"suspension": None, "seq": run.seq + 1, "updated_at": now}
    if cancel_reason is None:
        waited = now - run.suspension.suspended_at if run.suspension else timedelta(0)
        update |= {"status": "running", "step_index": run.step_index + 1, "attempt": 0,
                   "deadline_at": run.deadline_at + max(waited, timedelta(0))}
    else:
        update |= {"status": "cancelled", "cancel_reason": cancel_reason, "finished_at": now}
    return run.model_copy(update=update)


class StepRecord(Model):
    """A committed step: written once, keyed by ``(run_id, step_index)``."""

    run_id: str
    step_index: int
    step_name: str
    status: StepStatus = "done"
    output: dict[str, Any]
    detail: str = ""
    attempts: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None


ActionStatus = Literal["accepted", "rejected"]


class ActionRecord(Model):
    """A person's (or the expiry policy's) action at a suspension, with its verdict."""

    action_id: str
    run_id: str
    aec_id: str
    type: str
    token: str = ""
    uid: str = ""
    answers: dict[str, str] | None = None
    status: ActionStatus
    reason: str | None = None
    created_at: datetime


class AttemptRecord(Model):
    run_id: str
    step_index: int
    attempt: int
    lease_id: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = None
    error: str | None = None


class SweepView(Model):
    """What a sweep must look at, read in one pass."""

    expired_waits: list[RunRecord] = Field(default_factory=list)
    overdue: list[RunRecord] = Field(default_factory=list)
    stalled: list[RunRecord] = Field(default_factory=list)
    unprojected: list[RunRecord] = Field(default_factory=list)
    leased: list[RunRecord] = Field(default_factory=list)
    """Running runs whose step is leased: the sweeper re-dispatches those whose holder
    died (a step an embedded worker ran straight after the previous one has no
    queue row to be delivered again)."""
