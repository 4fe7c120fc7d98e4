"""Kills from outside a process while one of its handlers runs, and one task delivered
into two processes at once, judged by the witness and not by the run store:

* the side file the processes append to (:mod:`ticketflow.testing.witness`): each
  handler execution's start and end, each commit accepted, by process;
* the fake Messages API's log: each model request by run, step, attempt and process,
  its outputs varying per call (so an answer used twice, or the wrong one, shows);
* the ticket as the person sees it, against an uninterrupted run of the same request
  replaying the answers the fake gave (:mod:`ticketflow.testing.chaos.reference`).

The handler killed is step 7 (generate draft), slowed by the witness so that it is
still running after its model call: the kill lands after the side effect and before
the engine has the result. ``--skip-questions`` keeps the draft as the ticket's
acceptance criteria, so the content shows which of the two calls was used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import running_cloud_stack

from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.documents import LibsqlDocumentStore
from ticketflow.dev.emulators import free_port
from ticketflow.dev.stack import Stack
from ticketflow.domain import AEC
from ticketflow.testing.chaos.common import LLM_SETTINGS
from ticketflow.testing.chaos.invariants import (
    commits_twice,
    executed_after_commit,
    executions,
    leases_of,
    model_requests,
    open_executions,
)
from ticketflow.testing.chaos.reference import (
    Decision,
    ReferenceRunner,
    content_of,
    witnessed_answers,
)
from ticketflow.testing.cloud import SECRET_HEADER, CloudDeployment, document_store
from ticketflow.testing.embedded import CLEAN, QUESTIONS, SAMPLE_REPO
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Served
from ticketflow.testing.receiver import TaskReceiver
from ticketflow.testing.rest import User, write_action
from ticketflow.testing.waiting import wait_until
from ticketflow.testing.witness import SideFile, witness_env

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")]
KILLED_STEP = 7
REQUEST = {**QUESTIONS, "repo": str(SAMPLE_REPO)}


def _llm_env(api: FakeMessagesAPI) -> dict[str, str]:
    return {**LLM_SETTINGS, "TICKETFLOW_LLM_BASE_URL": api.url,
            "TICKETFLOW_LLM_TIMEOUT_S": "10"}


def _answered(api: FakeMessagesAPI, pid: int, step: int) -> Served | None:
    """The clean model answer ``step`` got in process ``pid``, once there is one."""
    return next((s for s in api.served_log() if s.pid == pid and s.step == step and s.clean),
                None)


def _judge(side: list[dict[str, Any]], served: list[Served], run_id: str, killed: int,
           ticket: AEC, decisions: dict[str, Decision | None], work: Path,
           request: dict[str, str] = REQUEST) -> None:
    """What the witness must show after a kill of process ``killed`` in step 7."""
    ran = executions(side, run_id)
    assert ran[KILLED_STEP][0] == killed and len(ran[KILLED_STEP]) == 2, ran
    again = ran[KILLED_STEP][1]
    assert again != killed
    assert {s: len(p) for s, p in ran.items() if s != KILLED_STEP} == \
        {s: 1 for s in ran if s != KILLED_STEP}, f"a step ran twice: {ran}"
    assert all(p == [killed] for s, p in ran.items() if s < KILLED_STEP), ran
    assert all(p == [again] for s, p in ran.items() if s > KILLED_STEP), ran
    asked = model_requests(served, run_id)
    assert asked[KILLED_STEP] == [killed, again], asked
    assert all(len(p) == 1 for s, p in asked.items() if s != KILLED_STEP), asked
    assert ticket.fallback_steps == []  # every model call in it was answered
    assert commits_twice(side) == []
    assert executed_after_commit(side, served) == []
    # the ticket carries the second call's draft, and that is the uninterrupted run's
    mine = [s for s in served if s.run_id == run_id]
    calls = [s for s in mine if s.step == KILLED_STEP and s.clean]
    assert ticket.acceptance_criteria[0].endswith(f"[call {calls[-1].serial}]")
    runner = ReferenceRunner(work / "reference", SAMPLE_REPO)
    try:
        answers = witnessed_answers(mine, run_id)
        status, want = runner.content(request, answers, mine[0].model, decisions,
                                      ticket.fallback_steps)
        assert status == "ready" and want is not None
        assert content_of(ticket) == want
        # and a run that had used the killed call's answer would show it
        first = {**answers, "generate_draft": calls[0].tool_input or {}}
        _, other = runner.content(request, first, mine[0].model, decisions,
                                  ticket.fallback_steps)
        assert other is not None and other != want
    finally:
        runner.close()


# -- the embedded default: the story's test case 10 -----------------------------------------


def _cli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "ticketflow.testing.crash", "--db", str(db), *args]


def _env(api: FakeMessagesAPI, side: Path, slow: dict[int, float] | None = None,
         ) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    return {**env, **_llm_env(api), **witness_env(side, slow), "TICKETFLOW_INDEX_WAIT_S": "0",
            "PYTHONUNBUFFERED": "1"}


def test_case_10_a_new_process_resumes_the_run_after_a_kill_mid_handler(tmp_path: Path,
                                                                        ) -> None:
    """The story's test case 10 for real: ``ticketflow generate`` is SIGKILLed while
    step 7's handler runs; ``ticketflow resume`` in a new process finishes the run.
    Only step 7 runs twice (once killed), no committed step runs again, and the ticket
    equals an uninterrupted run's."""
    db, side = tmp_path / "tf.db", tmp_path / "witness.jsonl"
    with FakeMessagesAPI(vary=True) as api:
        first = subprocess.Popen(
            _cli(db, "generate", "--title", REQUEST["title"], "--description",
                 REQUEST["description"], "--repo", REQUEST["repo"], "--on-findings",
                 "proceed", "--skip-questions", "--json"),
            env=_env(api, side, {KILLED_STEP: 120}), cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: _answered(api, first.pid, KILLED_STEP) or first.poll(), 120,
                       what="step 7's model call in the first process")
            assert first.poll() is None, first.communicate()[1][-2000:]
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.communicate()
        assert first.returncode == -signal.SIGKILL
        records = SideFile(side).records()
        run_id = next(r["run"] for r in records if r["e"] == "start")
        assert open_executions(records, first.pid) == [(run_id, KILLED_STEP)]
        with Database(f"file:{db}") as conn:
            assert leases_of(conn, first.pid) == [(run_id, KILLED_STEP)]

        again = subprocess.run(
            _cli(db, "resume", run_id, "--on-findings", "proceed", "--skip-questions",
                 "--json"), env=_env(api, side), cwd=tmp_path, capture_output=True,
            text=True, timeout=180)
        assert again.returncode == 0, again.stderr[-2000:]
        shown = json.loads(again.stdout)  # what the person is shown
        assert shown["run"]["status"] == "completed", shown["run"]
        assert shown["aec"]["status"] == "ready"
        with Database(f"file:{db}") as conn:
            ticket = LibsqlDocumentStore(conn).get(shown["run"]["aecId"])
        assert ticket is not None and ticket.doc() == shown["aec"]
        _judge(SideFile(side).records(), api.served_log(), run_id, first.pid, ticket,
               {"questions": Decision("skip")}, tmp_path)


