"""Warnings about the wording of a request: requirements that cannot be measured, and
requirements that contradict each other. Evidence is quoted from the request: the
sentence (or the two sentences) the warning is about, nothing else.

Unmeasurable: a sentence that asks for a quality without a number to test it by
("faster", "more secure", "easy to use", "should feel quicker"): the usual list of
ambiguous requirement words plus any comparative after *be / feel / look / get /
become*. Contradictions: two clauses that pull one subject in opposite directions,
in a few recognisable shapes (everyone / only; optional / required; all at once /
paged; immediately / batched; always / never; permanent / reversible; synchronous /
asynchronous; public / private).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Contradiction", "Unmeasurable", "contradictions", "sentences", "unmeasurable"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`])|\n+")
_CLAUSE = re.compile(r",\s*(?:and|but|while|whereas)\s+|;\s*|\s+but\s+|,\s*and\s+also\s+")
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twice|half|"
                     r"percent|per cent)\b", re.I)
_VAGUE = re.compile(
    r"\b(fast(?:er)?|quick(?:er|ly)?|slow(?:er|ly|s)?|speed(?:ed)? up|sluggish|laggy|"
    r"responsive|performant|performance|efficient(?:ly)?|takes? too long|too slow|"
    r"user[- ]friendly|intuitive|easy to use|easier|simpler|seamless(?:ly)?|"
    r"modern|nicer|prettier|cleaner|better|improved?|optimi[sz]ed?|"
    r"secure|more secure|safer|robust|reliable|stable|flexible|scalable|"
    r"relevant|appropriate|adequate|sufficient|reasonable|as soon as possible|asap|soon|"
    r"state[- ]of[- ]the[- ]art|high[- ]quality)\b", re.I)
_COMPARATIVE = re.compile(r"\b(?:be|feel|look|get|become|seem|stay)\s+(?:much\s+|a lot\s+|"
                          r"a bit\s+|far\s+)?(more\s+\w+|less\s+\w+|[a-z]{3,}ier|[a-z]{3,}er)\b",
                          re.I)
_NOT_COMPARATIVE = re.compile(r"^(?:over|under|after|never|ever|other|either|neither|whether|"
                              r"order|number|user|owner|member|paper|later|rather|together|"
                              r"answer|register|filter|render|enter|offer|cover|consider|"
                              r"deliver|transfer|trigger|power|header|footer|folder|"
                              r"sender|customer|cluster|player|water|master)$", re.I)
_ASK = re.compile(r"\b(should|must|needs?|has to|have to|want|wants|would like|make|"
                  r"improve|takes?|is|are|feel|look)\b", re.I)
_STOP = frozenset([
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "as", "is", "are", "be", "been", "being", "was", "were", "it", "its", "this",
    "that", "these", "those", "there", "their", "them", "they", "we", "our", "you", "your",
    "must", "should", "shall", "will", "would", "can", "could", "may", "might", "need",
    "needs", "also", "only", "just", "all", "any", "every", "each", "no", "not", "never",
    "always", "must", "stay", "keep", "still", "when", "while", "so", "than", "then",
    "into", "one", "who", "which", "what", "where", "how", "do", "does", "did", "have",
    "has", "had", "same", "other"
])


@dataclass(frozen=True)
class Unmeasurable:
    term: str
    sentence: str


@dataclass(frozen=True)
class Contradiction:
    first: str
    second: str
    evidence: str
    why: str


def sentences(text: str) -> list[str]:
    """The request's sentences, as written (white space trimmed)."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def unmeasurable(text: str) -> list[Unmeasurable]:
    """Sentences asking for a quality with nothing to measure it by."""
    out: list[Unmeasurable] = []
    for s in sentences(text):
        if _NUMBER.search(s) or not _ASK.search(s):
            continue
        m = _VAGUE.search(s)
        term = m.group(0) if m else None
        if term is None:
            c = _COMPARATIVE.search(s)
            if c and not _NOT_COMPARATIVE.match(c.group(1).split()[-1]):
                term = c.group(1)
        if term:
            out.append(Unmeasurable(term, s))
    return out


