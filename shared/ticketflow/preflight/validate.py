"""Turn a request and the repository index into findings with severity.

Critical: the request presents as existing a file, symbol, route or setting the
index cannot find (the closest real one is the suggestion). Warnings: missing
information needed to implement, contradictions, risky areas. A request that only
asks to create something new is not a finding.
"""

from __future__ import annotations

import hashlib
import re

from ticketflow.domain import Finding, FindingKind, Severity
from ticketflow.ports import RepoIndex
from ticketflow.preflight.conflicts import contradictions
from ticketflow.preflight.references import Reference, extract_references
from ticketflow.preflight.wording import unmeasurable

_KIND_OF = {
    "file": FindingKind.MISSING_FILE,
    "symbol": FindingKind.MISSING_SYMBOL,
    "route": FindingKind.MISSING_ROUTE,
    "setting": FindingKind.MISSING_SETTING,
    "ui_text": FindingKind.MISSING_ELEMENT,
}
_WHAT = {"file": "file or path", "symbol": "symbol", "route": "route", "setting": "setting",
         "ui_text": "text"}
_RISKY = re.compile(
    r"\b(auth(?:entication|orization)?|passwords?|payments?|billing|migrations?|"
    r"delete all|drop table|permissions?|secrets?|encryption)\b",
    re.IGNORECASE,
)


def _fid(kind: str, name: str) -> str:
    return "f-" + hashlib.sha1(f"{kind}:{name}".encode()).hexdigest()[:8]


def _missing(ref: Reference, closest: str | None) -> Finding:
    what = _WHAT[ref.kind]
    if ref.kind == "ui_text":
        return Finding(
            id=_fid(ref.kind, ref.name), kind=_KIND_OF[ref.kind], severity=Severity.CRITICAL,
            evidence=ref.evidence,
            message=f"The request refers to '{ref.name}' on screen, but no template, "
                    "component or translation in the repository shows that text.",
            suggestion=(f"Did you mean '{closest}'?" if closest
                        else "Check the wording on screen, or say that it is to be added."),
        )
    suggestion = (f"Did you mean `{closest}`?" if closest
                  else f"Check the name, or say that the {what} is to be created.")
    return Finding(
        id=_fid(ref.kind, ref.name), kind=_KIND_OF[ref.kind], severity=Severity.CRITICAL,
        evidence=ref.evidence,
        message=f"The request refers to the {what} `{ref.name}`, which does not exist "
                "in the repository.",
        suggestion=suggestion,
    )


def validate_request(
    title: str, description: str, *, repo: str | None, index: RepoIndex | None,
    references: list[Reference] | None = None,
) -> list[Finding]:
    """Findings for a request; code references (the rules' own, or ``references`` from
    the claims step 3 gathered) are checked only against a ready index."""
    text = f"{title}.\n{description}".strip()
    findings: list[Finding] = []
    refs = extract_references(text) if references is None else references
    ready = bool(repo and index and index.status(repo).state == "ready")
    if ready:
        assert repo is not None and index is not None
        for ref in refs:
            if ref.creates:
                continue
            finding = _check(ref, text, repo, index)
            if finding is not None:
                findings.append(finding)
    elif refs and repo:
        findings.append(Finding(
            id=_fid("unverifiable", repo), kind=FindingKind.UNVERIFIABLE,
            severity=Severity.INFO, evidence=refs[0].evidence,
            message="The repository index is not ready, so code references were not checked.",
            suggestion="Run the request again once indexing has finished.",
        ))
    findings.extend(_wording_findings(text, title, description))
    return findings


def _check(ref: Reference, text: str, repo: str, index: RepoIndex) -> Finding | None:
    """The finding for one reference the wording presents as existing, if any."""
    if ref.kind == "description":
        return _check_description(ref, repo, index)
    look = index.lookup(repo, ref.kind, ref.name)
    if look.found or look.matches:  # several files match a bare name: it exists
        return None
    if ref.kind == "file" and "." not in ref.name.rsplit("/", 1)[-1]:
        # an extension-less slash word is a path only if it starts in a real directory
        head = ref.name.strip("/").split("/", 1)[0]
        if not index.path_exists(repo, head):
            return None
    if ref.kind == "symbol" and "." in ref.name:
        # "Service.method()": the method may exist elsewhere; the owner must exist too
        head = ref.name.split(".", 1)[0]
        owner = index.lookup(repo, "symbol", head)
        if head[:1].isupper() and not owner.found and not _mentioned_in_code(repo, index,
                                                                               head):
            return _missing(ref, owner.closest)
    if ref.kind in ("symbol", "setting") and _mentioned_in_code(repo, index, ref.name):
        return None  # a column, key, attribute or environment name read in the code
    if ref.kind == "symbol" and not _symbol_like(ref, text):
        return Finding(
            id=_fid("unresolved", ref.name), kind=FindingKind.MISSING_SYMBOL,
            severity=Severity.WARNING, evidence=ref.evidence,
            message=f"`{ref.name}` looks like a code name but does not appear in the "
                    "repository.",
            suggestion=(f"If it means `{look.closest}`, say so; " if look.closest else "")
            + "if it is to be created, say that it is new.",
        )
    return _missing(ref, look.closest)


