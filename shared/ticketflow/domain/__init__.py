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
    InvalidTransitionError,
    NotFoundError,
    RequiredFieldsError,
)
from ticketflow.domain.models import (
    Answers,
    Draft,
    Finding,
    FindingKind,
    Intent,
    Provider,
    Question,
    Refinement,
    Severity,
    TicketType,
    TypeDetection,
)

__all__ = [
    "AEC", "AECContent", "AECLockedError", "AECStatus", "Answers", "ConflictError",
    "DomainError", "Draft", "Finding", "FindingKind", "GenerationState", "Intent",
    "InvalidTransitionError", "NotFoundError", "Provider", "Question", "Refinement",
    "RequiredFieldsError", "RunError", "Severity", "StepProgress", "Suspension",
    "TicketType", "TypeDetection",
]