# -- the emulator suite ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_cloud_stack("outside-kill", tmp_path_factory)


@pytest.fixture(scope="module")
def documents(stack: Stack) -> FirestoreDocumentStore:
    return document_store(stack)


def _start(d: CloudDeployment, documents: FirestoreDocumentStore, request: dict[str, str],
           ) -> tuple[AEC, str, str, str]:
    """A new user's ticket on the sample repository, named by URL (as deployed) and
    indexed for that user ahead of the run."""
    assert d.stack.auth is not None
    owner, token = User.anonymous(d.stack.auth)
    url = d.git_url(SAMPLE_REPO)
    d.index_for(owner, url)
    aec = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=owner,
                                   repo=url, title=request["title"],
                                   description=request["description"]))
    resp = d.post("/start_generation", {"aecId": aec.id}, token=token)
    assert resp.status_code == 202, resp.text
    return aec, str(resp.json()["runId"]), owner, token


@pytest.mark.emulator
def test_functions_killed_mid_handler_a_new_process_finishes(
        stack: Stack, documents: FirestoreDocumentStore, tmp_path: Path) -> None:
    """The functions process group is SIGKILLed while step 7's handler runs (after its
    model call); a new process takes the step over when Cloud Tasks delivers it again
    (or the sweep, as Cloud Scheduler would call it, dispatches it)."""
    side = tmp_path / "witness.jsonl"
    d = CloudDeployment.create(stack, "outside-kill")
    try:
        with FakeMessagesAPI(vary=True) as api:
            llm = {**_llm_env(api), "TICKETFLOW_LLM": "claude"}
            first = d.start_functions(server="werkzeug", name="killed", **llm,
                                      **witness_env(side, {KILLED_STEP: 120}, app_hook=True))
            aec, run_id, owner, token = _start(d, documents, REQUEST)
            pid = first.pid
            assert pid is not None
            wait_until(lambda: _answered(api, pid, KILLED_STEP), 120, logs=stack.logs,
                       what="step 7's model call in the functions process")
            d.stop_functions(first, kill=True)  # SIGKILL to the group, nothing else
            records = SideFile(side).records()
            assert open_executions(records, pid) == [(run_id, KILLED_STEP)]
            assert leases_of(d.db, pid) == [(run_id, KILLED_STEP)]

            d.start_functions(server="werkzeug", name="after", **llm,
                              **witness_env(side, app_hook=True))

            def suspended() -> Any:
                run = d.run(run_id)
                if run.status == "suspended":
                    return run
                d.post("/sweep", secret=True)
                return None

            waiting = wait_until(suspended, 120, what="the questions", logs=stack.logs,
                                 interval_s=1.0)
            assert stack.firestore is not None and waiting.suspension is not None
            action_id, resp = write_action(stack.firestore, token, aec.id, {
                "type": "skip", "runId": run_id, "token": waiting.suspension.token,
                "uid": owner})
            assert resp.status_code == 200, resp.text
            verdict = wait_until(lambda: documents.get_action_result(aec.id, action_id), 30,
                                 what="the verdict on the action document")
            assert verdict.status == "accepted", verdict
            d.wait_run(run_id, lambda r: r.status == "completed", "completed", 60)
            ticket = documents.get(aec.id)
            assert ticket is not None and ticket.status.value == "ready"
            _judge(SideFile(side).records(), api.served_log(), run_id, pid, ticket,
                   {"questions": Decision("skip")}, tmp_path,
                   {**REQUEST, "repo": d.git_url(SAMPLE_REPO)})
    finally:
        d.close()


