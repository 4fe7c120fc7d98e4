"""Route and UI-text lookups of the libSQL repository index.

A route is found when a declared route has the same path (parameters compared by
position, whatever their spelling) and a compatible method. Routes whose whole
path is known come from the mounts the code declares (``app.use('/api', router)``,
``url_prefix``, ``include_router(prefix=...)``); a route mounted under a prefix set
outside the readable code (a Django project's url module, a NestJS global prefix
from configuration) also matches a request that puts any prefix before it, provided
the part that matches names at least one fixed path segment.

A parameter takes a value, never a word of a route template: a request that writes its
path with parameters (``/items/:id/archive``) names ``archive`` as a fixed segment, so
``/items/{id}/{tab}`` does not declare it (an optional parameter, ``{tab?}``, takes it).
A concrete path of fixed words (``/feeds/daily/summary``) is not found through a route
whose parameters take two or more of its words and which has no fixed segment
(``/{user}/{token}/{name}``): such a route answers any path of that length. A
parameter written inside a segment with other text (``{name}.{ext}``) takes only a value
of that shape. A path written without its leading slash (``orders/<pk>/refund``) is a
part of a route, found at the end of a longer declared one. A catch-all segment
(``/reports/*slug``, ``{*rest}``) takes one or more segments, and a request's ellipsis
(``PUT /api/reports/...``) whatever the declared route has there.
"""

from __future__ import annotations

import difflib
import re

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_structure import StructureStore, fold
from ticketflow.repo_index.extract import normalize_path, split_words
from ticketflow.repo_index.paths import demotion

__all__ = ["RouteMatch", "closest", "lookup_route", "lookup_ui_text"]

RouteMatch = tuple[bool, list[str], str | None, list[str]]  # found, matches, closest, files


def _segments(key: str) -> list[str]:
    return [s for s in key.split("/") if s]


_ID_PARAM = re.compile(r"(^|_)(id|pk|uuid|key|num|number|index|idx)$|Id$", re.I)
_ID_VALUE = re.compile(r"^(\d+|[0-9a-f]{8,}|[0-9a-f-]{32,36})$", re.I)


def _seg_fits(declared: str, wanted: str, template: bool = False) -> bool:
    """A fixed segment must be equal; a parameter takes a placeholder, or a concrete value
    (an identifier-named parameter only an identifier-looking value: ``/invoices/42``
    fits ``/invoices/{invoice_id}``, ``/invoices/export`` does not). In a ``template``
    (a wanted path written with parameters) a fixed word is a value of an optional
    parameter only. A segment written as an ellipsis (``/api/reports/...``) stands for
    whatever the route has there."""
    if wanted in ("...", "\u2026"):
        return True
    if "{" in declared and not (declared.startswith("{") and declared.endswith("}")
                                and declared.count("{") == 1):
        if wanted.startswith("{") and wanted.endswith("}"):
            return True  # "{name}.{ext}": a parameter, or a value of the same shape
        if re.sub(r"\{[^{}]*\}", "{}", declared) == re.sub(r"\{[^{}]*\}", "{}", wanted):
            return True  # "{token}.xml" written as "<token>.xml"
        pattern = re.sub(r"\{[^{}]*\}", "\x00", declared)
        rx = "".join(".+" if ch == "\x00" else re.escape(ch) for ch in pattern)
        return bool(re.fullmatch(rx, wanted)) and not template
    if not declared.startswith("{"):
        return declared == wanted
    if wanted.startswith("{"):
        return True
    if template:
        return declared.endswith("?}")  # an optional parameter takes what stands there
    return not _ID_PARAM.search(declared.strip("{}?")) or bool(_ID_VALUE.match(wanted))


def _only_through_parameters(route: list[str], wanted: list[str]) -> bool:
    """A concrete path of fixed words whose words two or more parameters take, and no
    fixed segment of the route: any path of that length would be "found"."""
    def bare(seg: str) -> bool:
        return seg.startswith("{") and seg.endswith("}") and seg.count("{") == 1

    fixed = [w for w in wanted if not w.startswith("{")]
    if any(not bare(r) for r in route):
        return False  # a fixed segment, or one of a shape ("{item}.{ext}"), fits
    return len(fixed) >= 2 and len(route) >= 2


def _catch_all(seg: str) -> bool:
    """A segment that takes the rest of the path: ``*``, ``*slug`` (path-to-regexp 8,
    Express 5, NestJS 11), ``{*rest}``."""
    return seg.startswith("*") or seg.startswith("{*")


def _fits(route: list[str], wanted: list[str]) -> bool:
    """Same length and every segment fits; an optional parameter (``{name?}``) may also
    be left out; a catch-all segment takes one or more segments."""
    wild = next((i for i, seg in enumerate(route) if _catch_all(seg)), None)
    if wild is not None:
        return len(wanted) > wild and _fits(route[:wild], wanted[:wild]) if wild else \
            len(wanted) > 0
    template = any(w.startswith("{") for w in wanted)
    optional = [i for i, seg in enumerate(route) if seg.endswith("?}")]
    for drop in range(2 ** min(len(optional), 4)):
        left_out = {optional[b] for b in range(min(len(optional), 4)) if drop >> b & 1}
        variant = [seg for i, seg in enumerate(route) if i not in left_out]
        if len(variant) == len(wanted) and all(
                _seg_fits(r, w, template) for r, w in zip(variant, wanted, strict=True)) \
                and (template or not _only_through_parameters(variant, wanted)):
            return True
    return False


