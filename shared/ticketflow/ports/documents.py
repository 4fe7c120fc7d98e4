"""The document store port: the ticket (AEC) as people see it, and the verdicts on
their actions. Firestore in the cloud, a libSQL table embedded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from ticketflow.domain import AEC, GenerationState
from ticketflow.domain.models import Model


class ActionResult(Model):
    """The server's verdict on a person's action, written back on the action document."""

    action_id: str
    status: Literal["accepted", "rejected"]
    reason: str | None = None
    run_id: str | None = None
    at: datetime | None = None


class CarriedWrite:
    """A write one store prepares for the transaction of another store's write, when
    both keep their data in one database (embedded: a step's commit carries the
    ticket's progress, so the step costs one transaction less).

    ``target`` names that database: a store carries the write only into a transaction
    on the same one (otherwise it ignores it, and the preparing store's caller writes
    as usual). ``statement(guard, params)`` gives the write as one statement changing
    one row, and only where ``guard`` (an SQL condition of the carrier's, with its named
    ``params``) holds; the carrier runs it after its own, in the same transaction, and,
    when its own write took effect, calls :meth:`settle` with whether it changed its
    row. ``applied`` says so afterwards: when it is False the caller writes the usual
    way (the preparing store's copy was stale, its precondition refused)."""

    def __init__(self, target: object,
                 statement: Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]],
                 on_settle: Callable[[bool], None]) -> None:
        self.target = target
        self.statement = statement
        self._on_settle = on_settle
        self.applied = False

    def settle(self, applied: bool) -> None:
        self.applied = applied
        self._on_settle(applied)


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

    def carried_projection(self, aec_id: str, state: GenerationState) -> CarriedWrite | None:
        """:meth:`project` as a write for a run store's commit to carry (the two stores
        on one database), from the store's last copy of the ticket; ``None`` when it
        cannot be carried (another database, no copy, nothing to change, a deletion):
        then call :meth:`project` after the commit."""
        ...

    def put_action_result(self, aec_id: str, action_id: str, result: ActionResult) -> None:
        """Write the server's verdict on a person's action where they will see it."""
        ...
