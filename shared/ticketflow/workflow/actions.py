"""A person's action at a suspension: validation and what it decides.

Every refusal is a :class:`Rejection`: a code a program can branch on and a reason
a person can act on. It is recorded on the action and the run is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from ticketflow.domain import Answers
from ticketflow.ports.records import RunRecord
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s04_review_findings import ReviewOutput
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput

ActionType = Literal["proceed", "edit", "cancel", "answer", "skip", "abort"]
RejectionCode = Literal[
    "invalid_action",      # the document is not a valid action
    "unknown_run",         # no such run
    "wrong_ticket",        # the run belongs to another ticket
    "not_owner",           # only the ticket's owner may act
    "run_finished",        # an abort of a run that already ended
    "not_waiting",         # the run is not suspended
    "stale_token",         # this wait was already resolved or replaced
    "wrong_action",        # e.g. "answer" at a findings review
    "no_answers",          # an answer action without answers
    "unknown_questions",   # answers to questions this run did not ask
    "already_resolved",    # another action won the compare-and-set first
]
REVIEW_TYPES = ("proceed", "edit", "cancel")
QUESTION_TYPES = ("answer", "skip")


class ActionRequest(BaseModel):
    """An action as written by the web page (``aecs/{aecId}/actions/{actionId}``) or the CLI."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    action_id: str = Field(min_length=1, max_length=200)
    run_id: str = Field(min_length=1, max_length=200)
    aec_id: str = Field(min_length=1, max_length=200)
    type: ActionType
    token: str = Field(default="", max_length=200)
    uid: str = Field(default="", max_length=200)
    answers: dict[str, str] | None = None
    expired: bool = False

    @field_validator("answers")
    @classmethod
    def _answers_text(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        cleaned = {k.strip(): a.strip() for k, a in v.items()}
        empty = [k for k, a in cleaned.items() if not a]
        if empty:
            raise ValueError(f"empty answer for question(s) {', '.join(sorted(empty))}")
        if len(cleaned) > 20:
            raise ValueError("too many answers")
        if any(len(a) > 4000 for a in cleaned.values()):
            raise ValueError("an answer is longer than 4000 characters")
        return cleaned


@dataclass(frozen=True)
class Rejection:
    """Why an action was refused: ``code`` for programs, ``reason`` for people."""

    code: RejectionCode
    reason: str


def parse_action(data: dict[str, Any], *, action_id: str,
                 aec_id: str) -> ActionRequest | Rejection:
    """The request, or why the document is not a valid action."""
    try:
        return ActionRequest.model_validate({**data, "actionId": action_id, "aecId": aec_id})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or "action"
        return Rejection("invalid_action", f"invalid action: {field}: {err.get('msg')}")


@dataclass(frozen=True)
class Decision:
    """What an accepted action does: commit the suspended step's ``output`` and go on,
    or end the run (``cancel_reason``)."""

    output: StepOutput | None = None
    cancel_reason: str | None = None
    detail: str = ""


def decide(req: ActionRequest, run: RunRecord | None) -> Decision | Rejection:
    """What an action does to ``run``, or why it is refused."""
    if run is None:
        return Rejection("unknown_run", f"unknown run {req.run_id}")
    if req.aec_id != run.aec_id:
        return Rejection("wrong_ticket",
                         f"run {run.run_id} belongs to another ticket, not {req.aec_id}")
    if req.uid and not req.uid.startswith("system:") and req.uid != run.owner_id:
        return Rejection("not_owner", "only the ticket's owner can act on its generation")
    if req.type == "abort":
        return Decision(cancel_reason="user") if run.active else \
            Rejection("run_finished", f"the run already finished ({run.status})")
    if run.status != "suspended" or run.suspension is None:
        return Rejection("not_waiting",
                         f"run {run.run_id} is {run.status}, not waiting for a person")
    if req.token != run.suspension.token:
        return Rejection("stale_token",
                         "stale or wrong token: this wait was already resolved or replaced")
    if run.suspension.kind == "review":
        return _review(req)
    return _questions(req, run)


def _review(req: ActionRequest) -> Decision | Rejection:
    if req.type not in REVIEW_TYPES:
        return Rejection("wrong_action", f"'{req.type}' does not answer a findings review "
                                         "(use proceed, edit or cancel)")
    if req.type == "proceed":
        d = "expired_proceed" if req.expired else "proceed"
        return Decision(output=ReviewOutput(decision=d, action_id=req.action_id,
                                            detail="proceeding despite critical findings"))
    if req.type == "edit":
        return Decision(cancel_reason="wait_expired" if req.expired else "edit")
    return Decision(cancel_reason="deleted")


def _questions(req: ActionRequest, run: RunRecord) -> Decision | Rejection:
    if req.type not in QUESTION_TYPES:
        return Rejection("wrong_action",
                         f"'{req.type}' does not answer questions (use answer or skip)")
    assert run.suspension is not None
    if req.type == "skip":
        why = "the wait for answers expired" if req.expired else "skipped by the person"
        return Decision(output=AnswersOutput(answers=Answers(skipped=True),
                                             action_id=req.action_id, detail=why))
    if not req.answers:
        return Rejection("no_answers", "an answer action needs at least one answer")
    asked = [q["id"] for q in run.suspension.payload.get("questions", [])]
    unknown = sorted(set(req.answers) - set(asked))
    if unknown:
        return Rejection("unknown_questions", f"unknown question id(s): {', '.join(unknown)} "
                                              f"(this run asked {', '.join(asked)})")
    # in the order the questions were asked: a document's map (a Firestore event's)
    # comes in no set order, and the ticket must not depend on it
    in_order = {q: req.answers[q] for q in asked if q in req.answers}
    return Decision(output=AnswersOutput(
        answers=Answers(answers=in_order), action_id=req.action_id,
        detail=f"{len(req.answers)} of {len(asked)} question(s) answered"))
