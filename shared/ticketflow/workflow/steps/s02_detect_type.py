"""Step 2: detect the ticket type (feature / bug / chore / spike) with confidence."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Intent, TypeDetection
from ticketflow.ports.llm import DETECT_TYPE, TypePayload
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput


class TypeOutput(StepOutput):
    STEP: ClassVar[str] = "detect_type"

    detection: TypeDetection


def detect_type(ctx: StepContext) -> TypeOutput:
    intent: Intent = ctx.output(IntentOutput).intent
    det, fallback = generate(ctx, DETECT_TYPE, TypePayload(request=ctx.request, intent=intent),
                             TypeDetection)
    return TypeOutput(detection=det, fallback=fallback, outcome="degraded" if fallback else "done",
                      detail=label(f"{det.type.value} ({det.confidence:.0%})", fallback))
