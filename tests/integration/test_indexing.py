"""Repository indexing on the embedded default: the store's guarantees (on both libSQL
file drivers and on sqld), incremental builds across commits, secrets never stored, bounds, retries,
the sweeper, access between users, and a kill -9 in the middle of a build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repositories import LibsqlRepositoryStore
from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.domain import AEC, RepoContext, TicketRequest
from ticketflow.ports.records import RunRecord
from ticketflow.ports.repositories import IndexRecord, RepositoryRecord
from ticketflow.repo_index import version
from ticketflow.testing.embedded import QUESTIONS, SAMPLE_REPO, run_to_end, settings_for
from ticketflow.testing.git_repos import commit_files, make_repo
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.definition import CURRENT
from ticketflow.workflow.indexing import TEMP_PREFIX, index_id_for, repo_id_for
from ticketflow.workflow.steps.s05_repo_context import gather_repo_context

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[EmbeddedApp]:
    application = open_embedded(settings_for(tmp_path, index_workdir=str(tmp_path / "work")))
    yield application
    application.close()


def counts(db: Database, index_id: str) -> int:
    return int(db.execute("SELECT COUNT(*) FROM idx_files WHERE repo = ?",
                          [index_id]).rows[0][0])


# -- the store, on both file drivers and on a libSQL server (sqld) ---------------------------


@pytest.fixture
def store(libsql_db: Database) -> LibsqlRepositoryStore:
    return LibsqlRepositoryStore(libsql_db)


def record(index_id: str = "ix-a", repo_id: str = "repo-a", owner: str = "alice",
           deadline: datetime = NOW + timedelta(hours=1)) -> IndexRecord:
    return IndexRecord(index_id=index_id, repo_id=repo_id, owner_id=owner, url="file:///r",
                       commit="c" * 40, deadline_at=deadline, created_at=NOW, updated_at=NOW)


def test_registrations_belong_to_one_owner(store: LibsqlRepositoryStore) -> None:
    def reg(owner: str, ref: str | None = None) -> RepositoryRecord:
        return store.register(RepositoryRecord(
            repo_id=repo_id_for(owner, "https://h/x", ref), owner_id=owner,
            url="https://h/x", ref=ref, created_at=NOW, updated_at=NOW))

    a1, a2, b = reg("alice"), reg("alice"), reg("bob")
    assert a1 == a2 and a1.repo_id != b.repo_id
    assert reg("alice", "dev").repo_id != a1.repo_id
    assert [r.repo_id for r in store.repositories("bob")] == [b.repo_id]


def test_claims_leases_and_retries(store: LibsqlRepositoryStore) -> None:
    stored, enqueue = store.request_index(record())
    assert enqueue and stored.state == "pending" and stored.epoch == 0
    assert store.request_index(record()) [1] is False  # queued already: no second task
    later = NOW + timedelta(seconds=60)
    claimed = store.claim("ix-a", "h:1:a", later, NOW)
    assert claimed is not None and claimed.attempts == 1 and claimed.state == "indexing"
    assert store.claim("ix-a", "h:2:b", later, NOW) is None  # one builder at a time
    assert store.heartbeat("ix-a", "h:1:a", later, NOW)
    assert not store.heartbeat("ix-a", "h:2:b", later, NOW)
    assert store.release("ix-a", "h:1:a", NOW, error="boom", not_before=later)
    assert store.claim("ix-a", "h:2:b", later, NOW) is None  # backing off
    assert store.claim("ix-a", "h:2:b", later + timedelta(seconds=60), later) is not None
    assert store.finish("ix-a", "h:2:b", later, error="broken for good")
    failed = store.get_index("ix-a")
    assert failed is not None and failed.state == "failed"
    assert failed.status.error == "broken for good"
    again, enqueue = store.request_index(record())  # asked again: the next epoch
    assert enqueue and again.epoch == 1 and again.attempts == 0 and again.state == "pending"


def test_stalled_indexes_are_found_and_redispatched_once(store: LibsqlRepositoryStore) -> None:
    store.request_index(record())
    store.claim("ix-a", "elsewhere:1:x", NOW + timedelta(seconds=5), NOW)
    quiet = NOW + timedelta(minutes=5)
    assert [r.index_id for r in store.stalled(quiet, quiet)] == ["ix-a"]
    task = store.redispatch("ix-a", 0, quiet)
    assert task is not None and task.epoch == 1 and task.name == "index-ix-a-1"
    assert store.redispatch("ix-a", 0, quiet) is None  # compare-and-set on the epoch


# -- builds -----------------------------------------------------------------------------------


def test_a_new_commit_reindexes_only_what_changed(app: EmbeddedApp, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, SAMPLE_REPO)
    url = f"file://{repo}"
    first = app.index_repository(url)
    total = first.status.files_total
    assert first.state == "ready" and first.stats.extracted == total > 20
    same = app.index_repository(url)  # same commit: the same index, nothing rebuilt
    assert same.index_id == first.index_id and same.stats == first.stats
    commit_files(repo, {"billing/pdf.py": "def render_invoice_pdf(invoice):\n    return b''\n",
                        "billing/export.py": "def export_csv(rows):\n    return ''\n",
                        "notifications/mailer.py": None})
    second = app.index_repository(url)
    assert second.index_id != first.index_id and second.commit != first.commit
    assert second.base_index_id == first.index_id
    assert second.stats.extracted == 2  # one changed, one added
    assert second.stats.copied == total - 2  # the rest, minus the deleted file
    assert counts(app.db, second.index_id) == total
    assert app.index.path_exists(second.index_id, "billing/export.py")
    assert not app.index.path_exists(second.index_id, "notifications/mailer.py")
    assert app.index.lookup(second.index_id, "symbol", "export_csv").found
    # the first commit's index still answers for tickets validated against it
    assert app.index.path_exists(first.index_id, "notifications/mailer.py")
    assert app.index.search(first.index_id, "mailer notification", 3)
    assert not list((tmp_path / "work").glob(f"{TEMP_PREFIX}*"))  # temp files cleaned
    # what the incremental build holds is what a cold build of that commit holds
    cold = open_embedded(settings_for(tmp_path / "cold"))
    try:
        fresh = cold.index_repository(url)
        assert fresh.commit == second.commit and fresh.stats.extracted == total
        assert contents(cold.db, fresh.index_id) == contents(app.db, second.index_id)
    finally:
        cold.close()


def test_a_new_version_of_the_extractors_copies_nothing_from_an_older_index(
        app: EmbeddedApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, SAMPLE_REPO)
    url = f"file://{repo}"
    first = app.index_repository(url)
    total = first.status.files_total
    commit_files(repo, {"billing/export.py": "def export_csv(rows):\n    return ''\n"})
    # the next commit is indexed after an upgrade of the extractors
    monkeypatch.setattr(version, "EXTRACTOR", "a-later-version")
    second = app.index_repository(url)
    assert second.base_index_id == first.index_id
    assert second.stats.copied == 0 and second.stats.extracted == total + 1
    assert app.index.lookup(second.index_id, "symbol", "export_csv").found
    # and the commit after that copies from the index this version built
    commit_files(repo, {"billing/pdf.py": "def render_invoice_pdf(invoice):\n    return b''\n"})
    third = app.index_repository(url)
    assert third.stats.extracted == 1 and third.stats.copied == total


def contents(db: Database, key: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of index ``key``, table by table, without its key and row ids."""
    out: dict[str, list[tuple[object, ...]]] = {}
    tables = [str(r[0]) for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'idx%' "
        "AND name NOT LIKE 'idx_fts%' AND name != 'idx_repos'").rows]
    for t in tables:
        cols = [str(r[1]) for r in db.execute(f"PRAGMA table_info({t})").rows]
        if "repo" not in cols:
            continue
        keep = [c for c in cols if c not in ("repo", "id")]
        rows = db.execute(f"SELECT {', '.join(keep)} FROM {t} WHERE repo = ?", [key]).rows
        out[t] = sorted(tuple(r) for r in rows)
    fts = db.execute("SELECT f.path, t.* FROM idx_fts t JOIN idx_files f ON f.id = t.rowid "
                     "WHERE f.repo = ?", [key]).rows
    out["idx_fts"] = sorted(tuple(r) for r in fts)
    assert out["idx_files"] and out["idx_fts"]
    return out


