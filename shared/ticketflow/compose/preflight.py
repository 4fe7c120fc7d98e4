"""Steps 1-3 and 5 of the workflow on their own: no run, no suspension, no ticket.

``ticketflow preflight`` and the W4 benchmark use this to see what the workflow
would find (critical findings, warnings) and which files it would retrieve for a
request, without creating a ticket or a run. The step handlers are the same ones
the workflow runs; only the durable machinery around them is left out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.repo_index import repo_key
from ticketflow.adapters.memory import MemoryDocumentStore
from ticketflow.domain import Finding, Intent, RepoContext, Severity, TicketRequest, TypeDetection
from ticketflow.ports import Clock, FileHit, LanguageModel, RepoIndex
from ticketflow.ports.records import RunRecord
from ticketflow.workflow.context import StepContext, StepDeps
from ticketflow.workflow.definition import CURRENT
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput, extract_intent
from ticketflow.workflow.steps.s02_detect_type import TypeOutput, detect_type
from ticketflow.workflow.steps.s03_preflight import PreflightOutput, preflight
from ticketflow.workflow.steps.s05_repo_context import RepoContextOutput, gather_repo_context

__all__ = ["PreflightReport", "run_preflight"]


@dataclass
class PreflightReport:
    """What steps 1-3 and 5 produced for one request."""

    intent: Intent
    detection: TypeDetection
    findings: list[Finding]
    index_state: str
    retrieved: list[FileHit] = field(default_factory=list)
    repo_detail: str = ""
    context: StepContext | None = field(default=None, repr=False, compare=False)
    """The in-memory step context (committed outputs of steps 1-3 and 5), so a caller may
    run later steps on it (the W4 benchmark drafts with steps 6 and 7)."""

    @property
    def retrieved_files(self) -> list[str]:
        """Ranked repo-relative paths of the files step 5 retrieved."""
        return [h.path for h in self.retrieved]

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.CRITICAL]

    def as_json(self) -> dict[str, Any]:
        """The ``ticketflow preflight --json`` document."""
        return {
            "retrieved_files": self.retrieved_files,
            "findings": [
                {"kind": f.kind.value, "severity": f.severity.value, "evidence": f.evidence,
                 "message": f.message, "suggestion": f.suggestion}
                for f in self.findings
            ],
            "index_state": self.index_state,
            "repo_context": self.repo_detail,
        }


def _context(title: str, description: str, repo: str | None, deps: StepDeps,
             clock: Clock, repository: RepoContext | None) -> StepContext:
    now = clock.now()
    if repository is None and repo:  # a directory indexed directly: keyed by its path
        repository = RepoContext(url=repo, index_id=repo_key(repo))
    run = RunRecord(
        run_id="preflight-" + uuid.uuid4().hex[:12], aec_id="-", owner_id="-",
        workflow_version=CURRENT.version, deadline_at=now,
        input=TicketRequest(title=title, description=description, repo=repo,
                            repository=repository).doc(),
        provider=deps.llm.provider, created_at=now, updated_at=now,
    )
    return StepContext(run=run, deps=deps)


def _commit(ctx: StepContext, name: str, out: StepOutput) -> None:
    ctx.outputs[name] = out.model_dump(mode="json", by_alias=True)


def run_preflight(title: str, description: str, *, repo: str | None, index: RepoIndex | None,
                  llm: LanguageModel, clock: Clock | None = None,
                  index_wait_s: float = 0.0,
                  fallback: LanguageModel | None = None,
                  repository: RepoContext | None = None) -> PreflightReport:
    """Run steps 1, 2, 3 and 5 in memory for one request.

    ``repository`` names the index to read (a registered repository's); without it,
    ``repo`` is a directory indexed directly (keyed by its path). The index is only
    queried when it is ``ready`` (step 5 waits up to ``index_wait_s`` for an index
    being built, then degrades)."""
    clock = clock or SystemClock()
    deps = StepDeps(llm=llm, documents=MemoryDocumentStore(clock), clock=clock, index=index,
                    index_wait_s=index_wait_s, fallback=fallback)
    ctx = _context(title, description, repo, deps, clock, repository)
    intent_out = extract_intent(ctx)
    _commit(ctx, "extract_intent", intent_out)
    type_out = detect_type(ctx)
    _commit(ctx, "detect_type", type_out)
    pre = preflight(ctx)
    _commit(ctx, "preflight", pre)
    repo_ctx = gather_repo_context(ctx)
    _commit(ctx, "gather_repo_context", repo_ctx)
    return PreflightReport(
        intent=IntentOutput.model_validate(ctx.outputs["extract_intent"]).intent,
        detection=TypeOutput.model_validate(ctx.outputs["detect_type"]).detection,
        findings=PreflightOutput.model_validate(ctx.outputs["preflight"]).findings,
        index_state=repo_ctx.index_state,
        retrieved=RepoContextOutput.model_validate(ctx.outputs["gather_repo_context"]).files,
        repo_detail=repo_ctx.detail,
        context=ctx,
    )
