"""The :class:`~ticketflow.ports.LanguageModel` port on Claude, through the ``anthropic`` SDK.

Structured output uses tool use: each task becomes one tool, named after the task,
whose ``input_schema`` is the output model's JSON schema, and ``tool_choice`` forces
the model to call it. The tool input is validated with the pydantic output model.

Failure policy (all of it ours; the SDK's own retries are switched off):

* 429, 529, other 5xx, connection errors and timeouts are retried in-process with
  exponential backoff and jitter, honouring ``retry-after``, up to ``max_retries``;
  then :class:`RetryableError` (``llm_rate_limited`` / ``llm_unavailable`` /
  ``llm_timeout``) hands the step back to the task queue.
* 400/401/403/404 (and other 4xx) raise :class:`TerminalError` with the API's message.
* A malformed answer (schema violation, no tool call, truncation at ``max_tokens``)
  is retried once with the problem appended to the conversation, then raises
  ``TerminalError(code="llm_malformed_output")``.
* A step attempt the runtime gave up (it timed out; its thread cannot be stopped)
  sends no further request, retry or correction: another attempt runs the step again.

The system prompt and the long repository context are sent as system blocks marked
``cache_control: ephemeral`` so repeated steps of a run read them from the prompt cache.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar

import anthropic
from anthropic.types import Message
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketflow.domain import Provider
from ticketflow.domain.errors import RetryableError, StepError, TerminalError
from ticketflow.observability.tracing import attempt_abandoned
from ticketflow.ports import LLMTask
from ticketflow.settings import ConfigurationError

__all__ = ["CONTEXT_FIELDS", "DEFAULT_MODEL", "ClaudeLanguageModel", "ClaudeSettings",
           "ModelNotUsableError", "UsageRecord", "check_model", "known_models", "load_prompt"]

log = logging.getLogger(__name__)

OutT = TypeVar("OutT", bound=BaseModel)

#: Payload fields holding long, stable repository context (sent as a cached block).
CONTEXT_FIELDS: tuple[str, ...] = ("repo_files", "endpoints", "known_paths")

_PROMPT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_MAX_PROBLEM_CHARS = 2000

Outcome = Literal["ok", "malformed", "rate_limited", "unavailable", "timeout", "rejected",
                  "budget_exceeded", "error"]
_OUTCOME_BY_CODE: dict[str, Outcome] = {
    "llm_malformed_output": "malformed",
    "llm_rate_limited": "rate_limited",
    "llm_unavailable": "unavailable",
    "llm_timeout": "timeout",
    "llm_rejected": "rejected",
    "llm_auth": "rejected",
    "llm_budget_exceeded": "budget_exceeded",
}
TransientKind = Literal["rate_limited", "unavailable", "timeout"]


# -- prompts -------------------------------------------------------------------------


@cache
def load_prompt(name: str) -> str:
    """The text of ``ticketflow/prompts/{name}.md`` (package data), stripped."""
    if not _PROMPT_NAME.fullmatch(name):
        raise ValueError(f"invalid prompt name {name!r}")
    resource = resources.files("ticketflow").joinpath("prompts").joinpath(f"{name}.md")
    return resource.read_text(encoding="utf-8").strip()


def _prompt_for(task: LLMTask) -> str:
    """``task.prompt`` names a prompt file, holds inline prompt text, or is empty."""
    if not task.prompt:
        return load_prompt(task.name)
    if _PROMPT_NAME.fullmatch(task.prompt):
        return load_prompt(task.prompt)
    return task.prompt


# -- the model -------------------------------------------------------------------------

#: The default model: the current Sonnet of the pinned SDK (anthropic==2.14.0 lists it
#: and marks no end of life for it; claude-sonnet-4-5 reached its end of life on
#: November 30th, 2026).
DEFAULT_MODEL = "claude-sonnet-5-5"


class ModelNotUsableError(ConfigurationError):
    """The configured model is unknown to the pinned SDK, or has reached its end of life:
    a configuration error to report at start-up, before any run is started."""


def known_models() -> list[str]:
    """Model ids the pinned ``anthropic`` SDK lists (``anthropic.types.ModelParam``)."""
    from anthropic.types import ModelParam

    literal = typing.get_args(ModelParam)[0]
    return [str(m) for m in typing.get_args(literal)]


def _end_of_life(model: str) -> date | None:
    from anthropic._data import DEPRECATED_MODELS

    raw = DEPRECATED_MODELS.get(model)
    if raw is None:
        return None
    return datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)", r"\1", raw), "%B %d, %Y").date()


def check_model(model: str, *, today: date | None = None) -> None:
    """Raise :class:`ModelNotUsableError` unless ``model`` is a current model of the
    pinned SDK; log a warning when its end of life is announced but still ahead."""
    known = known_models()
    current = [m for m in known if (eol := _end_of_life(m)) is None
               or eol > (today or datetime.now(UTC).date())]
    setting = "TICKETFLOW_LLM_MODEL"
    if model not in known:
        raise ModelNotUsableError(
            f"{setting}={model!r} is not a model the anthropic SDK knows; use one of: "
            + ", ".join(current))
    eol = _end_of_life(model)
    if eol is not None and eol <= (today or datetime.now(UTC).date()):
        raise ModelNotUsableError(
            f"{setting}={model!r} reached its end of life on {eol.isoformat()}; use a current "
            f"model such as {DEFAULT_MODEL} (or one of: {', '.join(current)})")
    if eol is not None:
        log.warning("model %s reaches its end of life on %s", model, eol.isoformat())


# -- settings and usage ------------------------------------------------------------------


class ClaudeSettings(BaseSettings):
    """Configuration of the Claude adapter (environment prefix ``TICKETFLOW_LLM_``;
    the key comes from ``ANTHROPIC_API_KEY``)."""

    model_config = SettingsConfigDict(
        env_prefix="TICKETFLOW_LLM_", populate_by_name=True, extra="ignore"
    )

    model: str = Field(default=DEFAULT_MODEL, description="Checked at start-up: "
                       "must be a current model of the pinned anthropic SDK.")
    max_tokens: int = Field(default=4096, ge=1, description="Cap on any task's max_tokens.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per HTTP call.")
    max_retries: int = Field(default=4, ge=0, description="Transient-failure retries.")
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    budget_usd: float | None = Field(default=None, gt=0, description="Spend cap per run.")
    input_price_per_mtok: float = Field(default=3.0, ge=0)
    output_price_per_mtok: float = Field(default=15.0, ge=0)
    cache_write_price_factor: float = Field(default=1.25, ge=0)
    cache_read_price_factor: float = Field(default=0.1, ge=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    max_retry_after_s: float = Field(
        default=60.0, ge=0,
        description="A longer retry-after is handed to the task queue instead of slept.",
    )

    def cost_usd(self, input_tokens: int, output_tokens: int, cache_read_tokens: int = 0,
                 cache_write_tokens: int = 0) -> float:
        """Dollar cost of one call's token counts at the configured prices."""
        input_price = self.input_price_per_mtok
        dollars = (
            input_tokens * input_price
            + cache_write_tokens * input_price * self.cache_write_price_factor
            + cache_read_tokens * input_price * self.cache_read_price_factor
            + output_tokens * self.output_price_per_mtok
        )
        return round(dollars / 1_000_000, 8)


