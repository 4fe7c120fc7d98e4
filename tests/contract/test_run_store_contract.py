"""Contract of the ``RunStore`` port, run against every adapter and driver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.domain import ConflictError, RunError
from ticketflow.ports import RunStore, StepTask
from ticketflow.ports.records import ActionRecord, RunRecord, StepRecord, SuspensionRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(libsql_db: Database) -> RunStore:
    """The libSQL run store on a file (both drivers) and on a libSQL server (sqld)."""
    return LibsqlRunStore(libsql_db)


def new_run(run_id: str = "r1", aec_id: str = "a1") -> RunRecord:
    return RunRecord(run_id=run_id, aec_id=aec_id, owner_id="u", workflow_version="v1",
                     deadline_at=NOW + timedelta(hours=1), input={"title": "t"},
                     created_at=NOW, updated_at=NOW)


def step(i: int, run_id: str = "r1") -> StepRecord:
    return StepRecord(run_id=run_id, step_index=i, step_name=f"s{i}", output={"i": i})


def claim(store: RunStore, i: int, lease: str = "L1", run_id: str = "r1") -> RunRecord | None:
    return store.claim(run_id, i, lease, NOW + timedelta(seconds=30), NOW)


def test_create_writes_the_first_outbox_row_and_one_active_run_per_ticket(
        store: RunStore) -> None:
    task = store.create_run(new_run())
    assert task == StepTask(run_id="r1", step_index=1)
    assert store.outbox_pending(NOW) == [task]
    with pytest.raises(ConflictError):
        store.create_run(new_run("r2"))
    store.create_run(new_run("r3", "a2"))
    assert store.active_run("a1") is not None and store.active_run("zz") is None


def test_a_run_created_from_pinned_outputs_starts_at_its_step(store: RunStore) -> None:
    pinned = [step(i, "r2") for i in (1, 2, 3)]
    later = new_run("r2").model_copy(update={"step_index": 4})
    task = store.create_run_from(later, pinned)
    assert task == StepTask(run_id="r2", step_index=4)
    assert store.outbox_pending(NOW) == [task]
    assert [(s.step_index, s.output) for s in store.steps("r2")] == \
        [(1, {"i": 1}), (2, {"i": 2}), (3, {"i": 3})]
    assert store.attempts("r2") == []  # nothing was executed for them
    assert claim(store, 3, run_id="r2") is None  # a pinned step is never claimed
    got = claim(store, 4, run_id="r2")
    assert got is not None and got.step_index == 4
    with pytest.raises(ConflictError):  # one active run per ticket, as for create_run
        store.create_run_from(new_run("r3").model_copy(update={"step_index": 4}),
                              [step(i, "r3") for i in (1, 2, 3)])
    with pytest.raises(ValueError):
        store.create_run_from(new_run("r4", "a4").model_copy(update={"step_index": 4}),
                              [step(1, "r4")])
    assert store.get_run("r4") is None


def test_claim_is_exclusive_until_the_lease_expires(store: RunStore) -> None:
    store.create_run(new_run())
    got = claim(store, 1, "L1")
    assert got is not None and got.attempt == 1 and got.lease_id == "L1"
    assert claim(store, 1, "L2") is None
    assert claim(store, 2, "L2") is None  # not the current step
    later = NOW + timedelta(seconds=31)
    stolen = store.claim("r1", 1, "L3", later + timedelta(seconds=30), later)
    assert stolen is not None and stolen.attempt == 2
    assert store.claim("r1", 1, "L4", later, later, steal_from="L3") is not None


def test_commit_is_atomic_and_guarded_by_the_lease(store: RunStore) -> None:
    store.create_run(new_run())
    claim(store, 1, "L1")
    nxt = StepTask(run_id="r1", step_index=2)
    assert not store.commit("r1", 1, "WRONG", NOW, step=step(1), next_task=nxt)
    assert store.steps("r1") == [] and store.outbox_pending(NOW) == [
        StepTask(run_id="r1", step_index=1)]
    assert store.commit("r1", 1, "L1", NOW, step=step(1), next_task=nxt)
    run = store.get_run("r1")
    assert run is not None and run.step_index == 2 and run.lease_id is None and run.seq == 2
    assert [s.step_index for s in store.steps("r1")] == [1]
    assert nxt in store.outbox_pending(NOW)
    assert not store.commit("r1", 1, "L1", NOW, step=step(1), next_task=nxt)  # twice
    assert len(store.steps("r1")) == 1


def test_cancel_wins_over_a_late_commit(store: RunStore) -> None:
    store.create_run(new_run())
    claim(store, 1, "L1")
    assert store.finish("r1", "cancelled", NOW, cancel_reason="user")
    assert not store.commit("r1", 1, "L1", NOW, step=step(1))
    assert store.steps("r1") == []
    assert not store.finish("r1", "failed", NOW, error=RunError(code="x", message="y"))


def test_suspend_and_resume_compare_and_set(store: RunStore) -> None:
    store.create_run(new_run())
    claim(store, 1, "L1")
    susp = SuspensionRecord(kind="review", token="T", payload={"findings": []},
                            suspended_at=NOW, expires_at=NOW + timedelta(days=1))
    assert store.commit("r1", 1, "L1", NOW, suspension=susp)
    run = store.get_run("r1")
    assert run is not None and run.status == "suspended" and run.suspension == susp

    def action(aid: str, token: str = "T") -> ActionRecord:
        return ActionRecord(action_id=aid, run_id="r1", aec_id="a1", type="proceed",
                            token=token, status="accepted", created_at=NOW)

    nxt = StepTask(run_id="r1", step_index=2)
    assert not store.resume("r1", "BAD", action("x0", "BAD"), NOW, step=step(1),
                            next_task=nxt)
    assert store.resume("r1", "T", action("x1"), NOW + timedelta(hours=1), step=step(1),
                        next_task=nxt)
    assert not store.resume("r1", "T", action("x2"), NOW, step=step(1), next_task=nxt)
    run = store.get_run("r1")
    assert run is not None and run.status == "running" and run.step_index == 2
    assert run.deadline_at == NOW + timedelta(hours=2)  # waiting time is not run time
    assert [a.action_id for a in store.actions("r1")] == ["x1"]
    rejected = store.record_action(action("x2").model_copy(update={"status": "rejected"}))
    assert rejected.status == "rejected"
    again = store.record_action(action("x1").model_copy(update={"status": "rejected"}))
    assert again.status == "accepted"  # the first record of an id stands


def test_actions_are_keyed_by_ticket_and_action_id(store: RunStore) -> None:
    """Two tickets' actions with the same id are two actions: the second is not given
    the first one's verdict, and each ticket's redelivery gets its own back."""
    for run_id, aec_id in (("r1", "a1"), ("r2", "a2")):
        store.create_run(new_run(run_id, aec_id))

    def action(run_id: str, aec_id: str, status: str, reason: str | None) -> ActionRecord:
        return ActionRecord(action_id="same-id", run_id=run_id, aec_id=aec_id,
                            type="proceed", token="T", status=status,  # type: ignore[arg-type]
                            reason=reason, created_at=NOW)

    first = store.record_action(action("r1", "a1", "rejected", "no suspension"))
    second = store.record_action(action("r2", "a2", "accepted", None))
    assert (first.aec_id, first.status) == ("a1", "rejected")
    assert (second.aec_id, second.status, second.reason) == ("a2", "accepted", None)
    got = store.get_action("a2", "same-id")
    assert got is not None and (got.run_id, got.status) == ("r2", "accepted")
    again = store.record_action(action("r2", "a2", "rejected", "late"))
    assert again.status == "accepted"  # the first record under this ticket stands
    assert store.get_action("a3", "same-id") is None
    assert [a.aec_id for a in store.actions("r1")] == ["a1"]


def test_outbox_dispatch_marks_and_sweep_view(store: RunStore) -> None:
    task = store.create_run(new_run())
    store.mark_dispatched([task.name], NOW)
    assert store.outbox_pending(NOW) == []
    view = store.sweep_view(NOW + timedelta(hours=2), NOW + timedelta(hours=2),
                            NOW + timedelta(hours=2))
    assert [r.run_id for r in view.overdue] == ["r1"]
    assert [r.run_id for r in view.stalled] == ["r1"]
    assert [r.run_id for r in view.unprojected] == ["r1"]
    store.mark_projected("r1", 1)
    run = store.get_run("r1")
    assert run is not None
    redo = store.redispatch(run, NOW)
    assert redo == StepTask(run_id="r1", step_index=1, epoch=1)
    assert store.redispatch(run, NOW) is None  # epoch moved on: only one wins


def test_claim_notes_progress_and_reads_steps_and_a_commit_marks_its_row(
        store: RunStore) -> None:
    first = store.create_run(new_run())
    got = store.claim_with_steps("r1", 1, "L1", NOW + timedelta(seconds=30), NOW,
                                 projected_seq=1)
    assert got is not None
    run, steps = got
    assert steps == [] and run.lease_id == "L1" and run.projected_seq == 1
    assert store.outbox_pending(NOW) == [first]  # until its step commits
    nxt = StepTask(run_id="r1", step_index=2)
    assert store.commit("r1", 1, "L1", NOW, step=step(1), next_task=nxt)
    assert store.outbox_pending(NOW) == [nxt]  # step 1's row is done with
    again = store.claim_with_steps("r1", 2, "L2", NOW + timedelta(seconds=30), NOW,
                                   projected_seq=0)
    assert again is not None
    assert [(s.step_index, s.output) for s in again[1]] == [(1, {"i": 1})]
    assert again[0].projected_seq == 1  # never lowered
    assert store.claim_with_steps("r1", 2, "L3", NOW, NOW) is None  # leased
    assert [(a.step_index, a.outcome) for a in store.attempts("r1")] == [
        (1, "committed"), (2, None)]


def test_resume_returns_the_run_and_an_action_id_wins_once(store: RunStore) -> None:
    store.create_run(new_run())
    claim(store, 1, "L1")
    susp = SuspensionRecord(kind="review", token="T", payload={}, suspended_at=NOW)
    suspended = store.commit("r1", 1, "L1", NOW, suspension=susp)
    assert suspended is not None

    def action(aid: str, status: str = "accepted") -> ActionRecord:
        return ActionRecord(action_id=aid, run_id="r1", aec_id="a1", type="proceed",
                            token="T", status=status, created_at=NOW)  # type: ignore[arg-type]

    store.record_action(action("seen", "rejected"))
    nxt = StepTask(run_id="r1", step_index=2)
    assert store.resume("r1", "T", action("seen"), NOW, step=step(1), next_task=nxt,
                        run=suspended) is None
    resumed = store.resume("r1", "T", action("x1"), NOW, step=step(1), next_task=nxt,
                           run=suspended)
    assert resumed is not None and resumed == store.get_run("r1")
    assert (resumed.status, resumed.step_index, resumed.seq) == ("running", 2, 3)


def test_pipelined_writes_are_read_back_at_once_and_sync_returns(store: RunStore) -> None:
    """Pipelined commits are committed (the next claim reads them) before ``sync``
    makes them durable; the durability itself is tested on the file database."""
    with store.pipelined():
        with store.pipelined():
            store.create_run(new_run())
        assert claim(store, 1) is not None
        assert store.commit("r1", 1, "L1", NOW, step=step(1),
                            next_task=StepTask(run_id="r1", step_index=2)) is not None
    store.sync()
    assert [s.step_index for s in store.steps("r1")] == [1]
    assert claim(store, 2, "L2") is not None
