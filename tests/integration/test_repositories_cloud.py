"""Repositories in the deployed shape, across real processes: a git repository served
over the smart HTTP protocol by dulwich from 127.0.0.1 (and one by ``file://``) is
registered through ``register_repository``, indexed by ``index_repository`` through
the Cloud Tasks emulator, watched in Firestore (``repositories/{repoId}``) and used by
a ticket that reaches ``ready``; failures fail the index with a clear message while
the ticket still completes; another user is refused; a kill -9 mid-index is retried.

Evidence comes from outside the functions: the git server's request log, the
Firestore documents the page reads, the libSQL records.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import running_cloud_stack

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.dev.emulators import free_port
from ticketflow.dev.stack import Stack
from ticketflow.domain import AEC, AECStatus
from ticketflow.ports.repositories import IndexRecord
from ticketflow.testing.cloud import CloudDeployment, document_store
from ticketflow.testing.embedded import QUESTIONS, SAMPLE_REPO
from ticketflow.testing.git_repos import GitHttpServer, commit_files, make_repo
from ticketflow.testing.rest import User, write_action
from ticketflow.testing.waiting import wait_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
TOKEN = "ghp_" + uuid.uuid4().hex
MAX_FILES = 400


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_cloud_stack("repositories", tmp_path_factory)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("git")
    make_repo(root / "sample", SAMPLE_REPO)
    make_repo(root / "big", {f"gen/m{i:04d}.py": f"X{i} = {i}\n" for i in range(MAX_FILES + 50)})
    (root / "not-git").mkdir()
    (root / "not-git" / "README.md").write_text("just a folder\n")
    return root


@pytest.fixture(scope="module")
def git(repos: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer({"sample.git": repos / "sample", "big.git": repos / "big"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def private(repos: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer({"private.git": repos / "sample"},
                       credentials=("x-access-token", TOKEN)) as srv:
        yield srv


@pytest.fixture(scope="module")
def deployment(stack: Stack, private: GitHttpServer) -> Iterator[CloudDeployment]:
    d = CloudDeployment.create(
        stack, "repos", TICKETFLOW_INDEX_WAIT_S="20", TICKETFLOW_INDEX_MAX_ATTEMPTS="2",
        TICKETFLOW_INDEX_BACKOFF_S="10",  # x RETRY_BACKOFF_SCALE 0.01
        TICKETFLOW_INDEX_MAX_FILES=str(MAX_FILES),
        TICKETFLOW_GIT_CREDENTIALS=json.dumps({f"{private.url}/": TOKEN}))
    d.start_functions()
    yield d
    d.close()


@pytest.fixture(scope="module")
def documents(stack: Stack) -> FirestoreDocumentStore:
    return document_store(stack)


# -- helpers -----------------------------------------------------------------------------------


def register(d: CloudDeployment, token: str, base: str | None = None,
             **body: Any) -> httpx.Response:
    return d.post("/register_repository", body, token=token, base=base)


def repo_doc(documents: FirestoreDocumentStore, repo_id: str) -> dict[str, Any] | None:
    snap = documents.client.collection("repositories").document(repo_id).get(timeout=5)
    return snap.to_dict() if snap.exists else None


def indexed(d: CloudDeployment, documents: FirestoreDocumentStore, repo_id: str,
            state: str = "ready", timeout_s: float = 60) -> dict[str, Any]:
    """The page's view of a registration once its latest index reached ``state``."""
    def check() -> dict[str, Any] | None:
        doc = repo_doc(documents, repo_id)
        return doc if doc and (doc.get("index") or {}).get("state") == state else None

    return wait_until(check, timeout_s, what=f"repository {repo_id} {state}",
                      logs=d.stack.logs)


def record(d: CloudDeployment, index_id: str) -> IndexRecord:
    rec = d.repositories().get_index(index_id)
    assert rec is not None
    return rec