class UsageRecord(BaseModel):
    """What one :meth:`ClaudeLanguageModel.generate` call consumed, over all attempts."""

    model_config = ConfigDict(frozen=True)

    task: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    attempts: int = 0
    outcome: Outcome = "ok"


@dataclass
class _Tally:
    """Mutable accumulator behind a :class:`UsageRecord`."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    attempts: int = 0

    def add(self, message: Message) -> None:
        usage = message.usage
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_read_tokens += usage.cache_read_input_tokens or 0
        self.cache_write_tokens += usage.cache_creation_input_tokens or 0


@dataclass(frozen=True)
class _Transient:
    kind: TransientKind
    message: str
    retry_after_s: float | None


# -- the adapter ---------------------------------------------------------------------


class ClaudeLanguageModel:
    """Structured generation on Claude; implements :class:`ticketflow.ports.LanguageModel`.

    ``sleep`` and ``rng`` are injectable so backoff is fast and deterministic in tests;
    ``client`` may be given to share a configured ``anthropic.Anthropic``.
    """

    def __init__(
        self,
        settings: ClaudeSettings | None = None,
        *,
        on_usage: Callable[[UsageRecord], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        client: anthropic.Anthropic | None = None,
    ) -> None:
        self.settings = settings or ClaudeSettings()
        self.provider = Provider(name="claude", offline=False, model=self.settings.model)
        self._on_usage = on_usage
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = client or self._make_client(self.settings)
        self._lock = threading.Lock()
        self._spent_usd = 0.0
        self.usage: list[UsageRecord] = []

    @staticmethod
    def _make_client(settings: ClaudeSettings) -> anthropic.Anthropic:
        kwargs: dict[str, Any] = {"max_retries": 0, "timeout": settings.timeout_s}
        if settings.api_key is not None:
            kwargs["api_key"] = settings.api_key.get_secret_value()
        if settings.base_url:
            kwargs["base_url"] = settings.base_url
        return anthropic.Anthropic(**kwargs)

    @property
    def spent_usd(self) -> float:
        """Dollars spent by this instance since construction or :meth:`reset_spend`."""
        with self._lock:
            return self._spent_usd

    def reset_spend(self) -> None:
        """Start a new budget window (call at the start of a run)."""
        with self._lock:
            self._spent_usd = 0.0

    # -- the port --------------------------------------------------------------------

    def generate(self, task: LLMTask, payload: BaseModel, output: type[OutT]) -> OutT:
        """Produce ``output`` for ``task`` from ``payload`` (see the module docstring for
        the retry policy). Emits one :class:`UsageRecord` per call, success or not."""
        tally = _Tally()
        started = time.perf_counter()
        outcome: Outcome = "error"
        try:
            self._check_budget(task)
            request = self._build_request(task, payload, output)
            message = self._create(request, tally)
            result, problem = _parse(message, output, task.name)
            if problem is not None:
                log.info("llm %s: malformed answer, retrying once: %s", task.name, problem)
                message = self._create(_with_correction(request, message, problem), tally)
                result, problem = _parse(message, output, task.name)
            if result is None:
                raise TerminalError(
                    f"{task.name}: the model's answer did not match {output.__name__} "
                    f"after one corrective retry: {problem}",
                    code="llm_malformed_output",
                )
            outcome = "ok"
            return result
        except StepError as exc:
            outcome = _OUTCOME_BY_CODE.get(exc.code, "error")
            raise
        finally:
            self._record(task, tally, outcome, started)

    # -- request ---------------------------------------------------------------------

    def _build_request(self, task: LLMTask, payload: BaseModel,
                       output: type[BaseModel]) -> dict[str, Any]:
        context = {f: getattr(payload, f) for f in CONTEXT_FIELDS if hasattr(payload, f)}
        system: list[dict[str, Any]] = [{"type": "text", "text": _prompt_for(task)}]
        if any(context.values()):
            context_doc = payload.model_dump(mode="json", by_alias=True,
                                             include=set(context))
            system.append({
                "type": "text",
                "text": "Repository context (the only files, routes and paths that exist; "
                        "cite nothing else):\n" + json.dumps(context_doc, indent=1),
            })
        system[-1]["cache_control"] = {"type": "ephemeral"}
        body = payload.model_dump(mode="json", by_alias=True, exclude=set(context))
        user_text = (
            f"Input for `{task.name}`:\n```json\n{json.dumps(body, indent=1)}\n```\n"
            f"Answer by calling the `{task.name}` tool exactly once."
        )
        return {
            "model": self.settings.model,
            "max_tokens": min(task.max_tokens, self.settings.max_tokens),
            "system": system,
            "tools": [{
                "name": task.name,
                "description": f"Record the result of the {task.name} step "
                               f"as a {output.__name__} object.",
                "input_schema": output.model_json_schema(),
            }],
            "tool_choice": {"type": "tool", "name": task.name},
            "messages": [{"role": "user", "content": [{"type": "text", "text": user_text}]}],
        }

    # -- transport and transient retries ----------------------------------------------

    def _create(self, request: dict[str, Any], tally: _Tally) -> Message:
        settings = self.settings
        attempt = 0
        while True:
            if attempt_abandoned():  # timed out: another attempt runs the step again
                raise RetryableError("the step's attempt timed out; no further model "
                                     "requests for it", code="step_timeout")
            tally.attempts += 1
            try:
                message: Message = self._client.messages.create(
                    **request, timeout=settings.timeout_s)
            except anthropic.APIError as exc:
                transient = _classify(exc)
            except anthropic.AnthropicError as exc:  # credentials, configuration
                raise TerminalError(f"Claude client error: {exc}", code="llm_error") from exc
            else:
                tally.add(message)
                return message
            if transient.retry_after_s is not None and \
                    transient.retry_after_s > settings.max_retry_after_s:
                raise _give_up(transient, transient.retry_after_s)
            delay = transient.retry_after_s
            if delay is None:
                delay = self._backoff(attempt)
            if attempt >= settings.max_retries:
                raise _give_up(transient, delay)
            log.warning("llm %s (attempt %d), retrying in %.2fs: %s", transient.kind,
                        attempt + 1, delay, transient.message)
            self._sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter in [50%, 100%] of the capped step."""
        step = min(self.settings.backoff_base_s * (2.0 ** attempt), self.settings.backoff_max_s)
        return step * (0.5 + 0.5 * self._rng.random())

    # -- budget and usage -------------------------------------------------------------

    def _check_budget(self, task: LLMTask) -> None:
        budget = self.settings.budget_usd
        if budget is not None and self.spent_usd >= budget:
            raise TerminalError(
                f"{task.name}: language-model budget of ${budget:.2f} for this run is spent "
                f"(${self.spent_usd:.4f})",
                code="llm_budget_exceeded",
            )

    def _record(self, task: LLMTask, tally: _Tally, outcome: Outcome, started: float) -> None:
        cost = self.settings.cost_usd(tally.input_tokens, tally.output_tokens,
                                      tally.cache_read_tokens, tally.cache_write_tokens)
        record = UsageRecord(
            task=task.name, model=self.settings.model,
            input_tokens=tally.input_tokens, output_tokens=tally.output_tokens,
            cache_read_tokens=tally.cache_read_tokens,
            cache_write_tokens=tally.cache_write_tokens, cost_usd=cost,
            latency_ms=round((time.perf_counter() - started) * 1000),
            attempts=tally.attempts, outcome=outcome,
        )
        with self._lock:
            self._spent_usd += cost
            self.usage.append(record)
        if self._on_usage is not None:
            try:
                self._on_usage(record)
            except Exception:  # a metrics sink must never fail the step
                log.exception("on_usage callback failed")


