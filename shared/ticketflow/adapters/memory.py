"""In-memory fakes for unit tests of one piece. Each passes its port's contract suite."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.documents_base import progress_fn, stamp
from ticketflow.domain import AEC, ConflictError, GenerationState, NotFoundError
from ticketflow.ports import ActionResult, CarriedWrite, Clock, StepTask


class MemoryDocumentStore:
    """``DocumentStore`` in a dict, guarded by a lock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._docs: dict[str, AEC] = {}
        self._actions: dict[tuple[str, str], ActionResult] = {}
        self._lock = threading.Lock()

    def create(self, aec: AEC) -> AEC:
        with self._lock:
            if aec.id in self._docs:
                raise ConflictError(f"ticket {aec.id} already exists")
            now = self.clock.now()
            aec = stamp(aec.model_copy(update={"created_at": aec.created_at or now}), now, 1)
            self._docs[aec.id] = aec
            return aec

    def get(self, aec_id: str) -> AEC | None:
        with self._lock:
            return self._docs.get(aec_id)

    def list(self, owner_id: str | None = None, limit: int = 50) -> list[AEC]:
        with self._lock:
            docs = [a for a in self._docs.values() if owner_id is None or a.owner_id == owner_id]
        docs.sort(key=lambda a: (a.updated_at is not None, a.updated_at), reverse=True)
        return docs[:limit]

    def mutate(self, aec_id: str, fn: Callable[[AEC], AEC | None], *,
               durable: bool = True) -> AEC | None:
        return self._mutate(aec_id, fn, missing_ok=False)

    def project(self, aec_id: str, state: GenerationState) -> AEC | None:
        return self._mutate(aec_id, progress_fn(state), missing_ok=True)

    def carried_projection(self, aec_id: str, state: GenerationState) -> CarriedWrite | None:
        return None  # no database to share with a run store

    def put_action_result(self, aec_id: str, action_id: str, result: ActionResult) -> None:
        with self._lock:
            self._actions[(aec_id, action_id)] = result

    def get_action_result(self, aec_id: str, action_id: str) -> ActionResult | None:
        with self._lock:
            return self._actions.get((aec_id, action_id))

    def _mutate(self, aec_id: str, fn: Callable[[AEC], AEC | None], *,
                missing_ok: bool) -> AEC | None:
        with self._lock:
            current = self._docs.get(aec_id)
            if current is None:
                if missing_ok:
                    return None
                raise NotFoundError(f"ticket {aec_id} does not exist")
            nxt = fn(current)
            if nxt is None:
                del self._docs[aec_id]
                return None
            if nxt is current:
                return current
            nxt = stamp(nxt, self.clock.now(), current.version + 1)
            self._docs[aec_id] = nxt
            return nxt


class MemoryTaskQueue:
    """``TaskQueue`` that only records: for unit tests that drive steps by hand."""

    def __init__(self) -> None:
        self.tasks: dict[str, tuple[StepTask, float]] = {}
        self._lock = threading.Lock()

    def enqueue(self, task: StepTask, *, delay_s: float = 0.0) -> bool:
        with self._lock:
            if task.name in self.tasks:
                return False
            self.tasks[task.name] = (task, delay_s)
            return True

    def pop_all(self) -> list[StepTask]:
        with self._lock:
            tasks = [t for t, _ in self.tasks.values()]
            self.tasks.clear()
            return tasks
