"""The story's test cases end to end across real processes: the functions under gunicorn,
the Cloud Tasks emulator dispatching into run_step, the Firestore emulator evaluating
firestore.rules and delivering the action trigger, the Auth emulator issuing ID tokens.

One functions process, queue and libSQL file serve the whole module (the tickets and
owners are per test); the language-model outage runs its own functions process against
the fake Messages API. Every test asserts on what the page sees (the ticket in
Firestore) and on the run store (libSQL: no step committed twice).

Everything is started by the fixtures; what cannot start FAILS with its log tail.
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.cloud_support import (
    CloudStack,
    Deployment,
    action_event_body,
    document_store,
    rest_value,
    running_stack,
    wait_until,
    write_action,
)
from tests.support.embedded import CLEAN, CRITICAL, QUESTIONS, SAMPLE_REPO

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.dev.emulators import PROJECT_ROOT, FirestoreEmulator
from ticketflow.dev.stack import free_port
from ticketflow.domain import AEC, AECStatus
from ticketflow.ports import ActionResult
from ticketflow.ports.records import RunRecord, StepRecord
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


# -- fixtures: one stack and one deployment for the module ---------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[CloudStack]:
    with running_stack(PROJECT_ROOT / "test-artifacts" / "cloud-story") as s:
        yield s


@pytest.fixture(scope="module")
def documents(stack: CloudStack) -> FirestoreDocumentStore:
    return document_store(stack)


@pytest.fixture(scope="module")
def deployment(stack: CloudStack,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The functions on the trigger port (offline model), the sample repo indexed."""
    d = Deployment(stack=stack, db_path=tmp_path_factory.mktemp("story") / "tf.db",
                   queue=f"q-{uuid.uuid4().hex[:8]}")
    d.ensure_queue()
    with Database(f"file:{d.db_path}") as db:
        status = LibsqlRepoIndex(db).index(str(SAMPLE_REPO))
    assert status.state == "ready", status
    d.start_functions()
    yield d
    for proc in list(stack.started):
        proc.stop()
        stack.started.remove(proc)
    d.close()


# -- helpers ------------------------------------------------------------------------------------


def _ticket(documents: FirestoreDocumentStore, owner: str, request: dict[str, str],
            repo: Path | None = None) -> AEC:
    return documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=owner,
                                    repo=str(repo) if repo else None, **request))


def _start(d: Deployment, aec_id: str, token: str, base: str | None = None) -> str:
    resp = d.post("/start_generation", {"aecId": aec_id}, token=token, base=base)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["runId"])


def _ticket_when(d: Deployment, documents: FirestoreDocumentStore, aec_id: str,
                 what: str, check: Any, timeout_s: float = 60) -> AEC:
    return wait_until(lambda: (a if (a := documents.get(aec_id)) and check(a) else None),
                      timeout_s, what=f"ticket {aec_id} {what}", logs=d.stack.logs)


def _settled_ready(d: Deployment, documents: FirestoreDocumentStore, aec_id: str) -> AEC:
    """Ready, and the last projection (run completed) has landed."""
    return _ticket_when(d, documents, aec_id, "ready with its run completed",
                        lambda a: a.status is AECStatus.READY and a.generation_state
                        is not None and a.generation_state.status == "completed")


def _suspended(d: Deployment, run_id: str, step: int) -> RunRecord:
    return d.wait_run(run_id, lambda r: r.status == "suspended" and r.step_index == step,
                      f"run suspended at step {step}")


def _result(d: Deployment, documents: FirestoreDocumentStore, aec_id: str,
            action_id: str) -> ActionResult:
    return wait_until(lambda: documents.get_action_result(aec_id, action_id), 30,
                      what=f"result on action {action_id}", logs=d.stack.logs)


def _act(stack: CloudStack, token: str, aec_id: str, fields: dict[str, Any]) -> str:
    action_id, resp = write_action(stack.firestore, token, aec_id, fields)
    assert resp.status_code == 200, resp.text
    return action_id


def _steps_once(d: Deployment, run_id: str) -> dict[int, StepRecord]:
    """The committed steps by index; no step committed (or executed to commit) twice."""
    steps = d.runs().steps(run_id)
    indexes = [s.step_index for s in steps]
    assert len(indexes) == len(set(indexes)), f"a step was committed twice: {indexes}"
    ends = Counter(a.step_index for a in d.runs().attempts(run_id)
                   if a.outcome in ("committed", "suspended"))
    assert all(n == 1 for n in ends.values()), f"a step ended twice: {ends}"
    return {s.step_index: s for s in steps}


