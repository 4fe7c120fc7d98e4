"""Step 5: gather repository context, after checking the index is ready.

Ready: query it. Indexing: wait within a bound, then degrade and say "indexing in
progress". Failed / none: degrade and say so. Never query a half-built index.

The query is the request's own words plus the extracted intent; the ranking
(:mod:`ticketflow.workflow.retrieval`) puts first the files that define what the
request names, then the entities it talks about, then words, then their neighbours
in the import, route and render graphs.
"""

from __future__ import annotations

import time
from typing import ClassVar

from ticketflow.ports import FileHit
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.retrieval import retrieve
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput


class RepoContextOutput(StepOutput):
    STEP: ClassVar[str] = "gather_repo_context"

    index_state: str
    files: list[FileHit] = []
    message: str = ""


def gather_repo_context(ctx: StepContext) -> RepoContextOutput:
    req = ctx.request
    index = ctx.deps.index
    if not req.repo:
        return RepoContextOutput(index_state="none", outcome="skipped",
                                 detail="no repository given")
    if index is None:
        return RepoContextOutput(index_state="none", outcome="degraded",
                                 detail="no repository index configured")
    status = index.status(req.repo)
    waited_until = time.monotonic() + ctx.deps.index_wait_s
    while status.state in ("pending", "indexing") and time.monotonic() < waited_until:
        time.sleep(0.2)
        status = index.status(req.repo)
    if status.state != "ready":
        msg = {
            "pending": "indexing in progress (not started yet)",
            "indexing": f"indexing in progress ({status.files_done}/{status.files_total} files)",
            "failed": f"repository indexing failed: {status.error or 'unknown error'}",
            "none": "repository not indexed",
        }[status.state]
        return RepoContextOutput(index_state=status.state, outcome="degraded", message=msg,
                                 detail=f"{msg}; continuing without repository context")
    intent = ctx.output(IntentOutput).intent
    text = f"{req.title}.\n{req.description}"
    query = " ".join(dict.fromkeys([req.title, intent.goal, *intent.in_scope, req.description]))
    hits = retrieve(index, req.repo, query, text)
    return RepoContextOutput(index_state="ready", files=hits,
                             detail=f"{len(hits)} relevant file(s)")
