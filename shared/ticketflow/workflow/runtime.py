"""The workflow runtime: start, run one step, resume, cancel, sweep.

``run_step`` is what every delivery of a step task calls, in the embedded worker
and in the Cloud Function alike:

1. claim the step with one conditional UPDATE (a lease with expiry; the committed
   steps are read in the same round trip unless this process holds them); a
   finished, suspended or already-advanced run makes the task a no-op;
2. execute the handler with the step's timeout; a committed step is never executed
   again because the pointer has moved past it;
3. commit output + run pointer + outbox row in one batch guarded by the lease (the
   step's one fsync); when the document store shares the run store's database (the
   embedded default), the commit carries the ticket's progress in the same
   transaction (:meth:`DocumentStore.carried_projection`, built for the run as the
   commit leaves it; an action's resume carries it the same way);
4. dispatch the next task, then project progress to the document store (guarded by
   ``seq``) unless the commit carried it. A crash between 3 and 4 is repaired by
   :meth:`Engine.sweep`.

With ``chain`` (the embedded workers) the worker that commits step N claims and
runs N+1 itself; ``handoff`` (set while an embedded worker pool runs) gives a task
that a start or an action dispatches straight to an idle worker. Either way the
outbox row was written and stays pending until the step commits, so after a crash
the sweeper dispatches it (or re-dispatches a step leased by a dead process).

Retryable errors propagate (the queue retries with backoff) until the step's
attempts run out; terminal errors mark the run and the ticket failed and return.

Durability: ``start``, ``run_step`` and ``act`` write in the run store's pipelined
mode (a commit returns before its fsync) and sync once before they return, so that
nothing is acknowledged outside (a task's 2xx, an action's verdict, a started run)
before what it reports is on disk, and a chain of steps or a burst of runs shares
its fsyncs. A task dispatched before the sync is safe: its claim reads committed
state, and if the machine loses the unsynced commits, the claim finds the run not at
that step while the undelivered task that made them is retried.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Concatenate, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ValidationError

from ticketflow.domain import (
    AEC,
    DomainError,
    GenerationState,
    InvalidRepositoryError,
    NotFoundError,
    RepoContext,
    RunError,
    TicketRequest,
)
from ticketflow.domain.errors import RetryableError, TerminalError
from ticketflow.observability.tracing import StepScope, current_step
from ticketflow.ports import CarriedWrite, DocumentStore, RunStore, StepTask, TaskQueue
from ticketflow.ports.leases import lease_holder_dead, new_lease_id
from ticketflow.ports.records import (
    ActionRecord,
    RunRecord,
    StepRecord,
    SuspensionRecord,
    committed_run,
    resumed_run,
)
from ticketflow.settings import Settings
from ticketflow.workflow.actions import ActionRequest, Decision, Rejection, decide
from ticketflow.workflow.context import StepContext, StepDeps
from ticketflow.workflow.definition import (
    CURRENT,
    DEFINITIONS,
    StepSpec,
    WorkflowDefinition,
    longest_timeout,
)
from ticketflow.workflow.indexing import Indexer
from ticketflow.workflow.outcomes import (
    ClaimedStep,
    FaultHook,
    Outcome,
    RunMemory,
    StepMismatchError,
    StepResult,
    SweepReport,
    TimedOut,
    no_faults,
)
from ticketflow.workflow.projection import build_state
from ticketflow.workflow.rerun import plan_rerun
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.sweeper import Sweeping
from ticketflow.workflow.watchdog import Watchdog

__all__ = ["Engine", "FaultHook", "Outcome", "StepMismatchError", "StepResult",
           "SweepReport"]

log = logging.getLogger("ticketflow.runtime")
P = ParamSpec("P")
R = TypeVar("R")


def _durable_on_return(
        fn: Callable[Concatenate[Engine, P], R]) -> Callable[Concatenate[Engine, P], R]:
    """Run ``fn`` with the run store pipelined, then sync it (see module doc)."""

    @functools.wraps(fn)
    def wrapper(self: Engine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with self.runs.pipelined():
                return fn(self, *args, **kwargs)
        finally:
            self.runs.sync()

    return wrapper


class Engine(Sweeping):
    """Runs the workflow against the ports it is given (see module doc)."""

    def __init__(self, *, runs: RunStore, documents: DocumentStore, queue: TaskQueue,
                 deps: StepDeps, settings: Settings | None = None,
                 definition: WorkflowDefinition = CURRENT,
                 faults: FaultHook | None = None, indexer: Indexer | None = None) -> None:
        self.runs = runs
        self.indexer = indexer
        self.documents = documents
        self.queue = queue
        self.deps = deps
        self.settings = settings or Settings()
        self.definition = definition
        self.handoff: Callable[[StepTask], bool] | None = None
        self._fault = faults or no_faults
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="step"
        )
        self._watchdog: Watchdog[ClaimedStep] = Watchdog(self._timed_out)
        self._memory = RunMemory()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._watchdog.stop()

    def _definition_of(self, run: RunRecord) -> WorkflowDefinition:
        """The definition the run pinned when it started."""
        return DEFINITIONS.get(run.workflow_version, self.definition)

    def _now(self) -> datetime:
        return self.deps.clock.now()

    # -- start ------------------------------------------------------------------------------

    @_durable_on_return
    def start(self, aec_id: str, *, uid: str, trace_id: str | None = None) -> RunRecord:
        """Create the run (step 1 in its outbox), lock the ticket, dispatch step 1.

        A crash after the run is created is repaired: the sweeper dispatches step 1,
        which takes the lock itself if it is missing (so the lock needs no fsync). A
        lock that cannot be taken cancels the run before the error is raised; a queue
        that cannot be reached leaves step 1 in the outbox for the sweeper.

        A ticket naming a repository gets its repository context here: the caller's
        own registration of it (another user's is refused), resolved to a commit,
        with the index of that commit requested (see :mod:`ticketflow.workflow.indexing`).

        Raises ``NotFoundError`` (no ticket), ``PermissionError`` (not the owner, or
        another user's repository), ``InvalidRepositoryError`` (a repository that
        cannot be used here), ``ConflictError`` (a run is already active) or
        ``AECLockedError``.
        """
        aec = self.documents.get(aec_id)
        if aec is None:
            raise NotFoundError(f"ticket {aec_id} does not exist")
        if aec.owner_id != uid:
            raise PermissionError(f"ticket {aec_id} belongs to another user")
        repository = self._attach(aec, uid)
        now = self._now()
        run = RunRecord(
            run_id="run-" + uuid.uuid4().hex[:16], aec_id=aec_id, owner_id=aec.owner_id,
            workflow_version=self.definition.version,
            deadline_at=now + timedelta(seconds=self.settings.run_timeout_s),
            input=TicketRequest(title=aec.title, description=aec.description,
                                repo=aec.repo, repository=repository).doc(),
            provider=self.deps.llm.provider, trace_id=trace_id, created_at=now, updated_at=now,
        )
        task = self.runs.create_run(run)  # ConflictError if another run is active
        try:
            state = build_state(run, [], self.definition)
            self.documents.mutate(aec_id,
                                  lambda a: a.lock_for(run.run_id, state, repository),
                                  durable=False)
        except Exception as exc:  # not locked: no half-started run is left behind
            self.runs.finish(run.run_id, "cancelled", self._now(),
                             cancel_reason=f"not started: {exc}"[:500])
            raise
        self._memory.note_projected(run.run_id, run.seq)
        self._memory.keep_steps(run.run_id, [])
        try:
            self._dispatch([task])
        except RetryableError as exc:  # the outbox row stays: the sweeper dispatches it
            log.warning("step 1 not dispatched yet; the sweeper will",
                        extra={"run_id": run.run_id, "error": str(exc)})
        log.info("run started", extra={"run_id": run.run_id, "aec_id": aec_id,
                                       "trace_id": trace_id})
        return run

    def _attach(self, aec: AEC, uid: str) -> RepoContext | None:
        if not (aec.repo or aec.repo_id) or self.indexer is None:
            return None
        from ticketflow.repo_index.fetch import RepoRejectedError

        try:
            return self.indexer.attach(uid, aec.repo, aec.repo_ref, repo_id=aec.repo_id)
        except RepoRejectedError as exc:
            raise InvalidRepositoryError(str(exc)) from None

    @_durable_on_return
    def start_from(self, aec_id: str, *, uid: str, answers: dict[str, str],
                   trace_id: str | None = None) -> RunRecord:
        """Change the answers of a ready ticket: a new run from step 10, pinned to the
        recorded outputs of steps 1-9 of its last completed run (none executed again,
        no model call repeated), see :mod:`ticketflow.workflow.rerun`. Locks and
        dispatches like :meth:`start`; raises what it raises, and ``ConflictError`` /
        ``RequiredFieldsError`` when the ticket or the answers do not allow it."""
        aec = self.documents.get(aec_id)
        if aec is None:
            raise NotFoundError(f"ticket {aec_id} does not exist")
        if aec.owner_id != uid:
            raise PermissionError(f"ticket {aec_id} belongs to another user")
        last = (self.runs.get_run(aec.generation_state.run_id)
                if aec.generation_state is not None else None)
        steps = self.runs.steps(last.run_id) if last is not None else []
        definition = DEFINITIONS.get(last.workflow_version, self.definition) if last \
            else self.definition
        run, pinned = plan_rerun(aec, last, steps, answers, definition=definition,
                                 now=self._now(), run_timeout_s=self.settings.run_timeout_s,
                                 provider=self.deps.llm.provider, trace_id=trace_id)
        task = self.runs.create_run_from(run, pinned)
        try:
            state = build_state(run, pinned, definition)
            self.documents.mutate(aec_id, lambda a: a.lock_for(run.run_id, state),
                                  durable=False)  # the first executed step re-takes it
        except Exception as exc:
            self.runs.finish(run.run_id, "cancelled", self._now(),
                             cancel_reason=f"not started: {exc}"[:500])
            raise
        self._memory.note_projected(run.run_id, run.seq)
        self._memory.keep_steps(run.run_id, pinned)
        try:
            self._dispatch([task])
        except RetryableError as exc:
            log.warning("first step not dispatched yet; the sweeper will",
                        extra={"run_id": run.run_id, "error": str(exc)})
        log.info("run started from recorded outputs",
                 extra={"run_id": run.run_id, "aec_id": aec_id, "from_run": last and
                        last.run_id, "step": run.step_index, "trace_id": trace_id})
        return run

    # -- one step --------------------------------------------------------------------------

    @_durable_on_return
    def run_step(self, task: StepTask, *, chain: bool = False) -> StepResult:
        """Run the step ``task`` names (see module doc); with ``chain`` (the embedded
        workers), and the steps after it until one suspends, ends the run, or fails."""
        got = self._claim(task)
        if isinstance(got, StepResult):
            return got
        try:
            self._definition_of(got.run).check_recorded(got.run.run_id, got.steps)
        except StepMismatchError as exc:
            log.error("step mismatch on replay", extra={"run_id": got.run.run_id,
                                                        "error": str(exc)})
            return self._fail(got.run, got.lease, TerminalError(str(exc),
                                                                 code="step_mismatch"))
        result: StepResult | None = None
        while True:
            try:
                nxt = self._execute(got, chain)
            except Exception as exc:
                if result is None:
                    raise  # the delivered task itself: the queue retries it
                self._retry_later(got, exc)
                return result
            if isinstance(nxt, StepResult):
                return nxt
            result = StepResult("committed", got.run.run_id, got.spec.index)
            got = nxt

    def _claim(self, task: StepTask) -> ClaimedStep | StepResult:
        now, lease = self._now(), new_lease_id()
        until = now + timedelta(seconds=self._lease_s(task.step_index))
        projected = self._memory.projected(task.run_id)
        held = self._memory.steps_before(task.run_id, task.step_index)
        if held is not None:  # a run this process suspended or started: steps known
            run = self.runs.claim(task.run_id, task.step_index, lease, until, now,
                                  projected_seq=projected)
            got = (run, held) if run is not None else None
        else:
            got = self.runs.claim_with_steps(task.run_id, task.step_index, lease, until,
                                             now, projected_seq=projected)
        if got is None:
            run = self.runs.get_run(task.run_id)
            if run is None:
                log.warning("task for unknown run", extra={"run_id": task.run_id})
                return StepResult("unknown_run", task.run_id, task.step_index)
            if task.step_index < run.step_index:
                if run.projected_seq < run.seq:  # repair a projection a crash lost
                    self.project(run.run_id)
                return StepResult("duplicate", run.run_id, task.step_index)
            if run.status != "running" or task.step_index > run.step_index:
                return StepResult("not_active", run.run_id, task.step_index, run.status)
            if lease_holder_dead(run.lease_id):
                got = self.runs.claim_with_steps(
                    run.run_id, task.step_index, lease, until, now, steal_from=run.lease_id,
                    projected_seq=projected)
            if got is None:
                raise RetryableError(f"step {task.step_index} of {run.run_id} is being "
                                     "executed by another worker", code="step_busy",
                                     retry_after_s=max(self._lease_s(task.step_index) / 4,
                                                       0.5))
        return self._admit(got[0], lease, now, got[1])

    def _admit(self, run: RunRecord, lease: str, now: datetime,
               steps: list[StepRecord]) -> ClaimedStep | StepResult:
        """The checks a claimed step passes before it runs (failing them ends the run)."""
        definition = DEFINITIONS.get(run.workflow_version)
        if definition is None:
            return self._fail(run, lease, TerminalError(
                f"workflow version {run.workflow_version} is not deployed",
                code="unknown_workflow_version"))
        spec = definition.step(run.step_index)
        if now > run.deadline_at:
            return self._fail(run, lease, TerminalError(
                f"the run exceeded its time limit of {self.settings.run_timeout_s:.0f}s",
                code="run_timeout"))
        if run.attempt > spec.retry.max_attempts:
            return self._fail(run, lease, TerminalError(
                f"step '{spec.title}' failed {spec.retry.max_attempts} times; giving up",
                code="attempts_exhausted"))
        timeout = self.settings.step_timeout_s or spec.timeout_s
        return ClaimedStep(run, definition, spec, lease, timeout, steps)

    def _lease_s(self, index: int) -> float:
        return (self.settings.step_timeout_s or longest_timeout(index)) \
            + self.settings.lease_grace_s

    def _execute(self, c: ClaimedStep, chain: bool) -> StepResult | ClaimedStep:
        run, spec = c.run, c.spec
        ctx = StepContext(run=run, deps=self.deps,
                          outputs={s.step_name: s.output for s in c.steps})
        scope = StepScope(run_id=run.run_id, aec_id=run.aec_id, step=spec.index,
                          step_name=spec.name, attempt=run.attempt, trace_id=run.trace_id)
        token = current_step.set(scope)
        t0 = time.perf_counter()
        result: StepResult | ClaimedStep | None = None
        try:
            result = self._execute_scoped(c, ctx, chain)
            return result
        finally:
            current_step.reset(token)
            if log.isEnabledFor(logging.INFO):
                outcome = "committed" if isinstance(result, ClaimedStep) else \
                    result.outcome if result else "retry"
                log.info("step attempt", extra={
                    **scope.log_fields(),
                    "duration_ms": round((time.perf_counter() - t0) * 1e3, 2),
                    "outcome": outcome})

    def _execute_scoped(self, c: ClaimedStep, ctx: StepContext,
                        chain: bool) -> StepResult | ClaimedStep:
        run, spec, lease = c.run, c.spec, c.lease
        started = self._now()
        self._fault("before_execute", spec.index)
        try:
            # the run's first executed step re-takes the lock a crash may have missed
            # (step 1, or the step after outputs pinned by start_from: attempts 0)
            if spec.index == 1 or (c.steps and c.steps[-1].attempts == 0):
                self._ensure_locked(run)
            output = self._call(c, ctx, inline=chain)
        except TimedOut:
            return StepResult("lost", run.run_id, spec.index, "timed out; retried")
        except Suspend as sig:
            return self._suspend(c, sig)
        except (TerminalError, DomainError, ValidationError) as exc:
            return self._fail(run, lease, exc)
        except Exception as exc:
            return self._retry_or_fail(run, spec, lease, exc)
        self._fault("after_execute", spec.index)
        # built here from a validated output: no need to validate it again
        record = StepRecord.model_construct(
            run_id=run.run_id, step_index=spec.index, step_name=spec.name,
            status=output.outcome, output=output.doc(), detail=output.detail,
            attempts=run.attempt, started_at=started, finished_at=self._now(),
        )
        last = spec.index == c.definition.total
        nxt = None if last else StepTask(run_id=run.run_id, step_index=spec.index + 1,
                                         epoch=run.epoch)
        now = self._now()
        steps = [*c.steps, record]
        state, carry = self._progress(committed_run(run, now, complete=last), steps,
                                      c.definition)
        committed = self.runs.commit(run.run_id, spec.index, lease, now, step=record,
                                     next_task=nxt, complete=last, run=run, carry=carry)
        if committed is None:
            return self._lost(run, spec, lease)
        self._fault("after_commit", spec.index)
        if nxt is not None and chain:
            # project first, so that the claim of the next step records it
            self._project_run(committed, steps, c.definition, state=state, carry=carry)
            chained = self._claim_next(nxt, steps, committed)
            if chained is None:
                self._dispatch([nxt])
            self._fault("after_dispatch", spec.index)
            if chained is not None:
                return chained
            return StepResult("committed", run.run_id, spec.index, output.detail)
        self._dispatch([nxt] if nxt else [])
        self._project_run(committed, steps, c.definition, state=state, carry=carry)
        self._fault("after_dispatch", spec.index)
        return StepResult("completed" if last else "committed", run.run_id, spec.index,
                          output.detail)

    def _call(self, c: ClaimedStep, ctx: StepContext, *, inline: bool) -> StepOutput:
        """The handler, within the step's timeout: on this thread (the embedded workers:
        no hand-over per step, the watchdog ends a late attempt), or in the pool."""
        if inline:
            token = self._watchdog.watch(c.timeout, c)
            try:
                output = c.spec.handler(ctx)
            finally:
                if not self._watchdog.done(token):
                    raise TimedOut()  # whatever the handler returned or raised
            return output
        future = self._pool.submit(contextvars.copy_context().run, c.spec.handler, ctx)
        try:
            return future.result(timeout=c.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RetryableError(f"step '{c.spec.title}' timed out after {c.timeout:.0f}s",
                                 code="step_timeout") from None

    def _timed_out(self, c: ClaimedStep) -> None:
        """A step run inline outlived its timeout (the watchdog's thread): end the
        attempt as a pool-run step's timeout does, then retry it."""
        now = self._now()
        error = RetryableError(f"step '{c.spec.title}' timed out after {c.timeout:.0f}s",
                               code="step_timeout")
        self.runs.release(c.run.run_id, c.spec.index, c.lease, now, str(error))
        if c.run.attempt >= c.spec.retry.max_attempts:
            self._fail(c.run, None, error, exhausted=True)
            return
        self._retry_later(c, error)

    def _claim_next(self, task: StepTask, steps: list[StepRecord],
                    committed: RunRecord) -> ClaimedStep | StepResult | None:
        """Claim the step just committed into the outbox, to run it here; ``None`` if it
        cannot be claimed (it is then dispatched like any other)."""
        now, lease = self._now(), new_lease_id()
        run = self.runs.claim(task.run_id, task.step_index, lease,
                              now + timedelta(seconds=self._lease_s(task.step_index)), now,
                              projected_seq=self._memory.projected(task.run_id),
                              run=committed)
        return None if run is None else self._admit(run, lease, now, steps)

    def _retry_later(self, c: ClaimedStep, exc: Exception) -> None:
        """Retry a step that was not delivered by the queue (chained, or handed over)
        through the queue, after its backoff, as a task of a new epoch (the task its
        worker holds may still be unacknowledged)."""
        delay = getattr(exc, "retry_after_s", None)
        if delay is None:
            delay = c.spec.retry.delay(c.run.attempt) * self.settings.retry_backoff_scale
        now = self._now()
        task = self.runs.redispatch(c.run, now)
        if task is not None:
            self.queue.enqueue(task, delay_s=delay)
            self.runs.mark_dispatched([task.name], now)
        log.warning("step will be retried from the queue", extra={
            "run_id": c.run.run_id, "step": c.spec.index, "attempt": c.run.attempt,
            "error": str(exc), "retry_after_s": delay})

    def _suspend(self, c: ClaimedStep, sig: Suspend) -> StepResult:
        run, spec, lease = c.run, c.spec, c.lease
        now = self._now()
        wait = (self.settings.review_wait_s if sig.kind == "review"
                else self.settings.questions_wait_s)
        susp = SuspensionRecord(kind=sig.kind, token=uuid.uuid4().hex,
                                payload=sig.payload, suspended_at=now,
                                expires_at=now + timedelta(seconds=wait))
        state, carry = self._progress(committed_run(run, now, suspension=susp), c.steps,
                                      c.definition)
        committed = self.runs.commit(run.run_id, spec.index, lease, now, suspension=susp,
                                     run=run, carry=carry)
        if committed is None:
            return self._lost(run, spec, lease)
        self._fault("after_commit", spec.index)
        self._memory.keep_steps(run.run_id, c.steps)  # for the step after the resume
        self._project_run(committed, c.steps, c.definition, state=state, carry=carry)
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
        repository = TicketRequest.model_validate(run.input).repository

        def lock(aec: AEC) -> AEC:
            return aec if aec.holds(run.run_id) else aec.lock_for(run.run_id, state,
                                                                  repository)

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
        self._project_run(run, self.runs.steps(run_id), self._definition_of(run))

    def _progress(self, after: RunRecord, steps: list[StepRecord],
                  definition: WorkflowDefinition) -> tuple[GenerationState, CarriedWrite | None]:
        """The progress of the run as a commit (or a resume) will leave it (``after``),
        and its projection as a write for that commit to carry, when the document store
        and the run store share a database (``None`` otherwise: projected after it)."""
        state = build_state(after, steps, definition)
        return state, self.documents.carried_projection(after.aec_id, state)

    def _project_run(self, run: RunRecord, steps: list[StepRecord],
                     definition: WorkflowDefinition, *, state: GenerationState | None = None,
                     carry: CarriedWrite | None = None) -> None:
        """Project ``run`` (``state``: its progress, if built already), unless its commit
        carried the projection (``carry`` applied: a run at rest was noted projected in
        that commit too)."""
        carried = carry is not None and carry.applied
        if not carried:
            if state is None or state.seq != run.seq:
                state = build_state(run, steps, definition)
            self.documents.project(run.aec_id, state)
        if run.status == "running":
            self._memory.note_projected(run.run_id, run.seq)  # the next claim records it
        else:  # at rest: no claim follows
            if not carried:
                self.runs.mark_projected(run.run_id, run.seq)
            if run.status != "suspended":
                self._memory.forget(run.run_id)

    def _dispatch(self, tasks: list[StepTask], *, mark: bool = False) -> None:
        """Hand each task to an in-process worker, or enqueue it. A task's outbox row
        stays pending until its step commits; ``mark`` (the sweeper's re-dispatches,
        always through the queue) marks them at once, so that they are not dispatched
        again on every sweep."""
        for t in tasks:
            if not mark and self.handoff is not None and self.handoff(t):
                continue
            self.queue.enqueue(t)
        if mark and tasks:
            self.runs.mark_dispatched([t.name for t in tasks], self._now())

    # -- a person's action -----------------------------------------------------------------------

    @_durable_on_return
    def act(self, req: ActionRequest) -> ActionRecord:
        """Apply an action (see :mod:`ticketflow.workflow.actions`); always recorded.
        An action id seen before gets its first verdict back."""
        run = self.runs.get_run(req.run_id)
        now = self._now()
        decision = decide(req, run)
        if isinstance(decision, Rejection):
            known = self.runs.get_action(req.aec_id, req.action_id)
            return known or self._reject(req, decision, now)
        assert run is not None
        if req.type == "abort":
            if not self.runs.finish(run.run_id, "cancelled", now, cancel_reason="user"):
                return self.runs.get_action(req.aec_id, req.action_id) or self._reject(
                    req, Rejection("run_finished", "the run already finished"), now)
            stored = self.runs.record_action(self._record(req, "accepted", None, now))
            self._after_commit(run.run_id, [])
            return stored
        return self._resume(req, run, decision, now)

    def _resume(self, req: ActionRequest, run: RunRecord, d: Decision,
                now: datetime) -> ActionRecord:
        definition = self._definition_of(run)
        spec = definition.step(run.step_index)
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
        action = self._record(req, "accepted", None, now)
        steps = self._memory.steps_before(run.run_id, spec.index)
        if steps is None:
            steps = [s for s in self.runs.steps(run.run_id) if s.step_index != spec.index]
        if record is not None:
            steps.append(record)
        state, carry = self._progress(resumed_run(run, now, cancel_reason=d.cancel_reason),
                                      steps, definition)
        committed = self.runs.resume(run.run_id, req.token, action, now, step=record,
                                     next_task=nxt, cancel_reason=d.cancel_reason, run=run,
                                     carry=carry)
        if committed is None:
            return self.runs.get_action(req.aec_id, req.action_id) or self._reject(
                req, Rejection("already_resolved", "another action already resolved this "
                                                   "step"), now)
        self._fault("after_resume_commit", spec.index)
        if record is not None:
            self._memory.keep_steps(run.run_id, steps)  # the next step's claim uses them
        self._dispatch([nxt] if nxt else [])
        self._project_run(committed, steps, definition, state=state, carry=carry)
        return action  # exactly what the resume stored with it

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

    def cancel(self, run_id: str, *, uid: str) -> ActionRecord:
        """A person cancels a running (or waiting) generation."""
        run = self.runs.get_run(run_id)
        return self.act(ActionRequest(
            action_id=f"abort-{uuid.uuid4().hex[:12]}", run_id=run_id,
            aec_id=run.aec_id if run else "", type="abort", uid=uid))
