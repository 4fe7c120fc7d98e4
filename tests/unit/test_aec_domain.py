"""The AEC state machine, required fields, locking and progress (no I/O)."""

from __future__ import annotations

import pytest

from ticketflow.domain import (
    AEC,
    AECContent,
    AECLockedError,
    AECStatus,
    GenerationState,
    InvalidTransitionError,
    RequiredFieldsError,
    RunError,
    Suspension,
    TicketType,
)
from ticketflow.domain.aec import TRANSITIONS

S = AECStatus


def draft() -> AEC:
    return AEC.new(aec_id="a1", owner_id="u1", title="Export invoices")


def gs(run: str, seq: int, status: str = "running", **kw: object) -> GenerationState:
    return GenerationState(run_id=run, status=status, current_step=1, total_steps=11, seq=seq,
                           **kw)  # type: ignore[arg-type]


def locked(run: str = "r1") -> AEC:
    return draft().lock_for(run, gs(run, 1))


def content() -> AECContent:
    return AECContent(type=TicketType.FEATURE, acceptance_criteria=["exports a CSV"])


@pytest.mark.parametrize("src", list(S))
@pytest.mark.parametrize("dst", list(S))
def test_every_edge_not_in_the_table_is_refused(src: S, dst: S) -> None:
    if dst in TRANSITIONS[src]:
        return
    aec = draft().model_copy(update={"status": src})
    with pytest.raises(InvalidTransitionError) as info:
        aec.transition(dst)
    assert f"from '{src.value}' to '{dst.value}'" in str(info.value)


def test_ready_requires_acceptance_criteria() -> None:
    aec = locked()
    with pytest.raises(RequiredFieldsError, match="acceptance criteria"):
        aec.finalize("r1", AECContent(type=TicketType.BUG))
    ready = aec.finalize("r1", content())
    assert ready.status is S.READY and not ready.locked and ready.locked_by is None


def test_locked_ticket_refuses_edits_and_foreign_runs() -> None:
    aec = locked("r1")
    with pytest.raises(AECLockedError, match="locked by generation run r1"):
        aec.edit(title="x")
    with pytest.raises(AECLockedError, match="not locked by run r2"):
        aec.finalize("r2", content())
    with pytest.raises(AECLockedError):
        aec.lock_for("r2", gs("r2", 1))


def test_mark_as_failed_records_the_error_and_unlocks() -> None:
    failed = locked().mark_as_failed("r1", RunError(code="x", message="boom", step=7))
    assert failed.status is S.FAILED and not failed.locked
    assert failed.error is not None and failed.error.message == "boom"
    with pytest.raises(RequiredFieldsError, match="requires the error"):
        locked().transition(S.FAILED, locked=False, locked_by=None)


def test_progress_is_monotonic_and_scoped_to_the_run() -> None:
    aec = locked("r1").with_progress(gs("r1", 5))
    assert aec.generation_state is not None and aec.generation_state.seq == 5
    assert aec.with_progress(gs("r1", 4)) is aec  # stale
    assert aec.with_progress(gs("r1", 5)) is aec  # repeated
    assert aec.with_progress(gs("other", 9)) is aec  # another run
    susp = Suspension(kind="review", token="t")
    waiting = aec.with_progress(gs("r1", 6, "suspended", suspension=susp))
    assert waiting.status is S.AWAITING_REVIEW and waiting.locked
    failed = waiting.with_progress(gs("r1", 7, "failed", error=RunError(code="c", message="m")))
    assert failed.status is S.FAILED and not failed.locked
    late = failed.with_progress(gs("r1", 8, "running"))
    assert late.status is S.FAILED  # a released ticket is never re-locked by a late write


def test_cancel_projection_returns_to_draft_or_deletes() -> None:
    back = locked().with_progress(gs("r1", 3, "cancelled", cancel_reason="edit"))
    assert back.status is S.DRAFT and not back.locked
    gone = locked().with_progress(gs("r1", 3, "cancelled", cancel_reason="deleted"))
    assert gone.status is S.CANCELLED and not gone.locked


def test_awaiting_review_requires_a_suspension_payload() -> None:
    with pytest.raises(RequiredFieldsError, match="suspension payload"):
        locked().transition(S.AWAITING_REVIEW)


def test_documents_use_camel_case() -> None:
    doc = locked().doc()
    assert {"ownerId", "lockedBy", "generationState", "acceptanceCriteria"} <= set(doc)
    assert AEC.model_validate(doc) == locked().model_copy(update={})


def test_taking_the_lock_changes_only_the_run_fields() -> None:
    """Regenerating a ready ticket keeps its content until the new run finalizes (a
    failed regeneration loses nothing); the lock sets status, lock and progress and
    clears the previous error, nothing else."""
    ready = locked("r1").finalize("r1", content())
    relocked = ready.lock_for("r2", gs("r2", 1))
    changed = {k for k in AEC.model_fields if getattr(ready, k) != getattr(relocked, k)}
    assert changed == {"status", "locked", "locked_by", "generation_state"}
    failed = relocked.mark_as_failed("r2", RunError(code="x", message="model down", step=7))
    assert failed.acceptance_criteria == ["exports a CSV"] and not failed.locked


def test_findings_proceeded_past_are_acknowledged_and_answered_ones_resolved() -> None:
    from ticketflow.domain import Finding, FindingKind, FindingStatus, Severity, settle_findings

    crit = Finding(id="f-c", kind=FindingKind.MISSING_FILE, severity=Severity.CRITICAL,
                   evidence="e", message="m")
    vague = Finding(id="f-v", kind=FindingKind.UNMEASURABLE, severity=Severity.WARNING,
                    evidence="It should be fast.", message="'fast' has no target value")
    other = Finding(id="f-o", kind=FindingKind.RISKY_AREA, severity=Severity.INFO,
                    evidence="billing", message="m")
    out = settle_findings([crit, vague, other], proceeded=True,
                          answered={"f-v": "under 2 s"})
    assert [f.status for f in out] == [FindingStatus.ACKNOWLEDGED, FindingStatus.RESOLVED,
                                       FindingStatus.OPEN]
    assert out[0].resolution == "You chose to proceed past it at the review."
    assert out[1].resolution == "Settled by your answer: under 2 s"
    assert out[0].severity is Severity.CRITICAL  # what it was stays visible
    # no review (no critical finding) and no answers: everything stays open
    assert all(f.status is FindingStatus.OPEN
               for f in settle_findings([crit, vague], proceeded=False, answered={}))
    expired = settle_findings([crit], proceeded=True, answered={}, expired=True)
    assert expired[0].resolution == "The review expired and the run proceeded past it."