def _doc_url(fs: FirestoreEmulator, aec_id: str) -> str:
    return (f"{fs.base_url}/v1/projects/{fs.project_id}/databases/(default)/documents"
            f"/aecs/{aec_id}")


def _patch(fs: FirestoreEmulator, token: str, aec_id: str,
           fields: dict[str, Any]) -> httpx.Response:
    """A client update of ``fields`` only (update mask), as the signed-in user."""
    params = [("updateMask.fieldPaths", k) for k in fields]
    params.append(("currentDocument.exists", "true"))
    return httpx.patch(_doc_url(fs, aec_id), params=params,
                       json={"fields": {k: rest_value(v) for k, v in fields.items()}},
                       headers={"Authorization": f"Bearer {token}"}, timeout=10.0)


def _raw(documents: FirestoreDocumentStore, aec_id: str) -> dict[str, Any]:
    snap = documents.client.collection("aecs").document(aec_id).get()
    assert snap.exists, aec_id
    data: dict[str, Any] = snap.to_dict()
    return data


# -- 1, 2: the happy paths -----------------------------------------------------------------------


def test_1_happy_path_without_repository(stack: CloudStack, deployment: Deployment,
                                         documents: FirestoreDocumentStore) -> None:
    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, CLEAN)
    run_id = _start(d, aec.id, token)
    ticket = _settled_ready(d, documents, aec.id)
    assert not ticket.locked and ticket.locked_by is None and ticket.error is None
    assert ticket.acceptance_criteria and ticket.repo_paths == []
    assert ticket.generated_by is not None and ticket.generated_by.offline
    gs = ticket.generation_state
    assert gs is not None and gs.run_id == run_id and gs.suspension is None
    assert [s.index for s in gs.steps] == list(range(1, 12))
    assert {s.status for s in gs.steps} <= {"done", "skipped"}, gs.steps
    assert gs.steps[3].status == "skipped" and gs.steps[4].status == "skipped"
    run = d.wait_run(run_id, lambda r: r.status == "completed", "run completed")
    assert run.suspension is None and run.error is None
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert {i: s.status for i, s in steps.items()} == {i: s.status for i, s in
                                                       zip(range(1, 12), gs.steps, strict=True)}
    assert not [a for a in d.runs().attempts(run_id) if a.outcome == "suspended"]
    assert d.runs().actions(run_id) == []


def test_2_happy_path_with_repository(stack: CloudStack, deployment: Deployment,
                                      documents: FirestoreDocumentStore) -> None:
    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, QUESTIONS, SAMPLE_REPO)
    run_id = _start(d, aec.id, token)
    asked = _suspended(d, run_id, 9)
    waiting = _ticket_when(d, documents, aec.id, "awaiting answers",
                           lambda a: a.status is AECStatus.AWAITING_ANSWERS)
    assert waiting.locked and waiting.locked_by == run_id
    assert asked.suspension is not None
    questions = asked.suspension.payload["questions"]
    assert questions
    answer = "under 2 s for 10,000 invoices"
    action_id = _act(stack, token, aec.id, {
        "type": "answer", "runId": run_id, "token": asked.suspension.token, "uid": owner,
        "answers": {questions[0]["id"]: answer}})
    assert _result(d, documents, aec.id, action_id).status == "accepted"
    ticket = _settled_ready(d, documents, aec.id)
    assert not ticket.locked
    assert "web/src/components/InvoiceList.tsx" in ticket.repo_paths
    for path in ticket.repo_paths:
        assert (SAMPLE_REPO / path).is_file(), path
    assert ticket.answers == {questions[0]["id"]: answer}
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert steps[5].status == "done" and steps[5].output["indexState"] == "ready"
    assert steps[10].status == "done"
    assert ticket.repo_paths == steps[10].output["draft"]["repoPaths"]
    assert d.run(run_id).status == "completed"


