"""One bad record never stops the sweeper (Firestore emulator, libSQL file).

The bad record is the one a review found: a ticket whose ``version`` was written as
2^63-1 past the rules (here with the admin client), so every write that bumps it
fails in Firestore with "Value out of range". Its run is left active the way a crash
between creating the run and taking the lock leaves it. Another user's run lost its
projection and its next dispatch (a crash right after the commit of step 1). Every
sweep must report the bad run and still repair the other one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from google.cloud import firestore

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.adapters.memory import MemoryTaskQueue
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.domain import AEC, TicketRequest
from ticketflow.ports import RunRecord, StepTask
from ticketflow.settings import Settings
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.definition import CURRENT
from ticketflow.workflow.runtime import Engine, FaultHook

REQUEST = {"title": "Add CSV export to the invoice list",
           "description": "Accountants export the filtered invoices as a CSV file."}


class Crash(BaseException):
    """Stands for a process killed at a crash point: nothing after it runs."""


def engine_on(tmp_path: Path, client: firestore.Client, queue: MemoryTaskQueue,
              faults: FaultHook | None = None) -> tuple[Engine, Database]:
    settings = Settings(db_url=f"file:{tmp_path}/tf.db", llm="offline", index_wait_s=0.0,
                        outbox_grace_s=0.0)
    db = Database(settings.db_url)
    clock = SystemClock()
    documents = FirestoreDocumentStore(client, clock=clock, timeout_s=5.0)
    engine = Engine(runs=LibsqlRunStore(db), documents=documents, queue=queue,
                    deps=StepDeps(llm=OfflineLanguageModel(), documents=documents,
                                  clock=clock),
                    settings=settings, faults=faults)
    return engine, db


@pytest.fixture
def queue() -> MemoryTaskQueue:
    return MemoryTaskQueue()


@pytest.fixture
def engine(tmp_path: Path, firestore_client: firestore.Client,
           queue: MemoryTaskQueue) -> Iterator[Engine]:
    eng, db = engine_on(tmp_path, firestore_client, queue)
    yield eng
    eng.close()
    db.close()


def ticket(engine: Engine, owner: str) -> AEC:
    return engine.documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}",
                                           owner_id=owner, **REQUEST))


def run_left_by_a_crash_before_the_lock(engine: Engine, aec: AEC) -> RunRecord:
    """What ``Engine.start`` leaves when the process dies between creating the run and
    locking the ticket: an active run with step 1 in its outbox."""
    now = engine.deps.clock.now()
    run = RunRecord(run_id="run-" + uuid.uuid4().hex[:16], aec_id=aec.id,
                    owner_id=aec.owner_id, workflow_version=CURRENT.version,
                    deadline_at=now + timedelta(hours=1),
                    input=TicketRequest(title=aec.title, description=aec.description).doc(),
                    created_at=now, updated_at=now)
    engine.runs.create_run(run)
    return run


def test_a_ticket_that_breaks_every_write_never_stops_the_sweeper(
        tmp_path: Path, firestore_client: firestore.Client, engine: Engine,
        queue: MemoryTaskQueue) -> None:
    bad = ticket(engine, "mallory")
    firestore_client.collection("aecs").document(bad.id).update({"version": 2**63 - 1})
    bad_run = run_left_by_a_crash_before_the_lock(engine, bad)

    good = ticket(engine, "alice")
    good_run = engine.start(good.id, uid="alice")
    assert [t.name for t in queue.pop_all()] == [f"{good_run.run_id}-1-0"]

    def crash_after_commit_of_step_1(point: str, step: int) -> None:
        if point == "after_commit" and step == 1:
            raise Crash

    crashing, db = engine_on(tmp_path, firestore_client, queue, crash_after_commit_of_step_1)
    with pytest.raises(Crash):
        crashing.run_step(StepTask(run_id=good_run.run_id, step_index=1))
    crashing.close()
    db.close()
    lost = engine.documents.get(good.id)
    assert lost is not None and lost.generation_state is not None
    assert lost.generation_state.current_step == 1  # the commit of step 1 not projected
    assert queue.pop_all() == []  # and step 2 not dispatched

    for _ in range(2):  # every later sweep too
        report = engine.sweep(grace_s=0.0)
        assert report.failed >= 1
        assert any(bad_run.run_id in e for e in report.errors), report.errors
        assert not any(good_run.run_id in e for e in report.errors), report.errors
    repaired = engine.documents.get(good.id)
    assert repaired is not None and repaired.generation_state is not None
    done = [s.index for s in repaired.generation_state.steps if s.status == "done"]
    assert done == [1] and repaired.generation_state.current_step == 2
    names = {t.name for t in queue.pop_all()}
    assert f"{good_run.run_id}-2-0" in names  # the lost dispatch of step 2, sent again
    still = engine.runs.get_run(bad_run.run_id)
    assert still is not None and still.active  # reported, not silently dropped
