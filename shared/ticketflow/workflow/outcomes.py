"""What the runtime reports and passes around: step results, sweep reports, the
crash hook, a claimed step, and what the process remembers of runs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ticketflow.ports.records import RunRecord, StepRecord
from ticketflow.workflow.definition import StepMismatchError, StepSpec, WorkflowDefinition

__all__ = ["ClaimedStep", "FaultHook", "Outcome", "RunMemory", "StepMismatchError",
           "StepResult", "SweepReport", "TimedOut", "no_faults"]

Outcome = Literal[
    "committed", "suspended", "completed", "failed", "duplicate", "not_active", "lost",
    "unknown_run",
]


FaultHook = Callable[[str, int], None]
"""Called with ``(point, step_index)`` at each crash point (see :mod:`ticketflow.testing.crash`)."""


def no_faults(point: str, step: int) -> None:
    return None


class TimedOut(Exception):
    """The watchdog ended this attempt: its result, whatever it is, is dropped."""


@dataclass
class StepResult:
    outcome: Outcome
    run_id: str
    step_index: int
    detail: str = ""


@dataclass
class SweepReport:
    redispatched: int = 0
    expired_waits: int = 0
    overdue: int = 0
    stalled: int = 0  # re-dispatched: task lost, or step leased by a dead process
    reprojected: int = 0
    failed: int = 0  # repairs that raised (one entry each in ``errors``)
    errors: list[str] = field(default_factory=list)


@dataclass
class ClaimedStep:
    """A step this worker holds the lease of, with what it needs to run it."""

    run: RunRecord
    definition: WorkflowDefinition
    spec: StepSpec
    lease: str
    timeout: float
    steps: list[StepRecord]
    # set when this attempt timed out (see ``StepScope.abandoned``)
    abandoned: threading.Event = field(default_factory=threading.Event)


class RunMemory:
    """What this process knows of the runs it worked on, to spare the run store a read
    or a write: the progress (``seq``) it projected, which the next claim notes, and
    the committed steps of a run it suspended or resumed (immutable once committed),
    which the next claim need not read again. Bounded; a miss only costs the read."""

    def __init__(self, size: int = 1024) -> None:
        self._runs: OrderedDict[str, tuple[int, list[StepRecord] | None]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def _put(self, run_id: str, seq: int, steps: list[StepRecord] | None) -> None:
        self._runs[run_id] = (seq, steps)
        self._runs.move_to_end(run_id)
        if len(self._runs) > self._size:
            self._runs.popitem(last=False)

    def note_projected(self, run_id: str, seq: int) -> None:
        with self._lock:
            old, steps = self._runs.get(run_id, (0, None))
            self._put(run_id, max(seq, old), steps)

    def projected(self, run_id: str) -> int:
        with self._lock:
            return self._runs.get(run_id, (0, None))[0]

    def keep_steps(self, run_id: str, steps: list[StepRecord]) -> None:
        with self._lock:
            self._put(run_id, self._runs.get(run_id, (0, None))[0], list(steps))

    def steps_before(self, run_id: str, step_index: int) -> list[StepRecord] | None:
        """The committed steps 1 .. ``step_index - 1``, if all of them are known."""
        with self._lock:
            steps = self._runs.get(run_id, (0, None))[1]
        if steps is None or [s.step_index for s in steps] != list(range(1, step_index)):
            return None
        return list(steps)

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)
