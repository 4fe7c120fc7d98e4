"""The run store in libSQL: the source of truth for workflow execution.

Every state change is one atomic statement or batch, guarded in SQL:

* claim: one conditional ``UPDATE ... RETURNING`` takes the step's lease;
* commit: one batch whose first statement advances the run pointer only if the
  run is still at this step, still running, and still leased by us; it stamps
  ``last_commit`` so the step output that follows is inserted only if that first
  statement took effect (``WHERE EXISTS``);
* resume: the same shape, with a compare-and-set on the suspension token.

A commit may carry a write of the document store on the same database (the ticket's
progress, :class:`~ticketflow.ports.documents.CarriedWrite`): it runs after the
commit's statements, in its transaction, only where that commit took effect with the
``seq`` the progress was built for; at rest, the run is noted projected there too.
A write returns the caller's copy of the run updated with what it decided (checked
against the row it returned), and parses the row only when the two differ.

What must always go with a move of the run pointer is written by triggers, inside
the statement that moves it: a running run at step ``s`` of epoch ``e`` has the
outbox row ``{run}-{s}-{e}`` (written when the run is created, advanced, resumed or
re-dispatched), a claim records its attempt, and a commit records how its attempt
ended and marks the step's row done with (``dispatched_at``). So a claim is one
statement and a commit two, and no caller can move a run without its outbox row.

``step_outputs`` has the primary key ``(run_id, step_index)``: a step cannot be
committed twice, whatever the bugs above it. ``actions`` has ``(aec_id, action_id)``:
an action id is the id of a document under its ticket, so two tickets may use the
same one (the migration ``runs:actions_by_ticket``, versioned on its own so that it
never collides with the base schema's versions, rebuilt the table from the key
``action_id`` alone, keeping every row).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from libsql_client import LibsqlError, ResultSet

from ticketflow.adapters.libsql.database import Database, Stmt, apply_schema, rows_as_dicts
from ticketflow.domain import ConflictError, RunError
from ticketflow.ports import CarriedWrite, StepTask
from ticketflow.ports.leases import unique_suffix
from ticketflow.ports.records import (
    ActionRecord,
    AttemptRecord,
    RunRecord,
    StepRecord,
    SuspensionRecord,
    SweepView,
    committed_run,
    resumed_run,
)

_TASK_NAME = "NEW.run_id || '-' || NEW.step_index || '-' || NEW.epoch"  # StepTask.name

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, aec_id TEXT NOT NULL, owner_id TEXT NOT NULL,
        workflow_version TEXT NOT NULL, status TEXT NOT NULL, step_index INTEGER NOT NULL,
        epoch INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,
        lease_id TEXT, lease_until TEXT, seq INTEGER NOT NULL DEFAULT 1,
        projected_seq INTEGER NOT NULL DEFAULT 0, suspension TEXT, suspension_token TEXT,
        suspension_expires_at TEXT, deadline_at TEXT NOT NULL, cancel_reason TEXT,
        error TEXT, input TEXT NOT NULL, provider TEXT, trace_id TEXT, last_commit TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active_per_aec ON runs(aec_id)
        WHERE status IN ('running', 'suspended')""",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs(status, updated_at)",
    """CREATE TABLE IF NOT EXISTS step_outputs (
        run_id TEXT NOT NULL, step_index INTEGER NOT NULL, step_name TEXT NOT NULL,
        status TEXT NOT NULL, output TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL, started_at TEXT, finished_at TEXT,
        PRIMARY KEY (run_id, step_index))""",
    """CREATE TABLE IF NOT EXISTS step_attempts (
        run_id TEXT NOT NULL, step_index INTEGER NOT NULL, attempt INTEGER NOT NULL,
        lease_id TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
        outcome TEXT, error TEXT, PRIMARY KEY (run_id, step_index, attempt, lease_id))""",
    """CREATE TABLE IF NOT EXISTS outbox (
        task_name TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_index INTEGER NOT NULL,
        epoch INTEGER NOT NULL, created_at TEXT NOT NULL, dispatched_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(dispatched_at, created_at)",
    """CREATE TABLE IF NOT EXISTS actions (
        action_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, aec_id TEXT NOT NULL,
        type TEXT NOT NULL, token TEXT NOT NULL, uid TEXT NOT NULL, answers TEXT,
        status TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS actions_run ON actions(run_id)",
    *(  # version 2: the writes that go with a move of the run pointer (module doc)
        f"""CREATE TRIGGER IF NOT EXISTS {name} {event} BEGIN
            INSERT OR IGNORE INTO outbox(task_name, run_id, step_index, epoch, created_at)
            VALUES ({_TASK_NAME}, NEW.run_id, NEW.step_index, NEW.epoch, NEW.updated_at);
        END"""
        for name, event in (
            ("runs_outbox_created", "AFTER INSERT ON runs WHEN NEW.status = 'running'"),
            ("runs_outbox_moved", "AFTER UPDATE OF step_index, epoch, status ON runs "
             "WHEN NEW.status = 'running' "
             "AND (NEW.step_index != OLD.step_index OR NEW.epoch != OLD.epoch)"),
        )
    ),
    """CREATE TRIGGER IF NOT EXISTS runs_claimed AFTER UPDATE OF lease_id ON runs
        WHEN NEW.lease_id IS NOT NULL BEGIN
            INSERT OR IGNORE INTO step_attempts(run_id, step_index, attempt, lease_id,
                                                started_at)
            VALUES (NEW.run_id, NEW.step_index, NEW.attempt, NEW.lease_id, NEW.updated_at);
        END""",
    f"""CREATE TRIGGER IF NOT EXISTS runs_committed AFTER UPDATE OF lease_id ON runs
        WHEN OLD.lease_id IS NOT NULL AND NEW.lease_id IS NULL
        AND (NEW.step_index != OLD.step_index OR NEW.status = 'suspended') BEGIN
            UPDATE step_attempts SET finished_at = NEW.updated_at,
                outcome = CASE NEW.status WHEN 'suspended' THEN 'suspended'
                          ELSE 'committed' END
            WHERE run_id = NEW.run_id AND step_index = OLD.step_index
            AND lease_id = OLD.lease_id;
            UPDATE outbox SET dispatched_at = NEW.updated_at
            WHERE task_name = {_TASK_NAME.replace("NEW.", "OLD.")}
            AND dispatched_at IS NULL;
        END""",
]
SCHEMA_VERSION = 2

