"""Step 3: code-aware preflight validation of the request."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Finding, Severity
from ticketflow.preflight import validate_request
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.base import StepOutput


class PreflightOutput(StepOutput):
    STEP: ClassVar[str] = "preflight"

    findings: list[Finding]
    index_state: str = "none"

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.CRITICAL]


def preflight(ctx: StepContext) -> PreflightOutput:
    req = ctx.request
    index = ctx.deps.index
    state = index.status(req.repo).state if (index is not None and req.repo) else "none"
    findings = validate_request(req.title, req.description, repo=req.repo, index=index)
    crit = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    detail = f"{len(findings)} finding(s), {crit} critical"
    if req.repo and state != "ready":
        detail += f"; repository index {state}: references not checked"
    return PreflightOutput(findings=findings, index_state=state, detail=detail,
                           outcome="degraded" if req.repo and state != "ready" else "done")