def _method_ok(wanted: str | None, have: str) -> bool:
    if wanted is None:
        return True
    return have in (wanted, "ANY") and have != "PAGE"


_UI_FILE = re.compile(r"\.(html?|jinja2?|j2|vue|svelte|hbs|handlebars|ejs|njk|tsx|jsx)$")


def lookup_route(db: Database, structure: StructureStore, key: str, name: str) -> RouteMatch:
    parts = name.split(None, 1)
    method = parts[0].upper() if len(parts) == 2 else None
    path = parts[1] if len(parts) == 2 else name
    want_segs = _segments(normalize_path(path))
    partial = not path.strip().startswith(("/", "http:", "https:")) and len(want_segs) > 1
    declared: list[tuple[str, str, str, bool]] = [
        (str(m), str(r), str(p), True) for m, r, p in db.execute(
            "SELECT DISTINCT method, route, path FROM idx_routes WHERE repo = ?", [key]).rows]
    declared += structure.routes(key)
    matches: list[str] = []
    files: list[str] = []
    same_path: list[str] = []
    for m, route, file, resolved in declared:
        segs = _segments(normalize_path(route))
        exact = _fits(segs, want_segs)
        under_prefix = (not resolved and 0 < len(segs) < len(want_segs)
                        and _fits(segs, want_segs[-len(segs):])
                        and any(not s.startswith("{") and s in want_segs for s in segs))
        if partial and not exact and len(segs) > len(want_segs):
            # "orders/<pk>/refund": the end of a declared route, a fixed word shared
            exact = (_fits(segs[-len(want_segs):], want_segs)
                     and any(not s.startswith("{") for s in want_segs))
        if not (exact or under_prefix):
            continue
        label = f"{m} {route}" + ("" if exact else " (mounted under a prefix)")
        if _method_ok(method, m):
            if label not in matches:
                matches.append(label)
            if file not in files:
                files.append(file)
        elif m != "PAGE":
            same_path.append(f"{m} {route}")
    if matches:
        return True, matches, None, files
    if same_path:
        return False, [], same_path[0], []
    return False, [], _closest_route(method, want_segs, declared), []


def _closest_route(method: str | None, wanted: list[str],
                   declared: list[tuple[str, str, str, bool]]) -> str | None:
    """The declared route sharing the longest run of leading segments with the wanted
    one (its parent resource), the same method first; ties by text similarity."""
    best: tuple[int, int, float] | None = None
    choice: str | None = None
    text = "/" + "/".join(wanted)
    for m, route, _, _ in declared:
        if m == "PAGE":
            continue
        segs = _segments(normalize_path(route))
        shared = 0
        for a, b in zip(segs, wanted, strict=False):
            if not _seg_fits(a, b):
                break
            shared += 1
        if shared == 0:
            continue
        ratio = difflib.SequenceMatcher(None, route.lower(), text.lower()).ratio()
        key = (shared, int(method is None or m == method), ratio)
        if best is None or key > best:
            best, choice = key, f"{m} {route}" if method else route
    if choice is not None:
        return choice
    # a suggestion names one of the wanted path's words: "/{comment_id}/create" is not a
    # better spelling of "/comment/{pk}/restore", however alike the two strings look
    fixed = {s for s in wanted if not s.startswith("{")}
    every = list(dict.fromkeys(f"{m} {r}" if method else r for m, r, _, _ in declared
                               if m != "PAGE" and fixed & set(_segments(normalize_path(r)))))
    return closest(f"{method} {text}" if method else text, every)


def lookup_ui_text(structure: StructureStore, key: str, text: str) -> RouteMatch:
    hits = structure.ui_text_files(key, text)
    if hits:
        shown = list(dict.fromkeys(t for _, t in hits))[:5]
        # templates and components before code that merely holds the string, tests last
        files = sorted(dict.fromkeys(p for p, _ in hits),
                       key=lambda p: (-demotion(p), not _UI_FILE.search(p)))
        return True, shown, None, files
    wanted = fold(text)
    short = [t for t in structure.ui_texts(key) if len(t) <= max(40, 2 * len(wanted))]
    return False, [], closest(text, short), []


def closest(name: str, candidates: list[str]) -> str | None:
    """The candidate most like ``name`` (a suggestion), among those that share one of
    its words or its first three letters: a repository holds tens of thousands of
    names, and comparing each costs more than the whole rest of a request."""
    words = [w.lower() for w in split_words(name) if len(w) >= 3]
    head = name.lower()[:3]
    lowered: dict[str, str] = {}
    for c in candidates:
        low = c.lower()
        if low.startswith(head) or any(w in low for w in words):
            lowered.setdefault(low, c)
    if len(lowered) > 3000 and words:  # too many to compare: those sharing a word
        lowered = {k: v for k, v in lowered.items() if any(w in k for w in words)}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hits[0]] if hits else None