_ACTION_COLUMNS = "action_id, run_id, aec_id, type, token, uid, answers, status, reason, created_at"
ACTIONS_BY_TICKET = [  # actions keyed by (ticket, action id); idempotent if two race
    """CREATE TABLE IF NOT EXISTS actions_v2 (
        action_id TEXT NOT NULL, run_id TEXT NOT NULL, aec_id TEXT NOT NULL,
        type TEXT NOT NULL, token TEXT NOT NULL, uid TEXT NOT NULL, answers TEXT,
        status TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL,
        PRIMARY KEY (aec_id, action_id))""",
    f"INSERT OR IGNORE INTO actions_v2({_ACTION_COLUMNS}) SELECT {_ACTION_COLUMNS} FROM actions",
    "DROP TABLE actions",
    "ALTER TABLE actions_v2 RENAME TO actions",
    "CREATE INDEX IF NOT EXISTS actions_run ON actions(run_id)",
]

_COMMITTED = "EXISTS (SELECT 1 FROM runs WHERE run_id = :run AND last_commit = :commit)"


def _ts(d: datetime | None) -> str | None:
    return d.isoformat() if d is not None else None


def _json(v: Any) -> str | None:
    if v is None:
        return None
    if hasattr(v, "model_dump_json"):
        return str(v.model_dump_json(by_alias=True))
    return json.dumps(v, separators=(",", ":"))


def _dt(v: Any) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


