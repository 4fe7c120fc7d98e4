"""Firestore as the web page's signed-in user sees it (the REST API of the emulator,
with the user's ID token, so ``firestore.rules`` apply), and the Firestore events the
platform delivers to the functions.

:class:`User` is a person signed in on the Auth emulator; :class:`UserRest` makes the
writes the page makes (an action document with ``createdAt`` set by the server, a
content edit with an update mask and ``updatedAt`` stamped by the server) and reads
a ticket. :func:`action_event` builds the
``document.v1.created`` CloudEvent of an action document, to deliver it again
straight to ``/on_action_created`` (at-least-once delivery).
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import httpx

from ticketflow.dev.emulators import DEFAULT_PROJECT_ID, AuthEmulator, FirestoreEmulator

CREATED = "google.cloud.firestore.document.v1.created"


class User(NamedTuple):
    """A user of the Auth emulator: ``uid`` and an ID token for it."""

    uid: str
    token: str

    @classmethod
    def anonymous(cls, auth: AuthEmulator) -> User:
        return cls(*auth.sign_in_anonymously())

    @classmethod
    def signed_up(cls, auth: AuthEmulator, email: str | None = None,
                  password: str = "pw-123456") -> User:
        return cls(*auth.sign_up(email or f"u-{uuid.uuid4().hex[:8]}@example.com", password))


def rest_value(v: Any) -> dict[str, Any]:
    """A Python value as a Firestore REST ``Value``."""
    if v is None:
        return {"nullValue": None}
    if isinstance(v, bool):
        return {"booleanValue": v}
    if isinstance(v, int):
        return {"integerValue": str(v)}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, dict):
        return {"mapValue": {"fields": {k: rest_value(x) for k, x in v.items()}}}
    raise TypeError(type(v))


def _doc_name(fs: FirestoreEmulator, path: str) -> str:
    return f"projects/{fs.project_id}/databases/(default)/documents/{path}"


def write_action(fs: FirestoreEmulator, id_token: str, aec_id: str, fields: dict[str, Any],
                 action_id: str | None = None, *,
                 http: httpx.Client | None = None) -> tuple[str, httpx.Response]:
    """Create ``aecs/{aec}/actions/{id}`` with the user's token; ``createdAt`` is set to
    the request time with a field transform, as the web SDK's serverTimestamp does."""
    action_id = action_id or f"act-{uuid.uuid4().hex[:12]}"
    body = {"writes": [{
        "update": {"name": _doc_name(fs, f"aecs/{aec_id}/actions/{action_id}"),
                   "fields": {k: rest_value(v) for k, v in fields.items()}},
        "currentDocument": {"exists": False},
        "updateTransforms": [{"fieldPath": "createdAt", "setToServerValue": "REQUEST_TIME"}],
    }]}
    url = f"{fs.documents_url}:commit"
    headers = {"Authorization": f"Bearer {id_token}"}
    resp = (http.post(url, json=body, headers=headers) if http is not None
            else httpx.post(url, json=body, headers=headers, timeout=10.0))
    return action_id, resp


def edit_aec(fs: FirestoreEmulator, id_token: str, aec_id: str, fields: dict[str, Any], *,
             must_exist: bool = False, http: httpx.Client | None = None) -> httpx.Response:
    """Update only ``fields`` of ``aecs/{aec}`` with the user's token, as the web page's
    edit does: an update mask, and ``updatedAt`` set to the request time by a field
    transform (the SDK's serverTimestamp); the rules decide. ``must_exist`` adds the
    precondition that the ticket exists (no write creating it)."""
    write: dict[str, Any] = {
        "update": {"name": _doc_name(fs, f"aecs/{aec_id}"),
                   "fields": {k: rest_value(v) for k, v in fields.items()}},
        "updateMask": {"fieldPaths": list(fields)},
        "updateTransforms": [{"fieldPath": "updatedAt", "setToServerValue": "REQUEST_TIME"}],
    }
    if must_exist:
        write["currentDocument"] = {"exists": True}
    url = f"{fs.documents_url}:commit"
    body = {"writes": [write]}
    headers = {"Authorization": f"Bearer {id_token}"}
    if http is not None:
        return http.post(url, json=body, headers=headers)
    return httpx.post(url, json=body, headers=headers, timeout=10.0)


class UserRest:
    """One user's view of Firestore through the rules (one HTTP client, reused)."""

    def __init__(self, fs: FirestoreEmulator, user: User) -> None:
        self.fs = fs
        self.user = user
        self.http = httpx.Client(timeout=10.0)

    def write_action(self, aec_id: str, fields: dict[str, Any],
                     action_id: str | None = None) -> tuple[str, httpx.Response]:
        """See :func:`write_action`."""
        return write_action(self.fs, self.user.token, aec_id, fields, action_id,
                            http=self.http)

    def edit(self, aec_id: str, fields: dict[str, Any], *,
             must_exist: bool = True) -> httpx.Response:
        """See :func:`edit_aec`."""
        return edit_aec(self.fs, self.user.token, aec_id, fields, must_exist=must_exist,
                        http=self.http)

    def get(self, aec_id: str) -> httpx.Response:
        """Read ``aecs/{aec}`` (a deleted ticket reads as 404, not 403)."""
        return self.http.get(f"{self.fs.documents_url}/aecs/{aec_id}",
                             headers={"Authorization": f"Bearer {self.user.token}"})

    def close(self) -> None:
        self.http.close()


def action_event_body(fields: dict[str, Any], aec_id: str, action_id: str, *,
                      project_id: str = DEFAULT_PROJECT_ID) -> bytes:
    """The ``document.v1.created`` payload of an action document (protobuf)."""
    from google.events.cloud.firestore_v1.types import Document, DocumentEventData, Value

    def val(v: Any) -> Any:
        if isinstance(v, dict):
            return Value(map_value={"fields": {k: val(x) for k, x in v.items()}})
        return Value(string_value=v)

    name = (f"projects/{project_id}/databases/(default)/documents/aecs/{aec_id}"
            f"/actions/{action_id}")
    doc = Document(name=name, fields={k: val(v) for k, v in fields.items()})
    return bytes(DocumentEventData.serialize(DocumentEventData(value=doc)))


def action_event(fields: dict[str, Any], aec_id: str, action_id: str, *,
                 project_id: str = DEFAULT_PROJECT_ID, source: str | None = None,
                 subject: bool = False) -> tuple[bytes, dict[str, str]]:
    """Body and binary-mode CloudEvent headers of an action document's creation, to
    POST to ``/on_action_created``. ``source`` defaults to ``//test``; ``subject`` adds
    ``ce-subject`` (the document path) as Eventarc sends it."""
    headers = {"ce-specversion": "1.0", "ce-id": uuid.uuid4().hex,
               "ce-source": source or "//test", "ce-type": CREATED,
               "Content-Type": "application/protobuf"}
    if subject:
        headers["ce-subject"] = f"documents/aecs/{aec_id}/actions/{action_id}"
    return action_event_body(fields, aec_id, action_id, project_id=project_id), headers