def test_secrets_are_never_stored(app: EmbeddedApp, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {
        "app/settings.py": "import os\nAPI = os.environ['PAYMENT_API_KEY']\n",
        ".env": "PAYMENT_API_KEY=sk_live_DOTENVVALUE\n",
        ".env.production": "PAYMENT_API_KEY=sk_live_PRODVALUE\n",
        "deploy/id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nRSAKEYMATERIAL\n",
        "certs/tls.pem": "-----BEGIN PRIVATE KEY-----\nPEMKEYMATERIAL\n",
        "android/release.keystore": "KEYSTOREMATERIAL\n",
    })
    rec = app.index_repository(f"file://{repo}")
    assert rec.state == "ready" and rec.stats.skipped["excluded"] == 4
    dump = "\n".join(_dump(app.db))
    for secret in ("DOTENVVALUE", "PRODVALUE", "RSAKEYMATERIAL", "PEMKEYMATERIAL",
                   "KEYSTOREMATERIAL"):
        assert secret not in dump
    assert "PAYMENT_API_KEY" in dump  # the key of .env is indexed, its value never
    assert app.index.lookup(rec.index_id, "setting", "PAYMENT_API_KEY").found


def _dump(db: Database) -> list[str]:
    out: list[str] = []
    tables = [str(r[0]) for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'").rows]
    for t in tables:
        for row in db.execute(f"SELECT * FROM \"{t}\"").rows:
            out.extend(str(v) for v in row if isinstance(v, str | bytes))
    return out


@pytest.mark.parametrize(("limits", "words"), [
    ({"index_max_files": 5}, "files, more than the limit of 5 (TICKETFLOW_INDEX_MAX_FILES)"),
    ({"index_max_bytes": 2_000}, "too large to index"),
])
def test_bounds_fail_the_index_with_a_clear_message(
        tmp_path: Path, limits: dict[str, int], words: str) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, SAMPLE_REPO)
    application = open_embedded(settings_for(tmp_path, **limits))
    try:
        rec = application.index_repository(f"file://{repo}")
    finally:
        application.close()
    assert rec.state == "failed" and words in (rec.status.error or "")
    assert rec.attempts == 1  # terminal: not retried


