"""The offline draft states each sentence of the request once."""

from __future__ import annotations

from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.domain import TicketRequest
from ticketflow.domain.models import Draft, Intent, TypeDetection
from ticketflow.ports.llm import (
    DETECT_TYPE,
    EXTRACT_INTENT,
    GENERATE_DRAFT,
    DraftPayload,
    TypePayload,
)


def _draft(title: str, description: str) -> Draft:
    llm = OfflineLanguageModel()
    req = TicketRequest(title=title, description=description)
    intent = llm.generate(EXTRACT_INTENT, req, Intent)
    kind = llm.generate(DETECT_TYPE, TypePayload(request=req, intent=intent), TypeDetection)
    return llm.generate(GENERATE_DRAFT, DraftPayload(request=req, intent=intent, type=kind),
                        Draft)


def test_a_first_sentence_that_is_also_a_constraint_is_one_criterion() -> None:
    # "always" makes the first sentence a constraint too; the goal already quotes it
    draft = _draft("Show the configured limit on the quota card",
                   "The quota card always says 'max 10 projects'. Teams with another "
                   "limit want the card to show theirs.")
    said = [c for c in draft.acceptance_criteria if "always says 'max 10 projects'" in c]
    assert len(said) == 1, draft.acceptance_criteria
    assert any("Teams with another limit" in c for c in draft.acceptance_criteria)


def test_a_later_constraint_is_still_a_criterion() -> None:
    draft = _draft("Limit the export size",
                   "Exports of the report are slow for big teams. The file must stay "
                   "under 20 MB.")
    assert "The file must stay under 20 MB" in draft.acceptance_criteria


def test_the_first_criterion_is_the_wish_not_the_title_pasted_before_it() -> None:
    draft = _draft("Issue history: show who resolved an issue",
                   "Each history entry should show the user who resolved the issue. "
                   "Keep comment editing working.")
    assert draft.acceptance_criteria[0] == (
        "Each history entry should show the user who resolved the issue")
    assert not any("Issue history:" in c for c in draft.acceptance_criteria)
    # a first sentence that only says what is wrong: the title says what is wanted
    slow = _draft("Limit the export size", "Exports of the report are slow for big teams.")
    assert slow.acceptance_criteria[0] == (
        "Given a team, when the change is in place, then: Limit the export size")
    assert "Exports of the report are slow for big teams" in slow.acceptance_criteria


def test_a_bug_report_says_what_must_stop_happening() -> None:
    draft = _draft("Posts API ignores the limit",
                   "GET /api/posts ignores the limit parameter when a filter is set. "
                   "Pages of 15 should come back.")
    assert draft.acceptance_criteria[0].startswith("Given the steps in the report")
    assert ("No longer the case: GET /api/posts ignores the limit parameter when a filter "
            "is set") in draft.acceptance_criteria
    assert "Pages of 15 should come back" in draft.acceptance_criteria
    assert not any(c.startswith("GET /api/posts ignores") for c in draft.acceptance_criteria)
