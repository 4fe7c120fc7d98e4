"""What a step handler receives: the run, earlier outputs, and the ports it may use."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ticketflow.domain import TicketRequest
from ticketflow.ports import Clock, DocumentStore, IndexStatus, LanguageModel, RepoIndex
from ticketflow.ports.records import RunRecord
from ticketflow.ports.repositories import RepositoryStore
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
    repositories: RepositoryStore | None = None


@dataclass
class StepContext:
    run: RunRecord
    deps: StepDeps
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def request(self) -> TicketRequest:
        return TicketRequest.model_validate(self.run.input)

    def index_key(self) -> tuple[str | None, str]:
        """The index this run may read (the ticket's ``indexId``), or ``None`` and why
        not. An index registered by another user is never read for this run's owner,
        whatever id the run carries."""
        repo = self.request.repository
        if repo is None or repo.index_id is None:
            return None, "no repository index for this ticket"
        if self.deps.repositories is not None:
            rec = self.deps.repositories.get_index(repo.index_id)
            if rec is None:
                return None, f"repository index {repo.index_id} does not exist"
            if rec.owner_id != self.run.owner_id:
                return None, "the repository index belongs to another user"
        return repo.index_id, ""

    def index_status(self, key: str) -> IndexStatus:
        """The status of index ``key``, waiting up to ``index_wait_s`` while it is
        queued or being built (a ticket started right after its repository was
        named is then still checked against the code when indexing is quick)."""
        assert self.deps.index is not None
        status = self.deps.index.status(key)
        until = time.monotonic() + self.deps.index_wait_s
        while status.state in ("pending", "indexing") and time.monotonic() < until:
            time.sleep(0.2)
            status = self.deps.index.status(key)
        return status

    def output(self, model: type[OutT]) -> OutT:
        """The committed output of the earlier step that produces ``model``."""
        name = model.STEP
        if name not in self.outputs:
            raise KeyError(f"step '{name}' has no committed output in run {self.run.run_id}")
        return model.model_validate(self.outputs[name])
