"""The two error verbs and the control-flow signals of a step.

``RetryableError``: transient (LLM 429/5xx/timeout, a store unavailable). The handler
fails so the queue retries with backoff, until the step's attempts run out.
``TerminalError``: retrying cannot help (bad input, unusable output). The run and
the ticket are marked failed with the error persisted, and the task is acknowledged.

``Suspend`` and ``Cancelled`` derive from ``BaseException`` so that a step's
``except Exception`` cannot swallow them.
"""

from __future__ import annotations

from typing import Any


class StepError(Exception):
    code = "step_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class RetryableError(StepError):
    code = "retryable"

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class TerminalError(StepError):
    code = "terminal"


class Suspend(BaseException):
    """Raised by a step to stop the run and wait for a person."""

    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind = kind
        self.payload = payload


class Cancelled(BaseException):
    """The run was cancelled while this step ran; its result must not commit."""