_RUN_COLUMNS = tuple(RunRecord.model_fields)
_RUN_JSON = ("suspension", "error", "input", "provider")


def _run_from(row: dict[str, Any]) -> RunRecord:
    """A run row as a record. Its scalar columns go to pydantic-core as they are: for
    rows this store wrote that costs less than ``model_construct`` (measured: 6 us
    against 17 us), and a row written by anything else is still checked."""
    data = {k: row[k] for k in _RUN_COLUMNS}
    for k in _RUN_JSON:
        if data[k] is not None:
            data[k] = json.loads(data[k])
    return RunRecord.model_validate(data)


_DECIDED = ("status", "step_index", "epoch", "attempt", "seq", "lease_id", "cancel_reason")
_DECIDED_AT = ("updated_at", "lease_until", "deadline_at", "finished_at")


def _run_as(row: dict[str, Any], expected: RunRecord | None) -> RunRecord:
    """The run a write returned: ``expected`` (the caller's copy of what the write made
    of it, built without parsing the row) when the row agrees with it on everything
    the write decides and when it wrote it; otherwise the row itself."""
    if (expected is None or row["run_id"] != expected.run_id
            or any(row[k] != getattr(expected, k) for k in _DECIDED)
            or any(row[k] != _ts(getattr(expected, k)) for k in _DECIDED_AT)):
        return _run_from(row)
    if row["projected_seq"] != expected.projected_seq:
        return expected.model_copy(update={"projected_seq": row["projected_seq"]})
    return expected


def _step_from(row: dict[str, Any]) -> StepRecord:
    """A step output row as this store wrote it, built without re-validating it."""
    return StepRecord.model_construct(
        run_id=row["run_id"], step_index=row["step_index"], step_name=row["step_name"],
        status=row["status"], output=json.loads(row["output"]), detail=row["detail"],
        attempts=row["attempts"], started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]),
    )


