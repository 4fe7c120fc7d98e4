"""Code-aware preflight validation of a ticket request (step 3)."""

from ticketflow.preflight.claims import merge, references_from, rule_claims
from ticketflow.preflight.references import Reference, extract_references
from ticketflow.preflight.validate import validate_request

__all__ = ["Reference", "extract_references", "merge", "references_from", "rule_claims",
           "validate_request"]
