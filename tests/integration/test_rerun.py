"""Changing the answers of a ready ticket (``Engine.start_from``) on the embedded
default with the offline provider: the new run, and every way it is refused."""

from __future__ import annotations

import pytest

from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.compose.embedded import EmbeddedApp
from ticketflow.domain import AECStatus, ConflictError, RequiredFieldsError
from ticketflow.testing.embedded import (
    CLEAN,
    QUESTIONS,
    SAMPLE_REPO,
    new_ticket,
    run_to_end,
)


def _ready(app: EmbeddedApp, request: dict[str, str], *replies: Reply) -> str:
    aec = new_ticket(app, request)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    assert run_to_end(app, run.run_id, *replies).status == "completed"
    return aec.id


def test_new_answers_refine_the_ticket_again_from_step_10(app: EmbeddedApp) -> None:
    aec_id = _ready(app, QUESTIONS, Reply("answer", {"q1": "Under 5 seconds"}))
    before = app.documents.get(aec_id)
    assert before is not None and before.decisions
    run = app.engine.start_from(aec_id, uid=LOCAL_UID,
                                answers={"q1": "Under 2 seconds for 10,000 invoices"})
    locked = app.documents.get(aec_id)
    assert locked is not None and locked.status is AECStatus.GENERATING and locked.locked
    assert locked.generation_state is not None
    assert [s.status for s in locked.generation_state.steps][:9] != ["waiting"] * 9
    assert run_to_end(app, run.run_id).status == "completed"
    after = app.documents.get(aec_id)
    assert after is not None and after.status is AECStatus.READY and not after.locked
    assert after.answers == {"q1": "Under 2 seconds for 10,000 invoices"}
    assert any("10,000" in c for c in after.acceptance_criteria)
    assert not any("Under 5 seconds".lower() in c.lower() for c in after.acceptance_criteria)
    assert after.findings[0].status == "resolved"
    assert "10,000" in after.findings[0].resolution


def test_new_answers_on_a_ticket_with_a_repository(app: EmbeddedApp) -> None:
    """The pinned input holds what the repository resolved to at the first start; the
    request the person wrote is unchanged, so the answers may change."""
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    first = app.engine.start(aec.id, uid=LOCAL_UID)
    assert run_to_end(app, first.run_id, Reply("skip")).status == "completed"
    pinned = app.runs.get_run(first.run_id)
    assert pinned is not None and pinned.input.get("repository")
    run = app.engine.start_from(aec.id, uid=LOCAL_UID, answers={"q1": "Under 2 seconds"})
    assert run_to_end(app, run.run_id).status == "completed"
    # another ref of the same repository is another request: the answers may not fit
    app.documents.mutate(aec.id, lambda a: a.model_copy(update={"repo_ref": "v2"}))
    with pytest.raises(ConflictError, match="request changed"):
        app.engine.start_from(aec.id, uid=LOCAL_UID, answers={"q1": "x"})


def test_start_from_is_refused_with_a_reason(app: EmbeddedApp) -> None:
    aec_id = _ready(app, QUESTIONS, Reply("skip"))
    with pytest.raises(RequiredFieldsError, match="unknown question id"):
        app.engine.start_from(aec_id, uid=LOCAL_UID, answers={"q9": "x"})
    with pytest.raises(RequiredFieldsError, match="empty answer"):
        app.engine.start_from(aec_id, uid=LOCAL_UID, answers={"q1": "  "})
    with pytest.raises(PermissionError):
        app.engine.start_from(aec_id, uid="someone-else", answers={"q1": "x"})
    # the request was edited after the ticket was generated: the answers may not fit
    app.documents.mutate(aec_id, lambda a: a.edit(title="Add an XLSX export"))
    with pytest.raises(ConflictError, match="request changed"):
        app.engine.start_from(aec_id, uid=LOCAL_UID, answers={"q1": "x"})
    # a ticket that asked nothing has no answers to change
    clean = _ready(app, CLEAN)
    with pytest.raises(ConflictError, match="asked no questions"):
        app.engine.start_from(clean, uid=LOCAL_UID, answers={"q1": "x"})
    # nothing was started by any of these
    assert all(r.status == "completed" for r in app.runs.list_runs())