class LibsqlRunStore:
    """``RunStore`` on a libSQL database (see module doc)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        apply_schema(db, "runs", SCHEMA_VERSION, SCHEMA)
        apply_schema(db, "runs:actions_by_ticket", 1, ACTIONS_BY_TICKET)

    def pipelined(self) -> AbstractContextManager[None]:
        return self.db.pipelined()

    def sync(self) -> None:
        self.db.sync()

    # -- reads ---------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = rows_as_dicts(self.db.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]))
        return _run_from(rows[0]) if rows else None

    def active_run(self, aec_id: str) -> RunRecord | None:
        rows = rows_as_dicts(self.db.execute(
            "SELECT * FROM runs WHERE aec_id = ? AND status IN ('running', 'suspended')",
            [aec_id],
        ))
        return _run_from(rows[0]) if rows else None

    def list_runs(self, limit: int = 50, *, aec_id: str | None = None) -> list[RunRecord]:
        if aec_id is None:
            rs = self.db.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", [limit])
        else:
            rs = self.db.execute(
                "SELECT * FROM runs WHERE aec_id = ? ORDER BY created_at DESC LIMIT ?",
                [aec_id, limit],
            )
        return [_run_from(r) for r in rows_as_dicts(rs)]

    def steps(self, run_id: str) -> list[StepRecord]:
        rs = self.db.execute(
            "SELECT * FROM step_outputs WHERE run_id = ? ORDER BY step_index", [run_id]
        )
        return [_step_from(r) for r in rows_as_dicts(rs)]

    def attempts(self, run_id: str) -> list[AttemptRecord]:
        rs = self.db.execute(
            "SELECT * FROM step_attempts WHERE run_id = ? ORDER BY started_at", [run_id]
        )
        return [AttemptRecord.model_validate(r) for r in rows_as_dicts(rs)]

    def get_action(self, aec_id: str, action_id: str) -> ActionRecord | None:
        rows = rows_as_dicts(self.db.execute(
            "SELECT * FROM actions WHERE aec_id = ? AND action_id = ?", [aec_id, action_id]))
        return _action_from(rows[0]) if rows else None

    def actions(self, run_id: str) -> list[ActionRecord]:
        rs = self.db.execute(
            "SELECT * FROM actions WHERE run_id = ? ORDER BY created_at", [run_id]
        )
        return [_action_from(r) for r in rows_as_dicts(rs)]

    # -- writes ----------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> StepTask:
        """Insert the run (its trigger writes the outbox row of step 1), atomically.

        ``ConflictError`` if the ticket already has an active run.
        """
        task = StepTask(run_id=run.run_id, step_index=run.step_index, epoch=run.epoch)
        try:
            self.db.execute(
                "INSERT INTO runs(run_id, aec_id, owner_id, workflow_version, status, "
                "step_index, epoch, seq, deadline_at, input, provider, trace_id, created_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [run.run_id, run.aec_id, run.owner_id, run.workflow_version, run.status,
                 run.step_index, run.epoch, run.seq, _ts(run.deadline_at),
                 _json(run.input), _json(run.provider), run.trace_id, _ts(run.created_at),
                 _ts(run.updated_at)],
            )
        except LibsqlError as exc:
            if "UNIQUE" in str(exc) and "aec_id" in str(exc):
                raise ConflictError(
                    f"ticket {run.aec_id} already has a generation in progress"
                ) from None
            raise
        return task

    def create_run_from(self, run: RunRecord, pinned: list[StepRecord]) -> StepTask:
        """Insert the run at its ``step_index`` (its trigger writes the outbox row of
        that step) with ``pinned`` as its committed outputs of the steps before it,
        atomically (``ConflictError`` if the ticket already has an active run)."""
        if sorted(s.step_index for s in pinned) != list(range(1, run.step_index)):
            raise ValueError(f"pinned outputs must be steps 1 to {run.step_index - 1}")
        task = StepTask(run_id=run.run_id, step_index=run.step_index, epoch=run.epoch)
        statements: list[Stmt] = [(
            "INSERT INTO runs(run_id, aec_id, owner_id, workflow_version, status, "
            "step_index, epoch, seq, deadline_at, input, provider, trace_id, created_at, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [run.run_id, run.aec_id, run.owner_id, run.workflow_version, run.status,
             run.step_index, run.epoch, run.seq, _ts(run.deadline_at), _json(run.input),
             _json(run.provider), run.trace_id, _ts(run.created_at), _ts(run.updated_at)],
        )]
        for step in pinned:
            statements.append((
                "INSERT INTO step_outputs(run_id, step_index, step_name, status, output, "
                "detail, attempts, started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [run.run_id, step.step_index, step.step_name, step.status, _json(step.output),
                 step.detail, step.attempts, _ts(step.started_at), _ts(step.finished_at)]))
        try:
            self.db.batch(statements)
        except LibsqlError as exc:
            if "UNIQUE" in str(exc) and "aec_id" in str(exc):
                raise ConflictError(
                    f"ticket {run.aec_id} already has a generation in progress"
                ) from None
            raise
        return task

    def claim(self, run_id: str, step_index: int, lease_id: str, lease_until: datetime,
              now: datetime, *, steal_from: str | None = None,
              projected_seq: int = 0, run: RunRecord | None = None) -> RunRecord | None:
        """Take the step's lease if it is free, expired, or held by ``steal_from`` (a
        holder known to be dead). One statement: its trigger records the attempt, and
        ``projected_seq`` (progress already projected) is noted in it too. ``None`` if
        not claimable. ``run``: the caller's copy (the run as it committed it), which
        spares parsing the claimed row when the row agrees with it."""
        rs = self.db.execute(*_claim_stmt(run_id, step_index, lease_id, lease_until, now,
                                          steal_from, projected_seq),
                             durable=False)  # a lost lease only means a second claim
        rows = rows_as_dicts(rs)
        if not rows:
            return None
        expected = None if run is None else run.model_copy(update={
            "lease_id": lease_id, "lease_until": lease_until, "attempt": run.attempt + 1,
            "updated_at": now, "projected_seq": max(run.projected_seq, projected_seq)})
        return _run_as(rows[0], expected)

    def claim_with_steps(self, run_id: str, step_index: int, lease_id: str,
                         lease_until: datetime, now: datetime, *,
                         steal_from: str | None = None, projected_seq: int = 0,
                         ) -> tuple[RunRecord, list[StepRecord]] | None:
        """:meth:`claim`, and the run's committed steps read in the same round trip."""
        rs = self.db.batch([
            _claim_stmt(run_id, step_index, lease_id, lease_until, now, steal_from,
                        projected_seq),
            ("SELECT * FROM step_outputs WHERE run_id = :run AND EXISTS (SELECT 1 FROM "
             "runs WHERE run_id = :run AND lease_id = :lease) ORDER BY step_index",
             {"run": run_id, "lease": lease_id}),
        ], durable=False)
        rows = rows_as_dicts(rs[0])
        if not rows:
            return None
        return _run_from(rows[0]), [_step_from(r) for r in rows_as_dicts(rs[1])]

    def commit(self, run_id: str, step_index: int, lease_id: str, now: datetime, *,
               step: StepRecord | None = None, next_task: StepTask | None = None,
               suspension: SuspensionRecord | None = None, complete: bool = False,
               provider: Any = None, run: RunRecord | None = None,
               carry: CarriedWrite | None = None) -> RunRecord | None:
        """Commit a claimed step (see module doc) and return the run as committed.
        ``None`` if the lease was lost or the run was cancelled meanwhile: the caller's
        work is discarded. ``next_task`` is the task the commit makes due; its outbox
        row is written by the pointer's trigger, in the same transaction. ``run``: the
        claimed run, from which the committed one is built (not parsed from the row)
        when the row agrees. ``carry``: a write of another store on this database (the
        ticket's progress), run in the same transaction only if the commit took effect;
        applied to a run it leaves at rest, the run is noted projected in it too."""
        sets = ["lease_id = NULL", "lease_until = NULL", "seq = seq + 1",
                "last_commit = :commit", "updated_at = :now"]
        commit_id = unique_suffix()  # unique per attempt: guards the inserts below
        params: dict[str, Any] = {"run": run_id, "step": step_index, "lease": lease_id,
                                  "commit": commit_id, "now": _ts(now)}
        if suspension is not None:
            sets += ["status = 'suspended'", "suspension = :susp", "suspension_token = :token",
                     "suspension_expires_at = :sexp"]
            params |= {"susp": _json(suspension), "token": suspension.token,
                       "sexp": _ts(suspension.expires_at)}
        else:
            sets += ["step_index = step_index + 1", "attempt = 0"]
        if complete:
            sets += ["status = 'completed'", "finished_at = :now"]
        if provider is not None:
            sets.append("provider = :provider")
            params["provider"] = _json(provider)
        stmts: list[Stmt] = [(
            f"UPDATE runs SET {', '.join(sets)} WHERE run_id = :run AND step_index = :step "
            "AND status = 'running' AND lease_id = :lease RETURNING *",
            params,
        )]
        if step is not None:
            stmts.append(_step_insert(step, run_id, commit_id))
        expected = None if run is None or provider is not None else committed_run(
            run, now, suspension=suspension, complete=complete)
        return self._write(stmts, run_id, commit_id, expected, next_task, carry,
                           at_rest=suspension is not None or complete)

    def _write(self, stmts: list[Stmt], run_id: str, commit_id: str,
               expected: RunRecord | None, next_task: StepTask | None,
               carry: CarriedWrite | None, *, at_rest: bool) -> RunRecord | None:
        """Run a commit's or a resume's batch (its first statement returns the run),
        with ``carry`` in the same transaction when it targets this database and was
        built for the run ``expected`` (guarded by its ``seq``); the run as written."""
        first_carried = len(stmts)
        if carry is not None and (carry.target is not self.db or expected is None):
            carry = None
        if carry is not None and expected is not None:
            stmts = [*stmts, *self._carried(carry, run_id, commit_id, expected,
                                            at_rest=at_rest)]
        results = self.db.batch(stmts)
        rows = rows_as_dicts(results[0])
        if not rows:
            return None
        done = _checked(_run_as(rows[0], expected), next_task)
        if carry is not None:
            done = self._settle(carry, results, first_carried, done)
        return done

    @staticmethod
    def _carried(carry: CarriedWrite, run_id: str, commit_id: str, expected: RunRecord, *,
                 at_rest: bool) -> list[Stmt]:
        """The carried write, guarded by this commit and the ``seq`` it was built for;
        at rest (no claim will note it), the run noted projected when it applied."""
        stmts: list[Stmt] = [carry.statement(
            "EXISTS (SELECT 1 FROM runs WHERE run_id = :run AND last_commit = :commit "
            "AND seq = :carried_seq)",
            {"run": run_id, "commit": commit_id, "carried_seq": expected.seq})]
        if at_rest:
            stmts.append((
                "UPDATE runs SET projected_seq = MAX(projected_seq, seq) "
                "WHERE run_id = :run AND last_commit = :commit AND changes() = 1",
                {"run": run_id, "commit": commit_id}))
        return stmts

    @staticmethod
    def _settle(carry: CarriedWrite, results: list[ResultSet], first: int,
                done: RunRecord) -> RunRecord:
        applied = results[first].rows_affected == 1
        carry.settle(applied)
        if applied and len(results) > first + 1:  # noted projected at rest
            return done.model_copy(update={"projected_seq": done.seq})
        return done

    def release(self, run_id: str, step_index: int, lease_id: str, now: datetime,
                error: str, *, outcome: str = "retry") -> None:
        """Give the lease back after a retryable failure so the retry can claim it, and
        record how the attempt ended (``retry``, or ``lost`` when its commit was refused)."""
        self.db.batch([
            (
                "UPDATE runs SET lease_id = NULL, lease_until = NULL, updated_at = ? "
                "WHERE run_id = ? AND step_index = ? AND lease_id = ?",
                [_ts(now), run_id, step_index, lease_id],
            ),
            (
                "UPDATE step_attempts SET finished_at = ?, outcome = ?, error = ? "
                "WHERE run_id = ? AND step_index = ? AND lease_id = ?",
                [_ts(now), outcome, error[:2000], run_id, step_index, lease_id],
            ),
        ], durable=False)

    def finish(self, run_id: str, status: str, now: datetime, *,
               error: RunError | None = None, cancel_reason: str | None = None,
               lease_id: str | None = None) -> bool:
        """Move an active run to ``failed`` or ``cancelled``; only one caller wins."""
        stmts: list[Stmt] = [(
            "UPDATE runs SET status = :status, error = :error, cancel_reason = :reason, "
            "lease_id = NULL, lease_until = NULL, suspension_token = NULL, seq = seq + 1, "
            "updated_at = :now, finished_at = :now "
            "WHERE run_id = :run AND status IN ('running', 'suspended') "
            + ("AND lease_id = :lease" if lease_id else ""),
            {"status": status, "error": _json(error), "reason": cancel_reason, "now": _ts(now),
             "run": run_id, **({"lease": lease_id} if lease_id else {})},
        )]
        if lease_id:
            stmts.append((
                "UPDATE step_attempts SET finished_at = ?, outcome = 'failed', error = ? "
                "WHERE run_id = ? AND lease_id = ?",
                [_ts(now), error.message if error else status, run_id, lease_id],
            ))
        return bool(self.db.batch(stmts)[0].rows_affected == 1)

    def resume(self, run_id: str, token: str, action: ActionRecord, now: datetime, *,
               step: StepRecord | None, next_task: StepTask | None,
               cancel_reason: str | None = None,
               run: RunRecord | None = None,
               carry: CarriedWrite | None = None) -> RunRecord | None:
        """Compare-and-set on the suspension token: the first valid action wins, and an
        action id already recorded never wins again. Returns the run as committed.

        ``run``: the caller's copy of the suspended run, saving a read (the token
        guarantees it is the suspension the compare-and-set resolves). ``carry``: as
        for :meth:`commit` (built for :func:`resumed_run` of that copy)."""
        if run is None or run.suspension is None or run.suspension.token != token:
            run = self.get_run(run_id)
        if run is None or run.suspension is None:
            return None
        commit_id = unique_suffix()
        expected = resumed_run(run, now, cancel_reason=cancel_reason)
        if cancel_reason is None:
            sets = ("status = 'running', step_index = step_index + 1, attempt = 0, "
                    "deadline_at = :deadline")
        else:
            sets = ("status = 'cancelled', cancel_reason = :reason, finished_at = :now")
        stmts: list[Stmt] = [(
            f"UPDATE runs SET {sets}, suspension = NULL, suspension_token = NULL, "
            "suspension_expires_at = NULL, seq = seq + 1, last_commit = :commit, "
            "updated_at = :now "
            "WHERE run_id = :run AND status = 'suspended' AND suspension_token = :token "
            "AND NOT EXISTS (SELECT 1 FROM actions WHERE aec_id = :aec AND action_id = :action) "
            "RETURNING *",
            {"deadline": _ts(expected.deadline_at), "reason": cancel_reason, "now": _ts(now),
             "commit": commit_id, "run": run_id, "token": token,
             "aec": action.aec_id, "action": action.action_id},
        )]
        if step is not None:
            stmts.append(_step_insert(step, run_id, commit_id))
        stmts.append(_action_insert(action, conditional_on=commit_id))
        return self._write(stmts, run_id, commit_id, expected, next_task, carry,
                           at_rest=cancel_reason is not None)

    def record_action(self, action: ActionRecord) -> ActionRecord:
        """Insert a (rejected) action unless its (ticket, id) is known; return what is
        stored."""
        self.db.batch([_action_insert(action, conditional_on=None)])
        stored = self.get_action(action.aec_id, action.action_id)
        assert stored is not None
        return stored

    def outbox_pending(self, older_than: datetime, limit: int = 100) -> list[StepTask]:
        rs = self.db.execute(
            "SELECT run_id, step_index, epoch FROM outbox WHERE dispatched_at IS NULL "
            "AND created_at <= ? ORDER BY created_at LIMIT ?",
            [_ts(older_than), limit],
        )
        return [StepTask(run_id=r[0], step_index=r[1], epoch=r[2]) for r in rs.rows]

    def mark_dispatched(self, task_names: list[str], now: datetime) -> None:
        if not task_names:
            return
        marks = ",".join("?" for _ in task_names)
        self.db.execute(
            f"UPDATE outbox SET dispatched_at = ? WHERE task_name IN ({marks})",
            [_ts(now), *task_names], durable=False,  # re-dispatch is harmless
        )

    def mark_projected(self, run_id: str, seq: int) -> None:
        self.db.execute(
            "UPDATE runs SET projected_seq = MAX(projected_seq, ?) WHERE run_id = ?",
            [seq, run_id], durable=False,
        )

    def redispatch(self, run: RunRecord, now: datetime) -> StepTask | None:
        """A running run whose task was lost: a new epoch and a new outbox row."""
        task = StepTask(run_id=run.run_id, step_index=run.step_index, epoch=run.epoch + 1)
        commit_id = unique_suffix()
        rs = self.db.execute(  # its trigger writes the new epoch's outbox row
            "UPDATE runs SET epoch = epoch + 1, last_commit = :commit, updated_at = :now "
            "WHERE run_id = :run AND epoch = :epoch AND status = 'running' "
            "AND step_index = :step",
            {"commit": commit_id, "now": _ts(now), "run": run.run_id, "epoch": run.epoch,
             "step": run.step_index},
        )
        return task if rs.rows_affected == 1 else None

    def sweep_view(self, now: datetime, stalled_before: datetime,
                   unprojected_before: datetime, limit: int = 100) -> SweepView:
        def q(where: str, args: list[Any]) -> list[RunRecord]:
            rs = self.db.execute(f"SELECT * FROM runs WHERE {where} LIMIT {int(limit)}", args)
            return [_run_from(r) for r in rows_as_dicts(rs)]

        n = _ts(now)
        return SweepView(
            expired_waits=q("status = 'suspended' AND suspension_expires_at < ?", [n]),
            overdue=q("status = 'running' AND deadline_at < ?", [n]),
            stalled=q(
                "status = 'running' AND (lease_until IS NULL OR lease_until < ?) "
                "AND updated_at < ? AND NOT EXISTS (SELECT 1 FROM outbox o WHERE "
                "o.run_id = runs.run_id AND o.dispatched_at IS NULL)",
                [n, _ts(stalled_before)],
            ),
            unprojected=q(
                "projected_seq < seq AND updated_at < ?", [_ts(unprojected_before)]
            ),
            leased=q("status = 'running' AND lease_id IS NOT NULL", []),
        )


