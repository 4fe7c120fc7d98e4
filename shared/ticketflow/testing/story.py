"""The story's two deployments behind one small interface, so one suite of story tests
runs on both (``tests/integration/test_story.py``).

* :class:`EmbeddedStory`: the embedded default in this process (one libSQL file, the
  local worker pool run while waiting, actions through ``Engine.act``, edits through
  the document store as the CLI makes them);
* :class:`CloudStory`: the cloud shape across processes (a :class:`CloudDeployment`
  on the emulators; runs started with ``start_generation`` and an ID token, actions
  and edits written through the Firestore rules as the web page's user, verdicts read
  back from the action documents).

Both answer with the same records (:class:`~ticketflow.domain.AEC`,
:class:`~ticketflow.ports.records.RunRecord`, :class:`Verdict`, :class:`Outcome`),
and a wait returns only once the ticket shows what the run did.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.libsql.database import Database
from ticketflow.cli.driver import LOCAL_UID, drive
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AEC, AECStatus, DomainError
from ticketflow.ports import DocumentStore, RunStore
from ticketflow.ports.records import RunRecord
from ticketflow.settings import Settings
from ticketflow.testing.cloud import CloudDeployment
from ticketflow.testing.git_repos import GitHttpServer, make_repo
from ticketflow.testing.rest import User, UserRest
from ticketflow.testing.waiting import wait_until
from ticketflow.workflow.actions import ActionRequest

ActionType = Literal["proceed", "edit", "cancel", "answer", "skip"]
FINISHED = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Verdict:
    """The run's verdict on a person's action."""

    action_id: str
    status: str  # accepted | rejected
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """Whether a person's write of the ticket went through; ``detail`` says why not."""

    accepted: bool
    detail: str = ""


class StoryDeployment(Protocol):
    """What a story test does with a deployment, as the ticket's owner."""

    kind: str  # "embedded" | "cloud"
    owner: str

    @property
    def runs(self) -> RunStore:
        """The run store (libSQL) of the deployment."""
        ...

    @property
    def documents(self) -> DocumentStore:
        """The tickets as the server stores them (libSQL table, or Firestore)."""
        ...

    def repo_url(self, repo: Path) -> str:
        """How this deployment names the folder ``repo`` (embedded: its path; cloud: a
        git repository made of it, by ``file://`` URL)."""
        ...

    def new_ticket(self, request: Mapping[str, str], repo: Path | str | None = None, *,
                   index: bool = True) -> AEC:
        """A draft owned by :attr:`owner` naming ``repo`` (a folder, see :meth:`repo_url`,
        or a URL), indexed for the owner first unless ``index`` is off."""
        ...

    def held_repository(self, repo: Path) -> str:
        """The URL of a git repository made of ``repo``, served over smart HTTP with
        its pack download held until the deployment closes: an index of it stays
        ``indexing`` for real."""
        ...

    def start(self, aec_id: str) -> str:
        """Start a run on the ticket; its id."""
        ...

    def ticket(self, aec_id: str) -> AEC | None: ...

    def run(self, run_id: str) -> RunRecord: ...

    def wait_suspended(self, run_id: str, step: int) -> RunRecord:
        """The run once it waits for a person at ``step`` and its ticket shows it."""
        ...

    def wait_finished(self, run_id: str) -> RunRecord:
        """The run once it is completed, failed or cancelled and its ticket shows it."""
        ...

    def wait_stopped(self, run_id: str) -> RunRecord:
        """The run once it waits for a person or is finished, and its ticket shows it."""
        ...

    def act(self, run: RunRecord, type: ActionType,
            answers: Mapping[str, str] | None = None) -> Verdict:
        """The owner's action on the run's current suspension, and its verdict."""
        ...

    def edit(self, aec_id: str, **fields: str) -> Outcome:
        """The owner's edit of content fields."""
        ...

    def set_status(self, aec_id: str, status: AECStatus) -> Outcome:
        """An attempt to move the ticket to ``status`` outside a run."""
        ...

    def stored_ticket(self, aec_id: str) -> dict[str, Any]:
        """The ticket's stored document, field by field, as a fresh reader gets it."""
        ...

    def restart(self) -> None:
        """Replace the process(es) running the workflow with new ones."""
        ...


def _held(servers: list[GitHttpServer], repo: Path, root: Path) -> str:
    target = root / uuid.uuid4().hex[:8]
    make_repo(target, repo)
    server = GitHttpServer({"held.git": target}).start()
    server.gate.clear()
    servers.append(server)
    return server.repo_url("held.git")


def _release(servers: list[GitHttpServer]) -> None:
    while servers:
        servers.pop().stop()


def _not_waiting(run: RunRecord, want: str) -> AssertionError:
    return AssertionError(f"run {run.run_id} is {run.status} at step {run.step_index}, "
                          f"expected {want}")


