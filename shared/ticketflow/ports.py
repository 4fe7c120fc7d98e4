"""Ports: one small Protocol per outside thing the workflow talks to.

Each has a production adapter and a local one, and every adapter of a port passes
the same contract suite in ``tests/contract``.

* :class:`RunStore` - workflow execution state (libSQL; source of truth for runs).
* :class:`DocumentStore` - the AEC and its live progress (Firestore; libSQL embedded).
* :class:`TaskQueue` - at-least-once delivery of step tasks (Cloud Tasks; libSQL).
* :class:`LanguageModel` - structured generation (Claude; offline heuristics).
* :class:`RepoIndex` - what exists in a repository (libSQL full-text index).
* :class:`Clock` - time, so tests shrink waits instead of faking them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from ticketflow.domain import AEC, GenerationState, Provider, RunError
from ticketflow.domain.models import Model
from ticketflow.workflow.records import (
    ActionRecord,
    AttemptRecord,
    RunRecord,
    StepRecord,
    SuspensionRecord,
    SweepView,
)

OutT = TypeVar("OutT", bound=BaseModel)


# -- clock -------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time (stored timestamps, expiries, deadlines)."""
        ...


# -- document store ------------------------------------------------------------------


class DocumentStore(Protocol):
    """The ticket entity as people see it. Writes are atomic per ticket."""

    def create(self, aec: AEC) -> AEC:
        """Insert a new ticket; ``ConflictError`` if the id exists."""
        ...

    def get(self, aec_id: str) -> AEC | None: ...

    def list(self, owner_id: str | None = None, limit: int = 50) -> list[AEC]:
        """Newest first."""
        ...

    def mutate(self, aec_id: str, fn: Callable[[AEC], AEC | None]) -> AEC | None:
        """Atomic read-modify-write: ``fn`` gets the current ticket and returns the new
        one, or ``None`` to delete it. ``NotFoundError`` if absent. ``fn`` may run more
        than once under contention, so it must be pure."""
        ...

    def project(self, aec_id: str, state: GenerationState) -> AEC | None:
        """Apply a run's progress with :meth:`AEC.with_progress` (stale ``seq`` is a
        no-op); a cancelled-and-deleted outcome removes the ticket. Missing tickets are
        ignored (``None``)."""
        ...

    def put_action_result(self, aec_id: str, action_id: str, result: ActionResult) -> None:
        """Write the server's verdict on a person's action where they will see it."""
        ...


# -- task queue ------------------------------------------------------------------------


class StepTask(Model):
    """One delivery of ``run_step``; the name is deterministic so doubles are rejected."""

    run_id: str
    step_index: int = Field(ge=1, le=11)
    epoch: int = Field(default=0, ge=0)

    @property
    def name(self) -> str:
        return f"{self.run_id}-{self.step_index}-{self.epoch}"


class TaskQueue(Protocol):
    def enqueue(self, task: StepTask, *, delay_s: float = 0.0) -> bool:
        """Schedule ``task``. Returns False when a task of that name already exists
        (a duplicate enqueue is success, not an error)."""
        ...


# -- actions (a person's answer at a suspension) -------------------------------------------

ActionType = Literal["proceed", "edit", "cancel", "answer", "skip", "abort"]


class ActionResult(Model):
    action_id: str
    status: Literal["accepted", "rejected"]
    reason: str | None = None
    run_id: str | None = None
    at: datetime | None = None


# -- language model ---------------------------------------------------------------------


class LLMTask(Model):
    """A named structured-generation task: the prompt file and the output model."""

    name: str
    output: type[BaseModel]
    prompt: str = ""
    max_tokens: int = 2048

    model_config = {"arbitrary_types_allowed": True, "frozen": True}


class LanguageModel(Protocol):
    provider: Provider

    def generate(self, task: LLMTask, payload: BaseModel, output: type[OutT]) -> OutT:
        """Produce ``output`` for ``task`` from ``payload``. Raises
        :class:`ticketflow.workflow.signals.RetryableError` for transient failures and
        :class:`ticketflow.workflow.signals.TerminalError` for unusable answers."""
        ...


