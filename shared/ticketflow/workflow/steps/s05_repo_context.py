"""Step 5: gather repository context, after checking the index is ready.

Ready: query it. Indexing: wait within a bound, then degrade and say "indexing in
progress". Failed / none: degrade and say so. Never query a half-built index.

The query is the request's own words plus the extracted intent. Files that define
the code names the request mentions (a function, a component, a setting, a file,
or the closest real match of a misspelt one) come first: a person naming them is
the strongest relevance signal there is.
"""

from __future__ import annotations

import time
from typing import ClassVar

from ticketflow.ports import FileHit, RepoIndex
from ticketflow.preflight import extract_references
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput

LIMIT = 8
MAX_PINNED = 3


class RepoContextOutput(StepOutput):
    STEP: ClassVar[str] = "gather_repo_context"

    index_state: str
    files: list[FileHit] = []
    message: str = ""


def _defining_files(index: RepoIndex, repo: str, text: str) -> list[str]:
    """Files that define (or are) the code references in ``text``, in order of mention."""
    paths: list[str] = []
    for ref in extract_references(text):
        if ref.kind == "route":
            continue
        look = index.lookup(repo, ref.kind, ref.name)
        matches = list(look.matches)
        if not matches and look.closest:
            if ref.kind == "file":
                matches = [look.closest]
            else:
                matches = list(index.lookup(repo, ref.kind, look.closest).matches)
        for m in matches[:2]:
            path = m if ref.kind == "file" else m.rsplit(":", 1)[0]
            if path not in paths:
                paths.append(path)
    return paths


def retrieve(index: RepoIndex, repo: str, query: str, text: str,
             limit: int = LIMIT) -> list[FileHit]:
    """Ranked files for a request: the files its code names point at, then search hits."""
    hits = index.search(repo, query, limit=limit + MAX_PINNED)
    by_path = {h.path: h for h in hits}
    top = hits[0].score if hits else 1.0
    pinned: list[FileHit] = []
    for i, path in enumerate(_defining_files(index, repo, text)[:MAX_PINNED]):
        if not index.path_exists(repo, path):
            continue
        hit = by_path.get(path)
        pinned.append(FileHit(path=path, score=round(top + 1.0 - 0.01 * i, 4),
                              snippet=hit.snippet if hit else "",
                              language=hit.language if hit else None))
    seen = {p.path for p in pinned}
    return (pinned + [h for h in hits if h.path not in seen])[:limit]


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
