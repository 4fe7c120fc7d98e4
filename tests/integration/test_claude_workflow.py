"""The whole workflow on the embedded default with the Claude adapter, against the
local fake Messages API (recorded responses, scripted faults, small retry settings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings
from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AECStatus
from ticketflow.testing.embedded import QUESTIONS, new_ticket, run_to_end, settings_for
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


def claude_app(tmp_path: Path, api: FakeMessagesAPI, *, fallback: bool = False,
               **llm: object) -> EmbeddedApp:
    """The Claude adapter on the fake; the offline fallback off unless asked for, so a
    failing model fails the run (the fallback itself: test_llm_fallback.py)."""
    options: dict[str, object] = {"base_url": api.url, "api_key": "sk-ant-test",
                                  "timeout_s": 5.0, "max_retries": 1, "backoff_base_s": 0.01,
                                  "backoff_max_s": 0.05}
    options.update(llm)
    model = ClaudeLanguageModel(ClaudeSettings(**options))  # type: ignore[arg-type]
    return open_embedded(settings_for(tmp_path, llm_fallback=fallback), llm=model)


@pytest.fixture
def app(tmp_path: Path, api: FakeMessagesAPI) -> Iterator[EmbeddedApp]:
    application = claude_app(tmp_path, api)
    yield application
    application.close()


def test_happy_run_with_claude(app: EmbeddedApp, api: FakeMessagesAPI) -> None:
    aec = new_ticket(app, QUESTIONS)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    waiting = run_to_end(app, run.run_id)
    assert waiting.status == "suspended" and waiting.step_index == 9
    final = run_to_end(app, run.run_id, Reply("answer", {"q1": "Only issued and paid"}))
    assert final.status == "completed"
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY and not ticket.locked
    assert ticket.generated_by is not None and ticket.generated_by.name == "claude"
    assert ticket.intent is not None and ticket.intent.goal.startswith("Let account admins")
    assert ticket.acceptance_criteria
    assert ticket.repo_paths == []  # no repository: paths of the recorded answer are dropped
    assert [r.question_id for r in ticket.refinements] == ["q1", "q2", "q3"]
    called = [r.tool_name for r in api.requests]
    assert called == ["extract_intent", "detect_type", "generate_draft", "generate_questions",
                      "refine_draft"]


def test_rate_limited_then_success(app: EmbeddedApp, api: FakeMessagesAPI) -> None:
    api.enqueue(Fault.rate_limited(retry_after=0))
    aec = new_ticket(app, QUESTIONS)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id, Reply("skip"))
    assert final.status == "completed"
    assert len(api.requests_for("extract_intent")) == 2
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY


def test_malformed_output_twice_fails_the_run_and_unlocks(app: EmbeddedApp,
                                                          api: FakeMessagesAPI) -> None:
    api.enqueue(Fault.malformed(), Fault.malformed())
    aec = new_ticket(app, QUESTIONS)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id)
    assert final.status == "failed"
    assert final.error is not None and final.error.code == "llm_malformed_output"
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.FAILED and not ticket.locked
    assert ticket.error is not None and ticket.error.code == "llm_malformed_output"
    assert "extract_intent" in ticket.error.message and ticket.error.step == 1
    assert len(api.requests_for("extract_intent")) == 2  # one corrective retry, no more


def test_timeouts_are_retried_then_fail_with_a_clear_error(tmp_path: Path,
                                                            api: FakeMessagesAPI) -> None:
    application = claude_app(tmp_path, api, timeout_s=0.2, max_retries=1)
    try:
        api.enqueue(*[Fault.hang(2.0) for _ in range(20)])
        aec = new_ticket(application, QUESTIONS)
        run = application.engine.start(aec.id, uid=LOCAL_UID)
        final = run_to_end(application, run.run_id)
        assert final.status == "failed"
        ticket = application.documents.get(aec.id)
        assert ticket is not None and ticket.status is AECStatus.FAILED and not ticket.locked
        assert ticket.error is not None and ticket.error.code == "llm_timeout"
        assert ticket.error.step == 1 and ticket.error.message
        # retried in the adapter and by the queue before giving up
        assert len(api.requests_for("extract_intent")) > 2
    finally:
        application.close()


def test_changing_answers_after_ready_calls_the_model_for_the_refinement_only(
        app: EmbeddedApp, api: FakeMessagesAPI) -> None:
    """A ready ticket's answers change: the new run starts at step 10, pinned to the
    first run's recorded outputs of steps 1-9. The fake Messages API's request log (the
    evidence from outside) shows one more request, refine_draft, and nothing else."""
    aec = new_ticket(app, QUESTIONS)
    first = app.engine.start(aec.id, uid=LOCAL_UID)
    run_to_end(app, first.run_id, Reply("answer", {"q1": "Only issued and paid"}))
    before = [r.tool_name for r in api.requests]
    assert before == ["extract_intent", "detect_type", "generate_draft",
                      "generate_questions", "refine_draft"]

    again = app.engine.start_from(aec.id, uid=LOCAL_UID,
                                  answers={"q1": "Issued, paid and overdue"})
    assert again.step_index == 10 and again.workflow_version == first.workflow_version
    final = run_to_end(app, again.run_id)
    assert final.status == "completed"
    assert [r.tool_name for r in api.requests][len(before):] == ["refine_draft"]
    assert "Issued, paid and overdue" in api.requests_for("refine_draft")[-1].text()

    old_steps = {s.step_index: s for s in app.runs.steps(first.run_id)}
    new_steps = {s.step_index: s for s in app.runs.steps(again.run_id)}
    assert sorted(new_steps) == list(range(1, 12))
    for i in range(1, 9):  # pinned: the same outputs, never executed in the new run
        assert new_steps[i].output == old_steps[i].output and new_steps[i].attempts == 0
    assert new_steps[9].output["answers"]["answers"] == {"q1": "Issued, paid and overdue"}
    assert {a.step_index for a in app.runs.attempts(again.run_id)} == {10, 11}
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY and not ticket.locked
    assert ticket.answers == {"q1": "Issued, paid and overdue"}
    assert ticket.generation_state is not None
    assert ticket.generation_state.run_id == again.run_id