# -- repository index ----------------------------------------------------------------------

IndexState = Literal["none", "pending", "indexing", "ready", "failed"]
RefKind = Literal["file", "symbol", "route", "setting"]


class IndexStatus(Model):
    state: IndexState
    files_total: int = 0
    files_done: int = 0
    error: str | None = None
    updated_at: datetime | None = None


class FileHit(Model):
    path: str
    score: float
    snippet: str = ""
    language: str | None = None


class Lookup(Model):
    kind: RefKind
    name: str
    found: bool
    matches: list[str] = Field(default_factory=list)
    closest: str | None = None


class ApiEndpoint(Model):
    method: str
    path: str
    source: str
    summary: str = ""


class RepoIndex(Protocol):
    def status(self, repo: str) -> IndexStatus:
        """Readiness of ``repo``'s index (``none`` if never indexed)."""
        ...

    def search(self, repo: str, query: str, limit: int = 5) -> list[FileHit]:
        """Files ranked by relevance to ``query``; repo-relative paths."""
        ...

    def lookup(self, repo: str, kind: RefKind, name: str) -> Lookup:
        """Does a file / symbol / route / setting called ``name`` exist?"""
        ...

    def endpoints(self, repo: str) -> list[ApiEndpoint]:
        """HTTP routes and OpenAPI operations found in the repository."""
        ...

    def path_exists(self, repo: str, path: str) -> bool: ...


# -- run store --------------------------------------------------------------------------------


class RunStore(Protocol):
    """Workflow execution state: runs, committed steps, actions, the outbox.

    Every write is one atomic, conditional statement or batch; see
    :mod:`ticketflow.adapters.libsql_runs` for how each is guarded.
    """

    def create_run(self, run: RunRecord) -> StepTask:
        """Insert the run and the outbox row of its first step (``ConflictError`` if the
        ticket already has an active run)."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def active_run(self, aec_id: str) -> RunRecord | None: ...

    def list_runs(self, limit: int = 50, *, aec_id: str | None = None) -> list[RunRecord]: ...

    def steps(self, run_id: str) -> list[StepRecord]: ...

    def attempts(self, run_id: str) -> list[AttemptRecord]: ...

    def claim(self, run_id: str, step_index: int, lease_id: str, lease_until: datetime,
              now: datetime, *, steal_from: str | None = None) -> RunRecord | None:
        """Take the step's lease; ``None`` when another live worker holds it."""
        ...

    def commit(self, run_id: str, step_index: int, lease_id: str, now: datetime, *,
               step: StepRecord | None = None, next_task: StepTask | None = None,
               suspension: SuspensionRecord | None = None, complete: bool = False,
               provider: Provider | None = None) -> RunRecord | None:
        """Output + pointer + outbox in one transaction, only if still leased by us;
        returns the run as committed, or ``None`` when the commit was refused."""
        ...

    def release(self, run_id: str, step_index: int, lease_id: str, now: datetime,
                error: str, *, outcome: str = "retry") -> None: ...

    def finish(self, run_id: str, status: str, now: datetime, *,
               error: RunError | None = None, cancel_reason: str | None = None,
               lease_id: str | None = None) -> bool: ...

    def resume(self, run_id: str, token: str, action: ActionRecord, now: datetime, *,
               step: StepRecord | None, next_task: StepTask | None,
               cancel_reason: str | None = None) -> bool:
        """Compare-and-set on the suspension token; the first valid action wins."""
        ...

    def get_action(self, action_id: str) -> ActionRecord | None: ...

    def actions(self, run_id: str) -> list[ActionRecord]: ...

    def record_action(self, action: ActionRecord) -> ActionRecord: ...

    def outbox_pending(self, older_than: datetime, limit: int = 100) -> list[StepTask]: ...

    def mark_dispatched(self, task_names: list[str], now: datetime) -> None: ...

    def mark_projected(self, run_id: str, seq: int) -> None: ...

    def redispatch(self, run: RunRecord, now: datetime) -> StepTask | None: ...

    def sweep_view(self, now: datetime, stalled_before: datetime,
                   unprojected_before: datetime, limit: int = 100) -> SweepView: ...
