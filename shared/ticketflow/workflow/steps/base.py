"""Base of every step output: how the step ended and a line for the progress view."""

from __future__ import annotations

from typing import ClassVar, Literal

from ticketflow.domain.models import Model


class Fallback(Model):
    """A language-model step produced without AI: the configured model failed after its
    retries (``reason``), and the labelled offline heuristics (``provider``) stood in."""

    provider: str
    reason: str


class StepOutput(Model):
    """What a step commits. ``STEP`` names the step that produces it, so a later step
    asks for an earlier output by its type (``ctx.output(IntentOutput)``). ``fallback``
    is set when a language-model step fell back to the offline provider."""

    STEP: ClassVar[str] = ""

    outcome: Literal["done", "skipped", "degraded"] = "done"
    detail: str = ""
    fallback: Fallback | None = None