def test_unreachable_is_retried_with_backoff_then_failed(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    application = open_embedded(settings_for(tmp_path, index_max_attempts=3,
                                             index_backoff_s=0.05))
    try:
        rec = application.index_repository(f"http://127.0.0.1:{port}/gone.git")
    finally:
        application.close()
    assert rec.state == "failed" and rec.commit is None
    assert rec.status.error == ("gave up after 3 attempts; last error: cannot reach "
                                f"http://127.0.0.1:{port}/gone.git: connection refused")


def test_the_sweeper_never_leaves_an_index_indexing(app: EmbeddedApp, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"a.py": "def a():\n    pass\n"})
    registered = app.indexer.register(LOCAL_UID, f"file://{repo}")
    rec = app.indexer.request(registered)
    now = app.indexer.clock.now()
    # a builder on another host took it and vanished, and its task was lost
    assert app.repositories.claim(rec.index_id, "elsewhere:1:x", now, now) is not None
    assert app.indexer.sweep(quiet_s=0) == 1
    with app.index_pool():
        done = _wait(app, rec.index_id)
    assert done.state == "ready" and done.epoch == 1
    # past its deadline, a stalled index is failed instead, with the reason
    late = app.indexer.request(app.indexer.register(LOCAL_UID, f"file://{repo}", "master"))
    app.db.execute("UPDATE repo_indexes SET deadline_at = ? WHERE index_id = ?",
                   [(now - timedelta(seconds=1)).isoformat(), late.index_id])
    app.indexer.sweep(quiet_s=0)
    failed = app.repositories.get_index(late.index_id)
    assert failed is not None and failed.state == "failed"
    assert "did not finish within" in (failed.status.error or "")


def _wait(app: EmbeddedApp, index_id: str, timeout_s: float = 30.0) -> IndexRecord:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rec = app.repositories.get_index(index_id)
        if rec is not None and rec.finished:
            return rec
        time.sleep(0.05)
    raise AssertionError(f"index {index_id} did not finish")


