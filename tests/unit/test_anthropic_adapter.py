"""The Claude adapter through the real ``anthropic`` SDK against the local fake API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from ticketflow.adapters.claude import (
    DEFAULT_MODEL,
    ClaudeLanguageModel,
    ClaudeSettings,
    UsageRecord,
    load_prompt,
)
from ticketflow.domain import (
    Draft,
    Intent,
    TicketType,
    TypeDetection,
)
from ticketflow.domain.errors import RetryableError, TerminalError
from ticketflow.observability.tracing import StepScope, current_step
from ticketflow.ports import LLMTask
from ticketflow.ports.llm import (
    DETECT_TYPE,
    EXTRACT_CLAIMS,
    EXTRACT_INTENT,
    GENERATE_DRAFT,
    GENERATE_QUESTIONS,
    REFINE_DRAFT,
    TASKS,
    Claims,
    Questions,
    Refined,
)
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault
from ticketflow.testing.llm_payloads import KNOWN_PATHS, PAYLOADS, REQUEST

EXPECTED_OUTPUT: dict[str, type[BaseModel]] = {
    "extract_intent": Intent, "detect_type": TypeDetection, "extract_claims": Claims,
    "generate_draft": Draft,
    "generate_questions": Questions, "refine_draft": Refined,
}


class Harness:
    """An adapter wired to the fake, with recorded sleeps and usage."""

    def __init__(self, api: FakeMessagesAPI, **settings: Any) -> None:
        self.api = api
        self.sleeps: list[float] = []
        self.records: list[UsageRecord] = []
        options: dict[str, Any] = {"base_url": api.url, "api_key": "sk-ant-test",
                                   "timeout_s": 5.0, "max_retries": 3}
        options.update(settings)
        self.llm = ClaudeLanguageModel(ClaudeSettings(**options),
                                       on_usage=self.records.append, sleep=self.sleeps.append)

    def run(self, task: LLMTask = EXTRACT_INTENT) -> BaseModel:
        return self.llm.generate(task, PAYLOADS[task.name], task.output)


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


@pytest.fixture
def harness(api: FakeMessagesAPI) -> Harness:
    return Harness(api)


# -- happy path -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_task_parses_into_its_output_model(harness: Harness, name: str) -> None:
    task = TASKS[name]
    result = harness.run(task)
    assert type(result) is EXPECTED_OUTPUT[name]
    (request,) = harness.api.requests
    assert request.tool_name == name
    assert request.body["tool_choice"] == {"type": "tool", "name": name}
    (tool,) = request.body["tools"]
    assert tool["name"] == name
    assert tool["input_schema"] == task.output.model_json_schema()
    assert request.body["model"] == DEFAULT_MODEL
    assert request.body["max_tokens"] == task.max_tokens
    assert request.system_blocks[0]["text"] == load_prompt(name)
    assert harness.sleeps == []


def test_parsed_values_come_from_the_tool_input(harness: Harness) -> None:
    intent = harness.run(EXTRACT_INTENT)
    assert isinstance(intent, Intent)
    assert intent.goal.startswith("Let account admins export")
    assert "PDF export" in intent.out_of_scope
    detection = harness.run(DETECT_TYPE)
    assert isinstance(detection, TypeDetection) and detection.type is TicketType.FEATURE
    refined = harness.run(REFINE_DRAFT)
    assert isinstance(refined, Refined)
    assert [r.question_id for r in refined.refinements] == ["q1", "q2", "q3"]


def test_provider_identifies_claude(harness: Harness) -> None:
    assert harness.llm.provider.name == "claude"
    assert harness.llm.provider.offline is False
    assert harness.llm.provider.model == DEFAULT_MODEL


def test_sdk_retries_are_disabled_and_api_key_is_sent(harness: Harness) -> None:
    harness.api.enqueue(Fault.server_error())
    with pytest.raises(RetryableError):
        Harness(harness.api, max_retries=0).run()
    (request,) = harness.api.requests
    headers = request.headers
    assert (headers.get("x-api-key") == "sk-ant-test"
            or headers.get("authorization") == "Bearer sk-ant-test")


# -- prompt caching ---------------------------------------------------------------------


def test_repository_context_is_a_cached_system_block(harness: Harness) -> None:
    harness.run(GENERATE_DRAFT)
    (request,) = harness.api.requests
    prompt, context = request.system_blocks
    assert "cache_control" not in prompt
    assert context["cache_control"] == {"type": "ephemeral"}
    for path in KNOWN_PATHS:
        assert path in context["text"]
    assert "/api/billing/invoices" in context["text"]
    assert "def list_invoices" in context["text"]
    user_text = request.messages[0]["content"][0]["text"]
    assert "knownPaths" not in user_text and "repoFiles" not in user_text
    assert "Export invoices as CSV" in user_text


def test_system_prompt_is_cached_when_there_is_no_context(harness: Harness) -> None:
    harness.run(GENERATE_QUESTIONS)
    (request,) = harness.api.requests
    (prompt,) = request.system_blocks
    assert prompt["cache_control"] == {"type": "ephemeral"}


# -- transient failures -------------------------------------------------------------------


def test_rate_limit_then_success_honours_retry_after(harness: Harness) -> None:
    harness.api.enqueue(Fault.rate_limited(retry_after=7))
    assert isinstance(harness.run(), Intent)
    assert harness.sleeps == [7.0]
    assert len(harness.api.requests) == 2
    assert harness.records[-1].attempts == 2 and harness.records[-1].outcome == "ok"


@pytest.mark.parametrize("fault", [Fault.overloaded(), Fault.server_error(500),
                                   Fault.server_error(503)], ids=["529", "500", "503"])
def test_overloaded_and_server_errors_are_retried(harness: Harness, fault: Fault) -> None:
    harness.api.enqueue(fault, fault)
    assert isinstance(harness.run(DETECT_TYPE), TypeDetection)
    assert len(harness.api.requests) == 3
    assert len(harness.sleeps) == 2
    # exponential backoff with jitter in [50%, 100%] of 1s, then of 2s
    assert 0.5 <= harness.sleeps[0] <= 1.0
    assert 1.0 <= harness.sleeps[1] <= 2.0


def test_retries_exhausted_raise_retryable(harness: Harness) -> None:
    harness.api.enqueue(*[Fault.overloaded()] * 4)
    with pytest.raises(RetryableError) as caught:
        harness.run()
    assert caught.value.code == "llm_unavailable"
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 0
    assert len(harness.api.requests) == 4  # first attempt + max_retries=3
    assert len(harness.sleeps) == 3
    assert harness.records[-1].outcome == "unavailable"
    assert harness.records[-1].attempts == 4


def test_rate_limit_exhausted_is_rate_limited_with_retry_after(harness: Harness) -> None:
    harness.api.enqueue(*[Fault.rate_limited(retry_after=2)] * 4)
    with pytest.raises(RetryableError) as caught:
        harness.run()
    assert caught.value.code == "llm_rate_limited"
    assert caught.value.retry_after_s == 2.0
    assert harness.sleeps == [2.0, 2.0, 2.0]


def test_long_retry_after_goes_back_to_the_queue(harness: Harness) -> None:
    harness.api.enqueue(Fault.rate_limited(retry_after=600))
    with pytest.raises(RetryableError) as caught:
        harness.run()
    assert caught.value.code == "llm_rate_limited"
    assert caught.value.retry_after_s == 600.0
    assert harness.sleeps == [] and len(harness.api.requests) == 1


def test_timeout_is_retried_then_retryable(api: FakeMessagesAPI) -> None:
    harness = Harness(api, timeout_s=0.5, max_retries=1)
    api.enqueue(Fault.hang(5), Fault.hang(5))
    with pytest.raises(RetryableError) as caught:
        harness.run()
    assert caught.value.code == "llm_timeout"
    assert len(api.requests) == 2
    assert len(harness.sleeps) == 1
    assert harness.records[-1].outcome == "timeout"


def test_timeout_then_success(api: FakeMessagesAPI) -> None:
    harness = Harness(api, timeout_s=0.5)
    api.enqueue(Fault.hang(5))
    assert isinstance(harness.run(), Intent)
    assert len(api.requests) == 2


def test_connection_refused_is_unavailable(api: FakeMessagesAPI) -> None:
    harness = Harness(api, max_retries=1)
    api.stop()
    with pytest.raises(RetryableError) as caught:
        harness.run()
    assert caught.value.code == "llm_unavailable"
    assert len(harness.sleeps) == 1


# -- terminal failures ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_terminal_with_the_api_message(harness: Harness,
                                                         status: int) -> None:
    harness.api.enqueue(Fault.error(status, f"the api says no ({status})"))
    with pytest.raises(TerminalError) as caught:
        harness.run()
    assert f"the api says no ({status})" in str(caught.value)
    assert str(status) in str(caught.value)
    assert len(harness.api.requests) == 1 and harness.sleeps == []
    assert harness.records[-1].outcome == "rejected"


def test_unauthorized_is_terminal(harness: Harness) -> None:
    harness.api.enqueue(Fault.unauthorized())
    with pytest.raises(TerminalError) as caught:
        harness.run()
    assert caught.value.code == "llm_auth"
    assert "invalid x-api-key" in str(caught.value)


# -- malformed output -------------------------------------------------------------------


def test_malformed_once_is_retried_with_the_validation_error(harness: Harness) -> None:
    harness.api.enqueue(Fault.malformed())
    draft = harness.run(GENERATE_DRAFT)
    assert isinstance(draft, Draft)
    first, second = harness.api.requests
    assert len(first.messages) == 1
    user, assistant, correction = second.messages
    assert user == first.messages[0]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0]["type"] == "tool_use"
    assert assistant["content"][0]["input"]["unexpectedField"] is True
    (result,) = correction["content"]
    assert result["type"] == "tool_result"
    assert result["tool_use_id"] == assistant["content"][0]["id"]
    assert result["is_error"] is True
    assert "unexpectedField" in result["content"]
    assert "Extra inputs are not permitted" in result["content"]
    # the cached prefix is unchanged on the corrective retry
    assert second.body["system"] == first.body["system"]
    assert second.body["tools"] == first.body["tools"]
    assert harness.sleeps == []
    assert harness.records[-1].attempts == 2 and harness.records[-1].outcome == "ok"


def test_malformed_twice_is_terminal(harness: Harness) -> None:
    harness.api.enqueue(Fault.malformed({"goal": 42}), Fault.malformed({"goal": ["x"]}))
    with pytest.raises(TerminalError) as caught:
        harness.run(EXTRACT_INTENT)
    assert caught.value.code == "llm_malformed_output"
    assert "Intent" in str(caught.value) and "goal" in str(caught.value)
    assert len(harness.api.requests) == 2
    assert harness.records[-1].outcome == "malformed"


def test_truncated_output_is_treated_as_malformed(harness: Harness) -> None:
    harness.api.enqueue(Fault.truncated())
    assert isinstance(harness.run(DETECT_TYPE), TypeDetection)
    correction = harness.api.requests[1].messages[-1]["content"][0]
    assert "truncated" in correction["content"]


def test_truncated_twice_is_terminal(harness: Harness) -> None:
    harness.api.enqueue(Fault.truncated(), Fault.truncated())
    with pytest.raises(TerminalError) as caught:
        harness.run(GENERATE_QUESTIONS)
    assert caught.value.code == "llm_malformed_output"
    assert "max_tokens" in str(caught.value)


def test_no_tool_use_block_is_retried_then_terminal(harness: Harness) -> None:
    harness.api.enqueue(Fault.no_tool_use())
    assert isinstance(harness.run(), Intent)
    _, assistant, correction = harness.api.requests[1].messages
    assert assistant["content"][0]["type"] == "text"
    assert correction["content"][0]["type"] == "text"
    assert "did not call the `extract_intent` tool" in correction["content"][0]["text"]

    harness.api.enqueue(Fault.no_tool_use(), Fault.no_tool_use())
    with pytest.raises(TerminalError) as caught:
        harness.run()
    assert caught.value.code == "llm_malformed_output"


# -- usage, cost and budget -----------------------------------------------------------------


def test_usage_records_tokens_and_cost(harness: Harness) -> None:
    harness.run(GENERATE_QUESTIONS)
    (record,) = harness.records
    assert record == harness.llm.usage[0]
    assert record.task == "generate_questions" and record.model == DEFAULT_MODEL
    assert (record.input_tokens, record.output_tokens) == (1322, 297)
    assert (record.cache_read_tokens, record.cache_write_tokens) == (2153, 0)
    expected = (1322 * 3.0 + 2153 * 3.0 * 0.1 + 297 * 15.0) / 1_000_000
    assert record.cost_usd == pytest.approx(expected)
    assert record.attempts == 1 and record.outcome == "ok" and record.latency_ms >= 0
    assert harness.llm.spent_usd == pytest.approx(expected)


def test_usage_sums_over_attempts_and_records_cache_writes(harness: Harness) -> None:
    harness.api.enqueue(Fault.malformed())
    harness.run(GENERATE_DRAFT)
    (record,) = harness.records
    assert record.input_tokens == 2 * 1184 and record.cache_write_tokens == 2 * 2153
    assert record.output_tokens == 2 * 402 and record.attempts == 2


def test_budget_spent_is_terminal(api: FakeMessagesAPI) -> None:
    harness = Harness(api, budget_usd=0.001)
    harness.run(GENERATE_DRAFT)
    with pytest.raises(TerminalError) as caught:
        harness.run(GENERATE_DRAFT)
    assert caught.value.code == "llm_budget_exceeded"
    assert len(api.requests) == 1
    harness.llm.reset_spend()
    assert isinstance(harness.run(), Intent)


def test_usage_callback_failure_does_not_fail_the_call(api: FakeMessagesAPI) -> None:
    def broken(_: UsageRecord) -> None:
        raise RuntimeError("metrics sink down")

    llm = ClaudeLanguageModel(ClaudeSettings(base_url=api.url, api_key="k"), on_usage=broken)
    assert isinstance(llm.generate(EXTRACT_INTENT, REQUEST, Intent), Intent)


# -- prompts and settings ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_prompts_exist_for_every_task(name: str) -> None:
    text = load_prompt(name)
    assert len(text) > 200 and "tool" in text


def test_load_prompt_rejects_odd_names() -> None:
    with pytest.raises(ValueError):
        load_prompt("../secrets")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env")
    monkeypatch.setenv("TICKETFLOW_LLM_MODEL", "claude-haiku-4-5")
    monkeypatch.setenv("TICKETFLOW_LLM_BUDGET_USD", "0.5")
    settings = ClaudeSettings()
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "sk-env"
    assert settings.model == "claude-haiku-4-5" and settings.budget_usd == 0.5
    assert settings.timeout_s == 60 and settings.max_retries == 4


def test_all_tasks_are_covered() -> None:
    assert {t.name for t in (EXTRACT_INTENT, DETECT_TYPE, EXTRACT_CLAIMS, GENERATE_DRAFT,
                             GENERATE_QUESTIONS, REFINE_DRAFT)} == set(PAYLOADS) == set(TASKS)


def test_an_abandoned_attempt_sends_no_further_request(api: FakeMessagesAPI) -> None:
    """The step's attempt is given up (timed out) while the adapter waits to retry: its
    thread goes on, but asks the model nothing more."""
    scope = StepScope(run_id="run-a", aec_id="aec-a", step=4, step_name="generate_draft",
                      attempt=1)
    harness = Harness(api)
    harness.llm._sleep = lambda _s: scope.abandoned.set()  # given up during the backoff
    api.enqueue(Fault.overloaded())
    token = current_step.set(scope)
    try:
        with pytest.raises(RetryableError) as caught:
            harness.run()
    finally:
        current_step.reset(token)
    assert caught.value.code == "step_timeout"
    assert len(api.requests) == 1  # the retry was never sent


def test_a_scope_logs_its_fields_without_the_abandoned_flag() -> None:
    scope = StepScope(run_id="run-a", aec_id="aec-a", step=2, step_name="detect_type",
                      attempt=1)
    assert scope.log_fields() == {"run_id": "run-a", "aec_id": "aec-a", "step": 2,
                                  "step_name": "detect_type", "attempt": 1}