class EmbeddedStory:
    """:class:`StoryDeployment` on the embedded default (see the module doc)."""

    kind = "embedded"
    owner = LOCAL_UID

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: EmbeddedApp = open_embedded(settings)
        self._servers: list[GitHttpServer] = []

    @property
    def runs(self) -> RunStore:
        return self.app.runs

    @property
    def documents(self) -> DocumentStore:
        return self.app.documents

    def repo_url(self, repo: Path) -> str:
        return str(repo)

    def new_ticket(self, request: Mapping[str, str], repo: Path | str | None = None, *,
                   index: bool = True) -> AEC:
        url = self.repo_url(repo) if isinstance(repo, Path) else repo
        if url is not None and index:
            assert self.app.index_repository(url, owner=self.owner).state == "ready"
        return self.app.documents.create(AEC.new(
            aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=self.owner, repo=url,
            title=request["title"], description=request["description"]))

    def held_repository(self, repo: Path) -> str:
        return _held(self._servers, repo, Path(self.settings.db_url.removeprefix("file:")
                                               ).parent / "held")

    def start(self, aec_id: str) -> str:
        return self.app.engine.start(aec_id, uid=self.owner).run_id

    def ticket(self, aec_id: str) -> AEC | None:
        return self.app.documents.get(aec_id)

    def run(self, run_id: str) -> RunRecord:
        record = self.app.runs.get_run(run_id)
        assert record is not None, run_id
        return record

    def _drive(self, run_id: str) -> RunRecord:
        """Run the workers until the run waits for a person or finishes."""
        return drive(self.app, run_id, lambda _state: None, timeout_s=60)

    def wait_suspended(self, run_id: str, step: int) -> RunRecord:
        run = self._drive(run_id)
        if run.status != "suspended" or run.step_index != step:
            raise _not_waiting(run, f"suspended at step {step}")
        return run

    def wait_finished(self, run_id: str) -> RunRecord:
        run = self._drive(run_id)
        if run.status not in FINISHED:
            raise _not_waiting(run, "finished")
        return run

    def wait_stopped(self, run_id: str) -> RunRecord:
        return self._drive(run_id)

    def act(self, run: RunRecord, type: ActionType,
            answers: Mapping[str, str] | None = None) -> Verdict:
        action_id = f"story-{uuid.uuid4().hex[:12]}"
        record = self.app.engine.act(ActionRequest(
            action_id=action_id, run_id=run.run_id, aec_id=run.aec_id, type=type,
            token=run.suspension.token if run.suspension else "", uid=self.owner,
            answers=dict(answers) if answers is not None else None))
        return Verdict(action_id, record.status, record.reason)

    def edit(self, aec_id: str, **fields: str) -> Outcome:
        try:
            self.app.documents.mutate(aec_id, lambda a: a.edit(**fields))
        except DomainError as exc:  # locked by a run
            return Outcome(False, str(exc))
        return Outcome(True)

    def set_status(self, aec_id: str, status: AECStatus) -> Outcome:
        try:
            self.app.documents.mutate(aec_id, lambda a: a.transition(status))
        except DomainError as exc:  # not an edge of the state machine
            return Outcome(False, str(exc))
        return Outcome(True)

    def stored_ticket(self, aec_id: str) -> dict[str, Any]:
        with Database(self.settings.db_url) as db:  # a connection of its own
            rs = db.execute("SELECT doc FROM doc_aecs WHERE id = ?", [aec_id])
        assert rs.rows, aec_id
        doc: dict[str, Any] = json.loads(str(rs.rows[0][0]))
        return doc

    def restart(self) -> None:
        self.app.close()
        self.app = open_embedded(self.settings)

    def close(self) -> None:
        held = {s.repo_url("held.git") for s in self._servers}
        _release(self._servers)
        # a held index being built in a worker thread finishes before the database
        # closes under it (one never claimed stays pending: nothing runs for it)
        wait_until(lambda: not any(
            (rec := self.app.repositories.get_index(r.latest_index_id or "")) is not None
            and rec.state == "indexing"
            for r in self.app.repositories.repositories(self.owner) if r.url in held),
            30, what="held indexes to finish")
        self.app.close()