# -- access between users ---------------------------------------------------------------------


def test_another_users_repository_is_never_used(app: EmbeddedApp, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, SAMPLE_REPO)
    url = f"file://{repo}"
    alice = app.index_repository(url, owner="alice")
    # bob names alice's registration: refused before any run exists
    aec = app.documents.create(AEC.new(aec_id="aec-bob", owner_id="bob",
                                       repo_id=alice.repo_id, **QUESTIONS))
    with pytest.raises(PermissionError, match="registered by another user"):
        app.engine.start(aec.id, uid="bob")
    assert app.runs.list_runs(10, aec_id=aec.id) == []
    # bob typing the same URL gets his own registration and his own index
    mine = app.documents.create(AEC.new(aec_id="aec-bob2", owner_id="bob", repo=url,
                                        **QUESTIONS))
    run = app.engine.start(mine.id, uid="bob")
    ctx = RepoContext.model_validate(run.input["repository"])
    assert ctx.repo_id != alice.repo_id and ctx.index_id != alice.index_id
    assert run_to_end(app, run.run_id, Reply("skip")).status == "completed"
    # a run that carries alice's index id anyway (a forged input) does not read it
    forged = TicketRequest(title="x", repo=url, repository=RepoContext(
        url=url, index_id=alice.index_id, status="ready"))
    now = datetime.now(UTC)
    bob_run = RunRecord(run_id="run-forged", aec_id="aec-bob", owner_id="bob",
                        workflow_version=CURRENT.version, deadline_at=now, input=forged.doc(),
                        created_at=now, updated_at=now)
    out = gather_repo_context(StepContext(run=bob_run, deps=app.engine.deps))
    assert out.outcome == "degraded" and out.files == []
    assert "belongs to another user" in out.detail


def test_ids_are_per_owner_and_commit() -> None:
    a, b = repo_id_for("alice", "https://h/x", None), repo_id_for("bob", "https://h/x", None)
    assert a != b
    assert index_id_for(a, "c" * 40) == index_id_for(a, "c" * 40) != index_id_for(b, "c" * 40)
    assert index_id_for(a, None, ref="main") != index_id_for(a, None)


# -- kill -9 in the middle of a build ---------------------------------------------------------


def test_kill_9_mid_index_then_the_index_resumes_and_completes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {f"pkg/mod_{i:03d}.py": f"def fn_{i}():\n    return {i}\n"
                     for i in range(500)})
    db = tmp_path / "tf.db"
    work = tmp_path / "work"
    env = {**os.environ, "TICKETFLOW_LLM": "offline", "TICKETFLOW_INDEX_WORKDIR": str(work),
           "PYTHONPATH": str(ROOT / "shared")}
    url = f"file://{repo}"
    crashed = subprocess.run(
        [sys.executable, "-m", "ticketflow.testing.crash", "--db", str(db), "index", url],
        env={**env, "TICKETFLOW_CRASH_AT": "index_file:450"}, capture_output=True,
        timeout=120, check=False)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    with Database(f"file:{db}") as database:
        store = LibsqlRepositoryStore(database)
        (repo_row,) = store.repositories(LOCAL_UID)
        assert repo_row.latest_index_id is not None
        left = store.get_index(repo_row.latest_index_id)
        assert left is not None and left.state == "indexing"  # what the crash left
        assert left.status.files_done >= 400 and counts(database, left.index_id) >= 400
    assert list(work.glob(f"{TEMP_PREFIX}*"))  # the killed process's clone is still there
    done = subprocess.run(
        [sys.executable, "-m", "ticketflow.cli.main", "--db", str(db), "index", url,
         "--json"],
        env=env, capture_output=True, timeout=120, check=False, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with Database(f"file:{db}") as database:
        rec = LibsqlRepositoryStore(database).get_index(left.index_id)
        assert rec is not None and rec.state == "ready" and rec.attempts == 2
        assert rec.stats.kept >= 400 and rec.stats.extracted <= 100  # resumed, not redone
        assert rec.stats.kept + rec.stats.extracted == 500
        assert counts(database, rec.index_id) == 500
    assert not list(work.glob(f"{TEMP_PREFIX}*"))  # and its temp directory swept
