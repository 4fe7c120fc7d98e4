"""The functions end to end across real processes: functions-framework apps served by
gunicorn (or werkzeug, where a test SIGKILLs them), the Cloud Tasks emulator
dispatching into run_step, the Firestore emulator evaluating firestore.rules and
delivering the action trigger, the Auth emulator issuing ID tokens.

Everything is started by the fixtures; what cannot start FAILS with its log tail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support import running_cloud_stack

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.libsql.metrics import compute_stats, ensure_schema
from ticketflow.dev.emulators import PROJECT_ROOT, free_port
from ticketflow.dev.stack import Stack
from ticketflow.domain import AEC
from ticketflow.testing.cloud import CloudDeployment, document_store
from ticketflow.testing.embedded import CRITICAL  # a review at step 4, questions at 9
from ticketflow.testing.rest import User, action_event, edit_aec, write_action
from ticketflow.testing.waiting import wait_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
SAMPLE_REPO = PROJECT_ROOT / "examples" / "sample-repo"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_cloud_stack("cloud-e2e", tmp_path_factory)


@pytest.fixture(scope="module")
def documents(stack: Stack) -> FirestoreDocumentStore:
    return document_store(stack)


@pytest.fixture
def deployment(stack: Stack) -> Iterator[CloudDeployment]:
    d = CloudDeployment.create(stack, "e2e")
    yield d
    d.close()


def _ticket(documents: FirestoreDocumentStore, owner: str, d: CloudDeployment) -> AEC:
    """A draft naming the sample repository by URL, indexed for ``owner``."""
    url = d.git_url(SAMPLE_REPO)
    d.index_for(owner, url)
    return documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=owner,
                                    repo=url, **CRITICAL))


def _start(d: CloudDeployment, aec_id: str, token: str) -> str:
    resp = d.post("/start_generation", {"aecId": aec_id}, token=token)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["runId"])


def _result(documents: FirestoreDocumentStore, d: CloudDeployment, aec_id: str,
            action_id: str) -> Any:
    return wait_until(lambda: documents.get_action_result(aec_id, action_id), 30,
                      what=f"result on action {action_id}", logs=d.stack.logs)


def _suspended(d: CloudDeployment, run_id: str, step: int) -> Any:
    return d.wait_run(run_id, lambda r: r.status == "suspended" and r.step_index == step,
                      f"run suspended at step {step}")


def _status(documents: FirestoreDocumentStore, aec_id: str, status: str) -> AEC:
    return wait_until(lambda: (a if (a := documents.get(aec_id)) and a.status == status
                               else None), 30, what=f"ticket {aec_id} {status}")


def _steps_once(d: CloudDeployment, run_id: str) -> list[int]:
    indexes = [s.step_index for s in d.runs().steps(run_id)]
    assert len(indexes) == len(set(indexes)), f"a step was committed twice: {indexes}"
    return sorted(indexes)


def test_story_across_processes(stack: Stack, deployment: CloudDeployment,
                                documents: FirestoreDocumentStore) -> None:
    d = deployment
    d.start_functions()
    assert stack.auth is not None and stack.firestore is not None
    owner, token = User.signed_up(stack.auth)
    intruder, intruder_token = User.anonymous(stack.auth)
    aec = _ticket(documents, owner, d)
    run_id = _start(d, aec.id, token)
    waiting = _suspended(d, run_id, 4)
    assert _status(documents, aec.id, "awaiting_review").locked
    review = waiting.suspension.token
    # The same task delivered twice: a no-op.
    for _ in range(2):
        resp = d.post("/run_step", {"runId": run_id, "stepIndex": 3, "epoch": 0}, secret=True)
        assert resp.status_code == 200 and resp.json()["outcome"] == "duplicate"
    # Another user cannot even write the action (rules) ...
    _, denied = write_action(stack.firestore, intruder_token, aec.id,
                             {"type": "proceed", "runId": run_id, "token": review,
                              "uid": intruder})
    assert denied.status_code == 403, denied.text
    # ... and one written around the rules is rejected with its reason on the doc.
    documents.client.collection("aecs").document(aec.id).collection("actions").document(
        "foreign").set({"type": "proceed", "runId": run_id, "token": review, "uid": intruder})
    foreign = _result(documents, d, aec.id, "foreign")
    assert foreign.status == "rejected"
    assert foreign.reason == "only the ticket's owner can act on its generation"
    action_id, resp = write_action(stack.firestore, token, aec.id,
                                   {"type": "proceed", "runId": run_id, "token": review,
                                    "uid": owner})
    assert resp.status_code == 200, resp.text
    assert _result(documents, d, aec.id, action_id).status == "accepted"
    asked = _suspended(d, run_id, 9)
    # The same action event delivered again: same verdict, nothing moves.
    body, headers = action_event({"type": "proceed", "runId": run_id, "token": review,
                                  "uid": owner}, aec.id, action_id)
    resp = d.post("/on_action_created", content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert d.run(run_id).step_index == 9 and d.run(run_id).suspension.token == \
        asked.suspension.token
    questions = asked.suspension.payload["questions"]
    answers = {q["id"]: "Only paid invoices; keep the current template." for q in questions}
    answer_id, resp = write_action(stack.firestore, token, aec.id,
                                   {"type": "answer", "runId": run_id,
                                    "token": asked.suspension.token, "uid": owner,
                                    "answers": answers})
    assert resp.status_code == 200, resp.text
    assert _result(documents, d, aec.id, answer_id).status == "accepted"
    ready = _status(documents, aec.id, "ready")
    assert not ready.locked and ready.acceptance_criteria
    assert d.wait_run(run_id, lambda r: r.status == "completed", "completed").status
    assert _steps_once(d, run_id) == list(range(1, 12))
    # The owner edits the ready ticket straight in Firestore (as the web page does): the
    # update trigger records it; none of the server's own writes above was recorded.
    db = d.db
    ensure_schema(db)

    def edits() -> list[Any]:
        return list(db.execute("SELECT uid, status_before, fields FROM ticket_events").rows)

    assert edits() == []
    assert edit_aec(stack.firestore, intruder_token, aec.id,
                    {"title": "Not mine"}).status_code == 403
    resp = edit_aec(stack.firestore, token, aec.id,
                    {"title": "Fix the PDF download of paid invoices (EU)"})
    assert resp.status_code == 200, resp.text
    rows = wait_until(edits, 30, what="the web edit in ticket_events", logs=stack.logs)
    assert [tuple(r) for r in rows] == [(owner, "ready", "title")]
    assert compute_stats(db)["edit_after_completion"]["edited"] == 1


def _through_review(d: CloudDeployment, stack: Stack, documents: FirestoreDocumentStore,
                    aec: AEC, owner: str, token: str, run_id: str) -> None:
    review = _suspended(d, run_id, 4).suspension.token
    write_action(stack.firestore, token, aec.id,
                 {"type": "proceed", "runId": run_id, "token": review, "uid": owner})
    asked = _suspended(d, run_id, 9).suspension.token
    write_action(stack.firestore, token, aec.id,
                 {"type": "skip", "runId": run_id, "token": asked, "uid": owner})
    _status(documents, aec.id, "ready")
    # step 11 makes the ticket ready, then commits: wait for the commit too
    d.wait_run(run_id, lambda r: r.status == "completed", "run completed")


def test_kill_9_after_execute_then_restart(stack: Stack, deployment: CloudDeployment,
                                      documents: FirestoreDocumentStore) -> None:
    d = deployment
    proc = d.start_functions(server="werkzeug", TICKETFLOW_CRASH_AT="after_execute:2")
    assert stack.auth is not None
    owner, token = User.anonymous(stack.auth)
    aec = _ticket(documents, owner, d)
    run_id = _start(d, aec.id, token)
    wait_until(lambda: not proc.running or None, 30, what="the crash", logs=stack.logs)
    proc.stop()
    assert d.run(run_id).step_index == 2 and _steps_once(d, run_id) == [1]
    d.start_functions(server="werkzeug")  # the queue redelivers step 2: lease taken over
    _through_review(d, stack, documents, aec, owner, token, run_id)
    assert _steps_once(d, run_id) == list(range(1, 12))


def test_crash_between_commit_and_enqueue_then_sweep(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore) -> None:
    d = deployment
    proc = d.start_functions(server="werkzeug", TICKETFLOW_CRASH_AT="after_commit:2")
    assert stack.auth is not None
    owner, token = User.anonymous(stack.auth)
    aec = _ticket(documents, owner, d)
    run_id = _start(d, aec.id, token)
    wait_until(lambda: not proc.running or None, 30, what="the crash", logs=stack.logs)
    proc.stop()
    assert d.run(run_id).step_index == 3 and _steps_once(d, run_id) == [1, 2]
    d.start_functions(server="werkzeug")
    resp = d.post("/sweep", secret=True)
    assert resp.status_code == 200 and resp.json()["redispatched"] >= 1, resp.text
    _through_review(d, stack, documents, aec, owner, token, run_id)
    assert _steps_once(d, run_id) == list(range(1, 12))


def test_firestore_down_during_a_step_retries_then_fails_and_unlocks(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore) -> None:
    d = deployment
    worker_port = free_port()
    # The step worker's Firestore is a dead port; start_generation and sweep are healthy.
    d.start_functions(port=worker_port, name="worker",
                      TICKETFLOW_FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{free_port()}",
                      TICKETFLOW_FIRESTORE_TIMEOUT_S="0.5", TICKETFLOW_STEP_TIMEOUT_S="1",
                      TICKETFLOW_LEASE_GRACE_S="0.2")
    d.start_functions(TICKETFLOW_TASKS_TARGET_URL=f"http://127.0.0.1:{worker_port}/run_step")
    assert stack.auth is not None
    owner, token = User.anonymous(stack.auth)
    aec = _ticket(documents, owner, d)
    run_id = _start(d, aec.id, token)
    failed = d.wait_run(run_id, lambda r: r.status == "failed", "run failed", timeout_s=120)
    # Step 1 re-takes the ticket's lock in Firestore before its handler; every attempt
    # fails there until the step's attempts are exhausted.
    assert failed.error is not None and failed.error.step == 1
    assert failed.error.code in ("attempts_exhausted", "firestore_unavailable")
    resp = d.post("/sweep", secret=True)
    assert resp.status_code == 200, resp.text
    ticket = _status(documents, aec.id, "failed")
    assert not ticket.locked and ticket.error is not None
    assert ticket.error.code == failed.error.code