def _claim_stmt(run_id: str, step_index: int, lease_id: str, lease_until: datetime,
                now: datetime, steal_from: str | None, projected_seq: int) -> Stmt:
    return (
        "UPDATE runs SET lease_id = :lease, lease_until = :until, attempt = attempt + 1, "
        "updated_at = :now, projected_seq = MAX(projected_seq, :projected) "
        "WHERE run_id = :run AND step_index = :step AND status = 'running' "
        "AND (lease_id IS NULL OR lease_until < :now OR lease_id = :steal) RETURNING *",
        {"lease": lease_id, "until": _ts(lease_until), "now": _ts(now), "run": run_id,
         "step": step_index, "steal": steal_from or "", "projected": projected_seq},
    )


def _checked(run: RunRecord, next_task: StepTask | None) -> RunRecord:
    """The committed run, checked against the task its caller expects to be due."""
    if next_task is not None and (next_task.step_index, next_task.epoch) != (
            run.step_index, run.epoch):
        raise RuntimeError(f"committed {run.run_id} to step {run.step_index} of epoch "
                           f"{run.epoch}, but the caller expects {next_task.name}")
    return run


def _step_insert(step: StepRecord, run_id: str, commit: str) -> Stmt:
    return (
        "INSERT INTO step_outputs(run_id, step_index, step_name, status, output, detail, "
        "attempts, started_at, finished_at) SELECT :run, :idx, :name, :status, :output, "
        f":detail, :attempts, :started, :finished WHERE {_COMMITTED}",
        {"run": run_id, "idx": step.step_index, "name": step.step_name, "status": step.status,
         "output": _json(step.output), "detail": step.detail, "attempts": step.attempts,
         "started": _ts(step.started_at), "finished": _ts(step.finished_at),
         "commit": commit},
    )


def _action_insert(action: ActionRecord, *, conditional_on: str | None) -> Stmt:
    sql = ("INSERT INTO actions(action_id, run_id, aec_id, type, token, uid, answers, status, "
           "reason, created_at) SELECT :id, :run, :aec, :type, :token, :uid, :answers, "
           ":status, :reason, :created")
    params = {"id": action.action_id, "run": action.run_id, "aec": action.aec_id,
              "type": action.type, "token": action.token, "uid": action.uid,
              "answers": _json(action.answers), "status": action.status,
              "reason": action.reason, "created": _ts(action.created_at)}
    if conditional_on is not None:
        sql += f" WHERE {_COMMITTED}"
        params["commit"] = conditional_on
    return (sql + " ON CONFLICT(aec_id, action_id) DO NOTHING", params)


def _action_from(row: dict[str, Any]) -> ActionRecord:
    return ActionRecord.model_validate(
        {**row, "answers": json.loads(row["answers"]) if row["answers"] else None}
    )


__all__ = ["LibsqlRunStore", "ResultSet"]
