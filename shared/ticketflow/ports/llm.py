"""The language-model port and the tasks it serves: payload in, output model out.

Each task names its prompt file (``ticketflow/prompts/{name}.md``) and its output
model. The offline provider implements the same tasks with heuristics; the Claude
adapter renders the prompt and asks for the output model as structured output.
"""

from __future__ import annotations

from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from ticketflow.domain.models import (
    Draft,
    Finding,
    Intent,
    Model,
    Provider,
    Question,
    Refinement,
    TicketRequest,
    TypeDetection,
)
from ticketflow.ports.repo_index import ApiEndpoint, FileHit

OutT = TypeVar("OutT", bound=BaseModel)


class LLMTask(Model):
    """A named structured-generation task: the prompt file and the output model."""

    name: str
    output: type[BaseModel]
    prompt: str = ""
    max_tokens: int = 2048

    model_config = {"arbitrary_types_allowed": True, "frozen": True}


class LanguageModel(Protocol):
    provider: Provider

    def generate(self, task: LLMTask, payload: BaseModel, output: type[OutT]) -> OutT:
        """Produce ``output`` for ``task`` from ``payload``. Raises
        :class:`ticketflow.domain.RetryableError` for transient failures and
        :class:`ticketflow.domain.TerminalError` for unusable answers."""
        ...


# -- the workflow's tasks and their payloads ---------------------------------------------


class TypePayload(Model):
    request: TicketRequest
    intent: Intent


class DraftPayload(Model):
    request: TicketRequest
    intent: Intent
    type: TypeDetection
    findings: list[Finding] = Field(default_factory=list)
    repo_files: list[FileHit] = Field(default_factory=list)
    endpoints: list[ApiEndpoint] = Field(default_factory=list)
    known_paths: list[str] = Field(default_factory=list)


class QuestionsPayload(Model):
    request: TicketRequest
    intent: Intent
    findings: list[Finding] = Field(default_factory=list)
    draft: Draft


class Questions(Model):
    questions: list[Question] = Field(default_factory=list, max_length=5)


class RefinePayload(Model):
    request: TicketRequest
    draft: Draft
    questions: list[Question]
    answers: dict[str, str]
    known_paths: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list,
                                    description="the open findings the questions are about")


class Refined(Model):
    draft: Draft
    refinements: list[Refinement] = Field(default_factory=list)


class ClaimsPayload(Model):
    request: TicketRequest


class Claim(Model):
    """Something the request refers to in the code or on screen. ``name`` as written
    (a path, a code name, ``METHOD /path``, a setting, a quoted label, or for
    ``description`` the words that describe it: "the existing post endpoints");
    ``quote`` is the request's sentence that holds it, verbatim; ``presented_as``
    says whether the wording treats it as already there or as something to make."""

    kind: Literal["file", "symbol", "route", "setting", "ui_text", "description"]
    name: str
    quote: str = ""
    presented_as: Literal["existing", "new"] = "existing"


class Claims(Model):
    claims: list[Claim] = Field(default_factory=list, max_length=40)


EXTRACT_INTENT = LLMTask(name="extract_intent", output=Intent, max_tokens=1024)
EXTRACT_CLAIMS = LLMTask(name="extract_claims", output=Claims, max_tokens=1536)
DETECT_TYPE = LLMTask(name="detect_type", output=TypeDetection, max_tokens=512)
GENERATE_DRAFT = LLMTask(name="generate_draft", output=Draft, max_tokens=2048)
GENERATE_QUESTIONS = LLMTask(name="generate_questions", output=Questions, max_tokens=1024)
REFINE_DRAFT = LLMTask(name="refine_draft", output=Refined, max_tokens=2048)

TASKS = {t.name: t for t in (EXTRACT_INTENT, DETECT_TYPE, EXTRACT_CLAIMS, GENERATE_DRAFT,
                             GENERATE_QUESTIONS, REFINE_DRAFT)}
