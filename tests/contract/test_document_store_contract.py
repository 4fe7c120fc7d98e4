"""Contract of the ``DocumentStore`` port: every adapter passes the same suite.

Adapters: ``memory`` (unit-test fake), ``libsql`` (the embedded default, a file
database) and ``firestore`` (production, against the Firestore emulator). The last
section checks what only the Firestore adapter has: its stored document shape,
transactions contending for real, and its behaviour with Firestore unreachable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from google.cloud import firestore

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.firestore import firestore_client as make_firestore_client
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.documents import LibsqlDocumentStore
from ticketflow.adapters.memory import MemoryDocumentStore
from ticketflow.dev.emulators import free_port
from ticketflow.domain import (
    AEC,
    AECLockedError,
    AECStatus,
    ConflictError,
    Finding,
    FindingKind,
    GenerationState,
    NotFoundError,
    RunError,
    Severity,
    Suspension,
)
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import ActionResult, DocumentStore

RUN = "run-1"


class StoreUnderTest(DocumentStore, Protocol):
    """The port plus the read-back helper every adapter provides for tests."""

    def get_action_result(self, aec_id: str, action_id: str) -> ActionResult | None: ...


class TickingClock:
    """Each reading is 1 ms after the previous one: orderings are deterministic."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self._now += timedelta(milliseconds=1)
            return self._now


@pytest.fixture(params=["memory", "libsql-native", "libsql-libsql-client", "libsql-sqld",
                        "firestore"])
def store(request: pytest.FixtureRequest,
          open_libsql: Callable[[str], Database]) -> Iterator[StoreUnderTest]:
    clock = TickingClock()
    if request.param == "memory":
        yield MemoryDocumentStore(clock=clock)
    elif request.param.startswith("libsql-"):
        yield LibsqlDocumentStore(open_libsql(request.param.removeprefix("libsql-")),
                                  clock=clock)
    else:
        client: firestore.Client = request.getfixturevalue("firestore_client")
        yield FirestoreDocumentStore(client, clock=clock)


@pytest.fixture(params=["libsql-native", "libsql-libsql-client", "libsql-sqld", "firestore"])
def two_stores(request: pytest.FixtureRequest, open_libsql: Callable[[str], Database],
               ) -> Iterator[tuple[StoreUnderTest, StoreUnderTest]]:
    """Two instances of one adapter on the same backend, as two processes would be:
    each remembers what it last saw, and neither sees the other's writes coming."""
    clock = TickingClock()
    if request.param.startswith("libsql-"):
        backend = request.param.removeprefix("libsql-")
        yield (LibsqlDocumentStore(open_libsql(backend), clock=clock),
               LibsqlDocumentStore(open_libsql(backend), clock=clock))
    else:
        client: firestore.Client = request.getfixturevalue("firestore_client")
        yield (FirestoreDocumentStore(client, clock=clock),
               FirestoreDocumentStore(client, clock=clock))


def new_aec(aec_id: str = "aec-1", owner: str = "alice", title: str = "Export CSV") -> AEC:
    return AEC.new(aec_id=aec_id, owner_id=owner, title=title, description="rough request")


def progress(seq: int, *, run_id: str = RUN, status: str = "running", step: int = 1,
             **extra: Any) -> GenerationState:
    return GenerationState.model_validate(
        {"run_id": run_id, "status": status, "current_step": step, "total_steps": 11,
         "seq": seq, **extra}
    )


def generating(store: StoreUnderTest, aec_id: str = "aec-1") -> AEC:
    """A ticket locked by ``RUN`` with progress at ``seq`` 1."""
    store.create(new_aec(aec_id))
    locked = store.mutate(aec_id, lambda a: a.lock_for(RUN, progress(1)))
    assert locked is not None and locked.status is AECStatus.GENERATING
    return locked


def review_suspension() -> Suspension:
    finding = Finding(id="f1", kind=FindingKind.MISSING_FILE, severity=Severity.CRITICAL,
                      evidence="src/export.py", message="no such file")
    return Suspension(kind="review", token="tok-1", findings=[finding])


# -- create / get / list ----------------------------------------------------------------


