"""Language-model calls of the steps, with graceful degradation.

When the configured model still fails after its own retries (rate limited,
unavailable, timed out, a malformed answer, a rejected request, the budget spent)
and a fallback provider is configured (the offline heuristics, on by default; the
``TICKETFLOW_LLM_FALLBACK`` setting turns it off), the step is produced by the
fallback instead: the run goes on, and the step says so (:class:`Fallback` on its
output, ``degraded`` outcome, a label in its detail), so the ticket, the page and
``ticketflow stats`` show which steps were made without AI. Without a fallback the
error propagates as before: retryable errors go back to the queue, terminal ones
fail the run with the error kept.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import BaseModel

from ticketflow.domain.errors import RetryableError, TerminalError
from ticketflow.ports import LLMTask
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.base import Fallback

__all__ = ["FALLBACK_LABEL", "generate"]

log = logging.getLogger(__name__)

OutT = TypeVar("OutT", bound=BaseModel)

#: Appended to a step's detail when it was produced by the fallback provider.
FALLBACK_LABEL = "offline fallback, no AI"


def _model_failure(exc: RetryableError | TerminalError) -> bool:
    return (exc.code or "").startswith("llm_")


def generate(ctx: StepContext, task: LLMTask, payload: BaseModel,
             output: type[OutT]) -> tuple[OutT, Fallback | None]:
    """``task``'s output from the configured model, or from the fallback provider
    (with the reason) when the model failed and a fallback is configured."""
    try:
        return ctx.deps.llm.generate(task, payload, output), None
    except (RetryableError, TerminalError) as exc:
        fallback = ctx.deps.fallback
        if fallback is None or not _model_failure(exc):
            raise
        reason = f"{exc.code}: {exc}"[:300]
        log.warning("language model failed; step produced by the fallback provider",
                    extra={"task": task.name, "run_id": ctx.run.run_id, "reason": reason,
                           "provider": fallback.provider.name})
        value = fallback.generate(task, payload, output)
        return value, Fallback(provider=fallback.provider.name, reason=reason)


def label(detail: str, fallback: Fallback | None) -> str:
    """``detail`` with the fallback label when the step fell back."""
    return f"{detail} ({FALLBACK_LABEL})" if fallback is not None else detail
