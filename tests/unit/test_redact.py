"""Secrets in database URLs and messages are redacted before anyone sees them."""

from __future__ import annotations

import pytest

from ticketflow.observability.redact import redact_text, redact_url


@pytest.mark.parametrize("url,shown", [
    ("libsql://db.example.turso.io?authToken=abc.def", "libsql://db.example.turso.io?authToken=***"),
    ("https://user:pa55@db.example/x?tls=1", "https://user:***@db.example/x?tls=1"),
    ("wss://tok@db.example", "wss://***@db.example"),
    ("file:.ticketflow/ticketflow.db", "file:.ticketflow/ticketflow.db"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_hides_known_secrets_and_assignments() -> None:
    text = "cannot connect to wss://db?authToken=xyz with key hunter2"
    assert redact_text(text, "hunter2", None) == \
        "cannot connect to wss://db?authToken=*** with key ***"
