"""The workflow runtime: start, run one step, resume, cancel, sweep.

``run_step`` is what every delivery of a step task calls, in the embedded worker
and in the Cloud Function alike:

1. load the run; a finished, suspended, or already-advanced run makes the task a
   no-op (duplicate deliveries return normally);
2. claim the step with one conditional UPDATE (a lease with expiry);
3. execute the handler with the step's timeout, or replay nothing: a committed
   step is never executed again because the pointer has moved past it;
4. commit output + run pointer + outbox row in one batch, guarded by the lease;
5. dispatch the outbox rows to the task queue, then project progress to the
   document store (guarded by ``seq``). A crash between 4 and 5 is repaired by
   :meth:`Engine.sweep`.

Retryable errors propagate (the queue retries with backoff) until the step's
attempts run out; terminal errors mark the run and the ticket failed and return.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from pydantic import BaseModel, ValidationError

from ticketflow.domain import AEC, DomainError, NotFoundError, RunError, TicketRequest
from ticketflow.domain.errors import RetryableError, TerminalError
from ticketflow.observability.tracing import StepScope, current_step
from ticketflow.ports import DocumentStore, RunStore, StepTask, TaskQueue
from ticketflow.ports.leases import lease_holder_dead, new_lease_id
from ticketflow.ports.records import ActionRecord, RunRecord, StepRecord, SuspensionRecord
from ticketflow.settings import Settings
from ticketflow.workflow.actions import ActionRequest, Decision, Rejection, decide
from ticketflow.workflow.context import StepContext, StepDeps
from ticketflow.workflow.definition import CURRENT, DEFINITIONS, StepSpec, WorkflowDefinition
from ticketflow.workflow.projection import build_state
from ticketflow.workflow.signals import Suspend

log = logging.getLogger("ticketflow.runtime")

Outcome = Literal[
    "committed", "suspended", "completed", "failed", "duplicate", "not_active", "lost",
    "unknown_run",
]


FaultHook = Callable[[str, int], None]
"""Called with ``(point, step_index)`` at each crash point (see :mod:`ticketflow.testing.crash`)."""


def _no_faults(point: str, step: int) -> None:
    return None


class _NothingToDo(Exception):
    """A repair found nothing to do (the run moved on meanwhile)."""


class StepMismatchError(RuntimeError):
    """Replaying a run whose recorded step name differs from the definition's."""


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
    stalled: int = 0
    reprojected: int = 0
    failed: int = 0  # repairs that raised (one entry each in ``errors``)
    errors: list[str] = field(default_factory=list)


