"""Step 6: gather API context (OpenAPI documents, route tables); skipped when none."""

from __future__ import annotations

from typing import ClassVar

from ticketflow.ports import ApiEndpoint
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s05_repo_context import RepoContextOutput


class ApiContextOutput(StepOutput):
    STEP: ClassVar[str] = "gather_api_context"

    endpoints: list[ApiEndpoint] = []


def gather_api_context(ctx: StepContext) -> ApiContextOutput:
    repo_ctx = ctx.output(RepoContextOutput)
    key, _ = ctx.index_key()
    if key is None or ctx.deps.index is None or repo_ctx.index_state != "ready":
        return ApiContextOutput(outcome="skipped", detail="no ready repository index")
    endpoints = ctx.deps.index.endpoints(key)
    if not endpoints:
        return ApiContextOutput(outcome="skipped", detail="no API description in the repository")
    return ApiContextOutput(endpoints=endpoints[:50], detail=f"{len(endpoints)} endpoint(s)")