_GENERIC = frozenset({"endpoint", "route", "api", "page", "screen", "form", "service", "helper",
                      "component", "table", "model", "view", "template", "job", "task",
                      "command", "hook", "setting", "the", "same", "existing", "current"})


def _check_description(ref: Reference, repo: str, index: RepoIndex) -> Finding | None:
    """Something named only by description ("the existing post endpoints"): a warning
    when no route, file or code name in the repository carries its words."""
    words = [w for w in re.findall(r"[a-z][a-z0-9]+", ref.name.lower())
             if w.rstrip("s") not in _GENERIC and w not in _GENERIC]
    if not words:
        return None
    for w in words:
        stem = w[:-1] if len(w) > 3 and w.endswith("s") else w
        if index.mentions(repo, stem, limit=1) or index.lookup(repo, "file", stem).closest:
            return None
        if any(stem in e.path.lower() for e in index.endpoints(repo)):
            return None
    return Finding(
        id=_fid("described", ref.name), kind=FindingKind.MISSING_ELEMENT,
        severity=Severity.WARNING, evidence=ref.evidence,
        message=f"The request refers to the existing {ref.name}, but nothing in the "
                "repository carries those words.",
        suggestion="Name the route, file or code it means.",
    )


def _mentioned_in_code(repo: str, index: RepoIndex, name: str) -> bool:
    """True when ``name`` appears verbatim (as a whole word) in the repository: a name
    that is used, though not defined (a dict key, a column, an attribute, an
    environment variable read through a framework), exists."""
    bare = name.removesuffix("()").rsplit(".", 1)[-1]
    if len(bare) < 3:
        return False
    return bool(index.mentions(repo, bare, limit=1))


def _symbol_like(ref: Reference, text: str) -> bool:
    """A bare word counts as a code reference only when the wording points at code:
    backticks, a call ``name()``, a dotted name, or a code noun after it."""
    n = ref.name
    if f"`{n}`" in text or f"{n}()" in text or "." in n:
        return True
    code_noun = (r"\s+(function|method|class|helper|component|service|module|hook|view|"
                 r"model|decorator|constant|enum|interface|type)\b")
    return bool(re.search(rf"\b{re.escape(n)}{code_noun}", text, re.IGNORECASE))


def _wording_findings(text: str, title: str, description: str) -> list[Finding]:
    out: list[Finding] = []
    for u in unmeasurable(description, title):
        out.append(Finding(
            id=_fid("missing", u.sentence.lower()), kind=FindingKind.MISSING_INFORMATION,
            severity=Severity.WARNING, evidence=u.sentence,
            message=f"'{u.term}' has no target value, so it cannot be tested.",
            suggestion="State a measurable target (a number with a unit, or an observable "
                       "behaviour).",
        ))
    # the title sums the request up: against the description it reads as a contradiction
    for c in contradictions(description):
        out.append(Finding(
            id=_fid("contradiction", c.evidence.lower()), kind=FindingKind.CONTRADICTION,
            severity=Severity.WARNING, evidence=c.evidence,
            message=f"The request asks for opposite things ({c.why}): '{c.first}' and "
                    f"'{c.second}'.",
            suggestion="Say which one applies, and where.",
        ))
    m = _RISKY.search(text)
    if m:
        out.append(Finding(
            id=_fid("risky", m.group(0).lower()), kind=FindingKind.RISKY_AREA,
            severity=Severity.INFO, evidence=m.group(0),
            message=f"The change touches a sensitive area ({m.group(0)}).",
            suggestion="Plan a review by the owners of that area and tests for it.",
        ))
    unique: dict[str, Finding] = {}
    for f in out:
        unique.setdefault(f.id, f)
    return list(unique.values())
