"""Decoding Firestore CloudEvents (``google.cloud.firestore.document.v1.*``).

The event data is a ``DocumentEventData`` protobuf, and arrives in three shapes:
raw protobuf bytes (Eventarc in production), the base64 text of those bytes (the
Firestore emulator), or a JSON object (a trigger with a JSON content type; the
proto3 JSON mapping, ``{"value": {"name", "fields": {"x": {"stringValue": ...}}}}``).
:func:`decode_document_event` accepts all three and returns the created (or
updated) document's path and its fields as plain Python values;
:func:`decode_document_change` returns both the old and the new document of an
update (``oldValue`` and ``value``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.events.cloud.firestore_v1.types import DocumentEventData
from google.protobuf.message import DecodeError


class EventDecodeError(ValueError):
    """The event's data is not a Firestore document event."""


@dataclass(frozen=True)
class DocumentEvent:
    path: str  # "aecs/A/actions/B", relative to the database's documents root
    fields: dict[str, Any]

    @property
    def segments(self) -> list[str]:
        return self.path.split("/")


@dataclass(frozen=True)
class DocumentChange:
    """Both sides of a document event: ``old`` is ``None`` for a create, ``new`` for a
    delete. ``update_time`` is the new document's commit time, when the event has it."""

    path: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    update_time: datetime | None = None

    @property
    def segments(self) -> list[str]:
        return self.path.split("/")

    def changed(self, names: Iterable[str]) -> list[str]:
        """Which of ``names`` differ between the old and the new document (a missing
        field counts as ``None``)."""
        old, new = self.old or {}, self.new or {}
        return [n for n in names if old.get(n) != new.get(n)]


def _from_bytes(raw: bytes) -> Any:
    try:
        return DocumentEventData.pb(DocumentEventData.deserialize(raw))
    except (DecodeError, TypeError, ValueError) as exc:
        raise EventDecodeError(f"not a DocumentEventData protobuf: {exc}") from exc


def _maybe_base64(data: bytes) -> bytes | None:
    text = data.strip()
    if not text or text[:1] == b"\n":  # raw protobuf starts with field 1 (0x0a)
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_event_data(data: Any) -> Any:
    """The raw ``DocumentEventData`` protobuf message from any of the three shapes."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        decoded = _maybe_base64(raw)
        if decoded is not None:
            try:
                return _from_bytes(decoded)
            except EventDecodeError:
                pass
        if raw.lstrip()[:1] == b"{":
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise EventDecodeError(f"event data is not JSON: {exc}") from exc
        else:
            return _from_bytes(raw)
    if isinstance(data, dict):
        try:
            msg = DocumentEventData.from_json(json.dumps(data), ignore_unknown_fields=True)
        except Exception as exc:  # the JSON parser's errors are not one type
            raise EventDecodeError(f"not a DocumentEventData JSON object: {exc}") from exc
        return DocumentEventData.pb(msg)
    raise EventDecodeError(f"unsupported event data type {type(data).__name__}")


def value_to_python(value: Any) -> Any:
    """A ``google.firestore.v1.Value`` protobuf as a plain Python value."""
    kind = value.WhichOneof("value_type")
    if kind is None or kind == "null_value":
        return None
    if kind == "timestamp_value":
        return value.timestamp_value.ToDatetime(tzinfo=UTC)
    if kind == "array_value":
        return [value_to_python(v) for v in value.array_value.values]
    if kind == "map_value":
        return fields_to_python(value.map_value.fields)
    if kind == "geo_point_value":
        return {"latitude": value.geo_point_value.latitude,
                "longitude": value.geo_point_value.longitude}
    return getattr(value, kind)


def fields_to_python(fields: Any) -> dict[str, Any]:
    return {str(k): value_to_python(v) for k, v in fields.items()}


def document_path(name: str) -> str:
    """``projects/P/databases/D/documents/a/b`` -> ``a/b``."""
    marker = "/documents/"
    i = name.find(marker)
    return name[i + len(marker):] if i >= 0 else name


def _path(name: str, subject: str | None) -> str:
    name = name or (subject or "")
    path = document_path(name) if "/documents/" in name else name.removeprefix("documents/")
    if not path:
        raise EventDecodeError("the event names no document")
    return path


def decode_document_event(data: Any, subject: str | None = None) -> DocumentEvent:
    """The document carried by a Firestore event (its new value; for a delete, the
    old one). ``subject`` (``documents/a/b``) is used when the data has no name."""
    msg = decode_event_data(data)
    doc = msg.value if msg.HasField("value") else msg.old_value
    return DocumentEvent(path=_path(doc.name, subject), fields=fields_to_python(doc.fields))


def decode_document_change(data: Any, subject: str | None = None) -> DocumentChange:
    """The old and the new document of a Firestore event (``document.v1.updated``
    carries both; a create has no old one, a delete no new one)."""
    msg = decode_event_data(data)
    has_new, has_old = msg.HasField("value"), msg.HasField("old_value")
    if not has_new and not has_old:
        raise EventDecodeError("the event carries no document")
    name = msg.value.name if has_new else msg.old_value.name
    update_time = None
    if has_new and msg.value.HasField("update_time"):
        update_time = msg.value.update_time.ToDatetime(tzinfo=UTC)
    return DocumentChange(
        path=_path(name, subject),
        old=fields_to_python(msg.old_value.fields) if has_old else None,
        new=fields_to_python(msg.value.fields) if has_new else None,
        update_time=update_time)
