"""What a request claims already exists, as :class:`~ticketflow.ports.llm.Claim` records.

Two sources. The rules (:func:`rule_claims`): the references of
:mod:`.references` (files, symbols, routes, settings, quoted labels, each presented as
existing or as something to create) plus things named by description ("the existing
post endpoints"). And, with a language model, the ``extract_claims`` task, whose claims
are merged with the rules' (:func:`merge`): the model may add claims and say better
whether one is presented as new, but it never decides that something is missing; the
repository index verifies every claim (:mod:`.validate`).
"""

from __future__ import annotations

import re

from ticketflow.ports.llm import Claim
from ticketflow.preflight.references import Reference, extract_references, sentence_around

__all__ = ["merge", "references_from", "rule_claims"]

_DESCRIBED = re.compile(
    r"\b(?:the|our|its|their)\s+(?:existing|current|same)\s+((?:[a-z][\w-]*\s+){0,3}?"
    r"(?:endpoints?|routes?|apis?|pages?|screens?|forms?|services?|helpers?|components?|"
    r"tables?|models?|views?|templates?|jobs?|tasks?|commands?|hooks?|settings?))\b",
    re.I)


def rule_claims(text: str) -> list[Claim]:
    """The claims the rules find in ``text`` (title and description)."""
    claims = [Claim(kind=r.kind, name=r.name, quote=r.evidence,
                    presented_as="new" if r.creates else "existing")
              for r in extract_references(text)]
    for m in _DESCRIBED.finditer(text):
        quote = sentence_around(text, m.start(1), m.end(1))
        if any(c.quote == quote and c.name in m.group(0) for c in claims):
            continue  # "the existing GET /x endpoint": the route itself is the claim
        if any(c.name in quote and m.start() <= text.find(c.name, m.start()) <= m.end() + 20
               for c in claims if c.quote == quote):
            continue
        claims.append(Claim(kind="description", name=m.group(1).strip(), quote=quote,
                            presented_as="existing"))
    return claims


def _quote_in(text: str, claim: Claim) -> str:
    """The claim's sentence as it stands in the request (never the model's paraphrase)."""
    if claim.quote and claim.quote.strip() in text:
        at = text.index(claim.quote.strip())
        return sentence_around(text, at, at + len(claim.quote.strip()))
    at = text.find(claim.name)
    return sentence_around(text, at, at + len(claim.name)) if at >= 0 else claim.name


def references_from(claims: list[Claim], text: str) -> list[Reference]:
    """Claims as the references :func:`~ticketflow.preflight.validate.validate_request`
    checks; a claim whose name is not in the request is dropped (nothing to quote)."""
    out: list[Reference] = []
    seen: set[tuple[str, str]] = set()
    for c in claims:
        name = c.name.strip().strip("`'\"\u2018\u2019\u201c\u201d")
        if not name or (c.kind != "description" and name not in text) \
                or (c.kind, name) in seen:
            continue
        seen.add((c.kind, name))
        out.append(Reference(c.kind, name,
                             _quote_in(text, c.model_copy(update={"name": name})),
                             c.presented_as == "new"))
    return out


def merge(rules: list[Claim], model: list[Claim]) -> list[Claim]:
    """The model's claims, then the rules' claims it did not make (same kind and name)."""
    have = {(c.kind, c.name.strip().strip("`'\"")) for c in model}
    return [*model, *(c for c in rules if (c.kind, c.name) not in have)]
