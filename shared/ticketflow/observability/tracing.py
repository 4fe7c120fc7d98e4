"""The step being executed, visible to code deep below it (the LLM usage recorder,
log records) without threading it through every call."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StepScope:
    run_id: str
    aec_id: str
    step: int
    step_name: str
    attempt: int
    trace_id: str | None = None

    def log_fields(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


current_step: ContextVar[StepScope | None] = ContextVar("current_step", default=None)
