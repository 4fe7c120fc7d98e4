"""A step's commit carries the ticket's progress when the run store and the document
store share one libSQL file (the embedded default): one transaction for both, guarded
by the commit, and the usual projection after it whenever the carried one is refused.
Also: the run a commit or a claim returns is built from the caller's copy, and equals
what the store holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.documents import LibsqlDocumentStore
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.cli.driver import LOCAL_UID, Reply, act
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AEC
from ticketflow.ports import StepTask
from ticketflow.ports.records import (
    ActionRecord,
    RunRecord,
    StepRecord,
    SuspensionRecord,
    committed_run,
    resumed_run,
)
from ticketflow.testing.embedded import QUESTIONS, new_ticket, settings_for
from ticketflow.testing.waiting import wait_until
from ticketflow.workflow.definition import CURRENT
from ticketflow.workflow.projection import build_state

NOW = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = NOW + timedelta(minutes=5)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"file:{tmp_path}/t.db", witness=True)
    yield database
    database.close()


def _started(db: Database) -> tuple[LibsqlRunStore, LibsqlDocumentStore, RunRecord]:
    """A run at step 1, claimed, and its ticket locked by it (the store's copy current)."""
    runs, docs = LibsqlRunStore(db), LibsqlDocumentStore(db)
    run = RunRecord(run_id="r1", aec_id="a1", owner_id="u", workflow_version=CURRENT.version,
                    deadline_at=NOW + timedelta(hours=1), input={"title": "t"},
                    created_at=NOW, updated_at=NOW)
    runs.create_run(run)
    docs.create(AEC.new(aec_id="a1", owner_id="u", title="Fix it", description="d"))
    docs.mutate("a1", lambda a: a.lock_for("r1", build_state(run, [], CURRENT)))
    claimed = runs.claim("r1", 1, "L1", UNTIL, NOW)
    assert claimed is not None
    return runs, docs, claimed


def _step(i: int) -> StepRecord:
    return StepRecord(run_id="r1", step_index=i, step_name=CURRENT.step(i).name,
                      output={"i": i}, started_at=NOW, finished_at=NOW)


def _progress_seq(docs: LibsqlDocumentStore) -> int:
    aec = LibsqlDocumentStore(docs.db).get("a1")  # a fresh store: what the row holds
    assert aec is not None and aec.generation_state is not None
    return aec.generation_state.seq


def test_a_commit_writes_the_carried_projection_in_its_own_transaction(db: Database) -> None:
    runs, docs, claimed = _started(db)
    state = build_state(committed_run(claimed, NOW), [_step(1)], CURRENT)
    carry = docs.carried_projection("a1", state)
    assert carry is not None
    before = db.stats.snapshot()
    done = runs.commit("r1", 1, "L1", NOW, step=_step(1), run=claimed, carry=carry,
                       next_task=StepTask(run_id="r1", step_index=2))
    after = db.stats.snapshot()
    assert done is not None and carry.applied
    assert (after["calls"] - before["calls"], after["transactions"] -
            before["transactions"]) == (1, 1)
    assert _progress_seq(docs) == done.seq == state.seq
    assert done == runs.get_run("r1")  # built from the claimed copy, as stored
    nxt = runs.claim("r1", 2, "L2", UNTIL, NOW, projected_seq=done.seq, run=done)
    assert nxt is not None and nxt == runs.get_run("r1") and nxt.attempt == 1


def test_a_carried_projection_of_a_run_at_rest_marks_the_run_projected(db: Database) -> None:
    runs, docs, claimed = _started(db)
    susp = SuspensionRecord(kind="review", token="tok", payload={}, suspended_at=NOW)
    state = build_state(committed_run(claimed, NOW, suspension=susp), [], CURRENT)
    carry = docs.carried_projection("a1", state)
    assert carry is not None
    done = runs.commit("r1", 1, "L1", NOW, suspension=susp, run=claimed, carry=carry)
    assert done is not None and carry.applied and done.status == "suspended"
    stored = runs.get_run("r1")
    assert stored is not None and stored.projected_seq == stored.seq == done.seq
    assert done == stored
    assert _progress_seq(docs) == done.seq


def test_a_refused_commit_writes_no_carried_projection(db: Database) -> None:
    runs, docs, claimed = _started(db)
    seq = _progress_seq(docs)
    state = build_state(committed_run(claimed, NOW), [_step(1)], CURRENT)
    carry = docs.carried_projection("a1", state)
    assert carry is not None
    assert runs.commit("r1", 1, "LOST", NOW, step=_step(1), run=claimed, carry=carry) is None
    assert not carry.applied and _progress_seq(docs) == seq


def test_a_stale_copy_is_not_written_and_says_so(db: Database) -> None:
    runs, docs, claimed = _started(db)
    other = LibsqlDocumentStore(db)  # another writer moves the ticket on meanwhile
    other.mutate("a1", lambda a: a.model_copy(update={"description": "edited"}))
    seq = _progress_seq(docs)
    state = build_state(committed_run(claimed, NOW, complete=True), [_step(1)], CURRENT)
    carry = docs.carried_projection("a1", state)
    assert carry is not None
    done = runs.commit("r1", 1, "L1", NOW, step=_step(1), complete=True, run=claimed,
                       carry=carry)
    assert done is not None and done.status == "completed"
    assert not carry.applied and _progress_seq(docs) == seq
    stored = runs.get_run("r1")
    assert stored is not None and stored.projected_seq < stored.seq  # still to project
    docs.project("a1", state)  # what the engine does then: from a fresh read
    assert _progress_seq(docs) == done.seq


def test_a_carried_write_of_another_database_is_left_alone(db: Database,
                                                           tmp_path: Path) -> None:
    runs, _, claimed = _started(db)
    with Database(f"file:{tmp_path}/other.db") as other_db:
        _, elsewhere, _ = _started(other_db)
        state = build_state(committed_run(claimed, NOW), [_step(1)], CURRENT)
        carry = elsewhere.carried_projection("a1", state)
        assert carry is not None
        done = runs.commit("r1", 1, "L1", NOW, step=_step(1), run=claimed, carry=carry)
        assert done is not None and not carry.applied
        assert _progress_seq(elsewhere) < done.seq


def test_the_committed_run_is_read_from_the_row_when_it_differs_from_the_copy(
        db: Database) -> None:
    runs, _, claimed = _started(db)
    moved = runs.redispatch(claimed, NOW)  # a new epoch while the lease is held
    assert moved is not None
    done = runs.commit("r1", 1, "L1", NOW, step=_step(1), run=claimed)
    assert done is not None and done.epoch == claimed.epoch + 1
    assert done == runs.get_run("r1")


def test_the_committed_run_is_read_from_the_row_when_a_time_differs_from_the_copy(
        db: Database) -> None:
    runs, _, claimed = _started(db)
    stale = claimed.model_copy(update={"deadline_at": claimed.deadline_at
                                       + timedelta(minutes=1)})
    done = runs.commit("r1", 1, "L1", NOW, step=_step(1), run=stale)
    assert done is not None and done.deadline_at == claimed.deadline_at
    assert done == runs.get_run("r1")


def _with_status(app: EmbeddedApp, run_id: str, status: str) -> RunRecord | None:
    run = app.runs.get_run(run_id)
    return run if run is not None and run.status == status else None


def test_a_chained_step_costs_two_write_transactions(tmp_path: Path) -> None:
    """Commit with the ticket's progress, then the next step's claim (the handlers'
    reads aside): counted by the database, from one step's start to the next one's."""
    marks: dict[int, dict[str, int]] = {}
    holder: list[Database] = []

    def at(point: str, step: int) -> None:
        if point == "before_execute" and holder:
            marks[step] = holder[0].stats.snapshot()

    app = open_embedded(settings_for(tmp_path, sweep_interval_s=3600.0), faults=at)
    holder.append(app.db)
    try:
        app.db.set_witness(True)
        aec = new_ticket(app, QUESTIONS)
        # one pool of one worker, driven here: every step is handed to it, so no queue
        # delivery (another pool's start-up sweep re-enqueues step 1) adds its writes
        with app.worker_pool(1):
            run = app.engine.start(aec.id, uid=LOCAL_UID)
            waiting = wait_until(lambda: _with_status(app, run.run_id, "suspended"), 60,
                                 what="the questions")
            act(app, waiting, Reply("answer", {"q1": "all invoices"}))
            wait_until(lambda: _with_status(app, run.run_id, "completed"), 60,
                       what="the run completed")
        for n in (5, 6, 7):
            assert marks[n + 1]["transactions"] - marks[n]["transactions"] == 2, n
        shown = app.documents.get(aec.id)
        final = app.runs.get_run(run.run_id)
        assert shown is not None and shown.generation_state is not None and final
        assert shown.generation_state.seq == final.seq == final.projected_seq
    finally:
        app.close()



def test_a_resume_returns_the_run_as_stored(db: Database) -> None:
    runs, _, claimed = _started(db)
    susp = SuspensionRecord(kind="review", token="tok", payload={}, suspended_at=NOW)
    waiting = runs.commit("r1", 1, "L1", NOW, suspension=susp, run=claimed)
    assert waiting is not None
    later = NOW + timedelta(minutes=2)
    action = ActionRecord(action_id="x1", run_id="r1", aec_id="a1", type="proceed",
                          token="tok", status="accepted", created_at=later)
    resumed = runs.resume("r1", "tok", action, later, step=_step(1), run=waiting,
                          next_task=StepTask(run_id="r1", step_index=2))
    assert resumed is not None and resumed.status == "running" and resumed.step_index == 2
    assert resumed.deadline_at == claimed.deadline_at + timedelta(minutes=2)
    assert resumed == runs.get_run("r1")


def test_a_resume_carries_the_projection_too(db: Database) -> None:
    runs, docs, claimed = _started(db)
    susp = SuspensionRecord(kind="review", token="tok", payload={}, suspended_at=NOW)
    waiting = runs.commit("r1", 1, "L1", NOW, suspension=susp, run=claimed)
    assert waiting is not None
    later = NOW + timedelta(minutes=2)
    action = ActionRecord(action_id="x1", run_id="r1", aec_id="a1", type="proceed",
                          token="tok", status="accepted", created_at=later)
    state = build_state(resumed_run(waiting, later), [_step(1)], CURRENT)
    carry = docs.carried_projection("a1", state)
    assert carry is not None
    before = db.stats.snapshot()
    resumed = runs.resume("r1", "tok", action, later, step=_step(1), run=waiting,
                          next_task=StepTask(run_id="r1", step_index=2), carry=carry)
    assert resumed is not None and resumed.status == "running" and carry.applied
    assert db.stats.snapshot()["transactions"] - before["transactions"] == 1
    assert _progress_seq(docs) == resumed.seq
    stored = runs.get_run("r1")  # running: the next claim notes the projection
    assert stored == resumed and stored.projected_seq < stored.seq


def test_a_cancelling_resume_carries_the_projection_and_notes_it(db: Database) -> None:
    runs, docs, claimed = _started(db)
    susp = SuspensionRecord(kind="questions", token="tok", payload={}, suspended_at=NOW)
    waiting = runs.commit("r1", 1, "L1", NOW, suspension=susp, run=claimed)
    assert waiting is not None
    action = ActionRecord(action_id="x1", run_id="r1", aec_id="a1", type="edit",
                          token="tok", status="accepted", created_at=NOW)
    state = build_state(resumed_run(waiting, NOW, cancel_reason="edit"), [], CURRENT)
    carry = docs.carried_projection("a1", state)
    assert carry is not None
    done = runs.resume("r1", "tok", action, NOW, step=None, next_task=None,
                       cancel_reason="edit", run=waiting, carry=carry)
    assert done is not None and done.status == "cancelled" and carry.applied
    stored = runs.get_run("r1")
    assert stored == done and stored.projected_seq == stored.seq
    assert _progress_seq(docs) == done.seq