# -- contradictions -----------------------------------------------------------------------

_Side = re.Pattern[str]


@dataclass(frozen=True)
class _Shape:
    why: str
    a: _Side
    b: _Side
    same_subject: bool  # both sides must share a content word
    one_clause: bool = False  # antonyms in one clause count too ("sync for X and async for Y")


def _p(pattern: str) -> _Side:
    return re.compile(pattern, re.I)


_SHAPES = (
    _Shape("everyone / only",
           _p(r"\b(any|every|everyone|everybody|anyone|anybody|all)\b"),
           _p(r"\b(only|exclusively|nobody but|no one but|none but)\b"), True),
    _Shape("optional / required",
           _p(r"\b(optional|not required|without (?:giving |any |an? )|no need to)\b"),
           _p(r"\b(required|mandatory|compulsory|cannot be \w+ without|must (?:always )?"
              r"(?:give|provide|have|include)|at least one)\b"), True),
    _Shape("all at once / paged",
           _p(r"\b(at once|on (?:a|one) single page|on one page|single page|without pag\w*|"
              r"no pag\w*|not paginated|everything on one)\b"),
           _p(r"\b(per page|paging|paginat\w*|page size|next and previous|pages? of \d+)\b"),
           False),
    _Shape("immediately / later in a batch",
           _p(r"\b(immediately|instantly|right away|in real[- ]time|as soon as)\b"),
           _p(r"\b(once a (?:day|week)|daily|weekly|hourly|nightly|in a batch|batched|"
              r"digest|collected into one)\b"), False),
    _Shape("always / never", _p(r"\balways\b"), _p(r"\bnever\b"), True),
    _Shape("permanent / reversible",
           _p(r"\b(permanent(?:ly)?|irreversibl[ey]|for good|cannot be undone|none of "
              r"(?:their|its|the) data is kept)\b"),
           _p(r"\b(restor\w+|undo\w*|recover\w*|reversible|undelet\w*)\b"), False),
    _Shape("synchronous / asynchronous", _p(r"\bsynchronous(?:ly)?\b"),
           _p(r"\basynchronous(?:ly)?\b"), False, True),
    _Shape("public / private", _p(r"\bpublic(?:ly)?\b"), _p(r"\bprivate(?:ly)?\b"), True),
)


def _content(text: str) -> set[str]:
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text)}
    return {w.rstrip("s") for w in words if w not in _STOP}


def contradictions(text: str) -> list[Contradiction]:
    """Pairs of clauses that ask for opposite things (each shape reported once)."""
    return _contradictions(text)


def _contradictions(text: str) -> list[Contradiction]:
    units: list[tuple[int, str]] = []  # (sentence index, clause)
    sents = sentences(text)
    for i, s in enumerate(sents):
        for clause in _CLAUSE.split(s):
            if clause.strip():
                units.append((i, clause.strip()))
    out: list[Contradiction] = []
    for shape in _SHAPES:
        found = _pair(shape, units, sents)
        if found is not None:
            out.append(found)
    return out


def _pair(shape: _Shape, units: list[tuple[int, str]], sents: list[str]) -> Contradiction | None:
    for ia, (sa, ca) in enumerate(units):
        ma = shape.a.search(ca)
        if not ma:
            continue
        for ib, (sb, cb) in enumerate(units):
            mb = shape.b.search(cb)
            if ib == ia:
                if not (shape.one_clause and mb):
                    continue
            elif not mb or (shape.a.search(cb) and shape.b.search(ca)):
                continue
            if shape.same_subject and not (_content(ca) & _content(cb)) - {ma.group(0).lower(),
                                                                          mb.group(0).lower()}:
                continue
            first, second = min(sa, sb), max(sa, sb)
            evidence = sents[first] if first == second else f"{sents[first]} … {sents[second]}"
            return Contradiction(ma.group(0), mb.group(0), evidence, shape.why)
    return None
