"""The run store's schema migration to actions keyed by (ticket, action id), on a file
(both drivers) and on a libSQL server: a database written by schema version 1 keeps
every row, is migrated once (versioned on its own, idempotent), and then takes two
tickets' actions of the same id."""

from __future__ import annotations

from datetime import UTC, datetime

from ticketflow.adapters.libsql.database import Database, apply_schema
from ticketflow.adapters.libsql.runs import SCHEMA, LibsqlRunStore
from ticketflow.ports.records import ActionRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _v1_action(db: Database, action_id: str, aec_id: str, status: str) -> None:
    db.execute(
        "INSERT INTO actions(action_id, run_id, aec_id, type, token, uid, answers, status, "
        "reason, created_at) VALUES (?, 'r1', ?, 'proceed', 'T', 'u1', '{\"q1\": \"yes\"}', "
        "?, NULL, ?)", [action_id, aec_id, status, NOW.isoformat()])


def test_version_1_rows_survive_the_migration_to_ticket_keys(libsql_db: Database) -> None:
    apply_schema(libsql_db, "runs", 1, SCHEMA)  # a database as version 1 left it
    _v1_action(libsql_db, "act-1", "a1", "accepted")
    _v1_action(libsql_db, "act-2", "a1", "rejected")
    pk = libsql_db.execute("SELECT name FROM pragma_table_info('actions') WHERE pk > 0").rows
    assert [r[0] for r in pk] == ["action_id"]

    store = LibsqlRunStore(libsql_db)  # migrates
    LibsqlRunStore(libsql_db)  # a second process: nothing more to do
    version = libsql_db.execute("SELECT version FROM schema_versions "
                                "WHERE component = 'runs:actions_by_ticket'").rows[0][0]
    assert version == 1
    pk = libsql_db.execute(
        "SELECT name FROM pragma_table_info('actions') WHERE pk > 0 ORDER BY pk").rows
    assert [r[0] for r in pk] == ["aec_id", "action_id"]
    kept = store.get_action("a1", "act-1")
    assert kept is not None and kept.status == "accepted" and kept.answers == {"q1": "yes"}
    assert [a.action_id for a in store.actions("r1")] == ["act-1", "act-2"]
    index = libsql_db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actions' "
        "AND name = 'actions_run'").rows
    assert index, "the run index is rebuilt with the table"

    other = store.record_action(ActionRecord(
        action_id="act-1", run_id="r2", aec_id="a2", type="cancel", token="T",
        status="rejected", reason="no suspension", created_at=NOW))
    assert (other.aec_id, other.status) == ("a2", "rejected")
    still = store.get_action("a1", "act-1")
    assert still is not None and still.status == "accepted"


def test_the_migration_is_idempotent_when_two_processes_race(libsql_db: Database) -> None:
    """Both saw the migration missing and both run its batch: no row is lost."""
    from ticketflow.adapters.libsql.runs import ACTIONS_BY_TICKET

    apply_schema(libsql_db, "runs", 1, SCHEMA)
    _v1_action(libsql_db, "act-1", "a1", "accepted")
    for _ in range(2):
        libsql_db.batch([(s, None) for s in ACTIONS_BY_TICKET])
    rows = libsql_db.execute("SELECT aec_id, action_id, status FROM actions").rows
    assert [tuple(r) for r in rows] == [("a1", "act-1", "accepted")]
