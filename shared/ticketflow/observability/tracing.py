"""The step being executed, visible to code deep below it (the LLM usage recorder,
log records) without threading it through every call; and whether its attempt has
been given up (timed out), so that code below it starts no new work for it."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class StepScope:
    run_id: str
    aec_id: str
    step: int
    step_name: str
    attempt: int
    trace_id: str | None = None
    # set by the runtime when the attempt timed out: its handler may still be running
    # on a thread nobody waits for, while another attempt runs the step again
    abandoned: threading.Event = field(default_factory=threading.Event, compare=False,
                                       repr=False)

    def log_fields(self) -> dict[str, Any]:
        return {f.name: v for f in fields(self)
                if f.name != "abandoned" and (v := getattr(self, f.name)) is not None}


current_step: ContextVar[StepScope | None] = ContextVar("current_step", default=None)


def attempt_abandoned() -> bool:
    """Has the attempt of the step being executed been given up (it timed out)?"""
    scope = current_step.get()
    return scope is not None and scope.abandoned.is_set()
