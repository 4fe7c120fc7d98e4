"""The story's test cases, each on both deployments (``ticketflow.testing.story``):

* ``embedded-native`` / ``embedded-libsql-client``: the embedded default with each
  libSQL driver (a real libSQL file per test, the real worker pool);
* ``cloud``: across real processes: the functions under gunicorn, the Cloud Tasks
  emulator dispatching into run_step, the Firestore emulator evaluating
  firestore.rules and delivering the action trigger, the Auth emulator issuing ID
  tokens. One functions process, queue and libSQL file serve the module (tickets
  and owners are per test); actions and edits go through the rules as the page's
  user.

Every case asserts on what the person sees (the ticket) and on the run store (no
step committed twice). A few assertions only one deployment can make are marked
where they are; the cases at the end run on the cloud shape only, and say why.
Everything is started by the fixtures; what cannot start FAILS with its log tail.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.support import running_cloud_stack

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.dev.emulators import free_port
from ticketflow.domain import AECStatus, Severity
from ticketflow.ports.records import StepRecord
from ticketflow.testing.cloud import CloudDeployment, document_store
from ticketflow.testing.embedded import CLEAN, CRITICAL, QUESTIONS, SAMPLE_REPO, settings_for
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault
from ticketflow.testing.rest import User, action_event
from ticketflow.testing.story import CloudStory, EmbeddedStory, StoryDeployment
from ticketflow.workflow.llm_call import FALLBACK_LABEL

CLOUD = [pytest.mark.emulator, pytest.mark.slow]


# -- fixtures: the deployments ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cloud_base(tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[tuple[CloudDeployment, FirestoreDocumentStore]]:
    """The emulators and one deployment for the module (offline model, the functions
    on the trigger port); each owner's index of the sample is built by its tickets."""
    for stack in running_cloud_stack("cloud-story", tmp_path_factory):
        deployment = CloudDeployment.create(stack, "story")
        assert deployment.database.url.startswith("http://"), "the cloud story runs on sqld"
        try:
            deployment.start_functions()
            yield deployment, document_store(stack)
        finally:
            deployment.close()


def _cloud(request: pytest.FixtureRequest) -> CloudStory:
    deployment, documents = request.getfixturevalue("cloud_base")
    assert deployment.stack.auth is not None
    return CloudStory(deployment, documents, User.anonymous(deployment.stack.auth))


@pytest.fixture(params=["embedded-native", "embedded-libsql-client",
                        pytest.param("cloud", marks=CLOUD)])
def d(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoryDeployment]:
    """One deployment, as a new owner."""
    story: EmbeddedStory | CloudStory
    if request.param == "cloud":
        story = _cloud(request)
    else:
        driver = str(request.param).removeprefix("embedded-")
        story = EmbeddedStory(settings_for(tmp_path, db_driver=driver))
    yield story
    story.close()


@pytest.fixture
def cloud(request: pytest.FixtureRequest) -> Iterator[CloudStory]:
    """The cloud deployment alone, for the cases only it can express."""
    story = _cloud(request)
    yield story
    story.close()


def _steps_once(d: StoryDeployment, run_id: str) -> dict[int, StepRecord]:
    """The committed steps by index; no step committed (or executed to commit) twice."""
    steps = d.runs.steps(run_id)
    indexes = [s.step_index for s in steps]
    assert len(indexes) == len(set(indexes)), f"a step was committed twice: {indexes}"
    ends = Counter(a.step_index for a in d.runs.attempts(run_id)
                   if a.outcome in ("committed", "suspended"))
    assert all(n == 1 for n in ends.values()), f"a step ended twice: {ends}"
    return {s.step_index: s for s in steps}


# -- 1, 2: the happy paths -----------------------------------------------------------------------


