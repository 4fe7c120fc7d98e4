"""The repositories view on Cloud Firestore: ``repositories/{repoId}``.

One document per registration (:class:`~ticketflow.ports.repositories.RepositoryDoc`),
written by the server only (``firestore.rules`` lets its owner read it and nobody
write it); ``index`` is the latest index requested for it. The page lists a user's
documents live. A write is a transaction that is ignored when the stored ``seq`` is
not older (a late progress write never moves the page backwards).
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from ticketflow.adapters.firestore import (
    _TRANSIENT,
    _BoundedTransaction,
    _encode,
    _retry,
    _with_contention_retry,
)
from ticketflow.ports.repositories import IndexRecord, RepositoryDoc, RepositoryRecord

COLLECTION = "repositories"


def _no_count(kind: str) -> None:
    """The view's RPCs are not counted (the counters measure the ticket store)."""


def repository_document(repo: RepositoryRecord, index: IndexRecord | None) -> dict[str, Any]:
    """The document of a registration and its latest index (camelCase, timestamps)."""
    encoded: dict[str, Any] = _encode(RepositoryDoc.of(repo, index).model_dump(by_alias=True))
    return encoded


class FirestoreRepositoryView:
    """:class:`ticketflow.ports.repositories.RepositoryView` on Firestore."""

    def __init__(self, client: firestore.Client, *, collection: str = COLLECTION,
                 timeout_s: float = 10.0, max_attempts: int = 5) -> None:
        self.client = client
        self.collection = collection
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts

    def project(self, repo: RepositoryRecord, index: IndexRecord | None) -> None:
        ref = self.client.collection(self.collection).document(repo.repo_id)
        doc = repository_document(repo, index)
        view = self

        @firestore.transactional
        def run(txn: firestore.Transaction) -> None:
            snap = ref.get(transaction=txn, retry=_retry(view.timeout_s, _TRANSIENT),
                           timeout=view.timeout_s)
            if snap.exists:
                current = snap.to_dict() or {}
                same = (current.get("index") or {}).get("indexId") == (
                    (doc["index"] or {}).get("indexId"))
                if same and int(current.get("seq") or 0) >= int(doc["seq"]):
                    return
            txn.set(ref, doc)

        def attempt() -> None:
            run(_BoundedTransaction(self.client, max_attempts=self.max_attempts,
                                    timeout_s=self.timeout_s, count=_no_count))

        _with_contention_retry(attempt, self.max_attempts)

    def get(self, repo_id: str) -> dict[str, Any] | None:
        snap = self.client.collection(self.collection).document(repo_id).get(
            timeout=self.timeout_s)
        return snap.to_dict() if snap.exists else None
