"""Requirements that contradict each other: two clauses of a request that pull one
subject in opposite directions. Evidence is the sentence, or the two sentences, that
hold the two clauses.

Three kinds of evidence:

* **opposite words** about one subject, in shapes requirement reviews meet again and
  again (everyone / only, optional / required, all at once / paged, immediately /
  later in a batch, always / never, permanent / reversible, synchronous /
  asynchronous, public / private, shown / hidden, enabled / disabled, allowed /
  forbidden, kept / deleted, editable / read-only, ascending / descending, anonymous /
  signed in, unlimited / limited, one / several, automatic / manual, encrypted /
  plain text, case-sensitive / insensitive);
* **one action, both polarities**: "admins must be able to delete comments" against
  "comments must never be deleted" (the same verb after a modal, once negated, about
  a shared noun; a negated clause with its own condition, "files over 10 MB", is a
  restriction, not a contradiction);
* **two amounts for one thing**: "at most 5 attachments" against "10 attachments per
  task" (same unit, different numbers, a shared noun, neither sentence describing a
  change from one value to another);
* **all of something against a cap on it**: "list every invoice" against "show no
  more than 20 invoices" (the same noun after "all / every" and after the cap; a page
  at a time is paging, not a cap);
* **an absolute rule, then its override**: a requirement stated without exception
  ("the dialog must stay hidden for every user", "guests must never store data") and a
  later sentence that asks for an exception in so many words ("at the same time",
  "regardless of", "must still", "even when", "we also want") about at least two of
  the same content words ("admins must still be able to open the dialog").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ticketflow.preflight.wording import asks, binds, sentences

__all__ = ["Contradiction", "contradictions"]

_CLAUSE = re.compile(r",\s*(?:and|but|while|whereas|yet)\s+|;\s*|\s+but\s+|,\s*and\s+also\s+|"
                     r"\s+whereas\s+|\s+while\s+")
_STOP = frozenset([
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "as", "is", "are", "be", "been", "being", "was", "were", "it", "its", "this",
    "that", "these", "those", "there", "their", "them", "they", "we", "our", "you", "your",
    "must", "should", "shall", "will", "would", "can", "could", "may", "might", "need",
    "needs", "also", "only", "just", "all", "any", "every", "each", "no", "not", "never",
    "always", "stay", "keep", "still", "when", "while", "so", "than", "then",
    "into", "one", "who", "which", "what", "where", "how", "do", "does", "did", "have",
    "has", "had", "same", "other", "able", "allowed", "more", "less", "least", "most",
    "without", "cannot", "about", "after", "before", "over", "under", "per", "page"
])


@dataclass(frozen=True)
class Contradiction:
    first: str
    second: str
    evidence: str
    why: str


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


# what signing in takes: "without a login", "without any kind of credentials"
_CREDENTIAL = (r"(?:any (?:kind|form|sort) of |any |an? |their |its )?(?:login|logging in|"
               r"signing in|sign[- ]in|account|credentials?|token|api key|key|password|"
               r"authentication)")

_SHAPES = (
    _Shape("everyone / only",
           _p(r"\b(any|every|everyone|everybody|anyone|anybody|all)\b"),
           _p(r"\b(only|exclusively|nobody but|no one but|none but|restricted to|"
              r"reserved for)\b"), True),
    _Shape("optional / required",
           _p(r"\b(optional|not required|not mandatory|without (?:[a-z]+ing )?(?:any |an? )|"
              r"without giving |"
              r"no need to|(?:can|may) be (?:left )?(?:empty|blank)|leave (?:it |them )?"
              r"(?:empty|blank))\b"),
           _p(r"\b(required|mandatory|compulsory|cannot be \w+ without|must (?:always )?"
              r"(?:give|provide|have|include|fill|enter)|at least one|must be (?:filled|"
              r"provided|given|set|entered))\b"), True),
    _Shape("all at once / paged",
           _p(r"\b(at once|on (?:a|one) single page|on one page|single page|without pag\w*|"
              r"no pag\w*|not paginated|everything on one|(?:in|as) one (?:long )?list)\b"),
           _p(r"\b(per page|paging|paginat\w*|page size|next and previous|pages? of \d+|"
              r"load more|infinite scroll\w*)\b"),
           False),
    _Shape("immediately / later in a batch",
           _p(r"\b(immediately|instantly|right away|in real[- ]time|real[- ]time|as soon as|"
              r"live|within seconds)\b"),
           _p(r"\b(once a (?:day|week|month|night)|once per (?:day|week|hour)|daily|weekly|"
              r"hourly|nightly|overnight|in a batch|batched|digest|collected into one|"
              r"every (?:day|night|morning|evening|hour|week|\w+ (?:minutes|hours)|"
              r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|on (?:mon|tues|wednes|thurs|fri|"
              r"satur|sun)days|each (?:day|night|morning|week)|"
              r"periodically|on a schedule|scheduled|the (?:next|following) day)\b"), False),
    _Shape("always / never", _p(r"\balways\b"), _p(r"\bnever\b"), True),
    _Shape("permanent / reversible",
           _p(r"\b(permanent(?:ly)?|irreversibl[ey]|for good|cannot be undone|none of "
              r"(?:their|its|the) data is kept|hard[- ]delet\w*)\b"),
           _p(r"\b(restor\w+|undo\w*|recover\w*|reversible|undelet\w*|soft[- ]delet\w*)\b"),
           False),
    _Shape("synchronous / asynchronous", _p(r"\bsynchronous(?:ly)?\b"),
           _p(r"\b(asynchronous(?:ly)?|in the background|background (?:job|task|worker))\b"),
           False, True),
    _Shape("included / left out",
           _p(r"\b(includ(?:e|es|ed|ing)|contain(?:s|ed)?|appear(?:s)? in)\b"),
           _p(r"\b(exclud\w+|left out|leave out|omit\w*|not (?:be )?(?:includ\w+|contain\w*|"
              r"appear\w*)|never (?:be )?(?:includ\w+|appear\w*))\b"), True),
    _Shape("unique / shared", _p(r"\bunique\b"),
           _p(r"\b(share|shared|duplicates?|duplicated|the same \w+ (?:twice|again))\b"), True),
    _Shape("public / private", _p(r"\bpublic(?:ly)?\b"), _p(r"\bprivate(?:ly)?\b"), True),
    _Shape("shown / hidden",
           _p(r"\b(visible|shown|displayed|show(?:s)?|display(?:s)?|listed)\b"),
           _p(r"\b(hidden|hide|hides|invisible|not (?:be )?(?:shown|visible|displayed|listed)|"
              r"never (?:be )?(?:shown|displayed|listed))\b"), True),
    _Shape("enabled / disabled",
           _p(r"\b(enabled|turned on|switched on|on by default|active by default)\b"),
           _p(r"\b(disabled|turned off|switched off|off by default|inactive by default)\b"),
           True),
    _Shape("allowed / forbidden",
           _p(r"\b(allowed|permitted|^(?:please\s+)?(?:allow|permit))\b"),
           _p(r"\b(forbidden|not allowed|disallowed|prohibited|not permitted|blocked|"
              r"(?:must|should|may|can|shall) (?:never|not) be able to)\b"), True),
    _Shape("kept / deleted",
           _p(r"\b(kept|retained|preserved|forever|indefinitely|never (?:be )?(?:deleted|"
              r"removed)|(?:stay|stays|remain|remains) (?:in|on) the)\b"),
           _p(r"\b(deleted|removed|purged|erased|discarded|wiped|remov(?:e|es|ing) (?:it|them|"
              r"\w+) from the|leaves? (?=(?:the |its |their )?(?:[\w-]+ ){0,2}empty\b))"), True),
    # one thing changed on the way in, and kept exactly as it came
    _Shape("changed / unchanged",
           _p(r"\b(scal(?:e|ed|ing) (?:down|up)|resiz\w+|re-?encod\w+|transcod\w+|compress\w*|"
              r"crop(?:ped|s)?|downscal\w+|convert(?:ed)? (?:to|into)|strip(?:ped)? (?:of )?)"),
           _p(r"\b(byte[- ]for[- ]byte|bit[- ]for[- ]bit|(?:stay|stays|remain|remains|be|kept|"
              r"left) (?:exactly |completely |entirely )?(?:identical|unchanged|untouched|"
              r"unmodified|intact) (?:to|with|as)\b)"), False),
    _Shape("kept in memory / persisted",
           _p(r"\b(in memory only|only in memory|memory[- ]only|not persisted|never (?:be )?"
              r"(?:persisted|saved to disk|written to disk)|(?:lost|cleared|wiped|reset|discarded)"
              r" (?:on|at|after|with) (?:every |each |a )?restart|(?:every|each) restart starts "
              r"(?:from )?(?:a )?(?:clean|empty|fresh))\b"),
           _p(r"\b(persist(?:ed|s)? (?:across|after|through) (?:a |every |each )?restarts?|"
              r"surviv(?:e|es|ing) (?:a |every |each )?restarts?|(?:still|again) \w+ after "
              r"(?:a |the )?restart|(?:before|across) (?:a |the )?restart\b.*\b(?:still|again)|"
              r"(?:stored|saved|written) (?:to|on) disk)"), False),
    _Shape("waits for / answers at once",
           _p(r"\b(only (?:once|after|when) the|(?:once|after|when) (?:every|all|each)\s+\w+|"
              r"not until|wait(?:s|ing)? (?:for|until) (?:every|all|each|the))\b"),
           _p(r"\b(immediately|instantly|right away|straight away|without waiting|never "
              r"(?:wait|contact|call|block)\w*)\b"), True),
    _Shape("editable / read-only",
           _p(r"\b(editable|can (?:be )?(?:edited|changed|modified)|be edited|modifiable)\b"),
           _p(r"\b(read[- ]only|not editable|cannot be (?:edited|changed|modified)|"
              r"immutable|uneditable|never (?:be )?(?:edited|changed))\b"), True),
    _Shape("ascending / descending",
           _p(r"\b(ascending|a to z|lowest first|smallest first|(?:oldest|earliest) "
              r"(?:\w+ )?(?:first|on top|at the top))\b"),
           _p(r"\b(descending|z to a|highest first|largest first|(?:newest|latest|most recent) "
              r"(?:\w+ )?(?:first|on top|at the top))\b"), False),
    _Shape("once / every time",
           _p(r"\b(only once|just once|a single time|never again)\b"),
           _p(r"\b(every time|each time|repeatedly|again and again|on every \w+)\b"), True),
    _Shape("anonymous / signed in",
           _p(rf"\b(anonymous(?:ly)?|without {_CREDENTIAL}|without (?:signing up|registering)|"
              r"not (?:signed|logged) in|logged[- ]out|signed[- ]out|unauthenticated|"
              r"guests?)\b"),
           _p(r"\b((?:logged|signed)[- ]in|authenticated|registered (?:users?|members?)|"
              r"(?:must|need to|needs to|have to|has to) (?:log|sign) in|"
              r"requir(?:e|es|ed|ing) (?:an? |any )?(?:valid )?(?:[\w-]+ )?(?:login|sign[- ]in|"
              r"account|authentication|key|token|credentials?|password)|"
              r"(?:linked|tied|bound) to (?:an? |the |their |its )?(?:authenticated |"
              r"logged[- ]in )?(?:user )?account|"
              # "anonymous creation has to be switched off", "nothing readable without a
              # login": the login required, said the other way round
              r"anonymous\w*[^.;]{0,40}?\b(?P<side>switched off|turned off|disabled|"
              r"forbidden|not allowed|blocked)|"
              rf"(?:no|nothing|never|not)\b[^.;]{{0,60}}?\b(?P<side2>without {_CREDENTIAL}))\b"),
           True),
    _Shape("unlimited / limited",
           _p(r"\b(unlimited|no (?:limit|cap)|without (?:a |any )?(?:limit|cap)|any number of|"
              r"as many \w+ as)\b"),
           # ... or a limit named and kept ("MAX_ITEMS stays at 50 and is enforced")
           _p(r"(?:\b|_)(?:limit|cap|quota)\b[^.;]{0,60}?\b(?:stays?|remains?|is kept|"
              r"(?:is|be|being) (?:still )?enforced)\b|"
              r"\b(at most|up to|no more than|never more than|limited to|a maximum of|"
              r"maximum of|capped at|"
              r"not more than|(?:the|a|its|their) (?:current |existing |same )?(?:cap|limit|"
              r"maximum) (?:on|of|for))\b"), True),
    _Shape("one / several",
           _p(r"\b(only one|a single|exactly one|at most one|just one)\b"),
           _p(r"\b(multiple|several|more than one)\b"), True),
    _Shape("automatic / manual", _p(r"\bautomatic(?:ally)?\b"),
           _p(r"\b(manual(?:ly)?|by hand)\b"), True),
    _Shape("encrypted / plain text", _p(r"\b(encrypted|hashed)\b"),
           _p(r"\b(plain[- ]?text|unencrypted|in the clear|unhashed)\b"), True),
    _Shape("case-sensitive / case-insensitive", _p(r"\bcase[- ]sensitive\b"),
           _p(r"\b(case[- ]insensitive|ignor\w+ (?:the )?case)\b"), False),
    _Shape("whole numbers / fractions",
           _p(r"\b(whole numbers?|integers?|integral|no decimals?|without decimals?|"
              r"round numbers?)\b"),
           _p(r"\b(\d+[.,]\d+|fractions?|fractional|decimals? (?:values?|numbers?|places?)|"
              r"half(?:-| )?(?:values?|units?)?)\b"), True),
    # a requirement on every one from now on, and the existing ones left as they are
    _Shape("every one / existing ones exempt",
           _p(r"\b(?:every|all|each)\s+(?:\w+\s+){0,4}?(?:must|has to|have to|needs? to|"
              r"shall)\s+(?:now\s+)?(?:have|be|use|meet|satisfy|follow)\b"),
           _p(r"\bexisting\s+(?:\w+\s+){0,3}?(?:must not|should not|shall not|need not|"
              r"don't have to|do not have to)\s+(?:be\s+)?(?:forced|required|asked|made)\b|"
              r"\bexisting\s+(?:\w+\s+){0,6}?(?:keep|continue)\w*\s+(?:\w+\s+){0,4}?"
              r"(?:their|its)\s+(?:current|existing|old|present)\b"), True),
    # something removed for good, and still used
    _Shape("removed completely / still used",
           _p(r"\b(?:remov\w*|drop\w*|delet\w*|get rid of)\b(?=[^.;]*?\b(?:completely|"
              r"entirely|altogether|for good)\b)|\b(?:completely|entirely)\s+(?:remov\w*|"
              r"drop\w*)\b"),
           _p(r"\bstill\s+(?:be\s+)?(?:able|allowed|permitted)\s+to\b"), True),
    # something that must never expire, and an expiry kept for all of them
    _Shape("never expires / expires for all",
           _p(r"\b(?:never|not ever)\s+(?:expire|time out|be logged out|be signed out|lapse)\b"),
           _p(r"\b(?:time\s?out|expiry|expiration|lifetime|ttl|max[- ]?age)\b[^.;]{0,80}?"
              r"\b(?:for (?:every|all|each)|with no exceptions?|no exceptions?|for everyone)\b"),
           True),
    _Shape("no exceptions / an exception",
           _p(r"\b(with(?:out)? (?:no |any )?exceptions?|no exceptions?|in (?:every|all) "
              r"cases?|under (?:all|any) circumstances|whatever the case|no matter what)\b"),
           # some of them ("forms that ...", "users with ...") must keep doing otherwise
           _p(r"\b(?:that|which|whose|who|where|with)\s+[^.;]{0,80}?\b(?:must|should|"
              r"needs? to|ha(?:s|ve) to)\s+(?:still\s+|also\s+)?(?:keep|continue|remain|"
              r"stay|be able)\b"), True),
)


_CAMEL = re.compile(r"(?<![\w$])[a-z]+(?:[A-Z][a-z0-9]*)+\b")


def _words_of_names(sentence: str) -> str:
    """``requireLogin`` -> ``require Login``."""
    return _CAMEL.sub(lambda m: re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", m.group(0)), sentence)


def _content(text: str) -> set[str]:
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text)}
    return {_stem(w) for w in words if w not in _STOP}


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("able", "ible", "ing", "ed", "es", "s", "e"):
        if len(w) - len(suffix) >= 4 and w.endswith(suffix):
            return w[: -len(suffix)]
    if len(w) == 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]  # a short plural: "docs" and "doc" are one subject
    return w


# the label of something on screen ("the 'Download all' link") is what it is called,
# not what the request asks: its words take no side ("the 'View only' role" still says
# what the role may do)
_QUOTED = re.compile("(?<![\\w])(?:\"[^\"\n]{1,80}\"|'[^'\n]{1,80}'(?!\\w)|"
                     "\u201c[^\u201d\n]{1,80}\u201d|\u2018[^\u2019\n]{1,80}\u2019(?!\\w))"
                     r"(?=\s+(?:button|link|tab|menu|item|entry|action|label|heading|title|"
                     r"option|checkbox|column|tooltip|dialog|modal|toggle|icon|banner|switch|"
                     r"filter|panel|card|dropdown|screen|page)s?\b)")


def contradictions(text: str) -> list[Contradiction]:
    """Pairs of clauses that ask for opposite things (each kind reported once)."""
    sents = sentences(text)
    # a label quoted once is the same name where it stands unquoted (a title: "Download
    # all artifacts link returns 404")
    labels = {m.group(0)[1:-1] for m in _QUOTED.finditer(text) if " " in m.group(0).strip()}
    masked = re.compile("|".join([_QUOTED.pattern, *map(re.escape, sorted(labels, key=len,
                                                                          reverse=True))]))
    units: list[tuple[int, str]] = []  # (sentence index, clause)
    for i, s in enumerate(sents):
        s = masked.sub("NAME", s)
        # a code name says what it does in words: requireLogin, tokenLifetime
        for clause in _CLAUSE.split(_words_of_names(s)):
            if clause.strip():
                units.append((i, clause.strip()))
    out: list[Contradiction] = []
    for shape in _SHAPES:
        found = _pair(shape, units, sents)
        if found is not None:
            out.append(found)
    for finder in (_polarity, _amounts, _all_against_cap, _only_some, _only_after_without,
                   _overridden):
        found = finder(units, sents)
        if found is not None:
            out.append(found)
    return out


def _evidence(sents: list[str], sa: int, sb: int) -> str:
    first, second = min(sa, sb), max(sa, sb)
    return sents[first] if first == second else f"{sents[first]} … {sents[second]}"


def _changes(ca: str, cb: str) -> bool:
    """Is one clause how things are and the other an instruction to change it ("reviews
    are shown oldest first", "show the newest first")? Neither asking is a description
    too; a present-tense statement against a "must" still reads as two requirements."""
    a, b = asks(ca), asks(cb)
    if not (a or b):
        return True
    return a != b and not (binds(ca) or binds(cb))


_CONDITION = re.compile(r"\b(when|whenever|if|unless|except)\b", re.I)
_CURRENT = re.compile(r"\b(currently|today|at the moment|at present|right now|still does|"
                      r"used to)\b", re.I)
# "keep it paginated exactly as it works today": how things are, as the measure of
# what to keep, in a clause that says to keep it (not one under a condition: "without
# the flag the response must stay as it is today")
_AS_TODAY = re.compile(r"\b(?:exactly\s+|just\s+)?(?:as|like)\s+(?:(?:it|they|this|that)\s+)?"
                       r"(?:(?:works?|does|do|is|are|behaves?)\s+)?(?:today|currently|right now)\b",
                       re.I)
_KEEPS_DOING = re.compile(r"(?<!must )(?<!should )(?<!to )(?<!will )\bkeeps? (?:on )?[a-z]+ing\b",
                          re.I)


def _current(clause: str) -> bool:
    """Does ``clause`` say how things are now? Not in what it is for: "… so that the
    check keeps passing" states a purpose, not the current state; nor "keeps working"
    after a modal that governs it ("must not have to … and keep signing in")."""
    head = re.split(r"\s+so\s+(?:that\s+)?", clause, maxsplit=1)[0]
    if re.match(r"(?:please\s+|also\s+)?(?:keep|leave)\b", head.strip(), re.I) or re.search(
            r"\b(?:must|should|has to|have to|needs? to|will)\s+(?:keep|continue)\b", head,
            re.I):
        head = _AS_TODAY.sub("", head)  # "must keep probing it as it does today": a rule
    if _CURRENT.search(head):
        return True
    keeps = _KEEPS_DOING.search(head)
    return keeps is not None and not (binds(head[:keeps.start()]) or re.search(
        r"\b(?:stays?|remains?)\b", head[:keeps.start()], re.I))


def _side(m: re.Match[str]) -> str:
    """The words that take a side in a match: its ``side`` group when the pattern names
    one ("no vessel data may be readable *without a login*": the data is the subject)."""
    named = [v for k, v in m.groupdict().items() if k.startswith("side") and v]
    return named[0] if named else m.group(0)


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
            elif _current(ca) or _current(cb) or _changes(ca, cb):
                continue  # how things are now against how they should be: the change asked
            elif shape.same_subject and (_CONDITION.search(ca) or _CONDITION.search(cb)):
                continue  # "show the stock; hide it when tracking is off": a restriction
            marks = _content(_side(ma)) | _content(_side(mb))
            if shape.same_subject and not (_content(ca) & _content(cb)) - marks:
                continue
            return Contradiction(ma.group(0), mb.group(0), _evidence(sents, sa, sb), shape.why)
    return None


# -- only after something ends, and without it ending -------------------------------------

_ONLY_AFTER = re.compile(r"\bonly\b[^.;]{0,60}?\b(?:after|once|when)\b[^.;]{0,60}?\b"
                         r"(?:has|have|is|are|was|were|had)\s+(?:been\s+)?([a-z]{3,}?)(?:ed|d)\b",
                         re.I)
_WITHOUT = re.compile(r"\bwithout\s+([a-z]{3,}?)(?:ing)\b", re.I)


def _only_after_without(units: list[tuple[int, str]],
                        sents: list[str]) -> Contradiction | None:
    """"A new visit can only start after the open one has ended" against "open a second
    one without ending the first": a precondition kept, and waived for one case."""
    for sa, ca in units:
        only = _ONLY_AFTER.search(ca)
        if only is None:
            continue
        for sb, cb in units:
            if sb == sa:
                continue
            w = _WITHOUT.search(cb)
            if w is None or _stem(w.group(1)) != _stem(only.group(1)) or not asks(cb):
                continue
            if (_content(ca) & _content(cb)) - {_stem(only.group(1))}:
                return Contradiction(ca, cb, _evidence(sents, sa, sb), "only after / without")
    return None


# -- one action, both polarities ------------------------------------------------------------

_MODAL = re.compile(
    r"\b(must|should|shall|will|can|cannot|can't|may|need to|needs to|has to|have to|"
    r"is|are)\s+((?:not\s+|never\s+|no longer\s+|always\s+|also\s+|still\s+|only\s+)*)"
    r"(?:be\s+)?(?:(not\s+|never\s+)?(?:able|allowed|possible|permitted)\s+to\s+)?"
    r"([a-z]{4,})\b", re.I)
_NEGATION = re.compile(r"\b(not|never|no longer|cannot|can't)\b", re.I)
_GENERIC_VERBS = frozenset({"have", "make", "take", "give", "work", "stay", "keep", "also",
                            "still", "only", "used", "done", "able", "possible", "sure",
                            "there", "when", "than", "then", "each", "every", "more",
                            "less", "shown"})
_QUALIFIED = re.compile(r"\b(over|above|under|below|more than|less than|larger than|"
                        r"bigger than|older than|unless|except|other than|if|when|whose|"
                        r"that|which|who|before|after|until|during|while|once|outside|"
                        r"without)\b|\d", re.I)


def _predicate(clause: str) -> tuple[str, bool, set[str]] | None:
    """(verb stem, negated, words of the subject before the modal) of a clause."""
    m = _MODAL.search(clause)
    if m is None or m.group(4).lower() in _GENERIC_VERBS:
        return None
    negated = bool(_NEGATION.search(m.group(1) + " " + (m.group(2) or "") + " "
                                    + (m.group(3) or "")))
    return _stem(m.group(4)), negated, _content(clause[:m.start()])


def _polarity(units: list[tuple[int, str]], sents: list[str]) -> Contradiction | None:
    preds = [(_predicate(c), s, c) for s, c in units]
    for i, (pa, sa, ca) in enumerate(preds):
        if pa is None or pa[1]:
            continue
        for pb, sb, cb in preds[i + 1:] + preds[:i]:
            if pb is None or not pb[1] or pb[0] != pa[0]:
                continue
            if not (pb[2] & _content(ca) or pa[2] & _content(cb)):
                continue  # someone else may not ("admins can …, members cannot …")
            neg = _NEGATION.search(cb)
            after = cb[neg.start():] if neg else cb
            if _QUALIFIED.search(after):
                continue  # a restriction of the first clause, not its opposite
            if not (_content(ca) & _content(cb)) - {pa[0]}:
                continue
            return Contradiction(ca, cb, _evidence(sents, sa, sb), "can / cannot")
    return None


# -- only some may, and others should be able to -------------------------------------------

_SAME_ACTION = ({"add", "create", "make", "open", "set up", "register", "new"},
                {"delete", "remove", "erase", "purge", "drop"},
                {"edit", "change", "modify", "update", "rename"},
                {"view", "see", "read", "list", "browse", "access"},
                {"approve", "accept", "confirm"}, {"invite"}, {"export", "download"},
                {"publish", "release"}, {"ban", "block", "suspend"},
                {"rotate", "refresh", "regenerate", "renew", "reset"})
_ONLY_MAY = re.compile(
    r"\bonly\s+((?:[a-z]+\s+){0,3}?[a-z]+s)\s+(?:may|can|are allowed to|are permitted to|"
    r"should be able to|must be able to)\s+([a-z]+)\b", re.I)
_ABLE = re.compile(
    r"\b([a-z]+s)(?:,\s*\w+,)?\s*(?:\w+\s+){0,2}?(?:should|must|need to|have to|will)\s+"
    r"(?:also\s+|still\s+)?(?:be able|be allowed|be permitted|get to)\s+to\s+([a-z]+)\b|"
    r"\blet\s+([a-z]+s)\s+([a-z]+)\b|\ballow\s+([a-z]+s)\s+to\s+([a-z]+)\b", re.I)


def _action(verb: str) -> frozenset[str]:
    v = verb.lower()
    return next((frozenset(group) for group in _SAME_ACTION if v in group),
                frozenset({_stem(v)}))


def _only_some(units: list[tuple[int, str]], sents: list[str]) -> Contradiction | None:
    """"Only admins may delete projects" against "owners should be able to remove
    projects": one action on one thing, kept to some and granted to others."""
    for sa, ca in units:
        only = _ONLY_MAY.search(ca)
        if only is None or _current(ca):
            continue
        who, verb = _content(only.group(1)), _action(only.group(2))
        thing = _content(ca[only.end():])
        for sb, cb in units:
            if cb is ca or _current(cb) or _changes(ca, cb):
                continue
            m = _ABLE.search(cb)
            if m is None:
                continue
            other = m.group(1) or m.group(3) or m.group(5) or ""
            act = m.group(2) or m.group(4) or m.group(6) or ""
            if _content(other) & who or not (_action(act) & verb):
                continue  # the same people, or another action
            if thing & _content(cb[m.end():]):
                return Contradiction(ca, cb, _evidence(sents, sa, sb), "only some / others too")
    return None


# -- two amounts for one thing --------------------------------------------------------------

_UNITS = (r"characters?|chars?|letters?|digits?|items?|entries|entry|rows?|results?|records?|"
          r"users?|members?|files?|attachments?|tags?|mb|gb|kb|megabytes?|gigabytes?|bytes?|"
          r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|attempts?|tries|retries|"
          r"times|percent|%")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
          "thirty": 30, "fifty": 50, "hundred": 100}
