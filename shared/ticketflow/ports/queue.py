"""The task queue port: at-least-once delivery of step tasks (Cloud Tasks; libSQL)."""

from __future__ import annotations

from typing import Protocol

from pydantic import Field

from ticketflow.domain.models import Model


class StepTask(Model):
    """One delivery of ``run_step``; the name is deterministic so doubles are rejected.

    ``step_index`` is checked against the run's pinned definition by the runtime,
    not here: the port does not know how many steps a workflow has."""

    run_id: str
    step_index: int = Field(ge=1)
    epoch: int = Field(default=0, ge=0)

    @property
    def name(self) -> str:
        return f"{self.run_id}-{self.step_index}-{self.epoch}"


class TaskQueue(Protocol):
    def enqueue(self, task: StepTask, *, delay_s: float = 0.0) -> bool:
        """Schedule ``task`` for delivery after ``delay_s``. Returns False when a task
        of that name already exists (a duplicate enqueue is success, not an error).
        Raises ``RetryableError`` when the queue is unreachable."""
        ...
