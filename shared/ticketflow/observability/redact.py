"""Secrets never reach a message: database URLs are shown with their tokens redacted."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_KEYS = {"authtoken", "auth_token", "token", "jwt", "password", "secret", "key"}
_ASSIGNMENT = re.compile(r"(?i)\b(authToken|auth_token|token|jwt|password)=([^&\s]+)")


def redact_url(url: str) -> str:
    """``url`` with any password and any token-like query parameter replaced by
    ``***`` (``libsql://db.example?authToken=abc`` -> ``libsql://db.example?authToken=***``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _ASSIGNMENT.sub(r"\1=***", url)
    netloc = parts.netloc
    secret_query = any(k.lower() in _SECRET_KEYS
                       for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    if "@" not in netloc and not secret_query:
        return url  # nothing to hide: shown exactly as given
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in creds else f"***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_KEYS else v) for k, v in pairs],
                          safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of each non-empty secret, and every
    ``token=...``-style assignment, replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _ASSIGNMENT.sub(r"\1=***", text)
