"""Step 4: stop for a person when there are critical findings (proceed / edit / cancel)."""

from __future__ import annotations

from typing import ClassVar, Literal

from ticketflow.workflow.context import StepContext
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s03_preflight import PreflightOutput


class ReviewOutput(StepOutput):
    STEP: ClassVar[str] = "review_findings"

    decision: Literal["no_critical_findings", "proceed", "expired_proceed"]
    action_id: str | None = None


def review_findings(ctx: StepContext) -> ReviewOutput:
    pre = ctx.output(PreflightOutput)
    critical = pre.critical
    if not critical:
        return ReviewOutput(decision="no_critical_findings", outcome="skipped",
                            detail="no critical findings")
    raise Suspend("review", {"findings": [f.doc() for f in critical]})