def ticket_on(d: CloudDeployment, documents: FirestoreDocumentStore, owner: str, token: str,
              url: str | None = None, repo_id: str | None = None) -> tuple[AEC, str]:
    aec = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=owner,
                                   repo=url, repo_id=repo_id, **QUESTIONS))
    resp = d.post("/start_generation", {"aecId": aec.id}, token=token)
    assert resp.status_code == 202, resp.text
    return aec, str(resp.json()["runId"])


def finished(d: CloudDeployment, documents: FirestoreDocumentStore, aec_id: str) -> AEC:
    """The ticket once its run completed (its questions, if any, skipped on the way)."""
    skipped: set[str] = set()

    def check() -> AEC | None:
        a = documents.get(aec_id)
        gs = a.generation_state if a else None
        if a is None or gs is None:
            return None
        susp = gs.suspension
        if susp is not None and susp.kind == "questions" and susp.token not in skipped:
            assert d.stack.firestore is not None
            _, resp = write_action(d.stack.firestore, TOKENS[a.owner_id], aec_id, {
                "type": "skip", "runId": gs.run_id, "token": susp.token, "uid": a.owner_id})
            assert resp.status_code == 200, resp.text
            skipped.add(susp.token)
        return a if a.status is AECStatus.READY and gs.status == "completed" else None

    return wait_until(check, 90, what=f"ticket {aec_id} ready", logs=d.stack.logs,
                      interval_s=0.2)


TOKENS: dict[str, str] = {}


def user(stack: Stack) -> tuple[str, str]:
    assert stack.auth is not None
    uid, token = User.anonymous(stack.auth)
    TOKENS[uid] = token
    return uid, token


def step(aec: AEC, index: int) -> tuple[str, str]:
    gs = aec.generation_state
    assert gs is not None
    s = gs.steps[index - 1]
    return s.status, s.detail


# -- the path users come for -----------------------------------------------------------------


@pytest.mark.parametrize("transport", ["smart-http", "file"])
def test_register_watch_index_and_a_ready_code_aware_ticket(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore,
        git: GitHttpServer, repos: Path, transport: str) -> None:
    d = deployment
    owner, token = user(stack)
    url = git.repo_url("sample.git") if transport == "smart-http" else \
        f"file://{repos / 'sample'}"
    uploads = git.uploads()
    resp = register(d, token, url=url)
    assert resp.status_code == 202, resp.text
    repo_id = resp.json()["repository"]["repoId"]
    doc = indexed(d, documents, repo_id)  # what the page's repositories view shows
    assert doc["ownerId"] == owner and doc["url"] == url
    index = doc["index"]
    head = commit_head(repos / "sample")
    assert index["commit"] == head and index["filesDone"] == index["filesTotal"] >= 25
    rec = record(d, index["indexId"])
    assert rec.attempts == 1 and rec.stats.extracted == index["filesTotal"]
    if transport == "smart-http":
        assert git.uploads() == uploads + 1  # fetched once, over HTTP, by the function
    aec, _ = ticket_on(d, documents, owner, token, url)
    ticket = finished(d, documents, aec.id)
    assert ticket.repository is not None
    assert ticket.repository.commit == head and ticket.repository.status == "ready"
    assert ticket.repository.index_id == index["indexId"]  # shared, not rebuilt
    assert ticket.repo_paths and all((SAMPLE_REPO / p).is_file() for p in ticket.repo_paths)
    assert step(ticket, 5)[0] == "done" and f"at commit {head[:12]}" in step(ticket, 5)[1]
    assert step(ticket, 3)[0] == "done" and step(ticket, 6)[0] == "done"
    assert record(d, index["indexId"]).attempts == 1


def commit_head(path: Path) -> str:
    from dulwich.repo import Repo

    with Repo(str(path)) as r:
        return r.head().decode()


