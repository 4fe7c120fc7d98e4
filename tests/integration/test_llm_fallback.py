"""Graceful degradation on the embedded default: the Claude adapter against the local
fake Messages API answering 529/503 to every request for the whole run.

With the fallback on (the default) every language-model step is produced by the
offline provider, labelled on the step, the ticket and in ``ticketflow stats``, and the
run reaches ``ready``. With ``llm_fallback`` off the run fails as before, error kept.
The same outage across real processes: ``test_story.py`` (test_5 with the fallback off,
test_5b with it on).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings
from ticketflow.adapters.libsql.metrics import compute_stats
from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.cli.stats import render_text
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AECStatus
from ticketflow.testing.embedded import QUESTIONS, new_ticket, run_to_end, settings_for
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault
from ticketflow.workflow.llm_call import FALLBACK_LABEL

LLM_STEPS = ["extract_intent", "detect_type", "generate_draft", "generate_questions",
             "refine_draft"]


@pytest.fixture
def down() -> Iterator[FakeMessagesAPI]:
    """The fake Messages API, failing every request it gets."""
    with FakeMessagesAPI() as api:
        api.enqueue(*[Fault.overloaded() if i % 2 else Fault.server_error(503)
                      for i in range(200)])
        yield api


def _app(tmp_path: Path, api: FakeMessagesAPI, **settings: object) -> EmbeddedApp:
    model = ClaudeLanguageModel(ClaudeSettings(
        base_url=api.url, api_key="sk-ant-test", timeout_s=5.0, max_retries=1,  # type: ignore[arg-type]
        backoff_base_s=0.01, backoff_max_s=0.05))
    return open_embedded(settings_for(tmp_path, **settings), llm=model)


def test_model_down_for_the_whole_run_falls_back_and_reaches_ready(
        tmp_path: Path, down: FakeMessagesAPI) -> None:
    app = _app(tmp_path, down)
    try:
        aec = new_ticket(app, QUESTIONS)
        run = app.engine.start(aec.id, uid=LOCAL_UID)
        waiting = run_to_end(app, run.run_id)
        assert waiting.status == "suspended" and waiting.step_index == 9
        questions = waiting.suspension.payload["questions"] if waiting.suspension else []
        assert questions, "the offline provider asks about the unmeasurable 'fast'"
        final = run_to_end(app, run.run_id, Reply("answer", {questions[0]["id"]: "2 s"}))
        assert final.status == "completed"
        ticket = app.documents.get(aec.id)
        stats = compute_stats(app.db)
    finally:
        app.close()
    # evidence from outside: every call reached the fake and every one was refused
    called = [r.tool_name for r in down.requests]
    assert sorted(set(called)) == sorted(LLM_STEPS)
    assert all(called.count(t) == 2 for t in LLM_STEPS)  # 1 call + 1 retry, then fallback
    assert down.pending_faults == 200 - len(called)
    # the ticket: ready, unlocked, made by the offline provider for those steps, and says so
    assert ticket is not None and ticket.status is AECStatus.READY and not ticket.locked
    assert ticket.acceptance_criteria
    assert ticket.generated_by is not None and ticket.generated_by.name == "claude"
    assert ticket.fallback_steps == LLM_STEPS
    gs = ticket.generation_state
    assert gs is not None and gs.status == "completed"
    flagged = [s.name for s in gs.steps if s.fallback]
    assert flagged == LLM_STEPS
    for step in gs.steps:
        assert (FALLBACK_LABEL in step.detail) == (step.name in LLM_STEPS), step
    # ticketflow stats counts the fallbacks per step
    per_step = {s["name"]: s["fallbacks"] for s in stats["steps"]}
    assert {n: per_step[n] for n in LLM_STEPS} == dict.fromkeys(LLM_STEPS, 1)
    assert per_step["preflight"] == 0
    assert any("5 step(s) produced by the offline fallback" in line
               for line in render_text(stats))


def test_fallback_off_the_run_fails_with_the_error_kept(
        tmp_path: Path, down: FakeMessagesAPI) -> None:
    app = _app(tmp_path, down, llm_fallback=False)
    try:
        aec = new_ticket(app, QUESTIONS)
        run = app.engine.start(aec.id, uid=LOCAL_UID)
        final = run_to_end(app, run.run_id)
        ticket = app.documents.get(aec.id)
        steps = app.runs.steps(run.run_id)
    finally:
        app.close()
    assert final.status == "failed" and final.error is not None
    assert final.error.step == 1 and final.error.code == "llm_unavailable"
    assert final.error.message.startswith("gave up after 5 attempts: Claude API unavailable")
    assert steps == []
    assert ticket is not None and ticket.status is AECStatus.FAILED and not ticket.locked
    assert ticket.error is not None and ticket.fallback_steps == []
    # the queue retried step 1 until its attempts ran out: 5 attempts x (1 call + 1 retry)
    assert [r.tool_name for r in down.requests] == ["extract_intent"] * 10
