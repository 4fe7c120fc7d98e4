"""``ticketflow dev``'s stack (``ticketflow.dev.serve.dev_stack``) on free ports: every
part starts and answers, a run goes through it to a ready ticket, and leaving the
stack stops every process it started."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.database import SqldServer
from ticketflow.dev.emulators import PROJECT_ROOT, EmulatorError, free_port
from ticketflow.dev.serve import dev_stack
from ticketflow.domain import AEC, AECStatus
from ticketflow.testing.browser import StackError, built_page
from ticketflow.testing.cloud import document_store
from ticketflow.testing.embedded import CLEAN
from ticketflow.testing.rest import User
from ticketflow.testing.waiting import wait_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def test_dev_stack_runs_a_ticket_and_stops_everything(tmp_path: Path) -> None:
    try:
        dist = built_page(tmp_path / "dist", tmp_path / "vite-build.log")
    except StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    stack = dev_stack(PROJECT_ROOT, functions_port=free_port(), firestore_port=free_port(),
                      auth_port=free_port(), hosting_port=free_port(), tasks_port=free_port(),
                      database_port=free_port(), state_dir=tmp_path / ".devstack", dist=dist)
    stack.with_env(TICKETFLOW_LLM="offline", TICKETFLOW_INDEX_WAIT_S="0")
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
            assert db.execute("SELECT status FROM runs WHERE aec_id = ?",
                              [aec.id]).rows[0][0] == "completed"
    finally:
        stack.stop()
    assert not [p for p in parts if p is not None and p.running]
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
