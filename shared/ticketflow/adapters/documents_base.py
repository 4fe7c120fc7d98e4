"""Shared logic of the non-Firestore document stores: optimistic read-modify-write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ticketflow.domain import AEC, AECStatus, GenerationState


def stamp(aec: AEC, now: datetime, version: int) -> AEC:
    return aec.model_copy(update={"version": version, "updated_at": now})


def progress_fn(state: GenerationState) -> Callable[[AEC], AEC | None]:
    """The projection as a mutation: apply newer progress; a deleted outcome removes."""

    def apply(aec: AEC) -> AEC | None:
        nxt = aec.with_progress(state)
        if nxt.status is AECStatus.CANCELLED:
            return None
        return nxt

    return apply
