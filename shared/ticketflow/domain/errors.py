"""Domain errors: each names what was refused and why, in words a user can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal by the domain (bad input, wrong state)."""

    code = "domain_error"


class InvalidTransitionError(DomainError):
    code = "invalid_transition"

    def __init__(self, from_status: str, to_status: str) -> None:
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(f"cannot move a ticket from '{from_status}' to '{to_status}'")


class RequiredFieldsError(DomainError):
    code = "required_fields"


class AECLockedError(DomainError):
    code = "locked"

    def __init__(self, aec_id: str, locked_by: str | None, *, by: str | None = None) -> None:
        self.aec_id = aec_id
        self.locked_by = locked_by
        if by is not None and locked_by != by:
            msg = f"ticket {aec_id} is not locked by run {by} (locked by {locked_by or 'nobody'})"
        else:
            msg = (
                f"ticket {aec_id} is locked by generation run {locked_by}; "
                "edits are refused until the run finishes or is cancelled"
            )
        super().__init__(msg)


class NotFoundError(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    code = "conflict"


class InvalidRepositoryError(DomainError):
    """The repository named on a ticket cannot be used here (bad URL, scheme, path)."""

    code = "invalid_repository"


# -- the two error verbs of a step -----------------------------------------------------------
# Retryable: transient (LLM 429/5xx/timeout, a store unavailable); the handler fails so
# the queue retries with backoff, until the step's attempts run out. Terminal: retrying
# cannot help (bad input, unusable output); the run and the ticket are marked failed
# with the error persisted, and the task is acknowledged.


class StepError(Exception):
    """Base of the two verbs; ``code`` names the failure for people and metrics."""

    code = "step_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class RetryableError(StepError):
    """Try again later (``retry_after_s`` when the cause says how long)."""

    code = "retryable"

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class TerminalError(StepError):
    """Retrying cannot help: fail the run, keep the error, acknowledge the task."""

    code = "terminal"
