"""Base of every step output: how the step ended and a line for the progress view."""

from __future__ import annotations

from typing import Literal

from ticketflow.domain.models import Model


class StepOutput(Model):
    outcome: Literal["done", "skipped", "degraded"] = "done"
    detail: str = ""
