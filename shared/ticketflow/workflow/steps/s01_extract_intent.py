"""Step 1: extract the intent (goal, actors, constraints, scope) from the request."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Intent, Provider
from ticketflow.ports.llm import EXTRACT_INTENT
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput


class IntentOutput(StepOutput):
    STEP: ClassVar[str] = "extract_intent"

    intent: Intent
    provider: Provider


def extract_intent(ctx: StepContext) -> IntentOutput:
    llm = ctx.deps.llm
    intent, fallback = generate(ctx, EXTRACT_INTENT, ctx.request, Intent)
    offline = " (offline heuristics)" if llm.provider.offline else ""
    return IntentOutput(intent=intent, provider=llm.provider, fallback=fallback,
                        outcome="degraded" if fallback else "done",
                        detail=label(f"goal: {intent.goal[:80]}{offline}", fallback))
