"""``firestore.rules`` against the real emulator, with real Auth emulator ID tokens.

The Python server client bypasses rules, so it only seeds data here; every checked
call goes through the Firestore REST API with ``Authorization: Bearer <idToken>``,
as the web page's SDK would. Each rule is tested allowed AND denied.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from google.cloud import firestore

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.dev.emulators import AuthEmulator, FirestoreEmulator
from ticketflow.domain import AEC, GenerationState

RUN = "run-1"
TOKEN = "tok-1"


@dataclass(frozen=True)
class User:
    uid: str
    id_token: str


class RestClient:
    """The Firestore REST API as one signed-in person (or nobody) calls it."""

    def __init__(self, emulator: FirestoreEmulator, user: User | None) -> None:
        self.root = emulator.documents_url
        self.name_root = f"projects/{emulator.project_id}/databases/(default)/documents"
        self.headers = {"Authorization": f"Bearer {user.id_token}"} if user else {}

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.root}/{path}", headers=self.headers, timeout=10)

    def commit(self, *writes: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.root}:commit", json={"writes": list(writes)},
                          headers=self.headers, timeout=10)

    def create(self, path: str, fields: Mapping[str, Any], *,
               request_time: tuple[str, ...] = ()) -> httpx.Response:
        """Create ``path``; ``request_time`` fields are set to the server's REQUEST_TIME."""
        write: dict[str, Any] = {
            "update": {"name": f"{self.name_root}/{path}", "fields": encode_fields(fields)},
            "currentDocument": {"exists": False},
        }
        if request_time:
            write["updateTransforms"] = [
                {"fieldPath": f, "setToServerValue": "REQUEST_TIME"} for f in request_time
            ]
        return self.commit(write)

    def update(self, path: str, fields: Mapping[str, Any], *,
               request_time: tuple[str, ...] = ("updatedAt",)) -> httpx.Response:
        """Update only ``fields`` of an existing document (an update mask), with the
        ``request_time`` fields set to the server's REQUEST_TIME (as the page does)."""
        write: dict[str, Any] = {
            "update": {"name": f"{self.name_root}/{path}", "fields": encode_fields(fields)},
            "updateMask": {"fieldPaths": [f"`{f}`" if "." in f else f for f in fields]},
            "currentDocument": {"exists": True},
        }
        if request_time:
            write["updateTransforms"] = [
                {"fieldPath": f, "setToServerValue": "REQUEST_TIME"} for f in request_time
            ]
        return self.commit(write)

    def delete(self, path: str) -> httpx.Response:
        return self.commit({"delete": f"{self.name_root}/{path}"})

    def query_actions(self, aec_id: str) -> httpx.Response:
        query: dict[str, Any] = {"from": [{"collectionId": "actions"}]}
        return httpx.post(f"{self.root}/aecs/{aec_id}:runQuery",
                          json={"structuredQuery": query}, headers=self.headers, timeout=10)

    def query_aecs(self, owner_id: str | None) -> httpx.Response:
        query: dict[str, Any] = {"from": [{"collectionId": "aecs"}]}
        if owner_id is not None:
            query["where"] = {"fieldFilter": {
                "field": {"fieldPath": "ownerId"}, "op": "EQUAL",
                "value": {"stringValue": owner_id}}}
        return httpx.post(f"{self.root}:runQuery", json={"structuredQuery": query},
                          headers=self.headers, timeout=10)


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a typed Firestore REST value."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, datetime):
        return {"timestampValue": value.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, Mapping):
        return {"mapValue": {"fields": encode_fields(value)}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [encode(v) for v in value]}}
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: encode(v) for k, v in fields.items()}


