"""Shared logic of the non-Firestore document stores: optimistic read-modify-write,
and what the stores use to write only what changed."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from ticketflow.domain import AEC, AECStatus, GenerationState

V = TypeVar("V")


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


def changed_fields(before: AEC, after: AEC) -> set[str]:
    """The fields of ``after`` that are not the very objects of ``before``: the
    domain's changes are ``model_copy(update=...)``, which keeps every other field
    as it was (a field set again to an equal value is merely written again)."""
    return {name for name in AEC.model_fields if getattr(after, name) is not getattr(before, name)}


def apply_cached(cached: AEC, fn: Callable[[AEC], AEC | None]) -> AEC | None:
    """``fn`` applied to a cached copy of the ticket, or ``None`` when the cached copy
    cannot decide alone: ``fn`` deletes, changes nothing, or refuses (the store then
    reads the ticket and applies ``fn`` again, as ``fn`` is pure)."""
    try:
        nxt = fn(cached)
    except Exception:  # a stale copy may refuse what the current ticket allows
        return None
    if nxt is None or nxt is cached:
        return None
    return nxt


class LastSeen(Generic[V]):
    """What this process last read or wrote of each ticket (bounded, thread-safe).

    A store writes from it under a precondition (the row's version, the document's
    update time), so a stale entry costs a failed precondition, never a wrong write.
    """

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)
