"""Step 7: draft acceptance criteria, assumptions and repository paths.

Every repository path in the draft must exist in the index: paths the model names
that do not exist are dropped and reported in the step's detail.
"""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Draft
from ticketflow.domain.errors import TerminalError
from ticketflow.ports.llm import GENERATE_DRAFT, DraftPayload
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.llm_call import generate, label
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput
from ticketflow.workflow.steps.s02_detect_type import TypeOutput
from ticketflow.workflow.steps.s03_preflight import PreflightOutput
from ticketflow.workflow.steps.s05_repo_context import RepoContextOutput
from ticketflow.workflow.steps.s06_api_context import ApiContextOutput


class DraftOutput(StepOutput):
    STEP: ClassVar[str] = "generate_draft"

    draft: Draft
    dropped_paths: list[str] = []


def existing_paths(ctx: StepContext, paths: list[str]) -> tuple[list[str], list[str]]:
    """Split ``paths`` into those the index knows and those it does not."""
    (repo, _), index = ctx.index_key(), ctx.deps.index
    if repo is None or index is None or index.status(repo).state != "ready":
        return [], list(paths)
    keep: list[str] = []
    drop: list[str] = []
    for p in dict.fromkeys(paths):
        (keep if index.path_exists(repo, p) else drop).append(p)
    return keep, drop


def generate_draft(ctx: StepContext) -> DraftOutput:
    repo_ctx = ctx.output(RepoContextOutput)
    payload = DraftPayload(
        request=ctx.request,
        intent=ctx.output(IntentOutput).intent,
        type=ctx.output(TypeOutput).detection,
        findings=ctx.output(PreflightOutput).findings,
        repo_files=repo_ctx.files,
        endpoints=ctx.output(ApiContextOutput).endpoints,
        known_paths=[f.path for f in repo_ctx.files],
    )
    draft, fallback = generate(ctx, GENERATE_DRAFT, payload, Draft)
    if not draft.acceptance_criteria:
        raise TerminalError("the draft has no acceptance criteria", code="empty_draft")
    keep, drop = existing_paths(ctx, draft.repo_paths)
    draft = draft.model_copy(update={"repo_paths": keep})
    detail = f"{len(draft.acceptance_criteria)} acceptance criteria, {len(keep)} path(s)"
    if drop:
        detail += f"; dropped {len(drop)} path(s) not in the repository"
    return DraftOutput(draft=draft, dropped_paths=drop, detail=label(detail, fallback),
                       fallback=fallback, outcome="degraded" if fallback else "done")
