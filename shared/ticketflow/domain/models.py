"""Value objects of a ticket: intent, type, findings, questions, draft, answers.

Every model serialises to the camelCase shape the web page and Firestore use
(``model_dump(by_alias=True)``) and accepts both spellings on input.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Model(BaseModel):
    """Base for domain values: camelCase aliases, populate by either name, no extras."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def doc(self) -> dict[str, object]:
        """The JSON-able document form (camelCase keys)."""
        return self.model_dump(mode="json", by_alias=True)


class TicketType(StrEnum):
    FEATURE = "feature"
    BUG = "bug"
    CHORE = "chore"
    SPIKE = "spike"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class FindingKind(StrEnum):
    MISSING_FILE = "missing_file"
    MISSING_SYMBOL = "missing_symbol"
    MISSING_ROUTE = "missing_route"
    MISSING_SETTING = "missing_setting"
    MISSING_ELEMENT = "missing_element"
    CONTRADICTION = "contradiction"
    MISSING_INFORMATION = "missing_information"
    UNMEASURABLE = "unmeasurable"
    RISKY_AREA = "risky_area"
    UNVERIFIABLE = "unverifiable"


class Intent(Model):
    goal: str
    actors: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    in_scope: list[str] = Field(default_factory=list)
    out_of_scope: list[str] = Field(default_factory=list)


class TypeDetection(Model):
    type: TicketType
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = ""


class FindingStatus(StrEnum):
    """Where a finding stands once a person has seen it."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # the person chose to proceed past it at the review
    RESOLVED = "resolved"  # an answer to a question about it settled it


class Finding(Model):
    id: str
    kind: FindingKind
    severity: Severity
    evidence: str
    message: str
    suggestion: str | None = None
    status: FindingStatus = Field(
        FindingStatus.OPEN, description="open until the person proceeds past it at the "
        "review (acknowledged) or an answer settles it (resolved)")
    resolution: str = Field("", description="how it was settled, one sentence; empty "
                            "while open")


class Question(Model):
    id: str
    text: str
    why: str = ""
    choices: list[str] = Field(default_factory=list)
    finding_id: str | None = None


class Draft(Model):
    acceptance_criteria: list[str]
    assumptions: list[str] = Field(default_factory=list)
    repo_paths: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list, description="what each answer "
                                 "settled, one sentence each (empty before answers)")


class Refinement(Model):
    """Which answer changed what, kept on the ticket for the reader."""

    question_id: str
    answer: str
    change: str


class Provider(Model):
    """Who produced the text: the offline heuristics are never presented as AI."""

    name: str
    offline: bool
    model: str | None = None


class Answers(Model):
    """Answers keyed by question id; ``skipped`` when the person chose to skip."""

    answers: dict[str, str] = Field(default_factory=dict)
    skipped: bool = False


RepoState = Literal["none", "queued", "indexing", "ready", "failed"]


class RepoContext(Model):
    """The repository a ticket is checked against.

    ``url`` and ``ref`` are what the person named (a git URL, or a local directory in
    the embedded default; ``ref`` ``None`` means the remote's default branch);
    ``repo_id`` is their registration of it; ``commit`` what the ref resolved to when
    the run started (``None`` until it could be resolved, and for a local directory);
    ``index_id`` names the one index of that commit, shared by every ticket on the
    same repository and commit. ``status`` is the index's state as last seen (queued,
    indexing with ``files_done``/``files_total``, ready, or failed with ``error``).
    """

    url: str
    ref: str | None = None
    repo_id: str | None = None
    commit: str | None = None
    index_id: str | None = None
    status: RepoState = "none"
    files_done: int = 0
    files_total: int = 0
    error: str | None = None


class TicketRequest(Model):
    """What a person asked for: the input of every run, pinned when the run starts.

    ``repo`` is the repository as the person typed it; ``repository`` is what it
    resolved to when the run started (the index every code-aware step reads)."""

    title: str
    description: str = ""
    repo: str | None = None
    repository: RepoContext | None = None


def settle_findings(findings: list[Finding], *, proceeded: bool,
                    answered: Mapping[str, str], expired: bool = False) -> list[Finding]:
    """The findings as they stand on a finished ticket: the critical ones the person
    proceeded past at the review are acknowledged (``expired``: the wait ran out and
    the run proceeded by policy), those an answer was given for (``answered``: finding
    id -> answer) are resolved, the rest stay open."""
    out: list[Finding] = []
    for f in findings:
        if f.id in answered:
            f = f.model_copy(update={"status": FindingStatus.RESOLVED,
                                     "resolution": f"Settled by your answer: "
                                                   f"{answered[f.id].strip()}"})
        elif proceeded and f.severity is Severity.CRITICAL:
            why = ("The review expired and the run proceeded past it." if expired else
                   "You chose to proceed past it at the review.")
            f = f.model_copy(update={"status": FindingStatus.ACKNOWLEDGED, "resolution": why})
        out.append(f)
    return out