def test_create_then_get_returns_the_stored_ticket(store: StoreUnderTest) -> None:
    created = store.create(new_aec())
    assert created.version == 1
    assert created.created_at is not None and created.updated_at is not None
    got = store.get("aec-1")
    assert got is not None
    assert got.doc() == created.doc()
    assert got.status is AECStatus.DRAFT and got.owner_id == "alice"


def test_get_missing_is_none(store: StoreUnderTest) -> None:
    assert store.get("nope") is None


def test_create_twice_is_a_conflict_and_keeps_the_first(store: StoreUnderTest) -> None:
    store.create(new_aec(title="first"))
    with pytest.raises(ConflictError):
        store.create(new_aec(title="second"))
    got = store.get("aec-1")
    assert got is not None and got.title == "first" and got.version == 1


def test_list_filters_by_owner_newest_first(store: StoreUnderTest) -> None:
    store.create(new_aec("a", owner="alice"))
    store.create(new_aec("b", owner="bob"))
    store.create(new_aec("c", owner="alice"))
    store.mutate("a", lambda x: x.edit(title="touched last"))

    assert [x.id for x in store.list("alice")] == ["a", "c"]
    assert [x.id for x in store.list("bob")] == ["b"]
    assert [x.id for x in store.list()] == ["a", "c", "b"]
    assert [x.id for x in store.list("alice", limit=1)] == ["a"]
    assert store.list("carol") == []


# -- mutate -----------------------------------------------------------------------------------


def test_mutate_is_read_modify_write_and_bumps_version(store: StoreUnderTest) -> None:
    created = store.create(new_aec())
    seen: list[str] = []

    def fn(current: AEC) -> AEC:
        seen.append(current.description)
        return current.edit(description=current.description + " + details")

    out = store.mutate("aec-1", fn)
    assert seen[-1] == "rough request"
    assert out is not None and out.description == "rough request + details"
    assert out.version == created.version + 1
    assert created.updated_at is not None and out.updated_at is not None
    assert out.updated_at > created.updated_at
    got = store.get("aec-1")
    assert got is not None and got.doc() == out.doc()


def test_mutate_returning_none_deletes(store: StoreUnderTest) -> None:
    store.create(new_aec())
    assert store.mutate("aec-1", lambda _: None) is None
    assert store.get("aec-1") is None
    assert store.list("alice") == []


def test_mutate_missing_is_not_found(store: StoreUnderTest) -> None:
    with pytest.raises(NotFoundError):
        store.mutate("nope", lambda a: a)


def test_mutate_that_refuses_leaves_the_ticket_unchanged(store: StoreUnderTest) -> None:
    before = generating(store)
    with pytest.raises(AECLockedError):
        store.mutate("aec-1", lambda a: a.edit(title="while locked"))
    got = store.get("aec-1")
    assert got is not None and got.doc() == before.doc()


def test_mutate_returning_the_same_ticket_writes_nothing(store: StoreUnderTest) -> None:
    created = store.create(new_aec())
    out = store.mutate("aec-1", lambda a: a)
    assert out is not None and out.version == created.version
    got = store.get("aec-1")
    assert got is not None and got.version == created.version