# -- 3, 4: the suspensions -----------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["edit", "cancel"])
def test_3_critical_findings_edit_or_cancel(stack: CloudStack, deployment: Deployment,
                                            documents: FirestoreDocumentStore,
                                            decision: str) -> None:
    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, CRITICAL, SAMPLE_REPO)
    run_id = _start(d, aec.id, token)
    review = _suspended(d, run_id, 4)
    waiting = _ticket_when(d, documents, aec.id, "awaiting review",
                           lambda a: a.status is AECStatus.AWAITING_REVIEW)
    susp = waiting.generation_state.suspension if waiting.generation_state else None
    assert waiting.locked and susp is not None and susp.kind == "review"
    assert any("pdf_renderer.py" in f.evidence for f in susp.findings)
    assert review.suspension is not None and susp.token == review.suspension.token
    action_id = _act(stack, token, aec.id, {"type": decision, "runId": run_id,
                                            "token": susp.token, "uid": owner})
    assert _result(d, documents, aec.id, action_id).status == "accepted"
    final = d.wait_run(run_id, lambda r: r.status == "cancelled", "run cancelled")
    assert sorted(_steps_once(d, run_id)) == [1, 2, 3]
    recorded = d.runs().get_action(action_id)
    assert recorded is not None and recorded.status == "accepted"
    if decision == "cancel":
        assert final.cancel_reason == "deleted"
        wait_until(lambda: documents.get(aec.id) is None or None, 30,
                   what="the ticket deleted", logs=stack.logs)
        result = documents.get_action_result(aec.id, action_id)  # the doc outlives it
        assert result is not None and result.status == "accepted" and result.run_id == run_id
        gone = httpx.get(_doc_url(stack.firestore, aec.id),
                         headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
        assert gone.status_code == 404, gone.text  # the page hears the deletion
        return
    assert final.cancel_reason == "edit"
    draft = _ticket_when(d, documents, aec.id, "back to draft",
                         lambda a: a.status is AECStatus.DRAFT)
    assert not draft.locked and draft.locked_by is None
    assert (draft.title, draft.description, draft.repo) == \
        (CRITICAL["title"], CRITICAL["description"], str(SAMPLE_REPO))
    assert draft.generation_state is not None and \
        draft.generation_state.cancel_reason == "edit"
    # Unlocked: the owner may edit the content again, and start a new run.
    fixed = CRITICAL["description"].replace("billing/pdf_renderer.py", "billing/pdf.py")
    resp = _patch(stack.firestore, token, aec.id, {"description": fixed})
    assert resp.status_code == 200, resp.text
    second = _start(d, aec.id, token)
    assert second != run_id
    assert d.wait_run(second, lambda r: r.status in ("suspended", "completed"),
                      "the new run to get past step 3").step_index >= 4
    again = _ticket_when(d, documents, aec.id, "showing the new run",
                         lambda a: a.generation_state is not None
                         and a.generation_state.run_id == second
                         and a.status is not AECStatus.GENERATING)
    assert again.description == fixed
    assert sorted(_steps_once(d, run_id)) == [1, 2, 3]  # the old run stays as it was
    assert sorted(_steps_once(d, second))[:3] == [1, 2, 3]


def test_4_questions_skip(stack: CloudStack, deployment: Deployment,
                          documents: FirestoreDocumentStore) -> None:
    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, QUESTIONS, SAMPLE_REPO)
    run_id = _start(d, aec.id, token)
    asked = _suspended(d, run_id, 9)
    waiting = _ticket_when(d, documents, aec.id, "awaiting answers",
                           lambda a: a.status is AECStatus.AWAITING_ANSWERS)
    gs = waiting.generation_state
    assert gs is not None and gs.suspension is not None and gs.suspension.questions
    assert gs.suspension.draft is not None and gs.steps[8].status == "suspended"
    assert asked.suspension is not None
    action_id = _act(stack, token, aec.id, {"type": "skip", "runId": run_id,
                                            "token": asked.suspension.token, "uid": owner})
    assert _result(d, documents, aec.id, action_id).status == "accepted"
    ticket = _settled_ready(d, documents, aec.id)
    assert ticket.answers == {} and ticket.refinements == [] and ticket.acceptance_criteria
    assert ticket.generation_state is not None
    assert ticket.generation_state.steps[9].status == "skipped"
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert steps[9].output["answers"]["skipped"] is True
    assert steps[10].status == "skipped"
    assert ticket.acceptance_criteria == steps[7].output["draft"]["acceptanceCriteria"]


# -- 5, 6: degraded services ---------------------------------------------------------------


