"""The workflow as data: eleven steps, each with its handler, output model, retry
policy and timeout. A run pins the version it started with; the runtime refuses to
execute a run whose version is not registered here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ticketflow.ports.records import StepRecord
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput, extract_intent
from ticketflow.workflow.steps.s02_detect_type import TypeOutput, detect_type
from ticketflow.workflow.steps.s03_preflight import PreflightOutput, preflight
from ticketflow.workflow.steps.s04_review_findings import ReviewOutput, review_findings
from ticketflow.workflow.steps.s05_repo_context import RepoContextOutput, gather_repo_context
from ticketflow.workflow.steps.s06_api_context import ApiContextOutput, gather_api_context
from ticketflow.workflow.steps.s07_generate_draft import DraftOutput, generate_draft
from ticketflow.workflow.steps.s08_generate_questions import (
    QuestionsOutput,
    generate_questions,
)
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput, ask_questions
from ticketflow.workflow.steps.s10_refine_draft import RefineOutput, refine_draft
from ticketflow.workflow.steps.s11_finalize import FinalizeOutput, finalize


class StepMismatchError(RuntimeError):
    """Replaying a run whose recorded step name differs from the definition's."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.backoff_s * 2 ** max(attempt - 1, 0), self.max_backoff_s))


LLM_RETRY = RetryPolicy(max_attempts=5, backoff_s=2.0, max_backoff_s=60.0)
LOCAL_RETRY = RetryPolicy(max_attempts=3, backoff_s=0.5, max_backoff_s=10.0)


@dataclass(frozen=True)
class StepSpec:
    index: int
    name: str
    title: str
    handler: Callable[[StepContext], StepOutput]
    output: type[StepOutput]
    retry: RetryPolicy = LOCAL_RETRY
    timeout_s: float = 30.0
    suspends: str | None = None  # the suspension kind, for steps 4 and 9


VERSION = "2026-11-25.1"

STEPS: tuple[StepSpec, ...] = (
    StepSpec(1, "extract_intent", "Extract intent", extract_intent, IntentOutput,
             LLM_RETRY, 120.0),
    StepSpec(2, "detect_type", "Detect type", detect_type, TypeOutput, LLM_RETRY, 60.0),
    StepSpec(3, "preflight", "Preflight validation", preflight, PreflightOutput,
             LOCAL_RETRY, 60.0),
    StepSpec(4, "review_findings", "Review findings", review_findings, ReviewOutput,
             suspends="review"),
    StepSpec(5, "gather_repo_context", "Gather repository context", gather_repo_context,
             RepoContextOutput, LOCAL_RETRY, 60.0),
    StepSpec(6, "gather_api_context", "Gather API context", gather_api_context,
             ApiContextOutput, LOCAL_RETRY, 30.0),
    StepSpec(7, "generate_draft", "Generate draft", generate_draft, DraftOutput,
             LLM_RETRY, 180.0),
    StepSpec(8, "generate_questions", "Generate questions", generate_questions,
             QuestionsOutput, LLM_RETRY, 120.0),
    StepSpec(9, "ask_questions", "Ask questions", ask_questions, AnswersOutput,
             suspends="questions"),
    StepSpec(10, "refine_draft", "Refine draft", refine_draft, RefineOutput,
             LLM_RETRY, 180.0),
    StepSpec(11, "finalize", "Finalize", finalize, FinalizeOutput, LOCAL_RETRY, 30.0),
)


@dataclass(frozen=True)
class WorkflowDefinition:
    """One version of the workflow. Checked when it is built: steps are numbered 1..n
    in order, and each step's output model names that step (``StepOutput.STEP``), so
    that outputs can be looked up by type."""

    version: str
    steps: tuple[StepSpec, ...]

    def __post_init__(self) -> None:
        for i, spec in enumerate(self.steps, start=1):
            if spec.index != i:
                raise ValueError(f"{self.version}: step '{spec.name}' is numbered "
                                 f"{spec.index}, expected {i}")
            if spec.name != spec.output.STEP:
                raise ValueError(f"{self.version}: {spec.output.__name__}.STEP is "
                                 f"'{spec.output.STEP}', expected '{spec.name}'")

    @property
    def total(self) -> int:
        return len(self.steps)

    def has_step(self, index: int) -> bool:
        return 1 <= index <= len(self.steps)

    def step(self, index: int) -> StepSpec:
        return self.steps[index - 1]

    def by_name(self, name: str) -> StepSpec:
        return next(s for s in self.steps if s.name == name)

    def check_recorded(self, run_id: str, steps: Sequence[StepRecord]) -> None:
        """``StepMismatchError`` if a committed step's recorded name is not this
        definition's name for that index (replaying it would silently drift)."""
        for rec in steps:
            expected = self.step(rec.step_index).name if self.has_step(rec.step_index) \
                else None
            if rec.step_name != expected:
                raise StepMismatchError(
                    f"run {run_id} step {rec.step_index} was recorded as "
                    f"'{rec.step_name}' but the definition says '{expected}'")


CURRENT = WorkflowDefinition(VERSION, STEPS)
DEFINITIONS: dict[str, WorkflowDefinition] = {VERSION: CURRENT}


def longest_timeout(index: int, default: float = 60.0) -> float:
    """Step ``index``'s timeout in the deployed version that allows it the longest (a
    lease is taken before the run, and so the version it pinned, is read)."""
    return max((d.step(index).timeout_s for d in DEFINITIONS.values() if d.has_step(index)),
               default=default)
