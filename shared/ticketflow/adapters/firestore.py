"""The document store on Cloud Firestore: the ticket (AEC) and its live progress.

Layout: ``aecs/{aecId}`` holds ``aec.doc()`` (camelCase keys) with every datetime
stored as a Firestore **timestamp** (the web page reads them with ``.toDate()``;
``AEC.model_validate`` accepts the ``datetime`` values the client returns), and
``aecs/{aecId}/actions/{actionId}`` receives the server's verdict on a person's
action in its ``result`` field (merged, so the action itself is kept).

``mutate`` and ``project`` are read-modify-write; every write bumps ``version`` and
``updatedAt``. The store remembers each ticket as it last read or wrote it, with the
document's update time: a write is first applied to that copy and sent as one
``update`` of the changed fields with a ``last_update_time`` precondition (one round
trip, no read). When the copy is stale the precondition fails and the write runs
again as a Firestore transaction (begin, read, commit). Server client libraries lock what a
transaction reads, so two transactions on one ticket that both read it wait for each
other until one is aborted (about 2 s on the emulator). Writers of the same ticket in
one process therefore take a per-ticket lock first; across processes (function
instances) the transaction alone keeps writes atomic. Deleting a ticket leaves its ``actions``
subcollection in place: it is the audit trail.

Every RPC has an explicit timeout and a bounded retry: with the library defaults a
call against an emulator that is not running hangs for minutes. Transient failures
surface as :class:`~ticketflow.workflow.signals.RetryableError` with
``code="firestore_unavailable"`` so the step fails and the task queue retries it.

``rpcs`` counts the calls this store made to Firestore, by kind, and ``on_rpc`` is
told of each (benchmarks attribute them to the request being served).
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.documents_base import (
    LastSeen,
    apply_cached,
    changed_fields,
    progress_fn,
    stamp,
)
from ticketflow.domain import AEC, ConflictError, GenerationState, NotFoundError
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import ActionResult, CarriedWrite, Clock

T = TypeVar("T")
_LOCAL_LOCKS = tuple(threading.RLock() for _ in range(64))
Mutation = Callable[[AEC], AEC | None]

_TRANSIENT: tuple[type[Exception], ...] = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.ResourceExhausted,
)


def firestore_client(project_id: str, emulator_host: str | None) -> firestore.Client:
    """A Firestore client for ``project_id``.

    With ``emulator_host`` (``"127.0.0.1:8080"``, no scheme) the client talks to the
    emulator with anonymous credentials, without touching ``FIRESTORE_EMULATOR_HOST``
    of the process; without it, Application Default Credentials are used (or the
    emulator named by ``FIRESTORE_EMULATOR_HOST``, as the library does itself).
    """
    if not emulator_host:
        return firestore.Client(project=project_id)
    credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    client = firestore.Client(project=project_id, credentials=credentials)
    # The library reads the emulator address from the environment only, in its
    # constructor, and opens its channel lazily on the first call: pointing it at the
    # emulator here (before any RPC) gives the insecure channel and the emulator's
    # "Bearer owner" metadata, exactly as the environment variable would.
    client._emulator_host = emulator_host
    return client


class _BoundedTransaction(firestore.Transaction):
    """A transaction whose begin / commit / rollback RPCs have a timeout and a
    bounded retry (the library sends them with the defaults, which can hang)."""

    def __init__(self, client: firestore.Client, *, max_attempts: int, timeout_s: float,
                 count: Callable[[str], None]) -> None:
        super().__init__(client, max_attempts=max_attempts)
        self._timeout_s = timeout_s
        self._count = count

    def _rpc_kwargs(self) -> dict[str, Any]:
        return {
            "metadata": self._client._rpc_metadata,
            "retry": _retry(self._timeout_s, (gexc.ServiceUnavailable,)),
            "timeout": self._timeout_s,
        }

    def _begin(self, retry_id: bytes | None = None) -> None:
        if self.in_progress:
            raise ValueError(f"transaction {self._id!r} already in progress")
        self._count("begin")
        response = self._client._firestore_api.begin_transaction(
            request={
                "database": self._client._database_string,
                "options": self._options_protobuf(retry_id),
            },
            **self._rpc_kwargs(),
        )
        self._id = response.transaction

    def _rollback(self) -> None:
        # Best effort: a failed rollback must not hide the error that caused it, and
        # a transaction that never began has nothing to roll back.
        if not self.in_progress:
            return
        self._count("rollback")
        try:
            self._client._firestore_api.rollback(
                request={"database": self._client._database_string, "transaction": self._id},
                **self._rpc_kwargs(),
            )
        except gexc.GoogleAPIError:
            pass
        finally:
            self._clean_up()

    def _commit(self) -> list[Any]:
        if not self.in_progress:
            raise ValueError("no transaction in progress")
        self._count("commit")
        response = self._client._firestore_api.commit(
            request={
                "database": self._client._database_string,
                "writes": self._write_pbs,
                "transaction": self._id,
            },
            **self._rpc_kwargs(),
        )
        self._clean_up()
        self.write_results = list(response.write_results)
        self.commit_time = response.commit_time
        return self.write_results


class FirestoreDocumentStore:
    """``DocumentStore`` on Cloud Firestore (see the module doc for the layout).

    ``timeout_s`` bounds each RPC including its retries; ``max_attempts`` bounds how
    often a contended transaction is run again. ``serialize_local_writes=False``
    drops the in-process per-ticket lock (tests use it to contend for real).
    """

    def __init__(
        self,
        client: firestore.Client,
        *,
        collection: str = "aecs",
        clock: Clock | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 30,
        serialize_local_writes: bool = True,
    ) -> None:
        self.client = client
        self.collection = collection
        self.clock = clock or SystemClock()
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.serialize_local_writes = serialize_local_writes
        self.rpcs: Counter[str] = Counter()
        self._rpcs_lock = threading.Lock()
        self.on_rpc: Callable[[str], None] | None = None  # benchmarks attribute calls
        self._seen: LastSeen[tuple[AEC, Any]] = LastSeen()  # (ticket, its update time)

    def count_rpc(self, kind: str) -> None:
        """One call to Firestore is about to be made (``rpcs``, ``on_rpc``)."""
        with self._rpcs_lock:
            self.rpcs[kind] += 1
        if self.on_rpc is not None:
            self.on_rpc(kind)

    # -- reads ------------------------------------------------------------------------

    def get(self, aec_id: str) -> AEC | None:
        self.count_rpc("get")
        with _mapped_errors():
            snap = self._ref(aec_id).get(**self._read_opts())
        if not snap.exists:
            self._seen.drop(aec_id)
            return None
        aec = _parse(snap.to_dict())
        self._seen.put(aec_id, (aec, snap.update_time))
        return aec

    def list(self, owner_id: str | None = None, limit: int = 50) -> list[AEC]:
        """Newest first (by ``updatedAt``); ``owner_id`` uses the composite index."""
        query: Any = self.client.collection(self.collection)
        if owner_id is not None:
            query = query.where(filter=FieldFilter("ownerId", "==", owner_id))
        query = query.order_by("updatedAt", direction=firestore.Query.DESCENDING).limit(limit)
        self.count_rpc("query")
        with _mapped_errors():
            snaps = query.get(**self._read_opts())
        return [_parse(s.to_dict()) for s in snaps]

    def get_action_result(self, aec_id: str, action_id: str) -> ActionResult | None:
        """The server's verdict written on an action document, if any."""
        self.count_rpc("get")
        with _mapped_errors():
            snap = self._action_ref(aec_id, action_id).get(**self._read_opts())
        data = snap.to_dict() if snap.exists else None
        if not data or data.get("result") is None:
            return None
        return ActionResult.model_validate(data["result"])

    # -- writes -----------------------------------------------------------------------

    def create(self, aec: AEC) -> AEC:
        now = self.clock.now()
        aec = stamp(aec.model_copy(update={"created_at": aec.created_at or now}), now, 1)
        self.count_rpc("create")
        try:
            with _mapped_errors():
                # Retried only when the request never reached the server: a retry
                # after a lost reply would report our own write as a conflict.
                result = self._ref(aec.id).create(
                    to_document(aec),
                    retry=_retry(self.timeout_s, (gexc.ServiceUnavailable,)),
                    timeout=self.timeout_s,
                )
        except gexc.AlreadyExists:
            raise ConflictError(f"ticket {aec.id} already exists") from None
        self._seen.put(aec.id, (aec, result.update_time))
        return aec

    def mutate(self, aec_id: str, fn: Mutation, *, durable: bool = True) -> AEC | None:
        return self._write(aec_id, fn, missing_ok=False)  # Firestore writes are durable

    def project(self, aec_id: str, state: GenerationState) -> AEC | None:
        return self._write(aec_id, progress_fn(state), missing_ok=True)

    def carried_projection(self, aec_id: str, state: GenerationState) -> CarriedWrite | None:
        return None  # Firestore shares no transaction with the run store's database

    def put_action_result(self, aec_id: str, action_id: str, result: ActionResult) -> None:
        self.count_rpc("set")
        with _mapped_errors():
            self._action_ref(aec_id, action_id).set(
                {"result": _encode(result.model_dump(by_alias=True))},
                merge=True,
                retry=_retry(self.timeout_s, _TRANSIENT),
                timeout=self.timeout_s,
            )

    # -- internals --------------------------------------------------------------------

    def _ref(self, aec_id: str) -> Any:
        return self.client.collection(self.collection).document(aec_id)

    def _action_ref(self, aec_id: str, action_id: str) -> Any:
        return self._ref(aec_id).collection("actions").document(action_id)

    def _read_opts(self) -> dict[str, Any]:
        return {"retry": _retry(self.timeout_s, _TRANSIENT), "timeout": self.timeout_s}

    def _write(self, aec_id: str, fn: Mutation, *, missing_ok: bool) -> AEC | None:
        if not self.serialize_local_writes:
            return self._fast(aec_id, fn) or self._transact(aec_id, fn, missing_ok=missing_ok)
        ref_path = f"{self.collection}/{aec_id}"
        with _LOCAL_LOCKS[zlib.crc32(ref_path.encode()) % len(_LOCAL_LOCKS)]:
            return self._fast(aec_id, fn) or self._transact(aec_id, fn, missing_ok=missing_ok)

    def _fast(self, aec_id: str, fn: Mutation) -> AEC | None:
        """``fn`` applied to the last copy and sent as one ``update`` of the changed
        fields, preconditioned on the copy's update time; ``None`` when that cannot
        decide (no copy, a stale copy, a delete, or nothing to change)."""
        seen = self._seen.get(aec_id)
        if seen is None:
            return None
        before, update_time = seen
        nxt = apply_cached(before, fn)
        if nxt is None:
            return None
        nxt = stamp(nxt, self.clock.now(), before.version + 1)
        fields = _encode(nxt.model_dump(by_alias=True, include=changed_fields(before, nxt)))
        self.count_rpc("update")
        try:
            with _mapped_errors():
                result = self._ref(aec_id).update(
                    fields, option=self.client.write_option(last_update_time=update_time),
                    # a retry after a lost reply fails the precondition: harmless
                    retry=_retry(self.timeout_s, (gexc.ServiceUnavailable,)),
                    timeout=self.timeout_s)
        except (gexc.FailedPrecondition, gexc.NotFound):
            self._seen.drop(aec_id)
            return None
        self._seen.put(aec_id, (nxt, result.update_time))
        return nxt

    def _transact(self, aec_id: str, fn: Mutation, *, missing_ok: bool) -> AEC | None:
        ref = self._ref(aec_id)
        store = self

        @firestore.transactional
        def run(txn: firestore.Transaction) -> tuple[AEC | None, Any]:
            store.count_rpc("get")
            snap = ref.get(transaction=txn, **store._read_opts())
            if not snap.exists:
                if missing_ok:
                    return None, None
                raise NotFoundError(f"ticket {aec_id} does not exist")
            current = _parse(snap.to_dict())
            nxt = fn(current)
            if nxt is None:
                txn.delete(ref)
                return None, None
            if nxt is current:
                return current, snap.update_time
            nxt = stamp(nxt, store.clock.now(), current.version + 1)
            txn.set(ref, to_document(nxt))
            return nxt, None

        def attempt() -> AEC | None:
            txn = _BoundedTransaction(self.client, max_attempts=self.max_attempts,
                                      timeout_s=self.timeout_s, count=self.count_rpc)
            result: AEC | None
            result, update_time = run(txn)
            if result is None:
                self._seen.drop(aec_id)
                return None
            written = getattr(txn, "write_results", None)
            if update_time is None and written:
                update_time = written[0].update_time
            if update_time is not None:
                self._seen.put(aec_id, (result, update_time))
            return result

        return _with_contention_retry(attempt, self.max_attempts)