def test_5_language_model_down_retries_then_fails_and_unlocks(
        stack: CloudStack, documents: FirestoreDocumentStore, tmp_path: Path) -> None:
    d = Deployment(stack=stack, db_path=tmp_path / "tf.db", queue=f"q-{uuid.uuid4().hex[:8]}")
    d.ensure_queue()
    port = free_port()
    with FakeMessagesAPI() as api:
        api.enqueue(*[Fault.server_error() if i % 2 else Fault.overloaded()
                      for i in range(60)])
        proc = d.start_functions(
            port=port, name="claude", TICKETFLOW_LLM="claude", ANTHROPIC_API_KEY="test-key",
            TICKETFLOW_LLM_BASE_URL=api.url, TICKETFLOW_LLM_MAX_RETRIES="1",
            TICKETFLOW_LLM_BACKOFF_BASE_S="0.01", TICKETFLOW_LLM_BACKOFF_MAX_S="0.05",
            TICKETFLOW_LLM_TIMEOUT_S="5")
        try:
            owner, token = stack.auth.sign_in_anonymously()
            aec = _ticket(documents, owner, CLEAN)
            run_id = _start(d, aec.id, token, base=f"http://127.0.0.1:{port}")
            failed = d.wait_run(run_id, lambda r: r.status == "failed", "run failed",
                                timeout_s=120)
            ticket = _ticket_when(d, documents, aec.id, "failed",
                                  lambda a: a.status is AECStatus.FAILED)
            tries = [a for a in d.runs().attempts(run_id) if a.step_index == 1]
            assert d.runs().steps(run_id) == []
        finally:
            proc.stop()
            stack.started.remove(proc)
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
    resp = _patch(stack.firestore, token, aec.id, {"title": "Reset a forgotten password"})
    assert resp.status_code == 200, resp.text


def test_6_index_in_progress_degrades_step_5(stack: CloudStack, deployment: Deployment,
                                             documents: FirestoreDocumentStore,
                                             tmp_path: Path) -> None:
    d = deployment
    repo = tmp_path / "sample-repo"
    shutil.copytree(SAMPLE_REPO, repo)
    d.runs()
    assert d.db is not None
    index = LibsqlRepoIndex(d.db)
    index.index(str(repo))
    assert index.mark(str(repo), "indexing").state == "indexing"
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, CLEAN, repo)
    run_id = _start(d, aec.id, token)
    ticket = _settled_ready(d, documents, aec.id)
    gs = ticket.generation_state
    assert gs is not None
    step5 = gs.steps[4]
    assert step5.index == 5 and step5.status == "degraded"
    assert "indexing in progress" in step5.detail
    assert not ticket.locked and ticket.acceptance_criteria and ticket.repo_paths == []
    steps = _steps_once(d, run_id)
    assert sorted(steps) == list(range(1, 12))
    assert steps[5].status == "degraded" and steps[5].output["indexState"] == "indexing"
    assert steps[5].detail == step5.detail
    assert d.run(run_id).status == "completed"


# -- 7, 8: edits during the run and persistence ---------------------------------------------------


def test_7_user_edit_refused_while_locked_allowed_after(
        stack: CloudStack, deployment: Deployment, documents: FirestoreDocumentStore) -> None:
    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, QUESTIONS, SAMPLE_REPO)
    run_id = _start(d, aec.id, token)
    asked = _suspended(d, run_id, 9)
    _ticket_when(d, documents, aec.id, "awaiting answers",
                 lambda a: a.status is AECStatus.AWAITING_ANSWERS)
    denied = _patch(stack.firestore, token, aec.id, {"title": "changed mid-run"})
    assert denied.status_code == 403, denied.text
    denied = _patch(stack.firestore, token, aec.id, {"description": "overwrite"})
    assert denied.status_code == 403, denied.text
    assert asked.suspension is not None
    _act(stack, token, aec.id, {"type": "skip", "runId": run_id,
                                "token": asked.suspension.token, "uid": owner})
    ready = _settled_ready(d, documents, aec.id)
    assert (ready.title, ready.description) == (QUESTIONS["title"], QUESTIONS["description"])
    assert d.run(run_id).input["title"] == QUESTIONS["title"]
    allowed = _patch(stack.firestore, token, aec.id, {"title": "changed after the run"})
    assert allowed.status_code == 200, allowed.text
    edited = documents.get(aec.id)
    assert edited is not None and edited.title == "changed after the run"
    assert edited.status is AECStatus.READY and edited.acceptance_criteria == \
        ready.acceptance_criteria
    assert sorted(_steps_once(d, run_id)) == list(range(1, 12))


