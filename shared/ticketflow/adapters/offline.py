"""The offline provider: deterministic heuristics in place of a language model.

Used when no ``ANTHROPIC_API_KEY`` is set. It is labelled ``offline`` in the
provider (shown on the ticket, in the CLI and on the page) and never presented as
AI. Its drafts are built from the request's own wording and the repository
evidence gathered by steps 3, 5 and 6, so they are useful, not placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ticketflow.domain import (
    Draft,
    Finding,
    FindingKind,
    Intent,
    Provider,
    Question,
    Refinement,
    Severity,
    TicketRequest,
    TicketType,
    TypeDetection,
)
from ticketflow.domain.errors import TerminalError
from ticketflow.ports import LLMTask
from ticketflow.ports.llm import (
    Claims,
    ClaimsPayload,
    DraftPayload,
    Questions,
    QuestionsPayload,
    Refined,
    RefinePayload,
    TypePayload,
)

OutT = TypeVar("OutT", bound=BaseModel)

_ACTORS = ("user", "admin", "administrator", "customer", "accountant", "manager", "developer",
           "operator", "visitor", "owner", "support agent", "reviewer", "team")
_TYPE_WORDS: dict[TicketType, tuple[str, ...]] = {
    TicketType.BUG: ("bug", "fix", "error", "crash", "broken", "fails", "failing", "regression",
                     "exception", "wrong", "incorrect", "500", "not working", "doesn't work",
                     "ignores", "ignored", "hangs", "freezes", "times out", "stopped working",
                     "no longer works"),
    TicketType.CHORE: ("upgrade", "bump", "refactor", "cleanup", "clean up", "rename",
                       "dependency", "dependencies", "ci", "lint", "migrate to", "deprecate"),
    TicketType.SPIKE: ("investigate", "research", "spike", "evaluate", "explore", "assess",
                       "feasibility", "compare options"),
    TicketType.FEATURE: ("add", "allow", "support", "new", "introduce", "enable", "let",
                         "export", "import", "create", "implement", "as a", "as an",
                         "i want", "should be able"),
}


# a sentence that says what goes wrong now ("GET /x ignores the limit", "the upload fails")
_FAULT = re.compile(r"\b(ignores|ignored|fails?|failing|crash(?:es|ed)?|breaks|broken|hangs|"
                    r"freezes|times out|throws|returns? (?:a )?[45]\d\d|answers? (?:a )?[45]\d\d|"
                    r"(?:does not|doesn't|won't|cannot|can't) \w+|never \w+s|is lost|are lost|"
                    r"drops|loses|shows the wrong|is wrong|are wrong)\b", re.I)
# a sentence that says what is wanted (not only what is wrong)
_WISH = re.compile(r"\b(should|must|needs? to|want(?:s|ed)? (?:to|the|a|an)|has to|have to|"
                   r"is to|are to|will)\b", re.I)


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip(" -*\t") for p in parts if len(p.strip(" -*\t")) > 3]


def _clean(s: str) -> str:
    s = s.strip().rstrip(".")
    return s[:1].upper() + s[1:] if s else s


class OfflineLanguageModel:
    """``LanguageModel`` by heuristics (see module doc)."""

    provider = Provider(name="offline-heuristics", offline=True, model=None)

    def __init__(self) -> None:
        self._tasks: dict[str, Callable[[Any], BaseModel]] = {
            "extract_intent": self._intent,
            "detect_type": self._type,
            "extract_claims": self._claims,
            "generate_draft": self._draft,
            "generate_questions": self._questions,
            "refine_draft": self._refine,
        }

    def generate(self, task: LLMTask, payload: BaseModel, output: type[OutT]) -> OutT:
        fn = self._tasks.get(task.name)
        if fn is None:
            raise TerminalError(f"the offline provider has no heuristic for '{task.name}'",
                                code="offline_unsupported")
        return output.model_validate(fn(payload).model_dump())

    # -- tasks -------------------------------------------------------------------------

    def _intent(self, req: TicketRequest) -> Intent:
        sents = _sentences(req.description)
        goal = _clean(req.title)
        if sents:
            goal = f"{goal}: {sents[0].rstrip('.')}" if len(sents[0]) < 160 else goal
        text = f"{req.title} {req.description}".lower()
        actors = [a for a in _ACTORS if re.search(rf"\b{a}s?\b", text)]
        m = re.search(r"\bas an? ([a-z ]{3,30}?)(?:,| i | we )", text)
        if m and m.group(1).strip() not in actors:
            actors.insert(0, m.group(1).strip())
        constraints = [_clean(s) for s in sents
                       if re.search(r"\b(must|should|only|within|without|at most|at least|"
                                    r"no more than|never|always)\b", s, re.I)]
        out_scope = [_clean(s) for s in sents
                     if re.search(r"\b(out of scope|not in scope|no need|don't|do not|"
                                  r"not required|later)\b", s, re.I)]
        in_scope = [_clean(s) for s in sents if _clean(s) not in constraints + out_scope]
        return Intent(goal=goal, actors=actors or ["user"], constraints=constraints[:6],
                      in_scope=in_scope[:6] or [_clean(req.title)], out_of_scope=out_scope[:4])

    def _claims(self, p: ClaimsPayload) -> Claims:
        # the rules of the preflight package: references and things named by description
        from ticketflow.preflight import rule_claims

        text = f"{p.request.title}.\n{p.request.description}".strip()
        return Claims(claims=rule_claims(text))

    def _type(self, p: TypePayload) -> TypeDetection:
        # The title says what the ticket is; the description adds evidence, at half weight
        # ("respond with a clear error" in a feature request is not a bug report).
        title, body = p.request.title.lower(), p.request.description.lower()

        def hits(words: tuple[str, ...], text: str) -> int:
            return sum(1 for w in words if re.search(rf"\b{re.escape(w)}\b", text))

        weighted = {t: 2 * hits(words, title) + hits(words, body)
                    for t, words in _TYPE_WORDS.items()}
        best, score = max(weighted.items(), key=lambda kv: kv[1])
        if score == 0:
            return TypeDetection(type=TicketType.FEATURE, confidence=0.5,
                                 rationale="no bug, chore or spike wording: taken as a feature")
        runner_up = max(v for t, v in weighted.items() if t is not best)
        conf = min(0.5 + 0.1 * (score - runner_up) + 0.05 * score, 0.95)
        return TypeDetection(type=best, confidence=round(conf, 2),
                             rationale=f"{best.value} wording outweighs the rest "
                                       f"({score} against {runner_up})")

    def _draft(self, p: DraftPayload) -> Draft:
        intent, req = p.intent, p.request
        actor = intent.actors[0] if intent.actors else "user"
        ac: list[str] = []
        if p.type.type is TicketType.BUG:
            ac.append(f"Given the steps in the report, when {_a(actor)} repeats them, then "
                      f"the problem described in '{req.title}' no longer occurs")
            ac.append("A regression test reproduces the original failure and passes "
                      "with the fix")
        else:
            # the first sentence when it says what is wanted, else the title
            sents = _sentences(req.description)
            first = _clean(sents[0]) if sents else ""
            ac.append(first if _WISH.search(first) else
                      f"Given {_a(actor)}, when the change is in place, then: "
                      f"{_clean(req.title)}")
        # each sentence of the request is a criterion once; in a bug report, a sentence
        # that only says what goes wrong is what must stop happening
        bug = p.type.type is TicketType.BUG
        ac.extend(f"No longer the case: {item}" if bug and _FAULT.search(item)
                  and not _WISH.search(item) else item
                  for item in [*intent.in_scope[:4], *intent.constraints[:3]]
                  if not any(item.lower() in said.lower() for said in ac))
        for e in p.endpoints[:3]:
            if _mentions(req, e.path):
                ac.append(f"The {e.method} {e.path} endpoint keeps its documented contract")
        ac.append("Existing behaviour outside this change is unaffected "
                  "(existing tests pass)")
        assumptions: list[str] = []
        for f in p.findings:
            if f.kind is FindingKind.UNMEASURABLE:
                assumptions.append(f"No target value was given ({f.evidence}); "
                                   "a measurable target must be agreed")
            elif f.kind is FindingKind.MISSING_INFORMATION:
                assumptions.append(f"Information is missing ({f.evidence}): "
                                   f"{_lower_first(f.message)}")
            elif f.kind is FindingKind.CONTRADICTION:
                assumptions.append(f"The request is contradictory ({f.evidence}); "
                                   "the intended behaviour must be confirmed")
            elif f.severity is Severity.CRITICAL:
                assumptions.append(f"{f.message} The person chose to proceed anyway")
        if not req.repo:
            assumptions.append("No repository was given: file paths are not included")
        elif not p.repo_files:
            assumptions.append("The repository context was unavailable when drafting")
        for o in intent.out_of_scope:
            assumptions.append(f"Out of scope: {o}")
        paths = [f.path for f in p.repo_files[:5] if f.path in set(p.known_paths)]
        return Draft(acceptance_criteria=_dedupe(ac), assumptions=_dedupe(assumptions),
                     repo_paths=paths)

    def _questions(self, p: QuestionsPayload) -> Questions:
        qs: list[Question] = []
        for f in p.findings:
            q = _question_for(f, len(qs) + 1)
            if q is not None:
                qs.append(q)
        return Questions(questions=qs[:5])

    def _refine(self, p: RefinePayload) -> Refined:
        """Each answer is worked into the draft as a sentence: the criterion it
        settles is rewritten (or one is added), the assumptions it answers are dropped,
        and a decision records what it settled."""
        draft = _Draft(list(p.draft.acceptance_criteria), list(p.draft.assumptions),
                       list(p.draft.decisions))
        refinements: list[Refinement] = []
        findings = {f.id: f for f in p.findings}
        for q in p.questions:  # in the order asked, whatever the answers' order
            raw = p.answers.get(q.id, "")
            answer = _body(raw)
            if not answer:
                continue
            finding = findings.get(q.finding_id or "")
            change = draft.integrate(q, finding, answer)
            refinements.append(Refinement(question_id=q.id, answer=raw.strip(), change=change))
        return Refined(draft=Draft(acceptance_criteria=_dedupe(draft.criteria),
                                   assumptions=draft.assumptions,
                                   repo_paths=p.draft.repo_paths,
                                   decisions=_dedupe(draft.decisions)),
                       refinements=refinements)


class _Draft:
    """A draft being refined: criteria, assumptions and decisions, edited in place."""

    def __init__(self, criteria: list[str], assumptions: list[str],
                 decisions: list[str]) -> None:
        self.criteria = criteria
        self.assumptions = assumptions
        self.decisions = decisions

    def integrate(self, q: Question, f: Finding | None, answer: str) -> str:
        """Work one answer in; returns the change, one sentence."""
        kind = f.kind if f is not None else None
        changes: list[str] = []
        if kind in (FindingKind.UNMEASURABLE, FindingKind.MISSING_INFORMATION) and \
                f is not None:
            clause = _body(f.evidence)
            changes.append(self._rewrite(clause, f"{clause}: {_lower_first(answer)}"))
            word = re.search(r"'([^']+)'", f.message)
            self.decisions.append(f"“{word.group(1)}” means {_lower_first(answer)}."
                                  if word else f"{_cap(answer)}.")
        elif kind is FindingKind.CONTRADICTION and f is not None:
            clause = _body(f.evidence)
            changes.append(self._rewrite(clause, f"{clause}: {_lower_first(answer)}"))
            self.decisions.append(f"{_cap(answer)} (settles “{clause}”).")
        elif (wrong := _named_reference(f.message if f else q.text)) and " " not in answer:
            n = self._replace(wrong, answer)
            changes.append(f"Replaced `{wrong}` with `{answer}` in {n} acceptance "
                           f"criteri{'on' if n == 1 else 'a'}." if n else
                           "No criterion named it.")
            self.decisions.append(f"The ticket refers to `{answer}`, not `{wrong}`.")
        else:
            self.decisions.append(f"{_body(q.text).rstrip('?')}: {_lower_first(answer)}.")
            changes.append("Recorded as a decision.")
        dropped = self._drop_assumptions(q, f)
        if dropped:
            changes.append(f"Dropped the assumption “{dropped[0]}”.")
        return " ".join(changes)

    def _rewrite(self, clause: str, sentence: str) -> str:
        """Replace the criterion that states ``clause`` with ``sentence``, or add it."""
        low = clause.lower()
        for i, c in enumerate(self.criteria):
            if low and low in c.lower():
                self.criteria[i] = sentence
                return f"Rewrote the criterion “{c}” as “{sentence}”."
        self.criteria.append(sentence)
        return f"Added the criterion “{sentence}”."

    def _replace(self, wrong: str, right: str) -> int:
        fixed = [c.replace(wrong, right) for c in self.criteria]
        n = sum(1 for old, new in zip(self.criteria, fixed, strict=True) if old != new)
        self.criteria = fixed
        return n

    def _drop_assumptions(self, q: Question, f: Finding | None) -> list[str]:
        evidence = _body(f.evidence).lower() if f is not None else ""
        dropped = [a for a in self.assumptions
                   if (evidence and evidence in a.lower()) or (q.finding_id and _about(a, q))]
        self.assumptions = [a for a in self.assumptions if a not in dropped]
        return dropped


def _question_for(f: Finding, n: int) -> Question | None:
    if f.kind is FindingKind.MISSING_INFORMATION:
        return Question(id=f"q{n}", finding_id=f.id,
                        text=f"The request says “{_body(f.evidence)}”. Who or what is "
                             "affected, when, and what should happen instead?",
                        why=f.message)
    if f.kind is FindingKind.UNMEASURABLE:
        word = re.search(r"'([^']+)'", f.message)
        target = f"“{word.group(1)}”" if word else "this"
        return Question(id=f"q{n}", finding_id=f.id,
                        text=f"The request says “{_body(f.evidence)}”. What measurable "
                             f"target should {target} meet?",
                        why="Without a number or an observable behaviour it cannot be "
                            "tested.")
    if f.kind is FindingKind.CONTRADICTION:
        return Question(id=f"q{n}", finding_id=f.id,
                        text=f"The request says “{_body(f.evidence)}”. Which behaviour "
                             "applies, and when?",
                        why="The two cannot both hold; the criteria need one.")
    if f.severity is Severity.CRITICAL and f.suggestion:
        return Question(id=f"q{n}", finding_id=f.id,
                        text=f"{f.message} {f.suggestion} What should the ticket refer to?",
                        why="Correct reference")
    return None


def _about(assumption: str, q: Question) -> bool:
    words = {w for w in re.findall(r"[a-z]{4,}", q.text.lower())}
    return len(words & set(re.findall(r"[a-z]{4,}", assumption.lower()))) >= 2


_GENERIC_PATH_PARTS = frozenset({"api", "v1", "v2", "v3", "int", "str", "uuid", "path"})


def _mentions(req: TicketRequest, path: str) -> bool:
    """Does the request talk about this endpoint (by a specific part of its path)?"""
    text = f"{req.title} {req.description}".lower()
    parts = [p for p in re.split(r"[/{}:<>_-]", path.lower())
             if len(p) > 2 and p not in _GENERIC_PATH_PARTS]
    return any(re.search(rf"\b{re.escape(p)}", text) for p in parts)


def _named_reference(text: str) -> str | None:
    m = re.search(r"`([^`]+)`", text)
    return m.group(1) if m else None


def _lower_first(s: str) -> str:
    """Lower-case the first letter, unless the first word is a name or an acronym
    ("CSV", "InvoiceList")."""
    first = s.split(" ", 1)[0]
    if len(first) > 1 and (first.isupper() or any(ch.isupper() for ch in first[1:])):
        return s
    return s[:1].lower() + s[1:] if s else s


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _body(text: str) -> str:
    """A sentence without its surrounding space and final full stop."""
    return text.strip().rstrip(".").strip()


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _a(noun: str) -> str:
    vowel_sound = noun[:1].lower() in "aeio" or noun.lower().startswith(("un", "und"))
    return f"{'an' if vowel_sound else 'a'} {noun}"
