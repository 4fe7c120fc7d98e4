"""The ticket domain: pure values and rules, no I/O."""

from ticketflow.domain.aec import (
    AEC,
    AECContent,
    AECStatus,
    GenerationState,
    RunError,
    StepProgress,
    Suspension,
)
from ticketflow.domain.errors import (
    AECLockedError,
    ConflictError,
    DomainError,
    InvalidRepositoryError,
    InvalidTransitionError,
    NotFoundError,
    RequiredFieldsError,
    RetryableError,
    StepError,
    TerminalError,
)
from ticketflow.domain.models import (
    Answers,
    Draft,
    Finding,
    FindingKind,
    FindingStatus,
    Intent,
    Provider,
    Question,
    Refinement,
    RepoContext,
    RepoState,
    Severity,
    TicketRequest,
    TicketType,
    TypeDetection,
    settle_findings,
)

__all__ = [
    "AEC", "AECContent", "AECLockedError", "AECStatus", "Answers", "ConflictError",
    "DomainError", "Draft", "Finding", "FindingKind", "FindingStatus", "GenerationState",
    "Intent", "InvalidRepositoryError", "InvalidTransitionError", "NotFoundError",
    "Provider", "Question", "Refinement", "RepoContext", "RepoState", "RequiredFieldsError",
    "RetryableError", "RunError", "Severity", "StepError",
    "StepProgress", "Suspension", "TerminalError", "TicketRequest", "TicketType",
    "TypeDetection", "settle_findings",
]