class Engine:
    """Runs the workflow against the ports it is given (see module doc)."""

    def __init__(self, *, runs: RunStore, documents: DocumentStore, queue: TaskQueue,
                 deps: StepDeps, settings: Settings | None = None,
                 definition: WorkflowDefinition = CURRENT,
                 faults: FaultHook | None = None) -> None:
        self.runs = runs
        self.documents = documents
        self.queue = queue
        self.deps = deps
        self.settings = settings or Settings()
        self.definition = definition
        self._fault = faults or _no_faults
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="step"
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _definition_of(self, run: RunRecord) -> WorkflowDefinition:
        """The definition the run pinned when it started."""
        return DEFINITIONS.get(run.workflow_version, self.definition)

    def _now(self) -> datetime:
        return self.deps.clock.now()

    # -- start ------------------------------------------------------------------------------

    def start(self, aec_id: str, *, uid: str, trace_id: str | None = None) -> RunRecord:
        """Create the run (step 1 in its outbox), lock the ticket, dispatch step 1.

        A crash after the run is created is repaired: the sweeper dispatches step 1,
        which takes the lock itself if it is missing. A lock that cannot be taken
        cancels the run before the error is raised; a queue that cannot be reached
        leaves step 1 in the outbox for the sweeper.

        Raises ``NotFoundError`` (no ticket), ``PermissionError`` (not the owner),
        ``ConflictError`` (a run is already active) or ``AECLockedError``.
        """
        aec = self.documents.get(aec_id)
        if aec is None:
            raise NotFoundError(f"ticket {aec_id} does not exist")
        if aec.owner_id != uid:
            raise PermissionError(f"ticket {aec_id} belongs to another user")
        now = self._now()
        run = RunRecord(
            run_id="run-" + uuid.uuid4().hex[:16], aec_id=aec_id, owner_id=aec.owner_id,
            workflow_version=self.definition.version,
            deadline_at=now + timedelta(seconds=self.settings.run_timeout_s),
            input=TicketRequest(title=aec.title, description=aec.description,
                                repo=aec.repo).doc(),
            provider=self.deps.llm.provider, trace_id=trace_id, created_at=now, updated_at=now,
        )
        task = self.runs.create_run(run)  # ConflictError if another run is active
        try:
            state = build_state(run, [], self.definition)
            self.documents.mutate(aec_id, lambda a: a.lock_for(run.run_id, state))
        except Exception as exc:  # not locked: no half-started run is left behind
            self.runs.finish(run.run_id, "cancelled", self._now(),
                             cancel_reason=f"not started: {exc}"[:500])
            raise
        self.runs.mark_projected(run.run_id, run.seq)
        try:
            self._dispatch([task])
        except RetryableError as exc:  # the outbox row stays: the sweeper dispatches it
            log.warning("step 1 not dispatched yet; the sweeper will",
                        extra={"run_id": run.run_id, "error": str(exc)})
        log.info("run started", extra={"run_id": run.run_id, "aec_id": aec_id,
                                       "trace_id": trace_id})
        return run

    # -- one step --------------------------------------------------------------------------

    def run_step(self, task: StepTask) -> StepResult:
        run = self.runs.get_run(task.run_id)
        if run is None:
            log.warning("task for unknown run", extra={"run_id": task.run_id})
            return StepResult("unknown_run", task.run_id, task.step_index)
        if task.step_index < run.step_index:
            self._repair_after_commit(run)
            return StepResult("duplicate", run.run_id, task.step_index)
        if run.status != "running" or task.step_index > run.step_index:
            return StepResult("not_active", run.run_id, task.step_index, run.status)
        definition = DEFINITIONS.get(run.workflow_version)
        if definition is None:
            return self._fail(run, None, TerminalError(
                f"workflow version {run.workflow_version} is not deployed",
                code="unknown_workflow_version"))
        spec = definition.step(run.step_index)
        now = self._now()
        if now > run.deadline_at:
            return self._fail(run, None, TerminalError(
                f"the run exceeded its time limit of {self.settings.run_timeout_s:.0f}s",
                code="run_timeout"))
        lease = new_lease_id()
        timeout = self.settings.step_timeout_s or spec.timeout_s
        until = now + timedelta(seconds=timeout + self.settings.lease_grace_s)
        claimed = self.runs.claim(run.run_id, spec.index, lease, until, now)
        if claimed is None and lease_holder_dead(run.lease_id):
            claimed = self.runs.claim(run.run_id, spec.index, lease, until, now,
                                      steal_from=run.lease_id)
        if claimed is None:
            raise RetryableError(f"step {spec.index} of {run.run_id} is being executed "
                                 "by another worker", code="step_busy",
                                 retry_after_s=max(timeout / 4, 0.5))
        if claimed.attempt > spec.retry.max_attempts:
            return self._fail(claimed, lease, TerminalError(
                f"step '{spec.title}' failed {spec.retry.max_attempts} times; giving up",
                code="attempts_exhausted"))
        try:
            return self._execute(claimed, spec, lease, timeout)
        except StepMismatchError as exc:
            log.error("step mismatch on replay", extra={"run_id": run.run_id,
                                                        "error": str(exc)})
            return self._fail(claimed, lease, TerminalError(str(exc), code="step_mismatch"))

    def _execute(self, run: RunRecord, spec: StepSpec, lease: str,
                 timeout: float) -> StepResult:
        steps = self.runs.steps(run.run_id)
        for rec in steps:
            expected = self._definition_of(run).step(rec.step_index).name
            if rec.step_name != expected:
                raise StepMismatchError(
                    f"run {run.run_id} step {rec.step_index} was recorded as "
                    f"'{rec.step_name}' but the definition says '{expected}'")
        ctx = StepContext(run=run, deps=self.deps,
                          outputs={s.step_name: s.output for s in steps})
        scope = StepScope(run_id=run.run_id, aec_id=run.aec_id, step=spec.index,
                          step_name=spec.name, attempt=run.attempt, trace_id=run.trace_id)
        token = current_step.set(scope)
        t0 = time.perf_counter()
        result: StepResult | None = None
        try:
            result = self._execute_scoped(run, spec, lease, timeout, ctx, steps)
            return result
        finally:
            current_step.reset(token)
            if log.isEnabledFor(logging.INFO):
                log.info("step attempt", extra={
                    **scope.log_fields(),
                    "duration_ms": round((time.perf_counter() - t0) * 1e3, 2),
                    "outcome": result.outcome if result else "retry"})

    def _execute_scoped(self, run: RunRecord, spec: StepSpec, lease: str, timeout: float,
                        ctx: StepContext, ctx_steps: list[StepRecord]) -> StepResult:
        started = self._now()
        self._fault("before_execute", spec.index)
        try:
            if spec.index == 1:
                self._ensure_locked(run)
            future = self._pool.submit(contextvars.copy_context().run, spec.handler, ctx)
            try:
                output = future.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise RetryableError(f"step '{spec.title}' timed out after {timeout:.0f}s",
                                     code="step_timeout") from None
        except Suspend as sig:
            return self._suspend(run, spec, lease, sig, ctx_steps)
        except (TerminalError, DomainError, ValidationError) as exc:
            return self._fail(run, lease, exc)
        except Exception as exc:
            return self._retry_or_fail(run, spec, lease, exc)
        self._fault("mid_step", spec.index)
        record = StepRecord(
            run_id=run.run_id, step_index=spec.index, step_name=spec.name,
            status=output.outcome, output=output.doc(), detail=output.detail,
            attempts=run.attempt, started_at=started, finished_at=self._now(),
        )
        last = spec.index == len(self._definition_of(run).steps)
        nxt = None if last else StepTask(run_id=run.run_id, step_index=spec.index + 1,
                                         epoch=run.epoch)
        committed = self.runs.commit(run.run_id, spec.index, lease, self._now(), step=record,
                                     next_task=nxt, complete=last)
        if committed is None:
            return self._lost(run, spec, lease)
        self._fault("after_commit", spec.index)
        self._dispatch([nxt] if nxt else [])
        self._project_run(committed, [*ctx_steps, record])
        self._fault("after_dispatch", spec.index)
        return StepResult("completed" if last else "committed", run.run_id, spec.index,
                          output.detail)

    def _suspend(self, run: RunRecord, spec: StepSpec, lease: str, sig: Suspend,
                 ctx_steps: list[StepRecord]) -> StepResult:
        now = self._now()
        wait = (self.settings.review_wait_s if sig.kind == "review"
                else self.settings.questions_wait_s)
        susp = SuspensionRecord(kind=sig.kind, token=uuid.uuid4().hex,
                                payload=sig.payload, suspended_at=now,
                                expires_at=now + timedelta(seconds=wait))
        committed = self.runs.commit(run.run_id, spec.index, lease, now, suspension=susp)
        if committed is None:
            return self._lost(run, spec, lease)
        self._fault("after_commit", spec.index)
        self._project_run(committed, ctx_steps)
        self._fault("after_dispatch", spec.index)
        return StepResult("suspended", run.run_id, spec.index, sig.kind)

    def _lost(self, run: RunRecord, spec: StepSpec, lease: str) -> StepResult:
        """The commit was refused: the run was cancelled, or another worker took over."""
        why = "commit refused: the run was cancelled or its lease taken over"
        self.runs.release(run.run_id, spec.index, lease, self._now(), why, outcome="lost")
        log.warning("commit lost", extra={"run_id": run.run_id, "aec_id": run.aec_id,
                                          "step": spec.index, "trace_id": run.trace_id})
        return StepResult("lost", run.run_id, spec.index, why)

    def _retry_or_fail(self, run: RunRecord, spec: StepSpec, lease: str,
                       exc: Exception) -> StepResult:
        if run.attempt >= spec.retry.max_attempts:
            return self._fail(run, lease, exc, exhausted=True)
        self.runs.release(run.run_id, spec.index, lease, self._now(), f"{exc}")
        log.warning("step attempt failed; will retry",
                    extra={"run_id": run.run_id, "step": spec.index, "attempt": run.attempt,
                           "error": str(exc)})
        if isinstance(exc, RetryableError):
            if exc.retry_after_s is None:
                exc.retry_after_s = spec.retry.delay(run.attempt) * \
                    self.settings.retry_backoff_scale
            raise exc
        raise RetryableError(f"{type(exc).__name__}: {exc}", code="step_error",
                             retry_after_s=spec.retry.delay(run.attempt)
                             * self.settings.retry_backoff_scale) from exc

    def _fail(self, run: RunRecord, lease: str | None, exc: BaseException, *,
              exhausted: bool = False) -> StepResult:
        code = getattr(exc, "code", None) or type(exc).__name__
        message = str(exc)
        if isinstance(exc, ValidationError):
            code, message = "invalid_output", f"invalid step output: {exc.errors()[0]['msg']}"
        if exhausted:
            message = f"gave up after {run.attempt} attempts: {message}"
        error = RunError(code=str(code), message=message, step=run.step_index,
                         retryable=isinstance(exc, RetryableError))
        self.runs.finish(run.run_id, "failed", self._now(), error=error, lease_id=lease)
        self._after_commit(run.run_id, [])
        log.error("run failed", extra={"run_id": run.run_id, "aec_id": run.aec_id,
                                       "step": run.step_index, "error": message,
                                       "trace_id": run.trace_id})
        return StepResult("failed", run.run_id, run.step_index, message)

    def _ensure_locked(self, run: RunRecord) -> None:
        """Step 1 re-takes the lock if a crash hit between creating the run and locking."""
        current = self.documents.get(run.aec_id)
        if current is not None and current.holds(run.run_id):
            return  # the usual case: one read, no transaction
        state = build_state(run, [], self._definition_of(run))

        def lock(aec: AEC) -> AEC:
            return aec if aec.holds(run.run_id) else aec.lock_for(run.run_id, state)

        self.documents.mutate(run.aec_id, lock)

    # -- after a commit: dispatch, then project ------------------------------------------------
    # Dispatch first: the next step should not wait for the projection, and a late
    # projection is harmless (``seq`` guards it; the sweeper redoes a lost one).

    def _after_commit(self, run_id: str, tasks: list[StepTask]) -> None:
        self._dispatch(tasks)
        self.project(run_id)

    def project(self, run_id: str) -> None:
        """Bring the ticket's progress up to the run's (no-op if already there)."""
        run = self.runs.get_run(run_id)
        if run is None or run.projected_seq >= run.seq:
            return
        self._project_run(run, self.runs.steps(run_id))

    def _project_run(self, run: RunRecord, steps: list[StepRecord]) -> None:
        self.documents.project(run.aec_id, build_state(run, steps, self._definition_of(run)))
        self.runs.mark_projected(run.run_id, run.seq)

    def _dispatch(self, tasks: list[StepTask]) -> None:
        for t in tasks:
            self.queue.enqueue(t)
        self.runs.mark_dispatched([t.name for t in tasks], self._now())

    def _repair_after_commit(self, run: RunRecord) -> None:
        if run.projected_seq < run.seq:
            self.project(run.run_id)

    # -- a person's action -----------------------------------------------------------------------

    def act(self, req: ActionRequest) -> ActionRecord:
        """Apply an action (see :mod:`ticketflow.workflow.actions`); always recorded."""
        known = self.runs.get_action(req.aec_id, req.action_id)
        if known is not None:
            return known
        run = self.runs.get_run(req.run_id)
        now = self._now()
        decision = decide(req, run)
        if isinstance(decision, Rejection):
            return self._reject(req, decision, now)
        assert run is not None
        if req.type == "abort":
            if not self.runs.finish(run.run_id, "cancelled", now, cancel_reason="user"):
                return self._reject(req, Rejection("run_finished", "the run already finished"),
                                    now)
            self.runs.record_action(self._record(req, "accepted", None, now))
            self._after_commit(run.run_id, [])
            return self._accepted(req)
        return self._resume(req, run, decision, now)

    def _resume(self, req: ActionRequest, run: RunRecord, d: Decision,
                now: datetime) -> ActionRecord:
        spec = self._definition_of(run).step(run.step_index)
        record = None
        if d.output is not None:
            out: BaseModel = d.output
            record = StepRecord(run_id=run.run_id, step_index=spec.index, step_name=spec.name,
                                status="done", output=out.model_dump(mode="json",
                                                                     by_alias=True),
                                detail=d.detail or d.output.detail, attempts=run.attempt,
                                started_at=now,
                                finished_at=now)
        nxt = None
        if d.cancel_reason is None:
            nxt = StepTask(run_id=run.run_id, step_index=spec.index + 1, epoch=run.epoch)
        ok = self.runs.resume(run.run_id, req.token, self._record(req, "accepted", None, now),
                              now, step=record, next_task=nxt, cancel_reason=d.cancel_reason)
        if not ok:
            return self._reject(req, Rejection("already_resolved",
                                               "another action already resolved this step"),
                                now)
        self._fault("after_resume_commit", spec.index)
        self._after_commit(run.run_id, [nxt] if nxt else [])
        return self._accepted(req)

    def _record(self, req: ActionRequest, status: Literal["accepted", "rejected"],
                reason: str | None, now: datetime) -> ActionRecord:
        answers = req.answers if isinstance(req.answers, dict) else None
        return ActionRecord(action_id=req.action_id, run_id=req.run_id, aec_id=req.aec_id,
                            type=req.type, token=req.token, uid=req.uid, answers=answers,
                            status=status, reason=reason, created_at=now)

    def _reject(self, req: ActionRequest, why: Rejection, now: datetime) -> ActionRecord:
        stored = self.runs.record_action(self._record(req, "rejected", why.reason, now))
        log.info("action rejected", extra={"run_id": req.run_id, "action_id": req.action_id,
                                           "code": why.code, "reason": why.reason})
        return stored

    def _accepted(self, req: ActionRequest) -> ActionRecord:
        stored = self.runs.get_action(req.aec_id, req.action_id)
        assert stored is not None
        return stored

    def cancel(self, run_id: str, *, uid: str) -> ActionRecord:
        """A person cancels a running (or waiting) generation."""
        run = self.runs.get_run(run_id)
        return self.act(ActionRequest(
            action_id=f"abort-{uuid.uuid4().hex[:12]}", run_id=run_id,
            aec_id=run.aec_id if run else "", type="abort", uid=uid))

    # -- sweep -------------------------------------------------------------------------------

    def sweep(self, *, grace_s: float | None = None) -> SweepReport:
        """Repair what crashes left: undispatched outbox rows, lost tasks, expired waits,
        overdue runs, projections behind their run.

        Each run is repaired on its own: an error on one is logged with its run id and
        counted in the report (``failed``, ``errors``), and every other run is still
        repaired. ``grace_s`` (default ``outbox_grace_s``) spares rows a live process is
        about to dispatch; ``0`` at a worker's start is safe because task names are
        deduplicated.
        """
        s = self.settings
        now = self._now()
        grace = s.outbox_grace_s if grace_s is None else grace_s
        report = SweepReport()
        sent: list[str] = []
        for task in self.runs.outbox_pending(now - timedelta(seconds=grace)):
            if self._isolated(report, "dispatch", task.run_id,
                              partial(self.queue.enqueue, task)):
                sent.append(task.name)
        if sent:
            self.runs.mark_dispatched(sent, self._now())
            report.redispatched = len(sent)
        view = self.runs.sweep_view(now, now - timedelta(seconds=s.stall_after_s),
                                    now - timedelta(seconds=grace))
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
        for run in view.stalled:
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
        self._dispatch([task])

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