def test_8_everything_generated_is_persisted(stack: CloudStack, deployment: Deployment,
                                             documents: FirestoreDocumentStore) -> None:
    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, CRITICAL, SAMPLE_REPO)
    run_id = _start(d, aec.id, token)
    review = _suspended(d, run_id, 4)
    assert review.suspension is not None
    _act(stack, token, aec.id, {"type": "proceed", "runId": run_id,
                                "token": review.suspension.token, "uid": owner})
    asked = _suspended(d, run_id, 9)
    assert asked.suspension is not None
    answers = {q["id"]: "Only paid invoices; keep the current template."
               for q in asked.suspension.payload["questions"]}
    assert answers
    _act(stack, token, aec.id, {"type": "answer", "runId": run_id,
                                "token": asked.suspension.token, "uid": owner,
                                "answers": answers})
    _settled_ready(d, documents, aec.id)
    out = {s.step_name: s.output for s in _steps_once(d, run_id).values()}
    assert len(out) == 11
    doc = _raw(documents, aec.id)  # the document the page reads, field by field
    assert doc["status"] == "ready" and doc["locked"] is False
    assert doc["intent"] == out["extract_intent"]["intent"]
    assert doc["type"] == out["detect_type"]["detection"]["type"]
    assert doc["typeConfidence"] == out["detect_type"]["detection"]["confidence"]
    refined = out["refine_draft"]["draft"]
    assert doc["acceptanceCriteria"] == refined["acceptanceCriteria"] != []
    assert doc["assumptions"] == refined["assumptions"]
    assert doc["repoPaths"] == refined["repoPaths"] != []
    assert doc["findings"] == out["preflight"]["findings"]
    assert any(f["severity"] == "critical" for f in doc["findings"])
    assert doc["questions"] == out["generate_questions"]["questions"] != []
    assert doc["answers"] == out["ask_questions"]["answers"]["answers"] == answers
    assert doc["refinements"] == out["refine_draft"]["refinements"]
    assert doc["generatedBy"] == out["extract_intent"]["provider"]
    assert out["review_findings"]["decision"] == "proceed"
    # The owner reads the same document through the rules.
    mine = httpx.get(_doc_url(stack.firestore, aec.id),
                     headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
    assert mine.status_code == 200, mine.text
    fields = mine.json()["fields"]
    assert [v["stringValue"] for v in fields["acceptanceCriteria"]["arrayValue"]["values"]] \
        == refined["acceptanceCriteria"]


# -- 9, 10: invalid transitions and racing actions ---------------------------------------------


def test_9_invalid_transitions_are_refused(stack: CloudStack, deployment: Deployment,
                                           documents: FirestoreDocumentStore) -> None:
    d = deployment
    fs = stack.firestore
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, CRITICAL, SAMPLE_REPO)
    # On the unlocked draft: server-written fields are refused, content is not.
    for fields in ({"status": "ready"}, {"generationState": {"status": "completed"}},
                   {"locked": True}):
        resp = _patch(fs, token, aec.id, fields)
        assert resp.status_code == 403, (fields, resp.text)
    resp = _patch(fs, token, aec.id, {"title": CRITICAL["title"] + " (v2)"})
    assert resp.status_code == 200, resp.text
    draft = documents.get(aec.id)
    assert draft is not None and draft.status is AECStatus.DRAFT
    assert draft.generation_state is None
    run_id = _start(d, aec.id, token)
    review = _suspended(d, run_id, 4)
    before = _ticket_when(d, documents, aec.id, "awaiting review",
                          lambda a: a.status is AECStatus.AWAITING_REVIEW)
    for fields in ({"status": "ready"}, {"generationState": {"status": "completed"}}):
        resp = _patch(fs, token, aec.id, fields)
        assert resp.status_code == 403, (fields, resp.text)
    # An action of the wrong type for the suspension: rejected, the run untouched.
    assert review.suspension is not None
    action_id = _act(stack, token, aec.id, {"type": "answer", "runId": run_id,
                                            "token": review.suspension.token, "uid": owner,
                                            "answers": {"q1": "yes"}})
    result = _result(d, documents, aec.id, action_id)
    assert result.status == "rejected"
    assert result.reason == ("'answer' does not answer a findings review "
                             "(use proceed, edit or cancel)")
    recorded = d.runs().get_action(action_id)
    assert recorded is not None and recorded.status == "rejected"
    assert recorded.reason == result.reason
    after = d.run(run_id)
    assert (after.status, after.step_index, after.seq) == \
        (review.status, review.step_index, review.seq)
    assert after.suspension is not None and after.suspension.token == review.suspension.token
    assert sorted(_steps_once(d, run_id)) == [1, 2, 3]
    now = documents.get(aec.id)
    assert now is not None and now.status is AECStatus.AWAITING_REVIEW and now.locked
    assert now.version == before.version and now.title == CRITICAL["title"] + " (v2)"
    assert now.generation_state == before.generation_state