def test_a_new_commit_reindexes_only_the_changed_files(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore,
        tmp_path: Path) -> None:
    d = deployment
    _, token = user(stack)
    make_repo(tmp_path / "r", SAMPLE_REPO)
    resp = register(d, token, url=f"file://{tmp_path / 'r'}")
    repo_id = resp.json()["repository"]["repoId"]
    first = indexed(d, documents, repo_id)["index"]
    commit_files(tmp_path / "r", {"billing/pdf.py": "def render_invoice_pdf(i):\n    pass\n"})
    again = register(d, token, repoId=repo_id)  # the page's "re-index"
    assert again.status_code == 202, again.text
    second = indexed(d, documents, repo_id)["index"]
    assert second["indexId"] != first["indexId"] and second["commit"] != first["commit"]
    assert second["stats"]["extracted"] == 1
    assert second["stats"]["copied"] == first["filesTotal"] - 1


# -- failures: the index fails clearly, the ticket completes degraded -------------------------



@pytest.mark.parametrize("case", ["unreachable", "not-git", "oversized"])
def test_a_failed_index_says_why_and_the_ticket_still_completes(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore,
        git: GitHttpServer, repos: Path, case: str, closed_port: int) -> None:
    d = deployment
    owner, token = user(stack)
    url, words = {
        "unreachable": (f"http://127.0.0.1:{closed_port}/gone.git",
                        "gave up after 2 attempts; last error: cannot reach"),
        "not-git": (f"file://{repos / 'not-git'}", "is not a git repository"),
        "oversized": (git.repo_url("big.git"),
                      f"{MAX_FILES + 50:,} files, more than the limit of {MAX_FILES}"),
    }[case]
    aec, _ = ticket_on(d, documents, owner, token, url)
    ticket = finished(d, documents, aec.id)
    status, detail = step(ticket, 5)
    assert status == "degraded" and "repository indexing failed" in detail and words in detail
    assert step(ticket, 3)[0] == "degraded" and step(ticket, 6)[0] == "skipped"
    assert ticket.repo_paths == [] and ticket.acceptance_criteria
    assert ticket.repository is not None and ticket.repository.status == "failed"
    assert words in (ticket.repository.error or "")
    doc = indexed(d, documents, str(ticket.repository.repo_id), "failed")
    assert words in doc["index"]["error"]


# -- access -----------------------------------------------------------------------------------


def test_another_user_cannot_use_or_read_the_index(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore,
        git: GitHttpServer) -> None:
    d = deployment
    _, alice_token = user(stack)
    bob, bob_token = user(stack)
    url = git.repo_url("sample.git")
    repo_id = register(d, alice_token, url=url).json()["repository"]["repoId"]
    indexed(d, documents, repo_id)
    # through the functions: re-index, or start a ticket naming alice's registration
    denied = register(d, bob_token, repoId=repo_id)
    assert denied.status_code == 403 and "another user" in denied.text
    aec = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=bob,
                                   repo_id=repo_id, **QUESTIONS))  # server write: no rules
    start = d.post("/start_generation", {"aecId": aec.id}, token=bob_token)
    assert start.status_code == 403 and "another user" in start.text
    assert d.runs().list_runs(10, aec_id=aec.id) == []
    # through the rules: bob reads neither the registration nor its index state
    fs = stack.firestore
    assert fs is not None
    read = httpx.get(f"{fs.documents_url}/repositories/{repo_id}",
                     headers={"Authorization": f"Bearer {bob_token}"}, timeout=10)
    assert read.status_code == 403, read.text
    # typing the same URL gives bob his own registration and index, never alice's
    mine = register(d, bob_token, url=url).json()["repository"]
    assert mine["repoId"] != repo_id and mine["ownerId"] == bob


def test_private_repository_with_a_configured_token(
        stack: Stack, deployment: CloudDeployment, documents: FirestoreDocumentStore,
        private: GitHttpServer) -> None:
    d = deployment
    _, token = user(stack)
    resp = register(d, token, url=private.repo_url("private.git"))
    doc = indexed(d, documents, resp.json()["repository"]["repoId"])
    assert doc["index"]["filesTotal"] >= 25 and doc["index"]["error"] is None
    assert private.uploads() >= 1  # the pack came from the server that demands the token
    assert TOKEN not in json.dumps(doc, default=str)


