"""Faults of the libSQL server (sqld), with every part in its own process: the
functions under functions-framework, the Cloud Tasks and Firestore emulators, sqld.

* sqld killed (SIGKILL) mid-run and started again: steps answer 503 + Retry-After
  meanwhile, nothing committed is lost, every run completes after the restart;
* sqld down when generation starts: a 503 with Retry-After naming the database, no
  run and no lock left behind; the same start works once it is back;
* a database that cannot be reached at all: every request is a 503, and the
  functions process's thread count stays flat (nothing leaks per request);
* a wrong token (sqld started with a JWT key): one clear error naming the database
  (the token never shown), and no retry storm: the deliveries are answered from the
  first refusal for a minute, so the database sees one request, not one per delivery
  or a tight loop (counted by a proxy in front of sqld).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support import running_cloud_stack

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.dev.database import SqldServer
from ticketflow.dev.emulators import free_port
from ticketflow.dev.stack import Stack
from ticketflow.domain import AECStatus
from ticketflow.testing.cloud import CloudDeployment, document_store
from ticketflow.testing.embedded import CLEAN
from ticketflow.testing.proxy import CountingProxy
from ticketflow.testing.rest import User
from ticketflow.testing.story import CloudStory
from ticketflow.testing.waiting import wait_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
FAST_LEASES = {"TICKETFLOW_STEP_TIMEOUT_S": "5", "TICKETFLOW_LEASE_GRACE_S": "1"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_cloud_stack("sqld-faults", tmp_path_factory)


@pytest.fixture(scope="module")
def documents(stack: Stack) -> FirestoreDocumentStore:
    return document_store(stack)


@pytest.fixture
def deployment(stack: Stack) -> Iterator[CloudDeployment]:
    d = CloudDeployment.create(stack, "faults", **FAST_LEASES)
    assert isinstance(d.database, SqldServer)
    try:
        yield d
    finally:
        d.close()


def _story(d: CloudDeployment, documents: FirestoreDocumentStore) -> CloudStory:
    assert d.stack.auth is not None
    return CloudStory(d, documents, User.anonymous(d.stack.auth))


def _step_post(d: CloudDeployment, run_id: str, step: int,
               base: str | None = None) -> httpx.Response:
    return d.post("/run_step", {"runId": run_id, "stepIndex": step, "epoch": 0}, secret=True,
                  base=base)


def _assert_retry_later(resp: httpx.Response, code: str, database: str) -> None:
    assert resp.status_code == 503, resp.text
    assert int(resp.headers["Retry-After"]) >= 1
    error = resp.json()["error"]
    assert error["code"] == code
    assert f"database {database}" in error["message"]


def test_sqld_killed_mid_run_and_restarted_loses_nothing(
        deployment: CloudDeployment, documents: FirestoreDocumentStore) -> None:
    server = deployment.database
    assert isinstance(server, SqldServer)
    deployment.start_functions()
    story = _story(deployment, documents)
    aecs = [story.new_ticket(CLEAN) for _ in range(3)]
    run_ids = [story.start(a.id) for a in aecs]
    runs = deployment.runs()
    wait_until(lambda: any(runs.get_run(r).step_index >= 3 for r in run_ids),  # type: ignore[union-attr]
               60, what="a run at step 3", logs=deployment.stack.logs)
    before = {(s.run_id, s.step_index): s.output for r in run_ids for s in runs.steps(r)}
    server.kill()

    unfinished = [r for r in run_ids if (r, 11) not in before]
    assert unfinished, "every run finished before the kill: nothing was mid-run"
    resp = _step_post(deployment, unfinished[0], 1)
    _assert_retry_later(resp, "database_unavailable", server.url)
    # The queue's own deliveries meet the same answer (the functions log says so).
    assert deployment.server is not None
    wait_until(lambda: "database_unavailable" in deployment.server.log_tail(400)  # type: ignore[union-attr]
               or "cannot be reached" in deployment.server.log_tail(400),  # type: ignore[union-attr]
               30, what="a delivery answered 503 while sqld is down")

    server.start()  # same port, same data
    assert deployment.post("/sweep", secret=True).status_code == 200
    runs = deployment.runs()
    for run_id in run_ids:
        deployment.wait_run(run_id, lambda r: r.status == "completed", "run completed",
                            timeout_s=120)
        steps = runs.steps(run_id)
        assert [s.step_index for s in steps] == list(range(1, 12))
    after = {(s.run_id, s.step_index): s.output for r in run_ids for s in runs.steps(r)}
    assert {k: after[k] for k in before} == before  # every commit before the kill kept
    for aec in aecs:
        ready = story.ticket_when(aec.id, "ready", lambda a: a.status is AECStatus.READY)
        assert not ready.locked and ready.acceptance_criteria


def test_sqld_down_when_generation_starts_is_a_503_and_leaves_nothing(
        deployment: CloudDeployment, documents: FirestoreDocumentStore) -> None:
    server = deployment.database
    assert isinstance(server, SqldServer)
    deployment.start_functions()
    story = _story(deployment, documents)
    aec = story.new_ticket(CLEAN)
    warm = deployment.post("/start_generation", {"aecId": "no-such-ticket"},
                           token=story.user.token)
    assert warm.status_code == 404, warm.text  # the functions' app is built
    server.kill()

    resp = deployment.post("/start_generation", {"aecId": aec.id}, token=story.user.token,
                           headers={"Origin": "http://localhost:5000"})
    _assert_retry_later(resp, "database_unavailable", server.url)
    assert resp.headers.get("Access-Control-Allow-Origin")  # the page can read it
    ticket = documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.DRAFT and not ticket.locked
    assert ticket.generation_state is None

    server.start()
    with deployment.stack.connect(server) as db:
        assert db.execute("SELECT COUNT(*) FROM runs WHERE aec_id = ?",
                          [aec.id]).rows[0][0] == 0  # no half-created run
    run_id = story.start(aec.id)  # the page's retry
    assert story.wait_finished(run_id).status == "completed"


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no thread count for {pid}")


def test_an_unreachable_database_never_leaks_a_thread_per_request(stack: Stack) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    queue = f"q-{uuid.uuid4().hex[:8]}"
    stack.ensure_queue(queue)
    proc = stack.start_functions(port=free_port(), server="werkzeug", name=f"dead-db-{queue}",
                                 queue=queue, env={"TICKETFLOW_DB_URL": dead,
                                                   "TICKETFLOW_LLM": "offline"})
    try:
        assert proc.pid is not None

        def deliver() -> None:
            resp = httpx.post(f"{proc.base_url}/run_step", timeout=30,
                              json={"runId": "run-x", "stepIndex": 1},
                              headers={"X-Ticketflow-Task-Secret": stack.secret})
            _assert_retry_later(resp, "database_unavailable", dead)

        for _ in range(5):
            deliver()
        settled = _threads(proc.pid)
        for _ in range(25):
            deliver()
        pid = proc.pid
        # A request's own thread may still be finishing: allow it to end, never 25 more.
        wait_until(lambda: _threads(pid) <= settled, 10,
                   what=f"the thread count back to {settled} (now {_threads(pid)})")
    finally:
        stack.stop_functions(proc)


def test_a_wrong_token_is_one_clear_error_and_no_retry_storm(stack: Stack,
                                                             tmp_path: Path) -> None:
    server = SqldServer(stack.logs_at, tmp_path / "sqld-auth", name="sqld-auth", auth=True)
    server.start()
    try:
        assert server.auth_token
        with CountingProxy(server.url) as proxy:
            wrong = "eyJhbGciOiJFZERTQSJ9.eyJhIjoicncifQ.wrong-signature-abcdef"
            queue = f"q-{uuid.uuid4().hex[:8]}"
            stack.ensure_queue(queue)
            deployment = CloudDeployment(stack, server, queue, {
                "TICKETFLOW_DB_URL": proxy.url, "TICKETFLOW_DB_AUTH_TOKEN": wrong})
            proc = deployment.start_functions(port=free_port())
            try:
                answers = [_step_post(deployment, "run-x", 1, proc.base_url)
                           for _ in range(6)]
                answers.append(deployment.post("/sweep", secret=True, base=proc.base_url))
                for resp in answers:
                    _assert_retry_later(resp, "database_auth", proxy.url)
                    assert int(resp.headers["Retry-After"]) >= 30
                    assert wrong not in resp.text and "TICKETFLOW_DB_AUTH_TOKEN" in resp.text
                # Seven deliveries, one request to the database: no internal retry, no
                # new attempt per delivery while the refusal is fresh.
                assert proxy.count() == 1, proxy.requests
                assert proxy.requests[0][2] == 401
                log = proc.log_tail(400)
                assert log.count("refused the credentials; not asking it again") == 1
                assert wrong not in log
            finally:
                deployment.close()

        # The same server and key with the right token: the refusal was the token's.
        env = {**os.environ, "TICKETFLOW_DB_AUTH_TOKEN": wrong}
        cli = [sys.executable, "-m", "ticketflow.cli.main", "--db", server.url, "runs"]
        bad = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and f"database {server.url} refused the credentials" in lines[0]
        assert wrong not in bad.stderr + bad.stdout
        env["TICKETFLOW_DB_AUTH_TOKEN"] = server.auth_token
        good = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
        assert good.returncode == 0, good.stderr
    finally:
        server.stop()
