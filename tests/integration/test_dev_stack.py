"""``ticketflow dev``'s stack (``ticketflow.dev.serve.dev_stack``) on free ports: every
part starts and answers, a run goes through it to a ready ticket, the sweep job runs
on its schedule and finishes a run whose first task never reached the queue, and
leaving the stack stops every process it started. (``tests/e2e/test_dev_command.py``
drives the command itself: signals, a taken port, a restart.)"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.dev.database import SqldServer
from ticketflow.dev.emulators import PROJECT_ROOT, EmulatorError, free_port
from ticketflow.dev.serve import dev_stack
from ticketflow.domain import AEC, AECStatus
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import StepTask
from ticketflow.testing.browser import StackError, built_page
from ticketflow.testing.cloud import document_store
from ticketflow.testing.embedded import CLEAN
from ticketflow.testing.rest import User
from ticketflow.testing.waiting import wait_until
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.runtime import Engine

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


class UnreachableQueue:
    """Cloud Tasks as seen during an outage: every enqueue fails, retryably."""

    def enqueue(self, task: StepTask, *, delay_s: float = 0.0) -> bool:
        raise RetryableError("Cloud Tasks is unreachable", code="queue_unavailable")


def test_dev_stack_runs_a_ticket_sweeps_on_schedule_and_stops_everything(
        tmp_path: Path) -> None:
    try:
        dist = built_page(tmp_path / "dist", tmp_path / "vite-build.log")
    except StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    stack = dev_stack(PROJECT_ROOT, functions_port=free_port(), firestore_port=free_port(),
                      auth_port=free_port(), hosting_port=free_port(), tasks_port=free_port(),
                      database_port=free_port(), state_dir=tmp_path / ".devstack", dist=dist,
                      sweep_every_s=1.0)
    stack.with_env(TICKETFLOW_LLM="offline", TICKETFLOW_INDEX_WAIT_S="0",
                   TICKETFLOW_OUTBOX_GRACE_S="0.5")
    try:
        stack.start()
    except EmulatorError as exc:
        pytest.fail(f"the dev stack did not start: {exc}", pytrace=False)
    parts = [stack.database, stack.tasks, stack.firestore, stack.auth, stack.hosting,
             *stack.functions]
    try:
        assert {"functions", "firestore", "auth", "tasks (gRPC)", "run_step secret",
                "database", "web", "logs"} <= set(stack.urls)
        assert stack.alive() and all(p is not None and p.running for p in parts)
        assert httpx.get(f"{stack.functions_url}/", timeout=10).json()["ok"] is True
        config = httpx.get(f"{stack.urls['web']}/config.js", timeout=10).text
        assert stack.functions_url in config and stack.firestore is not None
        assert stack.firestore.host_port in config
        assert stack.auth is not None
        owner = User.anonymous(stack.auth)
        documents = document_store(stack)
        aec = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}",
                                       owner_id=owner.uid, **CLEAN))
        resp = httpx.post(f"{stack.functions_url}/start_generation", json={"aecId": aec.id},
                          headers={"Authorization": f"Bearer {owner.token}"}, timeout=30)
        assert resp.status_code == 202, resp.text
        ready = wait_until(lambda: (a if (a := documents.get(aec.id)) and
                                    a.status is AECStatus.READY else None), 60,
                           what="the ticket ready", logs=stack.logs)
        assert not ready.locked and ready.acceptance_criteria
        assert stack.functions_env(stack.functions_port)["TICKETFLOW_DB_URL"] == \
            stack.urls["database"] and stack.urls["database"].startswith("http://")
        with stack.connect() as db:  # the functions kept the run on the sqld server
            # the ticket turns ready inside step 11, just before its commit completes the run
            wait_until(lambda: db.execute("SELECT status FROM runs WHERE aec_id = ?",
                                          [aec.id]).rows[0][0] == "completed", 30,
                       what="the run completed on the sqld server", logs=stack.logs)

        # A run started while Cloud Tasks was unreachable: its first task stays in the
        # outbox. Nobody calls /sweep by hand: the stack's scheduled job does, and the
        # run goes through.
        stalled = documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}",
                                           owner_id=owner.uid, **CLEAN))
        with stack.connect() as db:
            runs = LibsqlRunStore(db)
            llm = OfflineLanguageModel()
            engine = Engine(runs=runs, documents=documents, queue=UnreachableQueue(),
                            deps=StepDeps(llm=llm, documents=documents, clock=SystemClock()))
            try:
                run = engine.start(stalled.id, uid=owner.uid)
            finally:
                engine.close()
            assert runs.outbox_pending(run.created_at.replace(year=3000)), \
                "step 1 should still be in the outbox"
        done = wait_until(lambda: (a if (a := documents.get(stalled.id)) and
                                   a.status is AECStatus.READY else None), 60,
                          what="the stalled run finished by the scheduled sweep",
                          logs=stack.logs)
        assert done.generation_state is not None and done.generation_state.run_id == run.run_id
        sweeps = [json.loads(line) for line in
                  (stack.logs_at / "scheduler.log").read_text().splitlines()]
        assert any(s.get("report", {}).get("redispatched", 0) >= 1 for s in sweeps), sweeps
        assert stack.scheduler is not None and stack.scheduler.sweeps >= 1
    finally:
        stack.stop()
    assert not [p for p in parts if p is not None and p.running]
    assert stack.scheduler is not None and not stack.scheduler.running
    # a clean stop saved the emulators' data for the next start
    state = json.loads((tmp_path / ".devstack" / "emulator-data" / "state.json").read_text())
    assert state["clean"] is True
    # The next `ticketflow dev` finds the run: sqld kept its data in .devstack/sqld/.
    again = SqldServer(tmp_path / "logs", tmp_path / ".devstack" / "sqld" / "ticketflow",
                       fresh=False)
    again.start()
    try:
        with Database(again.url) as db:
            assert db.execute("SELECT status FROM runs WHERE aec_id = ?",
                              [aec.id]).rows[0][0] == "completed"
    finally:
        again.stop()
