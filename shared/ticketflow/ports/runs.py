"""The run store port: workflow execution state, the source of truth for a run.

Runs, committed step outputs, attempts, actions and the outbox of tasks to
dispatch. Every write is one atomic, conditional statement or batch; see
:mod:`ticketflow.adapters.libsql.runs` for how each is guarded in SQL.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from ticketflow.domain import Provider, RunError
from ticketflow.ports.documents import CarriedWrite
from ticketflow.ports.queue import StepTask
from ticketflow.ports.records import (
    ActionRecord,
    AttemptRecord,
    RunRecord,
    StepRecord,
    SuspensionRecord,
    SweepView,
)


class RunStore(Protocol):
    """Workflow execution state: runs, committed steps, actions, the outbox."""

    # -- reads ----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or ``None`` if no run has that id."""
        ...

    def active_run(self, aec_id: str) -> RunRecord | None:
        """The ticket's running or suspended run (at most one exists)."""
        ...

    def list_runs(self, limit: int = 50, *, aec_id: str | None = None) -> list[RunRecord]:
        """Runs, newest first; only the ticket's when ``aec_id`` is given."""
        ...

    def steps(self, run_id: str) -> list[StepRecord]:
        """The run's committed steps, in step order."""
        ...

    def attempts(self, run_id: str) -> list[AttemptRecord]:
        """Every claim of every step of the run, in the order they started."""
        ...

    def get_action(self, aec_id: str, action_id: str) -> ActionRecord | None:
        """An action recorded with its verdict, or ``None`` if never seen. Actions are
        keyed by (ticket, action id): another ticket's action of the same id is another
        action."""
        ...

    def actions(self, run_id: str) -> list[ActionRecord]:
        """The run's actions (accepted and rejected), oldest first."""
        ...

    # -- the run's life ---------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> StepTask:
        """Insert the run and the outbox row of its first step, atomically, and return
        that task (``ConflictError`` if the ticket already has an active run)."""
        ...

    def create_run_from(self, run: RunRecord, pinned: list[StepRecord]) -> StepTask:
        """Insert a run that starts at ``run.step_index`` with ``pinned`` as its
        committed outputs of every step before it (taken from an earlier run, never
        executed again), and the outbox row of its first step to execute, atomically;
        return that task (``ConflictError`` if the ticket already has an active run,
        ``ValueError`` unless ``pinned`` holds exactly steps 1 to ``step_index - 1``)."""
        ...

    def claim(self, run_id: str, step_index: int, lease_id: str, lease_until: datetime,
              now: datetime, *, steal_from: str | None = None,
              projected_seq: int = 0, run: RunRecord | None = None) -> RunRecord | None:
        """Take the step's lease if it is free, expired, or held by ``steal_from`` (a
        holder known to be dead), count the attempt, and return the claimed run;
        ``None`` when the run is not at this step, not running, or leased by a live
        worker. ``projected_seq`` (progress the caller already projected) is noted in
        the same transaction, as by :meth:`mark_projected`. ``run``: the caller's copy
        of the run as it committed it, from which a store may build the claimed run
        (when the claim finds the run as that copy says)."""
        ...

    def claim_with_steps(self, run_id: str, step_index: int, lease_id: str,
                         lease_until: datetime, now: datetime, *,
                         steal_from: str | None = None, projected_seq: int = 0,
                         ) -> tuple[RunRecord, list[StepRecord]] | None:
        """:meth:`claim`, returning the run's committed steps too, read in the same
        round trip."""
        ...

    def commit(self, run_id: str, step_index: int, lease_id: str, now: datetime, *,
               step: StepRecord | None = None, next_task: StepTask | None = None,
               suspension: SuspensionRecord | None = None, complete: bool = False,
               provider: Provider | None = None, run: RunRecord | None = None,
               carry: CarriedWrite | None = None) -> RunRecord | None:
        """Output + pointer + outbox in one transaction, only if still leased by us:
        the next task's outbox row is written and the committed step's row is marked
        done with. Returns the run as committed (:func:`~ticketflow.ports.records.committed`
        of the claimed run), or ``None`` when the commit was refused.
        ``next_task`` is the task the commit makes due (``None`` when it suspends or
        completes the run). ``run``: the caller's copy of the claimed run, from which a
        store may build the committed run. ``carry``: another store's write for the same
        transaction (:class:`~ticketflow.ports.documents.CarriedWrite`; the projection of
        the committed run), run only if the commit takes effect, or ignored by a store
        on another database; when it is applied and leaves the run at rest (suspended or
        completed), the run is noted projected up to its new ``seq`` in the same
        transaction (:meth:`mark_projected`)."""
        ...

    def release(self, run_id: str, step_index: int, lease_id: str, now: datetime,
                error: str, *, outcome: str = "retry") -> None:
        """Give the lease back after a failed attempt so a retry can claim it, and
        record how the attempt ended (``retry``, or ``lost`` when its commit was
        refused)."""
        ...

    def finish(self, run_id: str, status: str, now: datetime, *,
               error: RunError | None = None, cancel_reason: str | None = None,
               lease_id: str | None = None) -> bool:
        """Move an active run to ``failed`` or ``cancelled`` (only while ``lease_id``
        still holds it, when given); True for the one caller that wins."""
        ...

    def resume(self, run_id: str, token: str, action: ActionRecord, now: datetime, *,
               step: StepRecord | None, next_task: StepTask | None,
               cancel_reason: str | None = None,
               run: RunRecord | None = None,
               carry: CarriedWrite | None = None) -> RunRecord | None:
        """Compare-and-set on the suspension token: the first valid action wins. In one
        transaction: the run resumes (or is cancelled with ``cancel_reason``), the
        suspended step's output and the next task are written, and the action is
        recorded as accepted. Returns the run as committed; ``None`` when the token no
        longer matches or the action id is already recorded. ``run``: the caller's
        copy of the suspended run, which spares the store a read. ``carry``: as for
        :meth:`commit`, built for :func:`~ticketflow.ports.records.resumed_run` of
        that copy."""
        ...

    def record_action(self, action: ActionRecord) -> ActionRecord:
        """Record an action unless its (ticket, action id) is already known; return what
        is stored (so a redelivered action gets its first verdict back)."""
        ...

    # -- durability -------------------------------------------------------------------------

    def pipelined(self) -> AbstractContextManager[None]:
        """Within it, this thread's writes return once committed, before they are
        durable (the next claim reads committed state, so it need not wait for the
        disk); nests. Call :meth:`sync` before anything is acknowledged outside."""
        ...

    def sync(self) -> None:
        """Return once every write made so far is durable."""
        ...

    # -- the outbox and repairs -------------------------------------------------------------

    def outbox_pending(self, older_than: datetime, limit: int = 100) -> list[StepTask]:
        """Outbox rows written before ``older_than`` and not yet dispatched."""
        ...

    def mark_dispatched(self, task_names: list[str], now: datetime) -> None:
        """Note that these tasks reached the queue (a repeat dispatch is harmless)."""
        ...

    def mark_projected(self, run_id: str, seq: int) -> None:
        """Note that the ticket shows the run's progress up to ``seq`` (never lowers it)."""
        ...

    def redispatch(self, run: RunRecord, now: datetime) -> StepTask | None:
        """A running run whose task was lost: bump its epoch and write a new outbox row
        for its current step. ``None`` when the run moved on meanwhile."""
        ...

    def sweep_view(self, now: datetime, stalled_before: datetime,
                   unprojected_before: datetime, limit: int = 100) -> SweepView:
        """What a sweep must repair, read in one pass: expired waits, overdue runs,
        stalled runs (no lease, no pending outbox row), projections behind the run,
        and the runs holding a lease (whose holder may have died)."""
        ...