def _deliver(d: Deployment, body: bytes, barrier: threading.Barrier) -> int:
    """One delivery of an action-created event, straight to the function."""
    barrier.wait(timeout=10)
    resp = httpx.post(f"{d.url}/on_action_created", content=body, timeout=30, headers={
        "ce-specversion": "1.0", "ce-id": uuid.uuid4().hex, "ce-source": "//test",
        "ce-type": "google.cloud.firestore.document.v1.created",
        "Content-Type": "application/protobuf"})
    return resp.status_code


RACE_REASONS = re.compile(r"another action already resolved this step"
                          r"|run \S+ is (running|cancelled), not waiting for a person"
                          r"|stale or wrong token")


@pytest.mark.parametrize("delivery", ["trigger", "concurrent"])
def test_10_two_actions_racing_for_one_suspension(stack: CloudStack, deployment: Deployment,
                                                  documents: FirestoreDocumentStore,
                                                  delivery: str) -> None:
    """Both documents go through the rules and the trigger; with ``concurrent`` each
    event is also delivered twice more at once (at-least-once delivery), so the two
    actions contend inside the function as well."""

    d = deployment
    owner, token = stack.auth.sign_in_anonymously()
    aec = _ticket(documents, owner, CRITICAL, SAMPLE_REPO)
    run_id = _start(d, aec.id, token)
    review = _suspended(d, run_id, 4)
    assert review.suspension is not None
    common = {"runId": run_id, "token": review.suspension.token, "uid": owner}
    proceed, edit = f"act-p-{uuid.uuid4().hex[:8]}", f"act-e-{uuid.uuid4().hex[:8]}"
    writes = [(proceed, {"type": "proceed", **common}), (edit, {"type": "edit", **common})]
    if delivery == "trigger":  # back to back
        for action_id, fields in writes:
            assert write_action(stack.firestore, token, aec.id, fields, action_id)[1] \
                .status_code == 200
    else:  # at the same instant; then each delivered twice more at once, straight to
        # the function (at-least-once delivery: duplicates contend with the trigger's)
        barrier = threading.Barrier(len(writes))

        def write(item: tuple[str, dict[str, Any]]) -> int:
            barrier.wait(timeout=10)
            return write_action(stack.firestore, token, aec.id, item[1], item[0])[1] \
                .status_code

        bodies = [action_event_body(fields, aec.id, a) for a, fields in writes] * 2
        again = threading.Barrier(len(bodies))
        with ThreadPoolExecutor(len(bodies)) as pool:
            assert list(pool.map(write, writes)) == [200, 200]
            codes = list(pool.map(lambda b: _deliver(d, b, again), bodies))
        assert codes == [200] * len(codes), codes
    results = {a: _result(d, documents, aec.id, a) for a in (proceed, edit)}
    accepted = [a for a, r in results.items() if r.status == "accepted"]
    rejected = [a for a, r in results.items() if r.status == "rejected"]
    assert len(accepted) == 1 and len(rejected) == 1, results
    reason = results[rejected[0]].reason
    assert reason and RACE_REASONS.fullmatch(reason), results
    recorded = {a.action_id: a for a in d.runs().actions(run_id)}
    assert {a: r.status for a, r in recorded.items()} == \
        {a: r.status for a, r in results.items()}
    assert recorded[rejected[0]].reason == reason
    if accepted[0] == proceed:
        _suspended(d, run_id, 9)
        ticket = _ticket_when(d, documents, aec.id, "awaiting answers",
                              lambda a: a.status is AECStatus.AWAITING_ANSWERS)
        assert ticket.locked and ticket.locked_by == run_id
        steps = _steps_once(d, run_id)
        assert sorted(steps) == [1, 2, 3, 4, 5, 6, 7, 8]
        assert steps[4].output["actionId"] == proceed
    else:
        run = d.wait_run(run_id, lambda r: r.status == "cancelled", "run cancelled")
        assert run.cancel_reason == "edit"
        ticket = _ticket_when(d, documents, aec.id, "back to draft",
                              lambda a: a.status is AECStatus.DRAFT)
        assert not ticket.locked
        assert sorted(_steps_once(d, run_id)) == [1, 2, 3]