class CloudStory:
    """:class:`StoryDeployment` on the cloud shape (see the module doc), as ``user``."""

    kind = "cloud"

    def __init__(self, deployment: CloudDeployment, documents: FirestoreDocumentStore,
                 user: User) -> None:
        assert deployment.stack.firestore is not None
        self.deployment = deployment
        self.user = user
        self.owner = user.uid
        self.rest = UserRest(deployment.stack.firestore, user)
        self._documents = documents
        self._servers: list[GitHttpServer] = []

    @property
    def runs(self) -> RunStore:
        return self.deployment.runs()

    @property
    def documents(self) -> FirestoreDocumentStore:
        return self._documents

    def logs(self) -> str:
        return self.deployment.stack.logs()

    def repo_url(self, repo: Path) -> str:
        return self.deployment.git_url(repo)

    def new_ticket(self, request: Mapping[str, str], repo: Path | str | None = None, *,
                   index: bool = True) -> AEC:
        url = self.repo_url(repo) if isinstance(repo, Path) else repo
        if url is not None and index:
            self.deployment.index_for(self.owner, url)
        return self._documents.create(AEC.new(
            aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=self.owner, repo=url,
            title=request["title"], description=request["description"]))

    def held_repository(self, repo: Path) -> str:
        return _held(self._servers, repo, self.deployment.stack.state_dir / "held")

    def start(self, aec_id: str, *, base: str | None = None) -> str:
        """``start_generation`` with the owner's token (on ``base``, default the
        deployment's functions); 202 with the run id."""
        resp = self.deployment.post("/start_generation", {"aecId": aec_id},
                                    token=self.user.token, base=base)
        assert resp.status_code == 202, resp.text
        return str(resp.json()["runId"])

    def ticket(self, aec_id: str) -> AEC | None:
        return self._documents.get(aec_id)

    def run(self, run_id: str) -> RunRecord:
        return self.deployment.run(run_id)

    def ticket_when(self, aec_id: str, what: str, check: Any,
                    timeout_s: float = 60) -> AEC:
        """The ticket once ``check(ticket)`` holds."""
        return wait_until(lambda: (a if (a := self.ticket(aec_id)) and check(a) else None),
                          timeout_s, what=f"ticket {aec_id} {what}", logs=self.logs)

    def wait_suspended(self, run_id: str, step: int) -> RunRecord:
        run = self.deployment.wait_run(
            run_id, lambda r: r.status == "suspended" and r.step_index == step,
            f"run suspended at step {step}")
        assert run.suspension is not None
        token = run.suspension.token
        self.ticket_when(run.aec_id, f"showing the suspension at step {step}",
                         lambda a: a.generation_state is not None
                         and a.generation_state.suspension is not None
                         and a.generation_state.suspension.token == token)
        return run

    def wait_finished(self, run_id: str, timeout_s: float = 60.0) -> RunRecord:
        return self._settled(self.deployment.wait_run(
            run_id, lambda r: r.status in FINISHED, "run finished", timeout_s=timeout_s))

    def wait_stopped(self, run_id: str) -> RunRecord:
        return self._settled(self.deployment.wait_run(
            run_id, lambda r: r.status in ("suspended", *FINISHED),
            "run waiting for a person or finished"))

    def _settled(self, run: RunRecord) -> RunRecord:
        """``run`` once its ticket shows it (its last projection landed)."""

        def settled() -> bool:
            aec = self.ticket(run.aec_id)
            if aec is None:
                return True  # cancelled at a review: the ticket is deleted
            gs = aec.generation_state
            return (gs is not None and gs.run_id == run.run_id and gs.status == run.status
                    and gs.seq >= run.seq)

        wait_until(settled, 30, what=f"ticket {run.aec_id} showing the {run.status} run",
                   logs=self.logs)
        return run

    def action_fields(self, run: RunRecord, type: ActionType,
                      answers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """An action document as the page writes it."""
        assert run.suspension is not None
        fields: dict[str, Any] = {"type": type, "runId": run.run_id,
                                  "token": run.suspension.token, "uid": self.owner}
        if answers is not None:
            fields["answers"] = dict(answers)
        return fields

    def verdict(self, aec_id: str, action_id: str) -> Verdict:
        """The verdict written back on the action document."""
        result = wait_until(lambda: self._documents.get_action_result(aec_id, action_id), 30,
                            what=f"result on action {action_id}", logs=self.logs)
        return Verdict(action_id, result.status, result.reason)

    def act(self, run: RunRecord, type: ActionType,
            answers: Mapping[str, str] | None = None) -> Verdict:
        action_id, resp = self.rest.write_action(run.aec_id,
                                                 self.action_fields(run, type, answers))
        assert resp.status_code == 200, resp.text
        return self.verdict(run.aec_id, action_id)

    def edit(self, aec_id: str, **fields: str) -> Outcome:
        return self._outcome(self.rest.edit(aec_id, dict(fields)))

    def set_status(self, aec_id: str, status: AECStatus) -> Outcome:
        return self._outcome(self.rest.edit(aec_id, {"status": status.value}))

    @staticmethod
    def _outcome(resp: Any) -> Outcome:
        assert resp.status_code in (200, 403), resp.text
        return Outcome(resp.status_code == 200, resp.text)

    def stored_ticket(self, aec_id: str) -> dict[str, Any]:
        snap = self._documents.client.collection("aecs").document(aec_id).get()
        assert snap.exists, aec_id
        data: dict[str, Any] = snap.to_dict() or {}
        return data

    def restart(self) -> None:
        self.deployment.stop_functions()
        self.deployment.start_functions()

    def close(self) -> None:
        _release(self._servers)
        self.rest.close()
