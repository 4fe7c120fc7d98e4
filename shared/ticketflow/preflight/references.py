"""Find what a request refers to in the code: files, symbols, routes, settings.

Each reference keeps the exact phrase it came from (the evidence shown to the
person) and whether the wording presents it as existing ("the `export_csv()`
helper") or as something to create ("add a new `export_csv()` helper").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ticketflow.ports import RefKind

_EXT = (r"py|ts|tsx|js|jsx|mjs|json|ya?ml|toml|md|sql|html|css|scss|go|rs|java|kt|rb|php|"
        r"cfg|ini|env|sh|txt|vue|svelte")
_PATH = re.compile(rf"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:{_EXT}))(?![\w/-])")
_DIR_PATH = re.compile(r"(?<![\w/.-])((?:[\w-]+/){1,}[\w-]+/?)(?![\w.])")
_ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+(/[\w/{}:<>.-]*)")
_API_PATH = re.compile(r"(?<![\w/])(/api/[\w/{}:<>.-]+)")
_ENV = re.compile(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b")
_CALL = re.compile(r"\b([A-Za-z_][\w.]*)\(\)")
_BACKTICK = re.compile(r"`([^`\n]{2,80})`")
_CAMEL = re.compile(r"\b([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)\b")
_NAMED_CODE = re.compile(r"\b([A-Z][A-Za-z0-9]{2,})\s+(?:component|class|hook)\b")
_SNAKE = re.compile(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\b")
_CREATE = re.compile(
    r"\b(add(?:ing)?|create|creating|introduce|new|implement|build|write|define|expose)\b"
    r"[^.;:]{0,40}$",
    re.IGNORECASE,
)
_EXISTING_HINT = re.compile(r"\b(existing|current|the|our|in|from|uses?|calls?)\b", re.I)
# "text/csv", "and/or": slash words that are not paths
_NOT_PATH_HEAD = re.compile(
    r"^(text|application|image|audio|video|multipart|font|and|yes|true|on|read|input|"
    r"client|either|he|she|his|km|m|kb|mb|gb|req|requests?|bytes)/", re.I)
_QUERY_PARAM = re.compile(r"[?&][\w.-]*$")


@dataclass(frozen=True)
class Reference:
    kind: RefKind
    name: str
    evidence: str
    creates: bool


_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``: a period ends one only when followed by
    white space, so ``billing/pdf.py`` stays whole."""
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    after = _SENTENCE_END.search(text, end)
    right = after.start() if after is not None else len(text)
    return text[left:right].strip()


def _creates(text: str, start: int) -> bool:
    before = text[max(0, start - 60):start]
    before = re.split(r"[.;\n]", before)[-1]
    return bool(_CREATE.search(before))


def extract_references(text: str) -> list[Reference]:
    """All code references in ``text``, de-duplicated by (kind, name), in order."""
    found: dict[tuple[str, str], Reference] = {}
    spans: list[tuple[int, int]] = []

    def add(kind: RefKind, name: str, m: re.Match[str], group: int = 1) -> None:
        s, e = m.span(group)
        if any(s >= a and e <= b for a, b in spans):
            return
        if kind != "route" and _QUERY_PARAM.search(text[max(0, s - 40):s]):
            return  # a query-string parameter of a URL ("?name__startswith=")
        spans.append((s, e))
        key = (kind, name)
        if key not in found:
            found[key] = Reference(kind, name, _sentence_around(text, s, e), _creates(text, s))

    for m in _ROUTE.finditer(text):
        add("route", f"{m.group(1)} {m.group(2).rstrip('.')}", m, 0)
    for m in _API_PATH.finditer(text):
        add("route", m.group(1).rstrip("."), m)
    for m in _PATH.finditer(text):
        add("file", m.group(1), m)
    for m in _DIR_PATH.finditer(text):
        if ("/" in m.group(1).strip("/") and not m.group(1).startswith("api/")
                and not _NOT_PATH_HEAD.match(m.group(1))):
            add("file", m.group(1).rstrip("/"), m)
    for m in _ENV.finditer(text):
        add("setting", m.group(1), m)
    for m in _CALL.finditer(text):
        add("symbol", m.group(1), m)
    for m in _BACKTICK.finditer(text):
        inner = m.group(1).strip()
        if re.fullmatch(r"[A-Za-z_][\w.]*", inner):
            add("symbol", inner, m)
    for m in _NAMED_CODE.finditer(text):
        add("symbol", m.group(1), m)
    for m in _CAMEL.finditer(text):
        add("symbol", m.group(1), m)
    for m in _SNAKE.finditer(text):
        add("symbol", m.group(1), m)
    return list(found.values())
