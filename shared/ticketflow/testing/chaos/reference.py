"""What an uninterrupted run produces: the yardstick of the ``content_lost`` invariant.

For a run of a soak (or of a kill test), :class:`ReferenceRunner` runs the same
request once more, in this process, straight through, on a scratch database of its
own (the real engine and step handlers, each request's repository registered and
indexed the same way, through the index task, for the reference's own user),
with a model that answers each task with the answer the fake Messages API says it
gave that run's step last and cleanly (:func:`witnessed_answers`), and the person's
decisions as their action documents record them (or the expiry policy when no action
of theirs was accepted). The model's outputs vary per call (``vary=True``), so a
ticket whose content came from any other call than the last one its step made, from
a step executed twice, or from another run, differs from this one. The steps the
ticket says were produced without AI (``fallback_steps``: the model failed after its
retries) are produced by the same offline fallback here, so a ticket that says so
wrongly differs too.

Nothing here reads the soak's run store. The repository context's registration and
index ids name their owner, so :func:`content_of` leaves them out of the comparison
(its URL, ref, commit and status stay in).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.documents import LibsqlDocumentStore
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.adapters.memory import MemoryTaskQueue
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.compose.repositories import build_repositories
from ticketflow.domain import AEC, AECContent, Provider
from ticketflow.domain.errors import TerminalError
from ticketflow.observability.tracing import current_step
from ticketflow.ports import LLMTask, StepTask
from ticketflow.ports.repositories import IndexTask
from ticketflow.settings import Settings
from ticketflow.testing.fake_messages_api import Served
from ticketflow.workflow.actions import ActionRequest
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.runtime import Engine

OWNER = "reference-owner"
EXPIRY_TYPE = {"cancel": "edit", "proceed": "proceed", "skip": "skip"}


@dataclass(frozen=True)
class Decision:
    """What resolved a suspension: an accepted action's type and answers."""

    type: str
    answers: dict[str, str] | None = None


def witnessed_answers(served: Sequence[Served], run_id: str) -> dict[str, dict[str, Any]]:
    """Per tool, the tool input of the last clean answer the fake gave ``run_id``."""
    out: dict[str, dict[str, Any]] = {}
    for s in sorted((s for s in served if s.run_id == run_id), key=lambda s: s.serial):
        if s.clean and s.tool and s.tool_input is not None:
            out[s.tool] = s.tool_input
    return out


class ReplayModel:
    """A language model answering each task with the tool input it was given, parsed
    as the Claude adapter parses a tool call (the output model validates it); in the
    steps named in ``failed``, and for a task it has no answer for, it fails as a model
    that gave up after its retries does (so the fallback, if any, stands in)."""

    def __init__(self, answers: Mapping[str, dict[str, Any]], provider: Provider,
                 failed: Sequence[str] = ()) -> None:
        self.answers = answers
        self.provider = provider
        self.failed = set(failed)

    def generate(self, task: LLMTask, payload: BaseModel, output: type[Any]) -> Any:
        scope = current_step.get()
        if scope is not None and scope.step_name in self.failed:
            raise TerminalError(f"{task.name}: the model failed in the run",
                                code="llm_failed_in_the_run")
        if task.name not in self.answers:
            raise TerminalError(f"no clean answer of the model was witnessed for "
                                f"{task.name}", code="llm_not_witnessed")
        return output.model_validate(self.answers[task.name])


