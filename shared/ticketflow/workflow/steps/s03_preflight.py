"""Step 3: code-aware preflight validation of the request, against the ticket's own
repository index (waiting within ``index_wait_s`` while it is queued or being built;
degraded, and saying why, when it is not ready)."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Finding, Severity
from ticketflow.ports.llm import EXTRACT_CLAIMS, Claim, Claims, ClaimsPayload
from ticketflow.preflight import merge, references_from, rule_claims, validate_request
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput


class PreflightOutput(StepOutput):
    STEP: ClassVar[str] = "preflight"

    findings: list[Finding]
    index_state: str = "none"
    claims: list[Claim] = []

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.CRITICAL]


def preflight(ctx: StepContext) -> PreflightOutput:
    """What the request claims exists, each claim verified against the index.

    The claims come from the rules and, when the provider is a language model, from the
    ``extract_claims`` task too (merged); the index alone decides what is missing."""
    req = ctx.request
    index = ctx.deps.index
    key, why = ctx.index_key()
    usable = index if key is not None else None
    state = ctx.index_status(key).state if (index is not None and key is not None) else "none"
    text = f"{req.title}.\n{req.description}".strip()
    rules = rule_claims(text)
    claims, fallback = rules, None
    if key is not None and state == "ready" and not ctx.deps.llm.provider.offline:
        extracted, fallback = generate(ctx, EXTRACT_CLAIMS, ClaimsPayload(request=req), Claims)
        claims = merge(rules, extracted.claims)
    findings = validate_request(req.title, req.description, repo=key or req.repo,
                                index=usable, references=references_from(claims, text))
    crit = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    detail = f"{len(findings)} finding(s), {crit} critical"
    if req.repo and state != "ready":
        detail += f"; repository index {state}: references not checked"
        if key is None and why:
            detail += f" ({why})"
    degraded = bool(req.repo and state != "ready") or fallback is not None
    return PreflightOutput(findings=findings, index_state=state, claims=claims,
                           fallback=fallback, detail=label(detail, fallback),
                           outcome="degraded" if degraded else "done")