def to_document(aec: AEC) -> dict[str, Any]:
    """``aec.doc()`` with datetimes as Firestore timestamps (aware UTC datetimes)."""
    encoded: dict[str, Any] = _encode(aec.model_dump(by_alias=True))
    return encoded


def _encode(value: Any) -> Any:
    """Python-mode pydantic dump -> Firestore values (enums to strings, tz-aware UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _parse(data: dict[str, Any] | None) -> AEC:
    return AEC.model_validate(data or {})


def _retry(timeout_s: float, transient: tuple[type[Exception], ...]) -> gretry.Retry:
    return gretry.Retry(
        predicate=gretry.if_exception_type(*transient),
        initial=0.1,
        maximum=1.0,
        multiplier=2.0,
        timeout=timeout_s,
    )


def _with_contention_retry(attempt: Callable[[], T], max_attempts: int) -> T:
    """Run a whole transaction again when the emulator or the service aborts it
    outside the commit (the library only retries an aborted commit)."""
    for n in range(max_attempts):
        try:
            with _mapped_errors():
                return attempt()
        except gexc.Aborted:
            time.sleep(min(0.5, 0.01 * 2**n) * random.random())
        except ValueError as exc:
            if isinstance(exc.__cause__, gexc.Aborted):  # library: commits exhausted
                break
            raise
    raise RetryableError(
        f"Firestore transaction still contended after {max_attempts} attempts",
        code="firestore_contention",
    )


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Translate transient Firestore failures into the workflow's retry verb."""
    try:
        yield
    except _TRANSIENT as exc:
        raise RetryableError(f"Firestore unavailable: {exc}",
                             code="firestore_unavailable") from exc
    except gexc.RetryError as exc:
        raise RetryableError(f"Firestore unavailable: {exc.cause or exc}",
                             code="firestore_unavailable") from exc
