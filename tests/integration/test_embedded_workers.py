"""The embedded workers' short cuts keep the rules: a worker that commits a step runs
the next one itself, a step whose handler outlives its timeout is ended and retried
(and its late thread is told so), and a chained step that fails is retried through the queue."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow.cli.driver import LOCAL_UID, Reply, act
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain.errors import RetryableError
from ticketflow.observability.tracing import attempt_abandoned
from ticketflow.ports.records import RunRecord
from ticketflow.testing.embedded import QUESTIONS, new_ticket, run_to_end, settings_for
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.definition import DEFINITIONS, STEPS, WorkflowDefinition
from ticketflow.workflow.steps.base import StepOutput


@pytest.fixture(params=["native", "libsql-client"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedApp]:
    application = open_embedded(settings_for(tmp_path, db_driver=request.param,
                                             step_timeout_s=1.0))
    yield application
    application.close()


def _with_first_attempt(app: EmbeddedApp, index: int, first: str,
                        late: list[bool] | None = None) -> str:
    """Install a workflow version whose step ``index`` does ``first`` ("hang" past its
    timeout, or "fail") on its first attempt only; returns the version. A hung attempt
    appends to ``late`` whether it was told, once awake, that it had been given up."""
    calls: list[int] = []
    lock = threading.Lock()
    spec = STEPS[index - 1]

    def handler(ctx: StepContext) -> StepOutput:
        with lock:
            calls.append(1)
            n = len(calls)
        if n == 1 and first == "hang":
            time.sleep(2.5)
            if late is not None:
                late.append(attempt_abandoned())
        elif n == 1:
            raise RetryableError("the model is overloaded", code="llm_overloaded")
        return spec.handler(ctx)

    steps = tuple(dataclasses.replace(s, handler=handler) if s.index == index else s
                  for s in STEPS)
    version = f"test-{first}-{index}"
    DEFINITIONS[version] = app.engine.definition = WorkflowDefinition(version, steps)
    return version


def _attempts(app: EmbeddedApp, run_id: str, step: int) -> list[tuple[str | None, str]]:
    return [(a.outcome, a.error or "") for a in app.runs.attempts(run_id)
            if a.step_index == step]


def _wait_for(app: EmbeddedApp, run_id: str, status: str) -> RunRecord:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = app.runs.get_run(run_id)
        if run is not None and run.status == status:
            return run
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} never became {status}")


def test_a_run_goes_from_commit_to_next_step_without_the_queue(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS)
    with app.worker_pool():
        run = app.engine.start(aec.id, uid=LOCAL_UID)  # handed to a worker directly
        waiting = _wait_for(app, run.run_id, "suspended")
        assert act(app, waiting, Reply("answer", {"q1": "all invoices"})).status == \
            "accepted"
        _wait_for(app, run.run_id, "completed")
    queued = app.db.execute("SELECT COUNT(*) FROM queue_tasks").rows[0][0]
    assert queued == 0
    pending = app.db.execute("SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL")
    assert pending.rows[0][0] == 0  # every outbox row written, and marked by its claim
    rows = app.db.execute("SELECT COUNT(*) FROM outbox WHERE run_id = ?", [run.run_id])
    assert rows.rows[0][0] == 11
    assert [a.outcome for a in app.runs.attempts(run.run_id)] == \
        ["committed"] * 8 + ["suspended", "committed", "committed"]  # questions at 9


@pytest.mark.parametrize("pool", [False, True], ids=["queue", "worker-pool"])
def test_a_step_that_outlives_its_timeout_is_ended_and_retried(app: EmbeddedApp,
                                                               pool: bool) -> None:
    late: list[bool] = []
    _with_first_attempt(app, 2, "hang", late)
    aec = new_ticket(app, QUESTIONS)
    if pool:  # the step runs on the worker's own thread, ended by the watchdog
        with app.worker_pool():
            run = app.engine.start(aec.id, uid=LOCAL_UID)
            _wait_for(app, run.run_id, "suspended")
            final = run_to_end(app, run.run_id, Reply("skip"))
    else:  # the step runs in the engine's pool, waited for with a timeout
        run = app.engine.start(aec.id, uid=LOCAL_UID)
        final = run_to_end(app, run.run_id, Reply("skip"))
    assert final.status == "completed"
    deadline = time.monotonic() + 10
    while not late and time.monotonic() < deadline:  # the hung thread wakes up late
        time.sleep(0.05)
    assert late == [True]  # told it was given up: it starts no new work (model calls)
    tries = _attempts(app, run.run_id, 2)
    assert tries[0][0] == "retry" and "timed out" in tries[0][1]
    assert tries[-1][0] == "committed"
    outputs = [s.step_index for s in app.runs.steps(run.run_id)]
    assert outputs == list(range(1, 12))  # the late first attempt committed nothing


def test_a_chained_step_that_fails_is_retried_from_the_queue(app: EmbeddedApp) -> None:
    _with_first_attempt(app, 3, "fail")
    aec = new_ticket(app, QUESTIONS)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id, Reply("skip"))
    assert final.status == "completed"
    tries = _attempts(app, run.run_id, 3)
    assert [t[0] for t in tries] == ["retry", "committed"]
    assert "overloaded" in tries[0][1]
