"""The AEC (the ticket) and its state machine.

``draft -> generating -> (awaiting_review | awaiting_answers) -> generating -> ready``
plus ``failed`` and ``cancelled``; ``edit`` returns to ``draft``. Every change of
status goes through :meth:`AEC.transition`, which checks the edge and the fields
the target status requires. While a run holds the lock (``locked``,
``locked_by = run_id``) content edits are refused; only that run may finalize and
unlock. No I/O here: stores persist what these methods return.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from ticketflow.domain.errors import AECLockedError, InvalidTransitionError, RequiredFieldsError
from ticketflow.domain.models import (
    Draft,
    Finding,
    Intent,
    Model,
    NonEmpty,
    Provider,
    Question,
    Refinement,
    RepoContext,
    TicketType,
)


class AECStatus(StrEnum):
    DRAFT = "draft"
    GENERATING = "generating"
    AWAITING_REVIEW = "awaiting_review"
    AWAITING_ANSWERS = "awaiting_answers"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = AECStatus
TRANSITIONS: dict[AECStatus, frozenset[AECStatus]] = {
    S.DRAFT: frozenset({S.GENERATING, S.CANCELLED}),
    S.GENERATING: frozenset(
        {S.AWAITING_REVIEW, S.AWAITING_ANSWERS, S.READY, S.FAILED, S.DRAFT, S.CANCELLED}
    ),
    S.AWAITING_REVIEW: frozenset({S.GENERATING, S.DRAFT, S.CANCELLED, S.FAILED}),
    S.AWAITING_ANSWERS: frozenset({S.GENERATING, S.DRAFT, S.CANCELLED, S.FAILED}),
    S.READY: frozenset({S.DRAFT, S.GENERATING}),
    S.FAILED: frozenset({S.GENERATING, S.DRAFT}),
    S.CANCELLED: frozenset(),
}
LOCKED_STATUSES = frozenset({S.GENERATING, S.AWAITING_REVIEW, S.AWAITING_ANSWERS})

StepState = Literal["waiting", "running", "done", "skipped", "degraded", "failed", "suspended"]
RunState = Literal["running", "suspended", "completed", "failed", "cancelled"]


class StepProgress(Model):
    index: int
    name: str
    title: str
    status: StepState = "waiting"
    detail: str = ""
    fallback: bool = False  # produced by the offline fallback: no AI
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Suspension(Model):
    kind: Literal["review", "questions"]
    token: str
    findings: list[Finding] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    draft: Draft | None = None
    expires_at: datetime | None = None


class RunError(Model):
    code: str
    message: str
    step: int | None = None
    retryable: bool = False


class GenerationState(Model):
    """Live progress of one run, as the page reads it. ``seq`` only ever grows."""

    run_id: str
    status: RunState
    current_step: int
    total_steps: int = Field(ge=1, description="how many steps the run's pinned workflow has")
    steps: list[StepProgress] = Field(default_factory=list)
    suspension: Suspension | None = None
    error: RunError | None = None
    cancel_reason: str | None = None
    findings: list[Finding] = Field(
        default_factory=list, description="when the person chose to edit the request at "
        "the review: what step 3 found, shown beside the request while they edit it")
    provider: Provider | None = None
    seq: int = 0
    updated_at: datetime | None = None


class AECContent(Model):
    """What a finished run writes onto the ticket."""

    type: TicketType | None = None
    type_confidence: float | None = None
    intent: Intent | None = None
    acceptance_criteria: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    repo_paths: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    answers: dict[str, str] = Field(default_factory=dict)
    refinements: list[Refinement] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list, description="what each answer "
                                 "settled, one sentence each")
    generated_by: Provider | None = None
    fallback_steps: list[str] = Field(default_factory=list,
                                      description="steps produced without AI: the model "
                                      "failed after its retries and the offline provider "
                                      "stood in")
    repository: RepoContext | None = None


class AEC(AECContent):
    """The ticket entity. Methods return a new AEC; the store decides how to save it."""

    id: NonEmpty
    owner_id: NonEmpty
    title: NonEmpty
    description: str = ""
    repo: str | None = None
    repo_ref: str | None = None
    repo_id: str | None = None
    status: AECStatus = AECStatus.DRAFT
    locked: bool = False
    locked_by: str | None = None
    generation_state: GenerationState | None = None
    error: RunError | None = None
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("title")
    @classmethod
    def _title_length(cls, v: str) -> str:
        if len(v) > 200:
            raise ValueError("title must be at most 200 characters")
        return v

    # -- creation and edits -----------------------------------------------------------

    @classmethod
    def new(
        cls, *, aec_id: str, owner_id: str, title: str, description: str = "",
        repo: str | None = None, repo_ref: str | None = None, repo_id: str | None = None,
    ) -> AEC:
        """A new draft ticket; an empty title is refused with a clear error."""
        try:
            return cls(id=aec_id, owner_id=owner_id, title=title, description=description,
                       repo=repo, repo_ref=repo_ref, repo_id=repo_id)
        except ValidationError as exc:
            raise RequiredFieldsError(_first_error(exc)) from None

    def edit(self, *, title: str | None = None, description: str | None = None,
             repo: str | None = None) -> AEC:
        """A user's content edit: refused while a run holds the lock."""
        if self.locked:
            raise AECLockedError(self.id, self.locked_by)
        changes: dict[str, object] = {}
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description
        if repo is not None and (repo or None) != self.repo:
            # another repository: its registration and context no longer apply
            changes.update(repo=repo or None, repo_id=None, repository=None)
        try:
            return AEC.model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise RequiredFieldsError(_first_error(exc)) from None

    # -- the state machine --------------------------------------------------------------

    def transition(self, to: AECStatus, **changes: object) -> AEC:
        """Move to ``to`` with ``changes``; the edge and the target's fields are checked."""
        if to not in TRANSITIONS[self.status]:
            raise InvalidTransitionError(self.status.value, to.value)
        nxt = self.model_copy(update={**changes, "status": to})
        nxt.check_required_fields()
        return nxt

    def check_required_fields(self) -> None:
        """Each status has fields it cannot exist without."""
        s = self.status
        if s in LOCKED_STATUSES and not (self.locked and self.locked_by):
            raise RequiredFieldsError(f"status {s.value} requires the ticket locked by a run")
        if s not in LOCKED_STATUSES and self.locked:
            raise RequiredFieldsError(f"status {s.value} requires the ticket unlocked")
        if s is S.READY:
            if not self.acceptance_criteria:
                raise RequiredFieldsError("status ready requires acceptance criteria")
            if self.type is None:
                raise RequiredFieldsError("status ready requires a ticket type")
        if s is S.FAILED and self.error is None:
            raise RequiredFieldsError("status failed requires the error that caused it")
        if s in (S.AWAITING_REVIEW, S.AWAITING_ANSWERS):
            gs = self.generation_state
            if gs is None or gs.suspension is None:
                raise RequiredFieldsError(f"status {s.value} requires a suspension payload")

    def lock_for(self, run_id: str, state: GenerationState,
                 repository: RepoContext | None = None) -> AEC:
        """Start generating: lock the ticket for ``run_id``, recording the repository
        context the run checks it against (``None``: the ticket names no repository)."""
        if self.locked:
            raise AECLockedError(self.id, self.locked_by)
        return self.transition(
            S.GENERATING, locked=True, locked_by=run_id, generation_state=state, error=None,
            repository=repository,
        )

    def holds(self, run_id: str) -> bool:
        return self.locked and self.locked_by == run_id

    def finalize(self, run_id: str, content: AECContent) -> AEC:
        """Save the run's content, set ready and unlock, atomically (one new value)."""
        if not self.holds(run_id):
            raise AECLockedError(self.id, self.locked_by, by=run_id)
        fields = {name: getattr(content, name) for name in AECContent.model_fields}
        return self.transition(S.READY, locked=False, locked_by=None, **fields)

    def mark_as_failed(self, run_id: str, error: RunError) -> AEC:
        """Record the error and unlock; only the run holding the lock may fail it."""
        if not self.holds(run_id):
            raise AECLockedError(self.id, self.locked_by, by=run_id)
        return self.transition(S.FAILED, locked=False, locked_by=None, error=error)

    def release_to_draft(self, run_id: str) -> AEC:
        """Edit chosen at review, or generation cancelled: back to an unlocked draft."""
        if not self.holds(run_id):
            raise AECLockedError(self.id, self.locked_by, by=run_id)
        return self.transition(S.DRAFT, locked=False, locked_by=None)

    # -- progress ------------------------------------------------------------------------

    def with_progress(self, state: GenerationState) -> AEC:
        """Apply a run's progress if it is newer (by ``seq``) and for the current run.

        A late or repeated projection never moves the ticket backwards; once the run
        has released the lock only ``generationState`` follows it, never the status.
        """
        cur = self.generation_state
        if cur is not None and cur.run_id == state.run_id and cur.seq >= state.seq:
            return self
        if cur is not None and cur.run_id != state.run_id and not self.holds(state.run_id):
            return self
        nxt = self.model_copy(update={"generation_state": state})
        if not self.holds(state.run_id):
            return nxt
        target = _status_for(state)
        if target is None or target is self.status:
            return nxt
        if target is S.FAILED:
            return nxt.mark_as_failed(state.run_id, state.error or _unknown_error())
        if target is S.DRAFT:
            return nxt.release_to_draft(state.run_id)
        if target is S.CANCELLED:
            return nxt.transition(S.CANCELLED, locked=False, locked_by=None)
        return nxt.transition(target)


def _status_for(state: GenerationState) -> AECStatus | None:
    if state.status == "running":
        return S.GENERATING
    if state.status == "suspended" and state.suspension is not None:
        return S.AWAITING_REVIEW if state.suspension.kind == "review" else S.AWAITING_ANSWERS
    if state.status == "failed":
        return S.FAILED
    if state.status == "cancelled":
        return S.CANCELLED if state.cancel_reason == "deleted" else S.DRAFT
    return None  # completed: step 11 already finalized the ticket


def _unknown_error() -> RunError:
    return RunError(code="unknown", message="the run failed without a recorded error")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ())) or "input"
    return f"{field}: {err.get('msg', 'invalid')}"