def test_1_happy_path_without_repository(d: StoryDeployment) -> None:
    aec = d.new_ticket(CLEAN)
    run_id = d.start(aec.id)
    final = d.wait_finished(run_id)
    assert final.status == "completed"
    assert final.suspension is None and final.error is None
    ticket = d.ticket(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY
    assert not ticket.locked and ticket.locked_by is None and ticket.error is None
    assert ticket.acceptance_criteria and ticket.repo_paths == []
    assert ticket.generated_by is not None and ticket.generated_by.offline
    gs = ticket.generation_state
    assert gs is not None and gs.status == "completed" and gs.seq >= 11
    assert gs.run_id == run_id and gs.suspension is None
    assert [s.index for s in gs.steps] == list(range(1, 12))
    assert {s.status for s in gs.steps} <= {"done", "skipped"}, gs.steps
    assert gs.steps[3].status == "skipped" and gs.steps[4].status == "skipped"
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert steps[4].status == "skipped" and steps[9].status == "skipped"
    assert steps[5].status == "skipped"
    assert {i: s.status for i, s in steps.items()} == {s.index: s.status for s in gs.steps}
    assert not [a for a in d.runs.attempts(run_id) if a.outcome == "suspended"]
    assert d.runs.actions(run_id) == []


@pytest.mark.parametrize("reply", ["answer", "skip"])
def test_2_happy_path_with_repository(d: StoryDeployment, reply: str) -> None:
    aec = d.new_ticket(QUESTIONS, SAMPLE_REPO)
    run_id = d.start(aec.id)
    asked = d.wait_suspended(run_id, 9)
    waiting = d.ticket(aec.id)
    assert waiting is not None and waiting.status is AECStatus.AWAITING_ANSWERS
    assert waiting.locked and waiting.locked_by == run_id
    assert asked.suspension is not None
    questions = asked.suspension.payload["questions"]
    assert questions
    answer = "under 2 s for 10,000 invoices"
    verdict = (d.act(asked, "answer", {questions[0]["id"]: answer}) if reply == "answer"
               else d.act(asked, "skip"))
    assert verdict.status == "accepted"
    assert d.wait_finished(run_id).status == "completed"
    ticket = d.ticket(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY and not ticket.locked
    assert "web/src/components/InvoiceList.tsx" in ticket.repo_paths
    for path in ticket.repo_paths:
        assert (SAMPLE_REPO / path).is_file(), path
    assert not [f for f in ticket.findings if f.severity is Severity.CRITICAL]
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert steps[5].status == "done" and steps[5].output["indexState"] == "ready"
    if reply == "answer":
        assert ticket.answers == {questions[0]["id"]: answer}
        assert steps[10].status == "done"
        assert ticket.repo_paths == steps[10].output["draft"]["repoPaths"]
    else:
        assert steps[10].status == "skipped" and ticket.answers == {}
    assert d.run(run_id).status == "completed"


# -- 3, 4: the suspensions -----------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["proceed", "edit", "cancel"])
def test_3_suspension_on_critical_findings(d: StoryDeployment, decision: str) -> None:
    aec = d.new_ticket(CRITICAL, SAMPLE_REPO)
    run_id = d.start(aec.id)
    review = d.wait_suspended(run_id, 4)
    waiting = d.ticket(aec.id)
    assert waiting is not None and waiting.status is AECStatus.AWAITING_REVIEW
    assert waiting.locked
    susp = waiting.generation_state.suspension if waiting.generation_state else None
    assert susp is not None and susp.kind == "review"
    assert any("pdf_renderer.py" in f.evidence for f in susp.findings)
    assert any(f.suggestion and "billing/pdf.py" in f.suggestion for f in susp.findings)
    assert review.suspension is not None and susp.token == review.suspension.token
    verdict = d.act(review, decision)
    assert verdict.status == "accepted"
    recorded = d.runs.get_action(aec.id, verdict.action_id)
    assert recorded is not None and recorded.status == "accepted"
    if decision == "proceed":
        asked = d.wait_suspended(run_id, 9)
        assert d.act(asked, "skip").status == "accepted"
        assert d.wait_finished(run_id).status == "completed"
        ticket = d.ticket(aec.id)
        assert ticket is not None and ticket.status is AECStatus.READY
        assert sorted(_steps_once(d, run_id)) == list(range(1, 12))
        # steps 1-3 ran once: resuming never re-ran them
        assert [a.step_index for a in d.runs.attempts(run_id)].count(3) == 1
        return
    final = d.wait_finished(run_id)
    assert final.status == "cancelled"
    assert sorted(_steps_once(d, run_id)) == [1, 2, 3]
    if decision == "cancel":
        assert final.cancel_reason == "deleted"
        assert d.ticket(aec.id) is None
        if isinstance(d, CloudStory):  # cloud only: the page's view of the deletion
            result = d.documents.get_action_result(aec.id, verdict.action_id)
            assert result is not None and result.status == "accepted"  # the doc outlives it
            assert result.run_id == run_id
            gone = d.rest.get(aec.id)
            assert gone.status_code == 404, gone.text  # the page hears the deletion
        return
    assert final.cancel_reason == "edit"
    draft = d.ticket(aec.id)
    assert draft is not None and draft.status is AECStatus.DRAFT
    assert not draft.locked and draft.locked_by is None
    assert (draft.title, draft.description, draft.repo) == \
        (CRITICAL["title"], CRITICAL["description"], d.repo_url(SAMPLE_REPO))
    assert draft.generation_state is not None and \
        draft.generation_state.cancel_reason == "edit"
    # Unlocked: the owner may edit the content again, and start a new run.
    fixed = CRITICAL["description"].replace("billing/pdf_renderer.py", "billing/pdf.py")
    assert d.edit(aec.id, description=fixed).accepted
    edited = d.ticket(aec.id)
    assert edited is not None and edited.description == fixed
    second = d.start(aec.id)
    assert second != run_id
    stopped = d.wait_stopped(second)
    assert stopped.status in ("suspended", "completed") and stopped.step_index >= 4
    again = d.ticket(aec.id)
    assert again is not None and again.generation_state is not None
    assert again.generation_state.run_id == second
    assert again.status is not AECStatus.GENERATING and again.description == fixed
    assert sorted(_steps_once(d, run_id)) == [1, 2, 3]  # the old run stays as it was
    assert sorted(_steps_once(d, second))[:3] == [1, 2, 3]


@pytest.mark.parametrize("mode", ["answer", "skip"])
def test_4_suspension_on_questions(d: StoryDeployment, mode: str) -> None:
    aec = d.new_ticket(QUESTIONS, SAMPLE_REPO)
    run_id = d.start(aec.id)
    asked = d.wait_suspended(run_id, 9)
    waiting = d.ticket(aec.id)
    assert waiting is not None and waiting.status is AECStatus.AWAITING_ANSWERS
    gs = waiting.generation_state
    assert gs is not None and gs.suspension is not None
    questions = gs.suspension.questions
    assert questions and gs.suspension.draft is not None
    assert gs.steps[8].status == "suspended"
    verdict = (d.act(asked, "answer", {questions[0].id: "under 2 s for 10,000 invoices"})
               if mode == "answer" else d.act(asked, "skip"))
    assert verdict.status == "accepted"
    assert d.wait_finished(run_id).status == "completed"
    ticket = d.ticket(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY
    assert ticket.acceptance_criteria and ticket.generation_state is not None
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    if mode == "answer":
        assert steps[10].status == "done"
        assert ticket.answers == {questions[0].id: "under 2 s for 10,000 invoices"}
        assert any("10,000" in c for c in ticket.acceptance_criteria)
        assert ticket.refinements and ticket.refinements[0].question_id == questions[0].id
    else:
        assert steps[10].status == "skipped" and ticket.answers == {}
        assert ticket.refinements == []
        assert ticket.generation_state.steps[9].status == "skipped"
        assert steps[9].output["answers"]["skipped"] is True
        assert ticket.acceptance_criteria == steps[7].output["draft"]["acceptanceCriteria"]


# -- 6: a degraded service --------------------------------------------------------------------


def test_6_index_in_progress_degrades_step_5(d: StoryDeployment) -> None:
    """The repository is being indexed for real: its pack download is held by the git
    server serving it while the ticket's run reaches step 5."""
    url = d.held_repository(SAMPLE_REPO)
    aec = d.new_ticket(CLEAN, url, index=False)
    run_id = d.start(aec.id)
    assert d.wait_finished(run_id).status == "completed"
    ticket = d.ticket(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY
    gs = ticket.generation_state
    assert gs is not None
    step5 = gs.steps[4]
    assert step5.index == 5 and step5.status == "degraded"
    assert "indexing in progress" in step5.detail
    assert not ticket.locked and ticket.acceptance_criteria and ticket.repo_paths == []
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert steps[5].status == "degraded"
    assert steps[5].output["indexState"] in ("pending", "indexing")  # queued or building
    assert ticket.repository is not None and ticket.repository.url == url
    assert ticket.repository.status in ("queued", "indexing")
    assert steps[5].detail == step5.detail


# -- 7, 8: edits during the run and persistence ---------------------------------------------------


def test_7_user_edit_refused_while_locked_allowed_after(d: StoryDeployment) -> None:
    aec = d.new_ticket(QUESTIONS, SAMPLE_REPO)
    run_id = d.start(aec.id)
    refused = d.edit(aec.id, title="changed mid-run")
    assert not refused.accepted
    if d.kind == "embedded":  # the domain's refusal (in the cloud: the rules' 403)
        assert "locked by generation run" in refused.detail
    asked = d.wait_suspended(run_id, 9)
    waiting = d.ticket(aec.id)
    assert waiting is not None and waiting.status is AECStatus.AWAITING_ANSWERS
    assert not d.edit(aec.id, title="changed mid-run").accepted
    assert not d.edit(aec.id, description="overwrite").accepted
    assert d.act(asked, "skip").status == "accepted"
    d.wait_finished(run_id)
    ready = d.ticket(aec.id)
    assert ready is not None and ready.status is AECStatus.READY
    assert (ready.title, ready.description) == (QUESTIONS["title"], QUESTIONS["description"])
    assert ready.acceptance_criteria
    assert d.run(run_id).input["title"] == QUESTIONS["title"]
    assert d.edit(aec.id, title="changed after the run").accepted
    edited = d.ticket(aec.id)
    assert edited is not None and edited.title == "changed after the run"
    assert edited.status is AECStatus.READY and edited.acceptance_criteria == \
        ready.acceptance_criteria
    assert sorted(_steps_once(d, run_id)) == list(range(1, 12))


def test_8_everything_generated_is_persisted(d: StoryDeployment) -> None:
    aec = d.new_ticket(CRITICAL, SAMPLE_REPO)
    run_id = d.start(aec.id)
    review = d.wait_suspended(run_id, 4)
    assert d.act(review, "proceed").status == "accepted"
    asked = d.wait_suspended(run_id, 9)
    assert asked.suspension is not None
    answers = {q["id"]: "Only paid invoices; keep the current template."
               for q in asked.suspension.payload["questions"]}
    assert answers
    assert d.act(asked, "answer", answers).status == "accepted"
    d.wait_finished(run_id)
    out = {s.step_name: s.output for s in _steps_once(d, run_id).values()}
    assert len(out) == 11
    d.restart()  # a fresh process sees the same
    ticket = d.ticket(aec.id)
    assert ticket is not None
    assert ticket.intent is not None
    assert ticket.intent.goal == out["extract_intent"]["intent"]["goal"]
    assert ticket.type is not None
    assert ticket.type.value == out["detect_type"]["detection"]["type"]
    refined = out["refine_draft"]["draft"]
    assert ticket.acceptance_criteria == refined["acceptanceCriteria"]
    assert ticket.assumptions == refined["assumptions"]
    assert ticket.repo_paths == refined["repoPaths"]
    assert [f.id for f in ticket.findings] == [f["id"] for f in out["preflight"]["findings"]]
    assert [q.id for q in ticket.questions] == \
        [q["id"] for q in out["generate_questions"]["questions"]]
    assert ticket.answers == answers
    doc = d.stored_ticket(aec.id)  # the stored document, field by field
    assert doc["status"] == "ready" and doc["locked"] is False
    assert doc["intent"] == out["extract_intent"]["intent"]
    assert doc["type"] == out["detect_type"]["detection"]["type"]
    assert doc["typeConfidence"] == out["detect_type"]["detection"]["confidence"]
    assert doc["acceptanceCriteria"] == refined["acceptanceCriteria"] != []
    assert doc["assumptions"] == refined["assumptions"]
    assert doc["repoPaths"] == refined["repoPaths"] != []
    # step 3's findings, each marked with how it was settled: the critical ones the
    # person proceeded past are acknowledged, the ones the answers settled resolved
    found = {f["id"]: f for f in out["preflight"]["findings"]}
    assert [f["id"] for f in doc["findings"]] == list(found)
    assert all(f["message"] == found[f["id"]]["message"] for f in doc["findings"])
    assert any(f["severity"] == "critical" for f in doc["findings"])
    assert {f["status"] for f in doc["findings"] if f["severity"] == "critical"} == \
        {"acknowledged"}
    assert any(f["status"] == "resolved" for f in doc["findings"]), doc["findings"]
    assert doc["questions"] == out["generate_questions"]["questions"] != []
    assert doc["answers"] == out["ask_questions"]["answers"]["answers"] == answers
    assert doc["refinements"] == out["refine_draft"]["refinements"]
    assert doc["generatedBy"] == out["extract_intent"]["provider"]
    assert out["review_findings"]["decision"] == "proceed"
    if isinstance(d, CloudStory):  # cloud only: the owner reads it through the rules
        mine = d.rest.get(aec.id)
        assert mine.status_code == 200, mine.text
        fields = mine.json()["fields"]
        assert [v["stringValue"] for v in fields["acceptanceCriteria"]["arrayValue"]["values"]] \
            == refined["acceptanceCriteria"]


# -- 9, 10: invalid transitions and a restart mid-run ---------------------------------------------


def test_9_invalid_transitions_are_refused(d: StoryDeployment) -> None:
    aec = d.new_ticket(CRITICAL, SAMPLE_REPO)
    # On the unlocked draft: a status change is refused, a content edit is not.
    refused = d.set_status(aec.id, AECStatus.READY)
    assert not refused.accepted
    if d.kind == "embedded":  # the domain's refusal (in the cloud: the rules' 403)
        assert "from 'draft' to 'ready'" in refused.detail
    if isinstance(d, CloudStory):  # cloud only: no server-written field from a client
        for fields in ({"generationState": {"status": "completed"}}, {"locked": True}):
            resp = d.rest.edit(aec.id, fields)
            assert resp.status_code == 403, (fields, resp.text)
    assert d.edit(aec.id, title=CRITICAL["title"] + " (v2)").accepted
    draft = d.ticket(aec.id)
    assert draft is not None and draft.status is AECStatus.DRAFT
    assert draft.generation_state is None
    run_id = d.start(aec.id)
    review = d.wait_suspended(run_id, 4)
    before = d.ticket(aec.id)
    assert before is not None and before.status is AECStatus.AWAITING_REVIEW
    assert not d.set_status(aec.id, AECStatus.READY).accepted
    if isinstance(d, CloudStory):  # cloud only, as above
        resp = d.rest.edit(aec.id, {"generationState": {"status": "completed"}})
        assert resp.status_code == 403, resp.text
    # An action of the wrong type for the suspension: rejected, the run untouched.
    assert review.suspension is not None
    verdict = d.act(review, "answer", {"q1": "yes"})
    assert verdict.status == "rejected"
    assert verdict.reason == ("'answer' does not answer a findings review "
                              "(use proceed, edit or cancel)")
    recorded = d.runs.get_action(aec.id, verdict.action_id)
    assert recorded is not None and recorded.status == "rejected"
    assert recorded.reason == verdict.reason
    after = d.run(run_id)
    assert (after.status, after.step_index, after.seq) == \
        (review.status, review.step_index, review.seq)
    assert after.suspension is not None and after.suspension.token == review.suspension.token
    assert sorted(_steps_once(d, run_id)) == [1, 2, 3]
    now = d.ticket(aec.id)
    assert now is not None and now.status is AECStatus.AWAITING_REVIEW and now.locked
    assert now.version == before.version and now.title == CRITICAL["title"] + " (v2)"
    assert now.generation_state == before.generation_state
    # Through to ready: a ready ticket does not go back to a review.
    assert d.act(review, "proceed").status == "accepted"
    assert d.act(d.wait_suspended(run_id, 9), "skip").status == "accepted"
    assert d.wait_finished(run_id).status == "completed"
    refused = d.set_status(aec.id, AECStatus.AWAITING_REVIEW)
    assert not refused.accepted
    if d.kind == "embedded":  # the domain's refusal (in the cloud: the rules' 403)
        assert "from 'ready' to 'awaiting_review'" in refused.detail
    ticket = d.ticket(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY


def test_10_resume_after_restart(d: StoryDeployment) -> None:
    """The processes stop at a suspension; new ones finish the run. (A process
    SIGKILLed while a handler runs and a new process resuming the run:
    ``test_outside_kill.py``, on the embedded default and on the emulator suite.)"""
    aec = d.new_ticket(CRITICAL, SAMPLE_REPO)
    run_id = d.start(aec.id)
    review = d.wait_suspended(run_id, 4)
    d.restart()
    assert d.act(review, "proceed").status == "accepted"
    assert d.act(d.wait_suspended(run_id, 9), "skip").status == "accepted"
    assert d.wait_finished(run_id).status == "completed"
    by_outcome: dict[str | None, list[int]] = {}
    for a in d.runs.attempts(run_id):
        by_outcome.setdefault(a.outcome, []).append(a.step_index)
    assert sorted(by_outcome["committed"]) == [1, 2, 3, 5, 6, 7, 8, 10, 11]
    assert sorted(by_outcome["suspended"]) == [4, 9]
    assert set(by_outcome) == {"committed", "suspended"}


# -- cases only the cloud shape can express ------------------------------------------------------


@pytest.mark.emulator
@pytest.mark.slow
def test_5_language_model_down_retries_then_fails_and_unlocks(cloud: CloudStory) -> None:
    """Cloud only: Cloud Tasks retries the step's task with backoff across requests
    (the embedded default's retries are covered by test_claude_workflow.py)."""
    d = CloudDeployment.create(cloud.deployment.stack, "llm-down")
    story = CloudStory(d, cloud.documents, cloud.user)
    port = free_port()
    with FakeMessagesAPI() as api:
        api.enqueue(*[Fault.server_error() if i % 2 else Fault.overloaded()
                      for i in range(60)])
        d.start_functions(
            port=port, name="claude", TICKETFLOW_LLM="claude", ANTHROPIC_API_KEY="test-key",
            TICKETFLOW_LLM_FALLBACK="false",  # the fallback off: the run fails as it did
            TICKETFLOW_LLM_BASE_URL=api.url, TICKETFLOW_LLM_MAX_RETRIES="1",
            TICKETFLOW_LLM_BACKOFF_BASE_S="0.01", TICKETFLOW_LLM_BACKOFF_MAX_S="0.05",
            TICKETFLOW_LLM_TIMEOUT_S="5")
        try:
            aec = story.new_ticket(CLEAN)
            run_id = story.start(aec.id, base=f"http://127.0.0.1:{port}")
            failed = d.wait_run(run_id, lambda r: r.status == "failed", "run failed",
                                timeout_s=120)
            ticket = story.ticket_when(aec.id, "failed", lambda a: a.status is AECStatus.FAILED)
            tries = [a for a in d.runs().attempts(run_id) if a.step_index == 1]
            assert d.runs().steps(run_id) == []
        finally:
            d.close()
        calls = len(api.requests_for("extract_intent"))
    assert failed.error is not None and failed.error.step == 1
    assert failed.error.code == "llm_unavailable"
    assert "unavailable" in failed.error.message
    # The task was retried: every attempt of step 1 made 1 + max_retries calls.
    assert len(tries) >= 2 and calls == 2 * len(tries), (len(tries), calls)
    # What the page sees: failed, unlocked, the error persisted.
    assert not ticket.locked and ticket.locked_by is None
    assert ticket.error is not None and ticket.error.code == "llm_unavailable"
    assert "unavailable" in ticket.error.message and ticket.error.step == 1
    gs = ticket.generation_state
    assert gs is not None and gs.status == "failed" and gs.steps[0].status == "failed"
    assert "unavailable" in gs.steps[0].detail
    # Unlocked for real: the owner's content edit passes the rules.
    assert story.edit(aec.id, title="Reset a forgotten password").accepted


@pytest.mark.emulator
@pytest.mark.slow
def test_5b_language_model_down_falls_back_and_reaches_ready_labelled(
        cloud: CloudStory) -> None:
    """Cloud only: the same outage for the whole run with the offline fallback on (the
    default): every language-model step is produced without AI, the run reaches ready,
    and the ticket the page reads says which steps had no AI."""
    d = CloudDeployment.create(cloud.deployment.stack, "llm-fallback")
    story = CloudStory(d, cloud.documents, cloud.user)
    port = free_port()
    llm_steps = ["extract_intent", "detect_type", "generate_draft", "generate_questions"]
    with FakeMessagesAPI() as api:
        api.enqueue(*[Fault.server_error() if i % 2 else Fault.overloaded()
                      for i in range(100)])
        d.start_functions(
            port=port, name="claude-down", TICKETFLOW_LLM="claude",
            ANTHROPIC_API_KEY="test-key", TICKETFLOW_LLM_BASE_URL=api.url,
            TICKETFLOW_LLM_MAX_RETRIES="1", TICKETFLOW_LLM_BACKOFF_BASE_S="0.01",
            TICKETFLOW_LLM_BACKOFF_MAX_S="0.05", TICKETFLOW_LLM_TIMEOUT_S="5")
        try:
            aec = story.new_ticket(CLEAN)
            run_id = story.start(aec.id, base=f"http://127.0.0.1:{port}")
            ticket = story.ticket_when(
                aec.id, "ready with its run completed",
                lambda a: a.status is AECStatus.READY and a.generation_state is not None
                and a.generation_state.status == "completed")
            run = d.run(run_id)
            outputs = {s.step_name: s.output for s in d.runs().steps(run_id)}
        finally:
            d.close()
        called = [r.tool_name for r in api.requests]
    # the fake saw every language-model step twice (1 call + 1 retry), each one refused
    assert sorted(set(called)) == sorted(llm_steps)
    assert all(called.count(t) == 2 for t in llm_steps), called
    assert api.pending_faults == 100 - len(called)
    # the run store: completed, each of those outputs keeps the fallback and its reason
    assert run.status == "completed" and run.error is None
    for name in llm_steps:
        assert outputs[name]["fallback"]["provider"] == "offline-heuristics"
        assert outputs[name]["fallback"]["reason"].startswith("llm_unavailable")
    assert all(outputs[n].get("fallback") is None for n in outputs if n not in llm_steps)
    # what the page reads in Firestore: ready, unlocked, which steps had no AI
    assert not ticket.locked and ticket.acceptance_criteria
    assert ticket.generated_by is not None and ticket.generated_by.name == "claude"
    assert ticket.fallback_steps == llm_steps
    gs = ticket.generation_state
    assert gs is not None and [s.name for s in gs.steps if s.fallback] == llm_steps
    assert all(FALLBACK_LABEL in s.detail for s in gs.steps if s.fallback)


RACE_REASONS = re.compile(r"another action already resolved this step"
                          r"|run \S+ is (running|cancelled), not waiting for a person"
                          r"|stale or wrong token")


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("delivery", ["trigger", "concurrent"])
def test_10_two_actions_racing_for_one_suspension(cloud: CloudStory, delivery: str) -> None:
    """Cloud only: both documents go through the rules and the trigger; with
    ``concurrent`` each event is also delivered twice more at once (at-least-once
    delivery), so the two actions contend inside the function as well. (The embedded
    default's race is test_delivery_and_actions.py's.)"""
    d = cloud
    aec = d.new_ticket(CRITICAL, SAMPLE_REPO)
    run_id = d.start(aec.id)
    review = d.wait_suspended(run_id, 4)
    proceed, edit = f"act-p-{uuid.uuid4().hex[:8]}", f"act-e-{uuid.uuid4().hex[:8]}"
    writes = [(proceed, d.action_fields(review, "proceed")),
              (edit, d.action_fields(review, "edit"))]
    if delivery == "trigger":  # back to back
        for action_id, fields in writes:
            assert d.rest.write_action(aec.id, fields, action_id)[1].status_code == 200
    else:  # at the same instant; then each delivered twice more at once, straight to
        # the function (at-least-once delivery: duplicates contend with the trigger's)
        barrier = threading.Barrier(len(writes))

        def write(item: tuple[str, dict[str, Any]]) -> int:
            barrier.wait(timeout=10)
            return d.rest.write_action(aec.id, item[1], item[0])[1].status_code

        events = [action_event(fields, aec.id, a) for a, fields in writes] * 2
        again = threading.Barrier(len(events))

        def deliver(event: tuple[bytes, dict[str, str]]) -> int:
            again.wait(timeout=10)
            return d.deployment.post("/on_action_created", content=event[0],
                                     headers=event[1]).status_code

        with ThreadPoolExecutor(len(events)) as pool:
            assert list(pool.map(write, writes)) == [200, 200]
            codes = list(pool.map(deliver, events))
        assert codes == [200] * len(codes), codes
    results = {a: d.verdict(aec.id, a) for a in (proceed, edit)}
    accepted = [a for a, r in results.items() if r.status == "accepted"]
    rejected = [a for a, r in results.items() if r.status == "rejected"]
    assert len(accepted) == 1 and len(rejected) == 1, results
    reason = results[rejected[0]].reason
    assert reason and RACE_REASONS.fullmatch(reason), results
    recorded = {a.action_id: a for a in d.runs.actions(run_id)}
    assert {a: r.status for a, r in recorded.items()} == \
        {a: r.status for a, r in results.items()}
    assert recorded[rejected[0]].reason == reason
    if accepted[0] == proceed:
        d.wait_suspended(run_id, 9)
        ticket = d.ticket(aec.id)
        assert ticket is not None and ticket.status is AECStatus.AWAITING_ANSWERS
        assert ticket.locked and ticket.locked_by == run_id
        steps = _steps_once(d, run_id)
        assert sorted(steps) == [1, 2, 3, 4, 5, 6, 7, 8]
        assert steps[4].output["actionId"] == proceed
    else:
        run = d.wait_finished(run_id)
        assert run.status == "cancelled" and run.cancel_reason == "edit"
        ticket = d.ticket(aec.id)
        assert ticket is not None and ticket.status is AECStatus.DRAFT
        assert not ticket.locked
        assert sorted(_steps_once(d, run_id)) == [1, 2, 3]
