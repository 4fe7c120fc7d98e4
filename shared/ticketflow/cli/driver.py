"""Drive a run in the embedded default: keep the workers going, report progress,
and hand each suspension to a policy (a terminal prompt, flags, or "stop and wait").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ticketflow.compose.embedded import EmbeddedApp
from ticketflow.domain import GenerationState
from ticketflow.observability.redact import redact_url
from ticketflow.ports.records import ActionRecord, RunRecord
from ticketflow.workflow.actions import ActionRequest
from ticketflow.workflow.projection import build_state

LOCAL_UID = "local"


class ActionRejectedError(RuntimeError):
    """The run refused the reply; the reason says why."""


@dataclass(frozen=True)
class Reply:
    """What the person (or a flag) answers at a suspension."""

    type: Literal["proceed", "edit", "cancel", "answer", "skip"]
    answers: dict[str, str] | None = None


class SuspensionPolicy(Protocol):
    def __call__(self, state: GenerationState) -> Reply | None:
        """A reply, or ``None`` to leave the run waiting and return."""
        ...


def act(app: EmbeddedApp, run: RunRecord, reply: Reply) -> ActionRecord:
    token = run.suspension.token if run.suspension else ""
    return app.engine.act(ActionRequest(
        action_id=f"cli-{uuid.uuid4().hex[:12]}", run_id=run.run_id, aec_id=run.aec_id,
        type=reply.type, token=token, uid=run.owner_id, answers=reply.answers))


def state_of(app: EmbeddedApp, run_id: str) -> tuple[RunRecord, GenerationState]:
    run = app.runs.get_run(run_id)
    if run is None:
        raise LookupError(f"no run {run_id} in {redact_url(app.settings.db_url)}")
    return run, build_state(run, app.runs.steps(run_id), app.engine.definition)


def drive(app: EmbeddedApp, run_id: str,
          policy: Callable[[GenerationState], Reply | None], *,
          on_progress: Callable[[GenerationState], None] = lambda s: None,
          on_rejected: Callable[[ActionRecord], None] | None = None,
          poll_s: float = 0.02, timeout_s: float | None = None) -> RunRecord:
    """Run the worker pools (steps, and index tasks: a ticket's repository may still be
    indexing) until ``run_id`` finishes or is left waiting by the policy."""
    deadline = time.monotonic() + timeout_s if timeout_s else None
    last_seq = -1
    with app.worker_pool(), app.index_pool():
        while True:
            run, state = state_of(app, run_id)
            if run.seq != last_seq:
                last_seq = run.seq
                on_progress(state)
            if run.status in ("completed", "failed", "cancelled"):
                app.engine.project(run_id)
                return state_of(app, run_id)[0]
            if run.status == "suspended":
                reply = policy(state)
                if reply is None:
                    app.engine.project(run_id)
                    return state_of(app, run_id)[0]
                record = act(app, run, reply)
                if record.status == "rejected":
                    if on_rejected is None:
                        raise ActionRejectedError(record.reason or "action rejected")
                    on_rejected(record)
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} did not finish within {timeout_s:.0f}s")
            time.sleep(poll_s)
