"""What a step handler receives: the run, earlier outputs, and the ports it may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from ticketflow.domain import TicketRequest
from ticketflow.ports import Clock, DocumentStore, LanguageModel, RepoIndex
from ticketflow.ports.records import RunRecord
from ticketflow.workflow.steps.base import StepOutput

OutT = TypeVar("OutT", bound=StepOutput)


@dataclass(frozen=True)
class StepDeps:
    """The outside world as steps see it."""

    llm: LanguageModel
    documents: DocumentStore
    clock: Clock
    index: RepoIndex | None = None
    index_wait_s: float = 0.0
    fallback: LanguageModel | None = None  # stands in when ``llm`` fails after its retries


@dataclass
class StepContext:
    run: RunRecord
    deps: StepDeps
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def request(self) -> TicketRequest:
        return TicketRequest.model_validate(self.run.input)

    def output(self, model: type[OutT]) -> OutT:
        """The committed output of the earlier step that produces ``model``."""
        name = model.STEP
        if name not in self.outputs:
            raise KeyError(f"step '{name}' has no committed output in run {self.run.run_id}")
        return model.model_validate(self.outputs[name])