def test_concurrent_mutates_lose_no_update(store: StoreUnderTest) -> None:
    store.create(new_aec())
    base = len("rough request")
    threads, per_thread = 6, 5
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                store.mutate("aec-1", lambda a: a.edit(description=a.description + "x"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    got = store.get("aec-1")
    assert got is not None
    assert len(got.description) == base + threads * per_thread
    assert got.version == 1 + threads * per_thread


# -- project ------------------------------------------------------------------------------------


def test_project_applies_increasing_seq(store: StoreUnderTest) -> None:
    before = generating(store)
    out = store.project("aec-1", progress(2, step=3))
    assert out is not None and out.generation_state is not None
    assert (out.generation_state.seq, out.generation_state.current_step) == (2, 3)
    assert out.version == before.version + 1

    suspended = store.project(
        "aec-1", progress(3, status="suspended", step=4, suspension=review_suspension())
    )
    assert suspended is not None and suspended.status is AECStatus.AWAITING_REVIEW
    got = store.get("aec-1")
    assert got is not None and got.doc() == suspended.doc()
    assert got.locked and got.locked_by == RUN


@pytest.mark.parametrize("seq", [1, 2], ids=["stale", "equal"])
def test_project_ignores_stale_or_equal_seq(store: StoreUnderTest, seq: int) -> None:
    generating(store)
    applied = store.project("aec-1", progress(2, step=3))
    assert applied is not None
    out = store.project("aec-1", progress(seq, step=9))
    assert out is not None and out.doc() == applied.doc()
    got = store.get("aec-1")
    assert got is not None and got.doc() == applied.doc()
    assert got.generation_state is not None and got.generation_state.current_step == 3


def test_project_of_another_run_is_ignored(store: StoreUnderTest) -> None:
    before = generating(store)
    store.project("aec-1", progress(99, run_id="run-other", status="failed",
                                    error=RunError(code="x", message="other run")))
    got = store.get("aec-1")
    assert got is not None and got.doc() == before.doc()


def test_project_missing_ticket_is_ignored(store: StoreUnderTest) -> None:
    assert store.project("nope", progress(5)) is None
    assert store.get("nope") is None


def test_project_cancelled_and_deleted_removes_the_ticket(store: StoreUnderTest) -> None:
    generating(store)
    out = store.project("aec-1", progress(2, status="cancelled", cancel_reason="deleted"))
    assert out is None
    assert store.get("aec-1") is None


def test_project_cancelled_by_edit_returns_to_unlocked_draft(store: StoreUnderTest) -> None:
    generating(store)
    out = store.project("aec-1", progress(2, status="cancelled", cancel_reason="edit"))
    assert out is not None and out.status is AECStatus.DRAFT and not out.locked
    got = store.get("aec-1")
    assert got is not None and got.status is AECStatus.DRAFT and got.locked_by is None


def test_failed_projection_unlocks_with_the_error(store: StoreUnderTest) -> None:
    generating(store)
    error = RunError(code="llm_unavailable", message="model kept failing", step=7)
    store.project("aec-1", progress(2, status="failed", step=7, error=error))
    got = store.get("aec-1")
    assert got is not None
    assert got.status is AECStatus.FAILED and not got.locked and got.locked_by is None
    assert got.error == error
    # only the run's own progress follows now; the status stays failed
    store.project("aec-1", progress(3, status="running", step=8))
    again = store.get("aec-1")
    assert again is not None and again.status is AECStatus.FAILED


def test_a_stale_copy_never_undoes_another_writers_change(
        two_stores: tuple[StoreUnderTest, StoreUnderTest]) -> None:
    """Each store writes from the ticket as it last saw it, under a precondition: when
    the other one wrote in between, the write is made again from the current ticket."""
    a, b = two_stores
    generating(a)
    b.project("aec-1", progress(2, step=3))
    applied = a.project("aec-1", progress(3, step=4))  # a last saw seq 1
    assert applied is not None and applied.generation_state is not None
    assert (applied.generation_state.seq, applied.version) == (3, 4)
    b.project("aec-1", progress(4, step=5))
    a.project("aec-1", progress(3, step=9))  # older than what b wrote: no change
    got = b.get("aec-1")
    assert got is not None and got.generation_state is not None
    assert (got.generation_state.seq, got.generation_state.current_step) == (4, 5)
    b.project("aec-1", progress(5, step=6))
    mutated = a.mutate("aec-1", lambda t: t.with_progress(progress(6, step=7)))
    assert mutated is not None and mutated.version == 7
    assert a.get("aec-1") == b.get("aec-1") == mutated


# -- action results ----------------------------------------------------------------------------


def test_put_action_result_is_visible_and_overwritable(store: StoreUnderTest) -> None:
    store.create(new_aec())
    assert store.get_action_result("aec-1", "act-1") is None
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    rejected = ActionResult(action_id="act-1", status="rejected", reason="stale token",
                            run_id=RUN, at=at)
    store.put_action_result("aec-1", "act-1", rejected)
    assert store.get_action_result("aec-1", "act-1") == rejected
    accepted = ActionResult(action_id="act-1", status="accepted", run_id=RUN, at=at)
    store.put_action_result("aec-1", "act-1", accepted)
    assert store.get_action_result("aec-1", "act-1") == accepted
    assert store.get_action_result("aec-1", "act-2") is None


# -- Firestore adapter specifics ------------------------------------------------------------------


def test_firestore_document_shape(firestore_client: firestore.Client) -> None:
    """camelCase document, timestamps as Firestore timestamps, parseable back."""
    store = FirestoreDocumentStore(firestore_client)
    store.create(new_aec())
    store.project("aec-1", progress(1))  # not locked: only generationState follows
    raw = firestore_client.collection("aecs").document("aec-1").get().to_dict()
    assert raw is not None
    assert raw["ownerId"] == "alice" and raw["status"] == "draft" and raw["version"] == 2
    assert isinstance(raw["updatedAt"], datetime) and raw["updatedAt"].tzinfo is not None
    assert isinstance(raw["createdAt"], datetime)
    assert raw["generationState"]["runId"] == RUN
    assert AEC.model_validate(raw).doc() == store.get("aec-1").doc()  # type: ignore[union-attr]


def test_firestore_action_result_merges_into_the_action(
    firestore_client: firestore.Client,
) -> None:
    store = FirestoreDocumentStore(firestore_client)
    action = firestore_client.collection("aecs").document("aec-1") \
        .collection("actions").document("act-1")
    action.set({"type": "proceed", "runId": RUN, "token": "tok-1", "uid": "alice"})
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    store.put_action_result("aec-1", "act-1",
                            ActionResult(action_id="act-1", status="accepted", run_id=RUN, at=at))
    raw = action.get().to_dict()
    assert raw is not None
    assert raw["type"] == "proceed" and raw["token"] == "tok-1"
    assert raw["result"]["status"] == "accepted" and raw["result"]["actionId"] == "act-1"
    assert raw["result"]["at"] == at


def test_firestore_deleting_a_ticket_keeps_its_actions(firestore_client: firestore.Client) -> None:
    store = FirestoreDocumentStore(firestore_client)
    store.create(new_aec())
    store.put_action_result("aec-1", "act-1", ActionResult(action_id="act-1", status="accepted"))
    store.mutate("aec-1", lambda _: None)
    assert store.get("aec-1") is None
    assert store.get_action_result("aec-1", "act-1") is not None


def test_firestore_transactions_contending_for_real_lose_no_update(
    firestore_client: firestore.Client, firestore_emulator: Any,
) -> None:
    """Two clients, no in-process lock: the Firestore transaction alone serializes."""
    other = make_firestore_client(firestore_emulator.project_id, firestore_emulator.host_port)
    stores = [FirestoreDocumentStore(c, serialize_local_writes=False)
              for c in (firestore_client, other)]
    stores[0].create(new_aec())
    errors: list[BaseException] = []

    def work(s: FirestoreDocumentStore) -> None:
        try:
            for _ in range(3):
                s.mutate("aec-1", lambda a: a.edit(description=a.description + "x"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(s,)) for s in stores]
    try:
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        other.close()  # type: ignore[no-untyped-call]
    assert errors == []
    got = stores[0].get("aec-1")
    assert got is not None and got.description == "rough request" + "x" * 6
    assert got.version == 7


@pytest.mark.parametrize("call", [
    lambda s: s.get("aec-1"),
    lambda s: s.list("alice"),
    lambda s: s.create(new_aec()),
    lambda s: s.mutate("aec-1", lambda a: a),
    lambda s: s.project("aec-1", progress(2)),
    lambda s: s.put_action_result("aec-1", "act-1",
                                  ActionResult(action_id="act-1", status="accepted")),
], ids=["get", "list", "create", "mutate", "project", "put_action_result"])
def test_firestore_unreachable_is_a_retryable_error(
    call: Callable[[FirestoreDocumentStore], object],
) -> None:
    client = make_firestore_client("demo-ticketflow", f"127.0.0.1:{free_port()}")
    store = FirestoreDocumentStore(client, timeout_s=0.5)
    try:
        with pytest.raises(RetryableError) as info:
            call(store)
        assert info.value.code == "firestore_unavailable"
    finally:
        client.close()  # type: ignore[no-untyped-call]