# -- helpers -------------------------------------------------------------------------


def _classify(exc: anthropic.APIError) -> _Transient:
    """Map an SDK error to a transient failure, or raise :class:`TerminalError`."""
    if isinstance(exc, anthropic.APITimeoutError):
        return _Transient("timeout", "request timed out", None)
    if isinstance(exc, anthropic.APIConnectionError):
        return _Transient("unavailable", f"connection error: {exc.message}", None)
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        detail = exc.api_message or exc.message
        retry_after = _retry_after(exc.response.headers)
        if status == 429:
            return _Transient("rate_limited", f"429 rate limited: {detail}", retry_after)
        if status == 408:
            return _Transient("timeout", f"408 request timeout: {detail}", retry_after)
        if status >= 500:
            return _Transient("unavailable", f"{status}: {detail}", retry_after)
        code = "llm_auth" if status in (401, 403) else "llm_rejected"
        raise TerminalError(f"Claude API rejected the request ({status}): {detail}",
                            code=code) from exc
    raise TerminalError(f"Claude API error: {exc.message}", code="llm_error") from exc


def _give_up(transient: _Transient, retry_after_s: float) -> RetryableError:
    return RetryableError(
        f"Claude API {transient.kind.replace('_', ' ')}, retries exhausted: {transient.message}",
        code=f"llm_{transient.kind}",
        retry_after_s=retry_after_s,
    )


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _parse(message: Message, output: type[OutT], tool: str) -> tuple[OutT, None] | tuple[None, str]:
    """The validated output, or ``(None, problem)`` describing why it is unusable."""
    block = next((b for b in message.content if b.type == "tool_use" and b.name == tool), None)
    if message.stop_reason == "max_tokens":
        return None, ("the answer was truncated at max_tokens before the tool input was "
                      "complete; answer again, more concisely")
    if block is None or block.type != "tool_use":
        return None, f"the answer did not call the `{tool}` tool"
    try:
        return output.model_validate(block.input), None
    except ValidationError as exc:
        return None, _describe(exc)