def assert_allowed(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text


def assert_denied(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert "PERMISSION_DENIED" in response.text


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def alice(auth_emulator: AuthEmulator) -> User:
    uid, token = auth_emulator.sign_up(f"alice-{uuid.uuid4().hex[:8]}@example.com", "pa55word!")
    return User(uid, token)


@pytest.fixture
def bob(auth_emulator: AuthEmulator) -> User:
    uid, token = auth_emulator.sign_in_anonymously()
    return User(uid, token)


@pytest.fixture
def server(firestore_client: firestore.Client) -> FirestoreDocumentStore:
    """The server's view (rules bypassed): seeds tickets the way the backend does."""
    return FirestoreDocumentStore(firestore_client)


@pytest.fixture
def as_alice(firestore_emulator: FirestoreEmulator, alice: User) -> RestClient:
    return RestClient(firestore_emulator, alice)


@pytest.fixture
def as_bob(firestore_emulator: FirestoreEmulator, bob: User) -> RestClient:
    return RestClient(firestore_emulator, bob)


def seed(server: FirestoreDocumentStore, owner: User, aec_id: str = "aec-1", *,
         locked: bool = False) -> AEC:
    aec = server.create(AEC.new(aec_id=aec_id, owner_id=owner.uid, title="Export CSV",
                                description="rough request"))
    if locked:
        state = GenerationState(run_id=RUN, status="running", current_step=1, total_steps=11, seq=1)
        out = server.mutate(aec_id, lambda a: a.lock_for(RUN, state))
        assert out is not None and out.locked
        return out
    return aec


def action(user: User, type_: str = "proceed", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "runId": RUN, "token": TOKEN, "uid": user.uid, **extra}


def create_action(client: RestClient, fields: Mapping[str, Any], aec_id: str = "aec-1",
                  action_id: str = "act-1") -> httpx.Response:
    return client.create(f"aecs/{aec_id}/actions/{action_id}", fields,
                         request_time=("createdAt",))


# -- reading tickets --------------------------------------------------------------------------


def test_owner_reads_own_ticket(server: FirestoreDocumentStore, alice: User,
                                as_alice: RestClient) -> None:
    seed(server, alice)
    response = as_alice.get("aecs/aec-1")
    assert_allowed(response)
    assert response.json()["fields"]["ownerId"]["stringValue"] == alice.uid


def test_other_user_cannot_read(server: FirestoreDocumentStore, alice: User,
                                as_bob: RestClient) -> None:
    seed(server, alice)
    assert_denied(as_bob.get("aecs/aec-1"))


def test_a_deleted_ticket_reads_as_missing_not_denied(as_alice: RestClient) -> None:
    """A page listening to a ticket that the server deleted hears 'not found'."""
    response = as_alice.get("aecs/never-existed")
    assert response.status_code == 404, response.text


def test_signed_out_cannot_read(server: FirestoreDocumentStore, alice: User,
                                firestore_emulator: FirestoreEmulator) -> None:
    seed(server, alice)
    assert_denied(RestClient(firestore_emulator, None).get("aecs/aec-1"))


def test_owner_lists_only_with_own_filter(server: FirestoreDocumentStore, alice: User,
                                          bob: User, as_alice: RestClient) -> None:
    seed(server, alice, "aec-1")
    seed(server, bob, "aec-2")
    response = as_alice.query_aecs(alice.uid)
    assert_allowed(response)
    names = [r["document"]["name"] for r in response.json() if "document" in r]
    assert [n.rsplit("/", 1)[-1] for n in names] == ["aec-1"]
    assert_denied(as_alice.query_aecs(None))
    assert_denied(as_alice.query_aecs(bob.uid))


# -- creating tickets --------------------------------------------------------------------------


STAMPS = ("createdAt", "updatedAt")


def new_draft(user: User, **change: Any) -> dict[str, Any]:
    """What the page writes when it creates a ticket (timestamps: REQUEST_TIME)."""
    return {"id": "aec-9", "ownerId": user.uid, "title": "New", "description": "",
            "repo": None, "status": "draft", "locked": False, "version": 0, **change}


def test_client_creates_own_draft(alice: User, as_alice: RestClient) -> None:
    assert_allowed(as_alice.create("aecs/aec-9", new_draft(alice), request_time=STAMPS))


@pytest.mark.parametrize("change", [
    {"ownerId": "someone-else"},
    {"status": "generating"},
    {"locked": True},
    {"generationState": {"runId": RUN, "status": "running", "currentStep": 1}},
    {"lockedBy": RUN},
    {"title": ""},
    {"title": "   "},
    {"title": "x" * 201},
    {"description": "x" * 20001},
    {"repo": "x" * 501},
    {"surprise": 1},
    {"version": 1},
    {"version": 2**63 - 1},
    {"findings": [{"id": "f1", "severity": "critical"}]},
    {"acceptanceCriteria": ["it works"]},
    {"generatedBy": {"name": "claude", "offline": False}},
    {"error": None},
    {"id": "aec-other"},
], ids=["other-owner", "not-draft", "locked", "generationState", "lockedBy", "empty-title",
        "blank-title", "long-title", "long-description", "long-repo", "unknown-key",
        "version-1", "version-max", "findings", "acceptanceCriteria", "generatedBy",
        "error-key", "other-id"])
def test_client_cannot_create_other_tickets(alice: User, as_alice: RestClient,
                                            change: dict[str, Any]) -> None:
    assert_denied(as_alice.create("aecs/aec-9", new_draft(alice, **change),
                                  request_time=STAMPS))


@pytest.mark.parametrize("stamps", [(), ("createdAt",), ("updatedAt",)],
                         ids=["no-stamps", "no-updatedAt", "no-createdAt"])
def test_create_timestamps_must_be_request_time(alice: User, as_alice: RestClient,
                                                stamps: tuple[str, ...]) -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    draft = new_draft(alice, **{f: past for f in STAMPS if f not in stamps})
    assert_denied(as_alice.create("aecs/aec-9", draft, request_time=stamps))


def test_signed_out_cannot_create_update_list_or_act(
        server: FirestoreDocumentStore, alice: User,
        firestore_emulator: FirestoreEmulator) -> None:
    seed(server, alice, locked=True)
    nobody = RestClient(firestore_emulator, None)
    assert_denied(nobody.create("aecs/aec-9", new_draft(alice), request_time=STAMPS))
    assert_denied(nobody.update("aecs/aec-1", {"title": "anonymous edit"}))
    assert_denied(nobody.query_aecs(alice.uid))
    assert_denied(create_action(nobody, action(alice)))
    assert_denied(nobody.query_actions("aec-1"))


# -- updating tickets --------------------------------------------------------------------------


def test_update_content_while_unlocked_allowed(server: FirestoreDocumentStore, alice: User,
                                               as_alice: RestClient) -> None:
    seed(server, alice)
    assert_allowed(as_alice.update("aecs/aec-1", {"title": "Export CSV and XLSX",
                                                 "description": "more", "repo": "acme/app"}))
    got = server.get("aec-1")
    assert got is not None and got.title == "Export CSV and XLSX" and got.repo == "acme/app"


def test_edit_must_stamp_updated_at_with_request_time(server: FirestoreDocumentStore,
                                                      alice: User,
                                                      as_alice: RestClient) -> None:
    seed(server, alice)
    assert_denied(as_alice.update("aecs/aec-1", {"title": "no stamp"}, request_time=()))
    past = datetime(2020, 1, 1, tzinfo=UTC)
    assert_denied(as_alice.update("aecs/aec-1", {"title": "old stamp", "updatedAt": past},
                                  request_time=()))
    got = server.get("aec-1")
    assert got is not None and got.title == "Export CSV"


@pytest.mark.parametrize("fields", [
    {"title": "  "}, {"title": "x" * 201}, {"description": "x" * 20001}, {"repo": "x" * 501},
], ids=["blank-title", "long-title", "long-description", "long-repo"])
def test_edit_size_limits(server: FirestoreDocumentStore, alice: User, as_alice: RestClient,
                          fields: dict[str, Any]) -> None:
    seed(server, alice)
    assert_denied(as_alice.update("aecs/aec-1", fields))


def test_update_content_while_locked_denied(server: FirestoreDocumentStore, alice: User,
                                            as_alice: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_denied(as_alice.update("aecs/aec-1", {"title": "sneaky edit"}))
    got = server.get("aec-1")
    assert got is not None and got.title == "Export CSV"


def test_other_user_cannot_update(server: FirestoreDocumentStore, alice: User,
                                  as_bob: RestClient) -> None:
    seed(server, alice)
    assert_denied(as_bob.update("aecs/aec-1", {"title": "mine now"}))


@pytest.mark.parametrize("fields", [
    {"generationState": {"runId": RUN, "status": "completed", "currentStep": 11}},
    {"locked": True},
    {"lockedBy": RUN},
    {"status": "ready"},
    {"ownerId": "someone-else"},
    {"acceptanceCriteria": ["it works"]},
    {"title": "ok", "status": "ready"},
], ids=["generationState", "locked", "lockedBy", "status", "ownerId", "generated-content",
        "content-plus-status"])
def test_server_fields_are_never_client_written(server: FirestoreDocumentStore, alice: User,
                                                as_alice: RestClient,
                                                fields: dict[str, Any]) -> None:
    seed(server, alice)
    assert_denied(as_alice.update("aecs/aec-1", fields))


def test_client_cannot_delete_ticket(server: FirestoreDocumentStore, alice: User,
                                     as_alice: RestClient) -> None:
    seed(server, alice)
    assert_denied(as_alice.delete("aecs/aec-1"))
    assert server.get("aec-1") is not None


# -- actions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["proceed", "edit", "cancel", "skip", "abort"])
def test_owner_creates_valid_action(server: FirestoreDocumentStore, alice: User,
                                    as_alice: RestClient, type_: str) -> None:
    seed(server, alice, locked=True)
    assert_allowed(create_action(as_alice, action(alice, type_)))
    response = as_alice.get("aecs/aec-1/actions/act-1")
    assert_allowed(response)
    fields = response.json()["fields"]
    assert fields["type"]["stringValue"] == type_
    assert "timestampValue" in fields["createdAt"]


def test_abort_needs_no_token_but_other_actions_do(server: FirestoreDocumentStore,
                                                  alice: User, as_alice: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_allowed(create_action(as_alice, {**action(alice, "abort"), "token": ""}))
    assert_denied(create_action(as_alice, {**action(alice, "proceed"), "token": ""},
                                action_id="act-2"))


def test_owner_creates_answer_action_with_answers(server: FirestoreDocumentStore, alice: User,
                                                  as_alice: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_allowed(create_action(as_alice, action(alice, "answer", answers={"q1": "CSV only"})))


def test_action_on_someone_elses_ticket_denied(server: FirestoreDocumentStore, alice: User,
                                               bob: User, as_bob: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_denied(create_action(as_bob, action(bob)))


def test_action_on_missing_ticket_denied(alice: User, as_alice: RestClient) -> None:
    assert_denied(create_action(as_alice, action(alice), aec_id="nope"))


@pytest.mark.parametrize("fields", [
    {"uid": "someone-else"},
    {"type": "approve"},
    {"extra": "key"},
    {"result": {"status": "accepted"}},
    {"answers": {"q1": "yes"}},
    {"runId": 7},
    {"token": ""},
], ids=["wrong-uid", "unknown-type", "extra-key", "result-key", "answers-on-proceed",
        "runId-not-string", "empty-token"])
def test_invalid_action_shapes_denied(server: FirestoreDocumentStore, alice: User,
                                      as_alice: RestClient, fields: dict[str, Any]) -> None:
    seed(server, alice, locked=True)
    assert_denied(create_action(as_alice, {**action(alice), **fields}))


@pytest.mark.parametrize("answers", [None, "q1=yes"], ids=["missing", "not-a-map"])
def test_answer_action_needs_an_answers_map(server: FirestoreDocumentStore, alice: User,
                                            as_alice: RestClient, answers: Any) -> None:
    seed(server, alice, locked=True)
    fields = action(alice, "answer")
    if answers is not None:
        fields["answers"] = answers
    assert_denied(create_action(as_alice, fields))


def test_action_created_at_must_be_request_time(server: FirestoreDocumentStore, alice: User,
                                                as_alice: RestClient) -> None:
    seed(server, alice, locked=True)
    fields = {**action(alice), "createdAt": datetime(2020, 1, 1, tzinfo=UTC)}
    assert_denied(as_alice.create("aecs/aec-1/actions/act-1", fields))


def test_actions_are_never_updated_or_deleted_by_clients(server: FirestoreDocumentStore,
                                                         alice: User,
                                                         as_alice: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_allowed(create_action(as_alice, action(alice)))
    assert_denied(as_alice.update("aecs/aec-1/actions/act-1", {"type": "cancel"}))
    assert_denied(as_alice.update("aecs/aec-1/actions/act-1", {"result": {"status": "x"}}))
    assert_denied(as_alice.delete("aecs/aec-1/actions/act-1"))
    assert_allowed(as_alice.get("aecs/aec-1/actions/act-1"))


def test_other_user_cannot_read_actions(server: FirestoreDocumentStore, alice: User,
                                        as_alice: RestClient, as_bob: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_allowed(create_action(as_alice, action(alice)))
    assert_denied(as_bob.get("aecs/aec-1/actions/act-1"))
    assert_allowed(as_alice.query_actions("aec-1"))
    assert_denied(as_bob.query_actions("aec-1"))


def test_action_must_name_the_tickets_current_run(server: FirestoreDocumentStore,
                                                  alice: User, as_alice: RestClient) -> None:
    seed(server, alice, locked=True)
    assert_denied(create_action(as_alice, action(alice, runId="run-old")))
    assert_allowed(create_action(as_alice, action(alice)))


def test_action_on_a_never_generated_ticket_denied(server: FirestoreDocumentStore,
                                                   alice: User, as_alice: RestClient) -> None:
    seed(server, alice)  # no generationState: no run to act on
    assert_denied(create_action(as_alice, action(alice)))


@pytest.mark.parametrize("answers", [{}, {f"q{i}": "yes" for i in range(21)}],
                         ids=["empty", "too-many"])
def test_answers_size_limits(server: FirestoreDocumentStore, alice: User,
                             as_alice: RestClient, answers: dict[str, str]) -> None:
    seed(server, alice, locked=True)
    assert_denied(create_action(as_alice, action(alice, "answer", answers=answers)))


def test_everything_else_denied(alice: User, as_alice: RestClient) -> None:
    assert_denied(as_alice.create("runs/r1", {"ownerId": alice.uid}))
    assert_denied(as_alice.get("runs/r1"))
