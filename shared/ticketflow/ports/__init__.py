"""Ports: one small Protocol per outside thing the workflow talks to, and the records
they carry.

Each has a production adapter and a local one, and every adapter of a port passes
the same contract suite in ``tests/contract``.

* :class:`RunStore` (``runs``) - workflow execution state (libSQL; source of truth).
* :class:`DocumentStore` (``documents``) - the AEC and its live progress (Firestore;
  libSQL embedded).
* :class:`TaskQueue` (``queue``) - at-least-once delivery of step tasks (Cloud Tasks;
  libSQL).
* :class:`LanguageModel` (``llm``) - structured generation (Claude; offline heuristics),
  and the workflow's tasks with their payload and output models.
* :class:`RepoIndex` (``repo_index``) - what exists in a repository (libSQL, FTS5).
* :class:`Clock` (``clock``) - time, so tests shrink waits instead of faking them.

``records`` holds what the run store keeps; ``leases`` the lease-holder id format
shared by every store and queue.
"""

from ticketflow.ports.clock import Clock
from ticketflow.ports.documents import ActionResult, CarriedWrite, DocumentStore
from ticketflow.ports.llm import LanguageModel, LLMTask
from ticketflow.ports.queue import StepTask, TaskQueue
from ticketflow.ports.records import (
    ActionRecord,
    AttemptRecord,
    RunRecord,
    StepRecord,
    SuspensionRecord,
    SweepView,
)
from ticketflow.ports.repo_index import (
    ApiEndpoint,
    Edge,
    FileHit,
    IndexState,
    IndexStatus,
    Lookup,
    ModelRef,
    RefKind,
    RepoIndex,
)
from ticketflow.ports.runs import RunStore

__all__ = [
    "ActionRecord",
    "ActionResult",
    "ApiEndpoint",
    "AttemptRecord",
    "CarriedWrite",
    "Clock",
    "DocumentStore",
    "Edge",
    "FileHit",
    "IndexState",
    "IndexStatus",
    "LLMTask",
    "LanguageModel",
    "Lookup",
    "ModelRef",
    "RefKind",
    "RepoIndex",
    "RunRecord",
    "RunStore",
    "StepRecord",
    "StepTask",
    "SuspensionRecord",
    "SweepView",
    "TaskQueue",
]