def _describe(exc: ValidationError) -> str:
    lines = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_url=False)
    ]
    text = f"the tool input failed validation ({len(lines)} error(s)): " + "; ".join(lines)
    return text[:_MAX_PROBLEM_CHARS]


def _with_correction(request: dict[str, Any], message: Message,
                     problem: str) -> dict[str, Any]:
    """The request extended with the model's bad answer and the problem found in it."""
    assistant: list[dict[str, Any]] = []
    tool_use_ids: list[str] = []
    for block in message.content:
        if block.type == "text" and block.text:
            assistant.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            assistant.append({"type": "tool_use", "id": block.id, "name": block.name,
                              "input": block.input})
            tool_use_ids.append(block.id)
    note = (f"Your previous answer was unusable: {problem}. Call the tool again with input "
            "that matches its input_schema exactly.")
    messages: list[dict[str, Any]] = list(request["messages"])
    if assistant:
        messages.append({"role": "assistant", "content": assistant})
    # every tool_use must be answered by a tool_result in the next user turn
    reply: list[dict[str, Any]] = [
        {"type": "tool_result", "tool_use_id": use_id, "is_error": True,
         "content": note if i == 0 else "ignored: answer with a single tool call"}
        for i, use_id in enumerate(tool_use_ids)
    ] or [{"type": "text", "text": note}]
    messages.append({"role": "user", "content": reply})
    return {**request, "messages": messages}
