"""The document store port: the ticket (AEC) as people see it, and the verdicts on
their actions. Firestore in the cloud, a libSQL table embedded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, Protocol

from ticketflow.domain import AEC, GenerationState
from ticketflow.domain.models import Model


class ActionResult(Model):
    """The server's verdict on a person's action, written back on the action document."""

    action_id: str
    status: Literal["accepted", "rejected"]
    reason: str | None = None
    run_id: str | None = None
    at: datetime | None = None


class DocumentStore(Protocol):
    """The ticket entity as people see it. Writes are atomic per ticket."""

    def create(self, aec: AEC) -> AEC:
        """Insert a new ticket and return it as stored (timestamps and ``version``
        stamped); ``ConflictError`` if the id exists."""
        ...

    def get(self, aec_id: str) -> AEC | None:
        """The ticket, or ``None`` when it does not exist (or was deleted)."""
        ...

    def list(self, owner_id: str | None = None, limit: int = 50) -> list[AEC]:
        """Tickets, newest first; only ``owner_id``'s when given."""
        ...

    def mutate(self, aec_id: str, fn: Callable[[AEC], AEC | None], *,
               durable: bool = True) -> AEC | None:
        """Atomic read-modify-write: ``fn`` gets the current ticket and returns the new
        one, or ``None`` to delete it. ``NotFoundError`` if absent. ``fn`` may run more
        than once (under contention, or first on the store's last copy of the ticket),
        so it must be pure. ``durable=False``: the change can be derived again from
        the run store (a run's lock), so a store may skip its fsync for it."""
        ...

    def project(self, aec_id: str, state: GenerationState) -> AEC | None:
        """Apply a run's progress with :meth:`AEC.with_progress` (stale ``seq`` is a
        no-op); a cancelled-and-deleted outcome removes the ticket. Missing tickets are
        ignored (``None``)."""
        ...

    def put_action_result(self, aec_id: str, action_id: str, result: ActionResult) -> None:
        """Write the server's verdict on a person's action where they will see it."""
        ...