class ReferenceRunner:
    """Uninterrupted runs on a scratch database under ``work`` (see the module doc)."""

    def __init__(self, work: Path, repo: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.db = Database(f"file:{work / f'reference-{uuid.uuid4().hex[:6]}.db'}")
        self.settings = Settings()
        clock = SystemClock()
        self.documents = LibsqlDocumentStore(self.db, clock)
        self.runs = LibsqlRunStore(self.db)
        self.index_tasks = _InPlace()
        self.repos = build_repositories(self.db, self.settings, clock, self.index_tasks,
                                        allow_local=True)
        self.indexed: set[str] = set()
        self._ready(str(repo))
        self.deps = StepDeps(llm=ReplayModel({}, Provider(name="none", offline=True)),
                             documents=self.documents, clock=clock, index=self.repos.index,
                             index_wait_s=0.0, repositories=self.repos.store,
                             fallback=OfflineLanguageModel() if self.settings.llm_fallback
                             else None)

    def _ready(self, url: str) -> None:
        """Register ``url`` for the reference's user and run its index task in place."""
        if url in self.indexed:
            return
        self.repos.indexer.add(OWNER, url)
        while self.index_tasks.tasks:
            self.repos.indexer.run(self.index_tasks.tasks.pop(0))
        self.indexed.add(url)

    def close(self) -> None:
        self.db.close()

    def content(self, request: Mapping[str, Any], answers: Mapping[str, dict[str, Any]],
                model: str | None, decisions: Mapping[str, Decision | None],
                fallback_steps: Sequence[str] = ()) -> tuple[str, AECContent | None]:
        """The uninterrupted run's final ticket status and, when ``ready``, content.

        ``request``: title, description, repo (a path or None); ``answers``: per tool,
        the model's answer (:func:`witnessed_answers`); ``model``: the model name the
        requests carried; ``decisions``: per suspension kind (``review``,
        ``questions``), the accepted action, ``None`` when the expiry policy decided;
        ``fallback_steps``: the steps whose model failed in the run (see module doc).
        """
        provider = Provider(name="claude", offline=False, model=model)
        model_ = ReplayModel(answers, provider, fallback_steps)
        if request.get("repo"):
            self._ready(str(request["repo"]))
        engine = Engine(runs=self.runs, documents=self.documents, queue=MemoryTaskQueue(),
                        deps=dataclasses.replace(self.deps, llm=model_),
                        settings=self.settings, indexer=self.repos.indexer)
        aec = self.documents.create(AEC.new(
            aec_id=f"ref-{uuid.uuid4().hex[:12]}", owner_id=OWNER, title=request["title"],
            description=request["description"], repo=request.get("repo")))
        run = engine.start(aec.id, uid=OWNER)
        try:
            for _ in range(40):
                run = self.runs.get_run(run.run_id) or run
                if run.status == "running":
                    engine.run_step(StepTask(run_id=run.run_id, step_index=run.step_index,
                                             epoch=run.epoch))
                elif run.status == "suspended" and run.suspension is not None:
                    kind = run.suspension.kind
                    d = decisions.get(kind)
                    policy = (self.settings.review_expiry_policy if kind == "review"
                              else self.settings.questions_expiry_policy)
                    engine.act(ActionRequest(
                        action_id=f"ref-{uuid.uuid4().hex[:12]}", run_id=run.run_id,
                        aec_id=aec.id, type=d.type if d else EXPIRY_TYPE[policy],
                        token=run.suspension.token, uid=OWNER if d else "system:expiry",
                        answers=d.answers if d else None, expired=d is None))
                else:
                    break
        finally:
            engine.close()
        final = self.documents.get(aec.id)
        if final is None:
            return "deleted", None
        if final.status.value != "ready":
            return final.status.value, None
        return "ready", content_of(final)


def content_of(aec: AEC) -> AECContent:
    """The content fields of a ticket, the repository context without the ids that
    name its owner (see the module doc)."""
    fields = {k: getattr(aec, k) for k in AECContent.model_fields}
    if aec.repository is not None:
        fields["repository"] = aec.repository.model_copy(
            update={"repo_id": None, "index_id": None})
    return AECContent.model_validate(fields)


class _InPlace:
    """The reference's index queue: tasks kept to be run in this process."""

    def __init__(self) -> None:
        self.tasks: list[IndexTask] = []

    def enqueue(self, task: IndexTask) -> bool:
        self.tasks.append(task)
        return True
