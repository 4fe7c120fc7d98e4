"""Warnings about the wording of a request: requirements that cannot be measured, and
requirements that contradict each other (:mod:`.conflicts`). Evidence is quoted from
the request: the sentence (or the two sentences) the warning is about, nothing else.

Unmeasurable: a sentence that asks for a quality, or a change of amount, without a
number to test it by. The words are those requirement reviews flag as weak (ISO/IEC/
IEEE 29148's vague terms and loopholes): qualities ("faster", "more secure", "easy to
use", "snappy", "clean"), comparatives after *be / feel / look / get / become* or any
of the usual comparative words ("longer", "smaller", "fewer"), loopholes ("if
possible", "as needed", "etc."), and a change of a limit, size, timeout or period
("raise the upload limit", "shorten the session timeout") that does not say to what.
Also a sentence that leaves open whom or when something applies to ("broken for some
members", "sometimes fails"), or that names a fault and nothing about it ("the export
is broken."): the information needed to reproduce or scope it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Unmeasurable", "asks", "binds", "sentences", "unmeasurable"]

# a sentence ends at a full stop, a question or an exclamation mark before the next word;
# one written in lower case too ("... is slow. could you ..."), or opening with a path
# ("bin/purge.js removes ..."), unless the stop ends an abbreviation
_SENTENCE = re.compile(r"(?<=[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)"
                       r"(?<!\bcf\.)(?<!\bapprox\.)(?<!\bincl\.)(?<!\bno\.)"
                       r"\s+(?=[A-Za-z0-9\"'(`/])|\n+")
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"fifteen|twenty|thirty|forty|fifty|sixty|hundred|thousand|million|once|twice|"
                     r"half|percent|per cent|an? (?:day|week|month|year|minute|second|hour))\b",
                     re.I)
# digits inside a name measure nothing: a path (/api/v2/boards), a version or a code name
# (v2, utf8, h264, SHA256); a quantity starts with its digits (5s, 10 MB, 2.5)
_NAMED_DIGITS = re.compile(r"(?<!\S)[/`]\S*|\b[A-Za-z][\w.-]*\d[\w.-]*|"
                           # "one" that counts nothing: "with one hand", "one of the pages"
                           r"\bone\s+(?:hand(?:ed)?|of|another|way|thing)\b", re.I)


def _measured(text: str) -> bool:
    """Does ``text`` hold a number that could measure something?"""
    return bool(_NUMBER.search(_NAMED_DIGITS.sub(" ", text)))


_VAGUE = re.compile(
    r"\b(fast(?:er)?|quick(?:er|ly)?|slow(?:er|ly|s)?|speed(?:ed)? up|sluggish|laggy|"
    r"snapp(?:y|ier)|smooth(?:er|ly)?|responsive|performant|performance|efficient(?:ly)?|"
    r"takes? (?:too|so|very) long|too slow|at scale|scal(?:e|es) (?:well|better)|"
    r"user[- ]friendly|intuitive|easy to (?:use|find|read|understand)|easier|easily|"
    r"simpler|seamless(?:ly)?|convenient|straightforward|self[- ]explanatory|"
    r"modern|nicer|prettier|cleaner|clearer|better|improved?|enhanced?|optimi[sz]ed?|"
    r"streamlined?|polished|sleek|professional[- ]looking|look(?:s)? (?:good|nice|great|"
    r"right)|appealing|pleasant|attractive|consistent look|"
    r"secure|more secure|safer|robust|reliable|stable|flexible|scalable|"
    r"relevant|appropriate(?:ly)?|adequate(?:ly)?|sufficient(?:ly)?|reasonabl[ey]|"
    r"as soon as possible|asap|soon|in a timely manner|timely|"
    r"if possible|where possible|when possible|as much as possible|as far as possible|"
    r"as needed|as necessary|if necessary|when necessary|as required|where applicable|"
    r"and so on|and so forth|etc|some kind of|something like|or something|somehow|"
    r"to be (?:decided|defined|determined|confirmed|agreed)|tbd|"
    r"significant(?:ly)?|substantial(?:ly)?|considerabl[ey]|noticeabl[ey]|dramatic(?:ally)?|"
    r"a lot (?:faster|quicker|better|more)|takes? (?:forever|ages)|(?:not )?take long|"
    r"easy|lightweight|minimal|optimal|acceptable|sensible|decent|resilient|"
    r"fault[- ]tolerant|highly available|nice|good|great|pretty|beautiful|elegant|"
    r"(?:work|works|perform|performs|scale|scales|run|runs|cope|copes) well|"
    r"helpful|meaningful|informative|clear(?:er)? (?:\w+ )?(?:messages?|errors?|feedback|"
    r"instructions|explanations?|wording)|"
    r"for a while|for some time|after a while|after some time|a long time|"
    r"state[- ]of[- ]the[- ]art|high[- ]quality|best[- ]in[- ]class|world[- ]class)\b", re.I)
_COMPARATIVE = re.compile(r"\b(?:be|feel|look|get|become|seem|stay|last|run|load|open|"
                          r"respond|appear|arrive|wait)\s+(?:much\s+|a lot\s+|a bit\s+|"
                          r"far\s+|even\s+)?(more\s+\w+|less\s+\w+|[a-z]{3,}ier|[a-z]{3,}er)\b",
                          re.I)
# "make the importer lighter", "make search much quicker": a comparative asked for
_MAKE_COMPARATIVE = re.compile(r"\bmake\s+(?:(?:the|a|an|its|their|our|this|it|them|[\w-]+)\s+)"
                               r"{1,4}?(?:much\s+|a lot\s+|a bit\s+|far\s+|even\s+)?"
                               r"(more\s+\w+|less\s+\w+|[a-z]{3,}ier|[a-z]{3,}er)\b"
                               # the comparative ends the object ("the importer lighter so")
                               r"(?=\s*(?:[,.;:!?)](?:\s|$)|$)|\s+(?:so|and|than|for|on|in|to|when|"
                               r"while|with|by|but|or|that|if|as)\b)", re.I)
# comparatives that ask for "more" of a quality wherever they stand
_COMPARATIVE_WORD = re.compile(
    r"\b(longer|shorter|sooner|bigger|larger|smaller|wider|narrower|stronger|weaker|"
    r"tighter|looser|stricter|lighter|heavier|fewer|clearer|cleaner|smoother|snappier|"
    r"friendlier|shinier|tidier|richer|sharper|leaner)\b", re.I)
_NOT_COMPARATIVE = re.compile(r"^(?:over|under|after|never|ever|other|either|neither|whether|"
                              r"order|number|user|owner|member|paper|later|rather|together|"
                              r"answer|register|filter|render|enter|offer|cover|consider|"
                              r"deliver|transfer|trigger|power|header|footer|folder|"
                              r"sender|customer|cluster|player|water|master|border|"
                              r"container|marker|reminder|counter|manager|viewer|server|"
                              r"browser|partner|letter|banner|corner|buyer|seller|worker)$",
                              re.I)
# a change of an amount with no amount: "raise the upload limit", "shorten the timeout"
_CHANGE = re.compile(
    r"\b(rais(?:e|es|ing)|lower(?:s|ing)?|increas(?:e|es|ing)|decreas(?:e|es|ing)|"
    r"reduc(?:e|es|ing)|extend(?:s|ing)?|shorten(?:s|ing)?|lengthen(?:s|ing)?|"
    r"tighten(?:s|ing)?|loosen(?:s|ing)?|relax(?:es|ing)?|bump(?:s|ing)?|"
    r"minimi[sz](?:e|es|ing)|maximi[sz](?:e|es|ing)|limit(?:s|ing)?|cap(?:s|ping)?|"
    r"throttl(?:e|es|ing))\b(?:\s+\w+){0,5}?\s+(limits?|sizes?|timeouts?|time|times|"
    r"duration|lengths?|rates?|frequency|delay|interval|expiry|expiration|lifetime|"
    r"threshold|maximum|minimum|max|min|retention|quota|number of \w+|amount of \w+|"
    r"count|ttl|period|window|attempts|retries)\b", re.I)
# an amount or an age left open: "large files", "a few days", "old sessions"
_OPEN_AMOUNT = re.compile(
    r"\b((?:large|huge|big|massive|numerous|lots of|a lot of|high volumes? of|heavy)\s+"
    r"(?:numbers? of\s+|amounts? of\s+|volumes? of\s+)?(?:\w+\s+)?(?:files?|uploads?|"
    r"images?|attachments?|users?|records?|rows?|items?|requests?|traffic|load|data|"
    r"datasets?|lists?|accounts?|payments?|orders?|queues?|tables?|documents?|messages?)|"
    r"too (?:many|much|often|long|short|few|early|late)|"
    r"regularly|periodically|frequently|every so often|from time to time|"
    r"(?:high|heavy)\s+(?:traffic|load|volumes?|usage|concurrency)|"
    r"(?:a few|a couple of|several|some|a number of)\s+(?:seconds|minutes|hours|days|"
    r"weeks|months|years|times|attempts|tries|retries)|"
    r"(?:old|stale|inactive|outdated|idle|unused)\s+(?:\w+\s+)?(?:sessions?|tokens?|"
    r"accounts?|users?|records?|entries|logs?|notifications?|messages?|drafts?|files?|"
    r"uploads?|data|items?|tasks?|tickets?|jobs?|events?|backups?))\b", re.I)

# who or when left open: "broken for some members", "fails for certain people",
# "sometimes disappears" (which ones, under what conditions?)
_UNSPECIFIED = re.compile(
    r"\b((?:some|certain|a few|several|many|various|particular|specific)\s+(?:of (?:the|our) )?"
    r"(?:users?|members?|people|persons|customers?|accounts?|clients?|visitors?|teams?|"
    r"organi[sz]ations?|tenants?|workspaces?|roles?|browsers?|devices?|cases|situations|"
    r"circumstances|conditions|setups)|sometimes|occasionally|intermittent(?:ly)?|"
    r"now and then|at random|randomly|from time to time|"
    # in a fault: "fails for some of the tasks", "one of our servers fails to mount"
    r"(?:some|certain|a few|several|particular|specific)\s+(?:of (?:the|our|their) )?"
    r"(?:[\w-]+\s+)?[\w-]+s|one of (?:the|our|their) (?:[\w-]+\s+)?[\w-]+s)\b", re.I)

# who is meant left open: "notify the relevant people", "the appropriate team must
# approve": a requirement whose recipients or actors are not named
_WHO_OPEN = re.compile(
    r"\b(?:the\s+)?(?:relevant|appropriate|right|responsible|concerned|necessary)\s+"
    r"(?:people|persons?|users?|staff|teams?|parties|roles?|recipients?|contacts?|"
    r"stakeholders?|owners?|admins?|administrators?|managers?|departments?)\b", re.I)


# ... or named by no one: "someone must be alerted", "notify somebody"
_NOBODY_NAMED = re.compile(
    r"\b(?:someone|somebody|anyone|anybody)\s+(?:\w+\s+){0,2}?(?:should|must|needs? to|has to)"
    r"\s+(?:be\s+|get\s+)?(?:told|notified|alerted|informed|warned|paged|e-?mailed|"
    r"contacted)\b|\b(?:tell|notify|alert|inform|warn|page|e-?mail|contact)\s+"
    r"(?:someone|somebody)\b", re.I)
# when left open: "purged at some point", "eventually archived"
_WHEN_OPEN = re.compile(r"\b(?:at some (?:point|stage)|some ?time|some day|one day|eventually|"
                        r"sooner or later|at a later (?:date|stage|point)|down the line)\b", re.I)
# what happens left open: "stuck jobs should be handled somehow"
_HANDLED = re.compile(
    r"\b(?:be|get|gets|are|is)\s+(?:\w+\s+)?(?:dealt with|handled|taken care of|sorted out|"
    r"looked after|addressed|managed)(?:\s+(?:automatically|somehow|properly|correctly|"
    r"appropriately|accordingly|too|as well|by the system))?\s*[.!]*$", re.I)


# a choice or a wish someone made elsewhere: what it was is not in the request
_CHOSEN = (r"(?:picked|chose|chosen|selected|decided on|agreed on|agreed|decided|approved|"
           r"signed off|recommended|suggested|proposed|requested|asked (?:for|about)|"
           r"wanted|specified|preferred|mentioned)")
# whose wish it was: a person, a team, a party outside
_OUTSIDER = (r"(?:they|(?:the|our|their|a)\s+(?:[\w&-]+\s+){0,2}?(?:partner|customer|client|"
             r"vendor|supplier|bank|provider)s?)")
_PARTY = (r"(?:they|we|he|she|(?:the|our|their)\s+(?:[\w&-]+\s+){0,2}?(?:team|department|"
          r"board|committee|office|officer|group|lead|manager|partner|customer|client|vendor|"
          r"supplier)s?|marketing|sales|legal|finance|support|security|ops|design|management|"
          r"product|compliance|qa|hr)")
_THEIRS = (r"(?:asked for|asked about|requested|wants?|wanted|needs?|needed|listed|collected|"
           r"sent(?: us)?|mentioned|discussed|picked|chose|agreed(?: on)?|approved|specified|"
           r"prefers?|preferred|suggested|proposed|recommended|talked about|ha(?:s|ve) in mind)")
# a value the request points at instead of giving it: "the provider that finance picked",
# "the schedule in the customer's contract", "the same rule we use on the other servers"
_ELSEWHERE = re.compile(
    r"\b(?:the|our|their)\s+(?:[\w-]+\s+){0,2}?[\w-]+\s+(?:that|which)\s+(?:[\w-]+\s+){0,2}?"
    rf"{_CHOSEN}\b|"
    r"\b(?:in|from|per|according to|following|as (?:in|per|agreed in))\s+(?:the|our|their)"
    r"\s+(?:[\w-]+['\u2019]s\s+)?(?:[\w-]+\s+){0,2}(?:contract|agreement|sla|policy|"
    r"spreadsheet|e-?mail|meeting|minutes|wiki|slides|memo|guidelines)\b|"
    # "as agreed with legal", "as discussed with the vendor": the agreement is not given
    r"\bas (?:agreed|discussed|arranged|decided|promised)\s+(?:with|by|in)\s+[\w-]+|"
    # "the roles the review board approved": a choice someone else made, not stated
    r"\bthe\s+(?:[\w-]+\s+){0,2}[\w-]+\s+(?:the|our|their)\s+(?:[\w-]+\s+){1,3}?"
    rf"{_CHOSEN}\b|"
    r"\bthe same (?:[\w-]+\s+)?(?:rules?|polic(?:y|ies)|approach|logic|setup|process|"
    r"settings?|limits?|schedule)\s+(?:that\s+|as\s+)?(?:we|they)\s+use\b|"
    # "the period agreed with the data protection officer": a decision made elsewhere,
    # named by who made it
    r"\bthe\s+(?:[\w-]+\s+){0,2}[\w-]+\s+(?:agreed|discussed|arranged|decided|negotiated|"
    r"promised)\s+(?:with|by|in|at|during)\s+(?:(?:the|our|their|a)\s+)?[\w-]+|"
    # "the design picked in last week's review": a choice made at a meeting
    r"\bthe\s+(?:[\w-]+\s+){0,2}[\w-]+\s+(?:picked|chosen|selected|specified|mentioned|"
    r"requested|proposed|recommended|suggested|approved)\s+(?:in|at|during)\s+"
    r"(?:[\w'\u2019-]+\s+){0,3}(?:review|meeting|call|discussion|sync|stand-?up|workshop|"
    r"sprint|retro|retrospective|thread|e-?mail|chat|demo|planning)\b|"
    # "the identity system they use", "the columns marketing asked for", "the models the
    # QA team listed": someone else's need or list, named by whose it is
    rf"\bthe\s+(?:[\w-]+\s+){{0,2}}[\w-]+\s+(?:that\s+|which\s+)?{_PARTY}\s+{_THEIRS}\b|"
    rf"\bthe\s+(?:[\w-]+\s+){{0,2}}[\w-]+\s+{_OUTSIDER}\s+uses?\b|"
    # "change the default to what the M&E team agreed"
    rf"\bwhat\s+{_PARTY}\s+{_THEIRS}\b|"
    # "after the agreed retention period"
    # ("the requested page", "the approved orders" are states of things, not decisions)
    r"\bthe\s+(?:agreed|agreed-upon|discussed)\s+(?:[\w-]+\s+){0,2}[\w-]+",
    re.I)


# a purpose clause ("..., so that I can reconcile them in the spreadsheet") says why,
# not what to build: a place named there is not a value the request leaves out
_PURPOSE = re.compile(r"\bso(?:\s+that)?\s+(?:i|we|you|they|he|she|it|users?|people|"
                      r"customers?|admins?|everyone|the\s+\w+)\s+(?:can|could|may|will|"
                      r"would|are able to|is able to|don't|do not|never)\b", re.I)


def _pointed_at(sentence: str) -> str | None:
    """The value ``sentence`` points at instead of giving (``_ELSEWHERE``), outside a
    purpose clause."""
    purpose = _PURPOSE.search(sentence)
    for m in _ELSEWHERE.finditer(sentence):
        if purpose is None or m.start() < purpose.start():
            return m.group(0)
    return None


# what makes a sentence ask for something (a modal, a wish, an imperative) rather than
# describe how things are: "the page is slow" sets the scene, "make it load quickly" asks
_MODAL_WORDS = re.compile(
    r"\b(must|should|shall|may|can|cannot|can't|need(?:s)? to|has to|have to|ought to|"
    r"(?:is|are) (?:to|supposed to|expected to)|would like|wants? (?:to|(?:\w+ ){1,3}to)|"
    r"required|"
    r"please)\b", re.I)
_IMPERATIVE = re.compile(
    r"^(?:please\s+|also\s+|then\s+)?(make|keep|let|allow|add|show|use|remove|change|improve|"
    r"speed|reduce|increase|raise|lower|fix|ensure|support|accept|reject|send|display|return|"
    r"store|give|provide|enable|disable|limit|cap|move|sort|hide|update|rename|reverse|apply|"
    r"read|log|print|warn|list|delete|stop|start|avoid|drop|replace|require|validate|check|"
    r"treat|turn|put|set|rewrite|redesign|refactor|clean|tidy|polish|simplify|expose|remind|"
    r"notify|email|mail|ask|tell|record|save|export|import|block|retry|count|group|filter|"
    r"search|link|open|close|lock|unlock|archive|restore|ban|mark|flag|highlight|include|"
    r"exclude|skip|redirect|load|fetch|cache|paginate|page|split|merge|encrypt|hash|"
    r"schedule|run|create|build|implement|introduce|write|copy|format|convert|translate|"
    r"switch|migrate|upgrade|swap|connect|integrate)\b",
    re.I)


def binds(clause: str) -> bool:
    """Does ``clause`` state an obligation or a wish with a modal ("must", "should")?"""
    return bool(_MODAL_WORDS.search(clause))


def asks(clause: str) -> bool:
    """Does ``clause`` ask for something (a requirement), rather than describe?"""
    # an instruction may follow a lead-in: "after saving, show a message"
    return bool(_MODAL_WORDS.search(clause) or any(
        _IMPERATIVE.match(part.strip(" ,;:-(")) for part in re.split(r"[,;:]", clause)))

# ... about a fault: "some customers asked for dark mode" scopes a wish, not a defect
_PROBLEM = re.compile(
    r"\b(broken|break(?:s)?|fail(?:s|ed|ing|ures?)?|errors?|crash(?:es|ed|ing)?|"
    r"disappear(?:s|ed|ing)?|vanish(?:es|ed)?|missing|wrong(?:ly)?|incorrect(?:ly)?|"
    r"(?:does|do|did)(?: not|n't) (?:work|load|show|save|appear|arrive)|not working|stuck|"
    r"hang(?:s|ing)?|freez(?:e|es|ing)|lost|los(?:e|es|ing)|cannot|can't|unable|bug(?:s|gy)?|"
    r"glitch(?:es|y)?|blank|empty|timeouts?|times? out)\b", re.I)

# a fault named with nothing about it: "the export is broken.", "search doesn't work"
_BARE_FAULT = re.compile(
    r"\b(?:(?:is|are|seems?(?: to be)?|looks?|got|gets|became)\s+(?:completely\s+|totally\s+|"
    r"still\s+|kind of\s+)?(?:broken|buggy|not working|messed up)|(?:does|do|did)(?: not|n't)"
    r" work(?: properly| correctly| right| well)?|(?:has|have) (?:a bug|bugs|issues|problems))"
    r"(?:\s+(?:again|anymore|any more|at all|lately|sometimes|since the last release))?\s*[.!]*$",
    re.I)


@dataclass(frozen=True)
class Unmeasurable:
    term: str
    sentence: str
    #: "target": no value to test it by; "scope": who or when it applies is left open;
    #: "behaviour": a fault named with nothing about what happens or what is expected;
    #: "source": a value pointed at (a contract, someone's choice) instead of given
    missing: str = "target"


# where one requirement ends and the next begins inside a sentence: a semicolon, "but",
# or "and" before a new subject that has its own modal (a comma alone may add the
# number to the same requirement: "finish fast, within 5 seconds")
_CLAUSE_BREAK = re.compile(
    r"\s*;\s*|,?\s+but\s+|,?\s+and\s+(?=(?:the|it|they|this|these|each|every|all|its|"
    r"their|a|an|we|users?)\b[^,;.]*?\b(?:must|should|shall|will|can|may|needs? to|has to|"
    r"have to)\b)", re.I)


def clauses(sentence: str) -> list[str]:
    """The requirements of one sentence (see ``_CLAUSE_BREAK``)."""
    return [c for c in _CLAUSE_BREAK.split(sentence) if c and c.strip()]


def sentences(text: str) -> list[str]:
    """The request's sentences, as written (white space trimmed)."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def unmeasurable(text: str, title: str = "") -> list[Unmeasurable]:
    """Sentences of ``text`` asking for a quality, or a change of amount, with nothing
    to measure it by. The ``title`` sums the request up ("Faster exports"): it counts
    only when ``text`` gives no number either."""
    out: list[Unmeasurable] = []
    numbers = _measured(text)
    body = sentences(text)
    # the title sums up what is asked ("Faster exports"), so it asks by itself
    lines = [(s, asks(s)) for s in body]
    if not numbers and title.strip():
        lines.insert(0, (title.strip(), True))
    # when the request asks for something, a weak word in a sentence that only describes
    # ("saving hangs on slow sites") is the scene, not a requirement to measure
    any_ask = any(asks(s) for s in body)
    for s, ask in lines:
        term = None
        if ask and s in body and (who := _WHO_OPEN.search(s) or _NOBODY_NAMED.search(s)
                                  or _WHEN_OPEN.search(s)):
            out.append(Unmeasurable(who.group(0), s, "scope"))
            continue
        if ask and s in body and (handled := _HANDLED.search(s)):
            out.append(Unmeasurable(handled.group(0).strip(" .!"), s, "behaviour"))
            continue
        if ask or not any_ask:
            # a number measures the clause it stands in: "it must load fast, and show at
            # most 50 tags" leaves "fast" without one
            # a clause that only describes ("the CSV export works, etc.") beside
            # one that asks is no requirement of its own
            parts = clauses(s)
            asking = [c for c in parts if asks(c)] if ask and len(parts) > 1 else parts
            term = next((t for c in (asking or parts) if not _measured(c)
                         and (t := _term(c, amounts=not numbers))), None)
        if _measured(s) and not term and not (ask and s in body and _pointed_at(s)):
            continue  # (a number beside a value pointed at does not give that value)
        if term:
            out.append(Unmeasurable(term, s))
        elif s not in body:
            continue  # a title names a fault in short; the description says more
        elif (ask or _PROBLEM.search(s)) and (source := _pointed_at(s)):
            # asked for, or what a fault happens on: "fails on the file they sent us"
            out.append(Unmeasurable(source, s, "source"))
        elif s not in body:
            continue  # a title names a fault in short; the description says more
        elif (scope := _UNSPECIFIED.search(s)) and _PROBLEM.search(s):
            out.append(Unmeasurable(scope.group(0), s, "scope"))
        elif fault := _BARE_FAULT.search(s):
            out.append(Unmeasurable(fault.group(0).strip(" .!"), s, "behaviour"))
    return out


def _term(sentence: str, *, amounts: bool) -> str | None:
    """The weak term of ``sentence``; a change of amount only when the request gives no
    number anywhere (a title says "raise the limit", the description says to what)."""
    if m := _VAGUE.search(sentence):
        return m.group(0)
    for pattern in (_COMPARATIVE, _MAKE_COMPARATIVE):
        if (c := pattern.search(sentence)) and not _NOT_COMPARATIVE.match(
                c.group(1).split()[-1]) and (pattern is _COMPARATIVE
                                             or c.group(1).islower()):  # not a code name
            return c.group(1)
    if not amounts:
        return None
    if m := _CHANGE.search(sentence) or _OPEN_AMOUNT.search(sentence):
        return m.group(0)
    if m := _COMPARATIVE_WORD.search(sentence):
        return m.group(0)
    return None
