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
