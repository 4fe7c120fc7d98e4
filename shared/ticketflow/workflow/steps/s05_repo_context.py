"""Step 5: gather repository context, after checking the index is ready.

The index is the ticket's own (its repository context's ``indexId``, readable only
by the ticket's owner). Ready: query it. Queued or indexing: wait within a bound,
then degrade and say "indexing in progress". Failed / none: degrade and say so.
Never query a half-built index. The output records the repository context as this
step saw it, which the finished ticket keeps (which commit it was validated against).

The query is the request's own words plus the extracted intent; the ranking
(:mod:`ticketflow.workflow.retrieval`) weighs what ties each candidate file to the
request (the names, entities and pages it mentions, its words and title, the file's
kind, its neighbours in the import, route and render graphs) with weights fitted on
the W4 development group.
"""

from __future__ import annotations

from typing import ClassVar

from ticketflow.domain import Intent, RepoContext, TicketRequest
from ticketflow.ports import FileHit, IndexStatus
from ticketflow.ports.repositories import context_state
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.retrieval import retrieve
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput


class RepoContextOutput(StepOutput):
    STEP: ClassVar[str] = "gather_repo_context"

    index_state: str
    files: list[FileHit] = []
    message: str = ""
    repository: RepoContext | None = None


def _seen(ctx: StepContext, status: IndexStatus) -> RepoContext | None:
    repo = ctx.request.repository
    if repo is None:
        return None
    return repo.model_copy(update={
        "status": context_state(status), "files_done": status.files_done,
        "files_total": status.files_total,
        "error": status.error if status.state == "failed" else None})


def retrieval_request(req: TicketRequest, intent: Intent) -> tuple[str, str]:
    """The full-text query (the request's words and the extracted intent) and the
    request's own text that step 5 ranks files for."""
    text = f"{req.title}.\n{req.description}"
    query = " ".join(dict.fromkeys([req.title, intent.goal, *intent.in_scope, req.description]))
    return query, text


def gather_repo_context(ctx: StepContext) -> RepoContextOutput:
    req = ctx.request
    index = ctx.deps.index
    if not req.repo:
        return RepoContextOutput(index_state="none", outcome="skipped",
                                 detail="no repository given")
    if index is None:
        return RepoContextOutput(index_state="none", outcome="degraded",
                                 detail="no repository index configured")
    key, why = ctx.index_key()
    if key is None:
        return RepoContextOutput(index_state="none", outcome="degraded", message=why,
                                 repository=_seen(ctx, IndexStatus(state="none")),
                                 detail=f"{why}; continuing without repository context")
    status = ctx.index_status(key)
    seen = _seen(ctx, status)
    if status.state != "ready":
        msg = {
            "pending": "indexing in progress (queued, not started yet)",
            "indexing": f"indexing in progress ({status.files_done}/{status.files_total} files)",
            "failed": f"repository indexing failed: {status.error or 'unknown error'}",
            "none": "repository not indexed",
        }[status.state]
        return RepoContextOutput(index_state=status.state, outcome="degraded", message=msg,
                                 repository=seen,
                                 detail=f"{msg}; continuing without repository context")
    query, text = retrieval_request(req, ctx.output(IntentOutput).intent)
    hits = retrieve(index, key, query, text)
    at = f" at commit {seen.commit[:12]}" if seen is not None and seen.commit else ""
    return RepoContextOutput(index_state="ready", files=hits, repository=seen,
                             detail=f"{len(hits)} relevant file(s){at}")