@pytest.mark.emulator
def test_one_task_delivered_into_two_processes_at_once(
        stack: Stack, documents: FirestoreDocumentStore, tmp_path: Path) -> None:
    """Cloud Tasks delivering a task twice at the same moment, into two functions
    processes (the queue's target is a receiver; the test delivers each task it gets
    into both at once): for every step one delivery commits and the other is a no-op
    (refused while the step is in flight, ``duplicate`` once delivered again), and the
    side file shows each handler executed once."""
    side = tmp_path / "witness.jsonl"
    d = CloudDeployment.create(stack, "twice")
    try:
        with TaskReceiver() as receiver:
            env = {**witness_env(side, dict.fromkeys(range(1, 12), 0.4), app_hook=True),
                   "TICKETFLOW_TASKS_TARGET_URL": f"{receiver.url}/run_step"}
            a = d.start_functions(server="werkzeug", name="a", **env)
            b = d.start_functions(server="werkzeug", name="b", port=free_port(), **env)
            aec, run_id, _, _ = _start(d, documents, CLEAN)
            outcomes: dict[int, list[str]] = {}
            for step in range(1, 12):
                body = wait_until(lambda s=step: next(
                    (json.loads(raw) for _, _, raw in receiver.requests
                     if json.loads(raw).get("stepIndex") == s), None), 60,
                    what=f"the task of step {step}", logs=stack.logs)
                outcomes[step] = _deliver_twice(d, body, [a.base_url, b.base_url])
            final = d.wait_run(run_id, lambda r: r.status == "completed", "completed", 30)
            assert final.status == "completed"
        for step, got in outcomes.items():
            assert got[0] in ("committed", "completed") and got[2] == "duplicate", (step, got)
        # the handlers are slowed, so the other delivery came while the step was in flight
        assert sum(got[1] == "step_busy" for got in outcomes.values()) >= 6, outcomes
        ran = executions(SideFile(side).records(), run_id)
        assert sorted(ran) == list(range(1, 12))
        assert all(len(pids) == 1 for pids in ran.values()), ran
        assert {p[0] for p in ran.values()} <= {a.pid, b.pid}
        assert commits_twice(SideFile(side).records()) == []
        ticket = documents.get(aec.id)
        assert ticket is not None and ticket.status.value == "ready"
    finally:
        d.close()


def _deliver_twice(d: CloudDeployment, body: dict[str, Any], urls: list[str]) -> list[str]:
    """POST ``body`` to ``/run_step`` of both ``urls`` at once; a delivery refused
    because the step is in flight (503) is delivered again after the other answered.
    Returns the committing delivery's outcome, the other's first answer (its outcome,
    or its error code) and the other's final outcome."""
    barrier = threading.Barrier(len(urls))
    answers: dict[str, httpx.Response] = {}

    def post(url: str) -> None:
        barrier.wait()
        answers[url] = httpx.post(f"{url}/run_step", json=body, timeout=60.0,
                                  headers={SECRET_HEADER: d.secret})

    threads = [threading.Thread(target=post, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [u for u in urls if answers[u].status_code == 200
            and answers[u].json()["outcome"] in ("committed", "completed")]
    assert len(done) == 1, {u: (r.status_code, r.text[:200]) for u, r in answers.items()}
    other = next(u for u in urls if u != done[0])
    first = answers[other].json()
    first_answer = str(first.get("outcome") or first.get("error", {}).get("code"))
    if answers[other].status_code == 503:
        assert answers[other].json()["error"]["code"] == "step_busy", answers[other].text
        answers[other] = httpx.post(f"{other}/run_step", json=body, timeout=60.0,
                                    headers={SECRET_HEADER: d.secret})
    assert answers[other].status_code == 200, answers[other].text
    return [answers[done[0]].json()["outcome"], first_answer,
            answers[other].json()["outcome"]]
