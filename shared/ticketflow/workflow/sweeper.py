"""Repairs of what crashes leave behind: :meth:`Sweeping.sweep`, mixed into the
``Engine`` (which it drives through the engine's own operations).

Each run is repaired on its own: an error on one is logged with its run id and
counted in the report (``failed``, ``errors``), and every other run is still
repaired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from ticketflow.domain.errors import TerminalError
from ticketflow.ports import RunStore, StepTask, TaskQueue
from ticketflow.ports.leases import lease_holder_dead
from ticketflow.ports.records import ActionRecord, RunRecord
from ticketflow.settings import Settings
from ticketflow.workflow.actions import ActionRequest
from ticketflow.workflow.outcomes import StepResult, SweepReport

log = logging.getLogger("ticketflow.runtime")


class _NothingToDo(Exception):
    """A repair found nothing to do (the run moved on meanwhile)."""


class Sweeping:
    """The sweeper's half of the engine (see module doc)."""

    runs: RunStore
    queue: TaskQueue
    settings: Settings

    if TYPE_CHECKING:  # provided by the Engine
        def _now(self) -> datetime: ...
        def _dispatch(self, tasks: list[StepTask], *, mark: bool = False) -> None: ...
        def _fail(self, run: RunRecord, lease: str | None, exc: BaseException, *,
                  exhausted: bool = False) -> StepResult: ...
        def project(self, run_id: str) -> None: ...
        def act(self, req: ActionRequest) -> ActionRecord: ...

    def sweep(self, *, grace_s: float | None = None) -> SweepReport:
        """Repair what crashes left: undispatched outbox rows, lost tasks, steps leased
        by a dead process, expired waits, overdue runs, projections behind their run.

        ``grace_s`` (default ``outbox_grace_s``) spares rows a live process is about to
        dispatch; ``0`` at a worker's start is safe because task names are deduplicated.
        """
        s = self.settings
        now = self._now()
        grace = s.outbox_grace_s if grace_s is None else grace_s
        report = SweepReport()
        view = self.runs.sweep_view(now, now - timedelta(seconds=s.stall_after_s),
                                    now - timedelta(seconds=grace))
        # a pending row of a step leased by a live worker is that step being executed
        running = {(r.run_id, r.step_index) for r in view.leased
                   if r.lease_until is not None and r.lease_until >= now
                   and not lease_holder_dead(r.lease_id)}
        sent: list[str] = []
        for task in self.runs.outbox_pending(now - timedelta(seconds=grace)):
            if (task.run_id, task.step_index) not in running and self._isolated(
                    report, "dispatch", task.run_id, partial(self.queue.enqueue, task)):
                sent.append(task.name)
        if sent:
            self.runs.mark_dispatched(sent, self._now())
            report.redispatched = len(sent)
        for run in view.expired_waits:
            if self._isolated(report, "expire_wait", run.run_id,
                              partial(self._expire_wait, run, now)):
                report.expired_waits += 1
        overdue = TerminalError(f"the run exceeded its time limit of {s.run_timeout_s:.0f}s",
                                code="run_timeout")
        for run in view.overdue:
            if self._isolated(report, "fail_overdue", run.run_id,
                              partial(self._fail, run, None, overdue)):
                report.overdue += 1
        # lost tasks, and steps leased by a process on this host that died
        for run in [*view.stalled, *(r for r in view.leased if lease_holder_dead(r.lease_id))]:
            if self._isolated(report, "redispatch", run.run_id,
                              partial(self._redispatch, run, now)):
                report.stalled += 1
        for run in view.unprojected:
            if self._isolated(report, "project", run.run_id,
                              partial(self.project, run.run_id)):
                report.reprojected += 1
        return report

    def _redispatch(self, run: RunRecord, now: datetime) -> None:
        task = self.runs.redispatch(run, now)
        if task is None:
            raise _NothingToDo
        self._dispatch([task], mark=True)

    @staticmethod
    def _isolated(report: SweepReport, repair: str, run_id: str,
                  fn: Callable[[], object]) -> bool:
        """Run one repair; a failure is logged and counted, never raised."""
        try:
            fn()
        except _NothingToDo:
            return False
        except Exception as exc:
            log.error("sweep could not repair a run", extra={
                "run_id": run_id, "repair": repair, "error": f"{type(exc).__name__}: {exc}"})
            report.failed += 1
            report.errors.append(f"{repair} {run_id}: {type(exc).__name__}: {exc}"[:500])
            return False
        return True

    def _expire_wait(self, run: RunRecord, now: datetime) -> None:
        assert run.suspension is not None
        kind = run.suspension.kind
        policy = (self.settings.review_expiry_policy if kind == "review"
                  else self.settings.questions_expiry_policy)
        type_ = {"cancel": "edit", "proceed": "proceed", "skip": "skip"}[policy]
        req = ActionRequest(action_id=f"expire-{run.run_id}-{run.suspension.token[:8]}",
                            run_id=run.run_id, aec_id=run.aec_id, type=type_,
                            token=run.suspension.token, uid="system:expiry",
                            expired=True)
        self.act(req)