def test_a_private_repository_without_a_token_fails_clearly(
        stack: Stack, deployment: CloudDeployment, repos: Path) -> None:
    d = deployment
    owner, token = user(stack)
    with GitHttpServer({"p.git": repos / "sample"}, credentials=("u", "other-secret")) as srv:
        resp = register(d, token, url=srv.repo_url("p.git"))
        asked = [status for _m, _p, status in srv.requests]
    # refused where it is typed (the form shows it), nothing registered
    assert resp.status_code == 400 and 401 in asked, resp.text
    message = resp.json()["error"]["message"]
    assert "refused access" in message and "TICKETFLOW_GIT_CREDENTIALS" in message
    assert "other-secret" not in resp.text and TOKEN not in resp.text
    assert d.repositories().repositories(owner) == []


def test_a_url_that_cannot_be_used_is_refused(stack: Stack, deployment: CloudDeployment,
                                              documents: FirestoreDocumentStore,
                                              git: GitHttpServer) -> None:
    d = deployment
    owner, token = user(stack)
    bad = register(d, token, url=str(SAMPLE_REPO))
    assert bad.status_code == 400 and "a local path cannot be read here" in bad.text
    # misspelt: the form gets the reason at once, and nothing is registered
    asked = len(git.requests)
    for body, words in [
        ({"url": git.repo_url("smaple.git")}, "check the URL's spelling"),
        ({"url": git.repo_url("sample.git"), "ref": "mian"}, "no branch, tag or commit 'mian'"),
        ({"url": "github.com/acme/app"}, "did you mean https://github.com/acme/app"),
    ]:
        typo = register(d, token, **body)
        assert typo.status_code == 400 and words in typo.json()["error"]["message"], typo.text
    assert any("/smaple.git/" in p for _m, p, _s in git.requests[asked:])  # really asked
    assert d.repositories().repositories(owner) == []
    aec = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=owner,
                                   repo="git@github.com:acme/app.git", **QUESTIONS))
    start = d.post("/start_generation", {"aecId": aec.id}, token=token)
    assert start.status_code == 400 and "not supported" in start.text
    after = documents.get(aec.id)
    assert after is not None and after.status is AECStatus.DRAFT and not after.locked


# -- kill -9 in the middle of an index ----------------------------------------------------------


def test_kill_9_mid_index_the_task_is_retried_and_the_index_completes(
        stack: Stack, documents: FirestoreDocumentStore, tmp_path: Path) -> None:
    d = CloudDeployment.create(stack, "kill", TICKETFLOW_INDEX_MAX_FILES="5000")
    make_repo(tmp_path / "r", {f"pkg/m{i:03d}.py": f"def f{i}():\n    return {i}\n"
                               for i in range(600)})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        proc = d.start_functions(port=port, server="werkzeug", name="doomed",
                                 TICKETFLOW_CRASH_AT="index_file:450")
        _, token = user(stack)
        resp = register(d, token, base=base, url=f"file://{tmp_path / 'r'}")
        assert resp.status_code == 202, resp.text
        index_id = resp.json()["index"]["indexId"]
        wait_until(lambda: not proc.running or None, 60, what="the crash", logs=stack.logs)
        d.stop_functions(proc)
        left = record(d, index_id)
        assert left.state == "indexing" and left.status.files_done >= 400  # what it left
        d.start_functions(port=port, server="werkzeug", name="restarted")
        done = wait_until(lambda: (r if (r := record(d, index_id)).finished else None), 90,
                          what="the resumed index", logs=stack.logs)
        assert done.state == "ready" and done.attempts == 2
        assert done.stats.kept >= 400 and done.stats.kept + done.stats.extracted == 600
    finally:
        d.close()
