"""Base of every step output: how the step ended and a line for the progress view."""

from __future__ import annotations

from typing import ClassVar, Literal

from ticketflow.domain.models import Model


class StepOutput(Model):
    """What a step commits. ``STEP`` names the step that produces it, so a later step
    asks for an earlier output by its type (``ctx.output(IntentOutput)``)."""

    STEP: ClassVar[str] = ""

    outcome: Literal["done", "skipped", "degraded"] = "done"
    detail: str = ""