_AMOUNT = re.compile(rf"\b(\d[\d,]*(?:\.\d+)?|{'|'.join(_WORDS)})[\s-]*({_UNITS})(?![\w])",
                     re.I)
_CHANGING = re.compile(r"\b(currently|now|today|at the moment|at present|instead|used to|"
                       r"was|were|from|rais\w*|lower\w*|increas\w*|decreas\w*|reduc\w*|"
                       r"extend\w*|shorten\w*|chang\w*|bump\w*|set it to|make (?:it|them)|"
                       r"default)\b", re.I)


def _amounts_of(clause: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in _AMOUNT.finditer(clause):
        raw = m.group(1).lower().replace(",", "")
        value = float(_WORDS[raw]) if raw in _WORDS else float(raw)
        out[_stem(m.group(2).lower()).rstrip("s")] = value
    return out


def _amounts(units: list[tuple[int, str]], sents: list[str]) -> Contradiction | None:
    found = [(s, c, _amounts_of(c)) for s, c in units]
    for i, (sa, ca, xa) in enumerate(found):
        if not xa or _CHANGING.search(ca):
            continue
        for sb, cb, xb in found[i + 1:]:
            if sb == sa or not xb or _CHANGING.search(cb):
                continue
            unit = next((u for u in xa if u in xb and xa[u] != xb[u]), None)
            if unit is None:
                continue
            shared = (_content(ca) & _content(cb)) - {unit, _stem(unit)}
            if not shared:
                continue
            return Contradiction(ca, cb, _evidence(sents, sa, sb), "two amounts for one thing")
    return None


# -- all of something against a cap on it ---------------------------------------------------

_NUMBER_WORD = rf"(?:\d[\d,]*|{'|'.join(_WORDS)})"
_ALL_OF = re.compile(r"\b(?:all|every|each and every)\s+(?:(?:the|of|their|its|our|your|his|"
                     r"her|my|matching|existing|registered|open|active)\s+)*([a-z]{3,})", re.I)
_CAP_ON = re.compile(
    rf"\b(?:at most|no more than|not more than|never more than|up to|limited to|"
    rf"a maximum of|capped at|only the (?:first|last|top|latest|newest)|"
    rf"the (?:first|last|top|latest|newest))\s+{_NUMBER_WORD}\s+(?:\w+\s+)?([a-z]{{3,}})",
    re.I)
_PAGED = re.compile(r"\b(?:per|each|a|every|one) page\b|\bpaginat|\bpages? of\b|"
                    r"\bat a time\b|\bload more\b|\bscroll", re.I)


def _noun(word: str) -> str:
    """The singular of a plural noun (near enough to compare two)."""
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2].endswith(("s", "x", "z", "ch", "sh")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def _all_against_cap(units: list[tuple[int, str]], sents: list[str]) -> Contradiction | None:
    for sa, ca in units:
        alls = {_noun(m.group(1)) for m in _ALL_OF.finditer(ca)}
        if not alls or _PAGED.search(ca) or _current(ca):
            continue
        for sb, cb in units:
            if cb is ca or _PAGED.search(cb) or _current(cb) or _changes(ca, cb):
                continue
            cap = next((m for m in _CAP_ON.finditer(cb) if _noun(m.group(1)) in alls), None)
            # and about the same place or action, not only the same noun ("admins see all
            # users" and "a team has at most 10 users" are two things)
            if cap is not None and (_content(ca) & _content(cb)) - _content(cap.group(0)):
                return Contradiction(ca, cb, _evidence(sents, sa, sb), "all / at most")
    return None


_OVERRIDE = re.compile(
    r"\b(at the same time|regardless of|(?:must|should|need to|needs to|has to|have to|to) "
    r"still|still (?:need|needs|be able|able|make|makes|show|shows|want|wants|has to|have to|"
    r"must|should)|even (?:when|if|though)|nevertheless|however|also want|we also|"
    r"please also)\b", re.I)
_ABSOLUTE = re.compile(
    r"\b(never|no exceptions?|every|all|always|any|completely|entirely|no longer|must not|"
    r"may not|cannot|can't|only|removed?|hidden|disabled|ignored?|ignore|at all|nobody|"
    r"no one|no \w+ (?:may|can|should|must|will) be)\b", re.I)
_REQUIRES = re.compile(r"\b(must|should|has to|have to|needs? to|is required|are required|"
                       r"shall)\b", re.I)


def _overridden(units: list[tuple[int, str]], sents: list[str]) -> Contradiction | None:
    """A rule stated without exception, then a later sentence that asks for one about
    the same things (see the module doc)."""
    for j in range(1, len(sents)):
        override = _OVERRIDE.search(sents[j])
        if override is None:
            continue
        for i in range(j):
            rule = _ABSOLUTE.search(sents[i])
            if rule is None or not _REQUIRES.search(sents[i]):
                continue
            if len(_content(sents[i]) & _content(sents[j])) >= 2:
                return Contradiction(first=sents[i], second=sents[j],
                                     evidence=_evidence(sents, i, j),
                                     why=f"'{rule.group(0)}' / '{override.group(0)}'")
    return None
