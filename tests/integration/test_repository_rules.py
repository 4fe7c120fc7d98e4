"""``firestore.rules`` for repositories, against the real emulator with real Auth
emulator ID tokens: a person reads only their own registrations, never writes one,
names only their own on a ticket, and never writes a ticket's repository context
(the index it is checked against). Seeded through the server's own view adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from google.cloud import firestore
from tests.integration.test_firestore_rules import (
    STAMPS,
    RestClient,
    User,
    alice,
    as_alice,
    as_bob,
    assert_allowed,
    assert_denied,
    bob,
    new_draft,
    seed,
    server,
)

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.firestore_repositories import FirestoreRepositoryView
from ticketflow.ports import IndexStatus
from ticketflow.ports.repositories import IndexRecord, RepositoryRecord
from ticketflow.workflow.indexing import index_id_for, repo_id_for

__all__ = ["alice", "as_alice", "as_bob", "bob", "server"]  # fixtures used below
NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://example.org/acme/app.git"


def register(view: FirestoreRepositoryView, owner: User, url: str = URL) -> str:
    repo = RepositoryRecord(repo_id=repo_id_for(owner.uid, url, None), owner_id=owner.uid,
                            url=url, created_at=NOW, updated_at=NOW)
    index = IndexRecord(index_id=index_id_for(repo.repo_id, "a" * 40), repo_id=repo.repo_id,
                        owner_id=owner.uid, url=url, commit="a" * 40, deadline_at=NOW,
                        seq=3, status=IndexStatus(state="ready", files_total=7, files_done=7),
                        created_at=NOW, updated_at=NOW)
    view.project(repo, index)
    return repo.repo_id


@pytest.fixture
def view(firestore_client: firestore.Client) -> FirestoreRepositoryView:
    return FirestoreRepositoryView(firestore_client)


def draft(owner: User, **extra: object) -> dict[str, object]:
    return new_draft(owner, id="aec-r", title="Export", **extra)


# -- reading registrations --------------------------------------------------------------------


def test_owner_reads_own_registration_and_its_index(
        view: FirestoreRepositoryView, alice: User, as_alice: RestClient) -> None:
    repo_id = register(view, alice)
    response = as_alice.get(f"repositories/{repo_id}")
    assert_allowed(response)
    index = response.json()["fields"]["index"]["mapValue"]["fields"]
    assert index["state"]["stringValue"] == "ready"
    assert index["commit"]["stringValue"] == "a" * 40


def test_another_user_cannot_read_a_registration(
        view: FirestoreRepositoryView, alice: User, as_bob: RestClient,
        firestore_client: firestore.Client) -> None:
    repo_id = register(view, alice)
    assert_denied(as_bob.get(f"repositories/{repo_id}"))
    query = {"structuredQuery": {"from": [{"collectionId": "repositories"}]}}
    listed = httpx.post(f"{as_bob.root}:runQuery", json=query, headers=as_bob.headers,
                        timeout=10)
    assert_denied(listed)


def test_nobody_writes_a_registration(view: FirestoreRepositoryView, alice: User,
                                      as_alice: RestClient) -> None:
    repo_id = register(view, alice)
    assert_denied(as_alice.update(f"repositories/{repo_id}", {"url": "https://evil/x"}))
    assert_denied(as_alice.delete(f"repositories/{repo_id}"))
    assert_denied(as_alice.create("repositories/repo-mine", {
        "ownerId": alice.uid, "url": URL, "index": {"state": "ready"}}))


# -- naming a repository on a ticket --------------------------------------------------------------


def test_a_ticket_names_only_its_owners_registration(
        view: FirestoreRepositoryView, alice: User, bob: User, as_bob: RestClient) -> None:
    alices = register(view, alice)
    bobs = register(view, bob)
    def create(**fields: object) -> httpx.Response:
        return as_bob.create("aecs/aec-r", draft(bob, repo=URL, **fields), request_time=STAMPS)

    assert_denied(create(repoId=alices))
    assert_denied(create(repoId="repo-none"))
    assert_allowed(create(repoId=bobs, repoRef="main"))
    assert_denied(as_bob.update("aecs/aec-r", {"repoId": alices}))
    assert_allowed(as_bob.update("aecs/aec-r", {"repoId": None, "repo": "https://h/y"}))


def test_a_person_never_writes_the_repository_context(
        view: FirestoreRepositoryView, server: FirestoreDocumentStore, alice: User,
        bob: User, as_bob: RestClient) -> None:
    alices = register(view, alice)
    context = {"url": URL, "indexId": index_id_for(alices, "a" * 40), "status": "ready"}
    assert_denied(as_bob.create("aecs/aec-r", draft(bob, repo=URL, repository=context),
                                request_time=STAMPS))
    assert_allowed(as_bob.create("aecs/aec-r", draft(bob, repo=URL), request_time=STAMPS))
    seed(server, bob, "aec-b")
    assert_denied(as_bob.update("aecs/aec-b", {"repository": context}))
    assert_allowed(as_bob.update("aecs/aec-b", {"repository": None}))
