"""Graceful degradation across real processes: the functions under gunicorn, Cloud
Tasks emulator dispatching into run_step, the Firestore emulator holding the ticket,
and the Claude adapter pointed at the local fake Messages API, which refuses every
request for the whole run. The run reaches ``ready`` on the offline fallback, and the
ticket the page reads says which steps were produced without AI.

(The same outage with the fallback turned off fails the run and keeps the error:
``test_cloud_story.py::test_5_language_model_down_retries_then_fails_and_unlocks``.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.cloud_support import (
    CloudStack,
    Deployment,
    document_store,
    running_stack,
    wait_until,
)
from tests.support.embedded import CLEAN

from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.dev.stack import free_port
from ticketflow.domain import AEC, AECStatus
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault
from ticketflow.workflow.llm_call import FALLBACK_LABEL

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

LLM_STEPS = ["extract_intent", "detect_type", "generate_draft", "generate_questions"]


@pytest.fixture(scope="module")
def stack() -> Iterator[CloudStack]:
    with running_stack(PROJECT_ROOT / "test-artifacts" / "llm-fallback-cloud") as s:
        yield s


def test_model_down_for_the_whole_run_reaches_ready_labelled(stack: CloudStack,
                                                              tmp_path: Path) -> None:
    documents = document_store(stack)
    d = Deployment(stack=stack, db_path=tmp_path / "tf.db", queue=f"q-{uuid.uuid4().hex[:8]}")
    d.ensure_queue()
    port = free_port()
    with FakeMessagesAPI() as api:
        api.enqueue(*[Fault.server_error() if i % 2 else Fault.overloaded()
                      for i in range(100)])
        proc = d.start_functions(
            port=port, name="claude-down", TICKETFLOW_LLM="claude",
            ANTHROPIC_API_KEY="test-key", TICKETFLOW_LLM_BASE_URL=api.url,
            TICKETFLOW_LLM_MAX_RETRIES="1", TICKETFLOW_LLM_BACKOFF_BASE_S="0.01",
            TICKETFLOW_LLM_BACKOFF_MAX_S="0.05", TICKETFLOW_LLM_TIMEOUT_S="5")
        try:
            owner, token = stack.auth.sign_in_anonymously()
            aec = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}",
                                           owner_id=owner, **CLEAN))
            resp = d.post("/start_generation", {"aecId": aec.id}, token=token,
                          base=f"http://127.0.0.1:{port}")
            assert resp.status_code == 202, resp.text
            run_id = str(resp.json()["runId"])
            ticket = wait_until(
                lambda: (a if (a := documents.get(aec.id)) and a.status is AECStatus.READY
                         and a.generation_state is not None
                         and a.generation_state.status == "completed" else None),
                120, what=f"ticket {aec.id} ready", logs=stack.logs)
            run = d.run(run_id)
            outputs = {s.step_name: s.output for s in d.runs().steps(run_id)}
        finally:
            proc.stop()
            stack.started.remove(proc)
            d.close()
        called = [r.tool_name for r in api.requests]
    # the fake saw every language-model step, twice each (1 call + 1 retry), all refused
    assert sorted(set(called)) == sorted(LLM_STEPS)
    assert all(called.count(t) == 2 for t in LLM_STEPS), called
    assert api.pending_faults == 100 - len(called)
    # the run store: completed, the fallback and its reason on each of those outputs
    assert run.status == "completed" and run.error is None
    for name in LLM_STEPS:
        fallback = outputs[name]["fallback"]
        assert fallback["provider"] == "offline-heuristics"
        assert fallback["reason"].startswith("llm_unavailable")
    assert all(outputs[n].get("fallback") is None for n in outputs if n not in LLM_STEPS)
    # what the page reads in Firestore: ready, unlocked, and which steps had no AI
    assert not ticket.locked and ticket.acceptance_criteria
    assert ticket.generated_by is not None and ticket.generated_by.name == "claude"
    assert ticket.fallback_steps == LLM_STEPS
    gs = ticket.generation_state
    assert gs is not None
    assert [s.name for s in gs.steps if s.fallback] == LLM_STEPS
    assert all(FALLBACK_LABEL in s.detail for s in gs.steps if s.fallback)
