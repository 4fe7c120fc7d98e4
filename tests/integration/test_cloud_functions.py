"""The cloud functions in process (``functions_framework.create_app(...).test_client()``):
authentication, validation and error mapping, against the Firestore and Auth emulators,
with the libSQL run store on a temporary file and a recording task queue.

The same functions across real processes (Cloud Tasks emulator, trigger, crashes) are
in ``test_cloud_functions_e2e.py``.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app
from google.cloud import firestore

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.cloud_tasks import CloudTasksSettings
from ticketflow.adapters.firestore import FirestoreDocumentStore
from ticketflow.adapters.firestore_repositories import FirestoreRepositoryView
from ticketflow.adapters.libsql.database import Database, rows_as_dicts
from ticketflow.adapters.libsql.metrics import ensure_schema
from ticketflow.adapters.libsql.queue import LibsqlTaskQueue
from ticketflow.adapters.libsql.repositories import LibsqlIndexQueue
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.adapters.memory import MemoryTaskQueue
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.cloud.events import decode_document_change, decode_document_event
from ticketflow.compose.cloud import (
    CloudApp,
    CloudSettings,
    UnsafeEnvironmentError,
    build_cloud_app,
    check_environment,
    set_app,
    set_app_factory,
)
from ticketflow.compose.repositories import build_repositories
from ticketflow.dev.emulators import PROJECT_ROOT, AuthEmulator, FirestoreEmulator
from ticketflow.domain import AEC
from ticketflow.domain.errors import RetryableError
from ticketflow.settings import Settings
from ticketflow.testing.git_repos import index_now, make_repo
from ticketflow.testing.rest import action_event_body
from ticketflow.workflow.context import StepDeps
from ticketflow.workflow.runtime import Engine

SOURCE = str(PROJECT_ROOT / "functions" / "main.py")
EVENTS = PROJECT_ROOT / "tests" / "fixtures" / "events"
SAMPLE_REPO = PROJECT_ROOT / "examples" / "sample-repo"
SECRET = "in-process-secret"
ORIGIN = "http://127.0.0.1:5000"
CRITICAL = {"title": "Fix the PDF download of paid invoices",
            "description": "Downloading the PDF of a paid invoice fails with a 500 error. "
                           "The bug is in `render_invoice_pdf()` in billing/pdf_renderer.py."}


@pytest.fixture(scope="module")
def auth_env(auth_emulator: AuthEmulator) -> Iterator[AuthEmulator]:
    """firebase-admin reads the emulator address when its auth client is first made."""
    old = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = auth_emulator.host_port
    yield auth_emulator
    if old is None:
        os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    else:
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = old


@pytest.fixture(scope="module")
def clients() -> dict[str, FlaskClient]:
    targets = {"start_generation": "http", "run_step": "http", "sweep": "http",
               "on_action_created": "cloudevent", "on_aec_updated": "cloudevent"}
    return {t: create_app(t, SOURCE, sig).test_client() for t, sig in targets.items()}


@pytest.fixture
def app(tmp_path: Path, firestore_client: firestore.Client,
        firestore_emulator: FirestoreEmulator, auth_env: AuthEmulator) -> Iterator[CloudApp]:
    settings = Settings(db_url=f"file:{tmp_path}/tf.db", llm="offline", index_wait_s=0.0,
                        retry_backoff_scale=0.01, outbox_grace_s=0.0)
    db = Database(settings.db_url)
    clock = SystemClock()
    documents = FirestoreDocumentStore(firestore_client, clock=clock, timeout_s=5.0)
    view = FirestoreRepositoryView(firestore_client, timeout_s=5.0)
    repos = build_repositories(db, settings, clock,
                               LibsqlIndexQueue(LibsqlTaskQueue(db, queue="index")),
                               allow_local=False, view=view)
    llm = OfflineLanguageModel()
    queue = MemoryTaskQueue()
    engine = Engine(runs=LibsqlRunStore(db), documents=documents, queue=queue,
                    deps=StepDeps(llm=llm, documents=documents, clock=clock, index=repos.index,
                                  repositories=repos.store),
                    settings=settings, indexer=repos.indexer)
    cloud = CloudSettings(project_id=firestore_emulator.project_id,
                          firestore_emulator_host=firestore_emulator.host_port,
                          cors_origins=ORIGIN)
    application = CloudApp(settings, cloud, CloudTasksSettings(secret=SECRET), db,
                           LibsqlRunStore(db), documents, queue, repos.index, llm, engine,
                           repos.store, repos.indexer, view)
    make_repo(tmp_path / "sample-repo", SAMPLE_REPO)
    set_app(application)
    yield application
    set_app(None)
    engine.close()
    db.close()


def _ticket(app: CloudApp, owner: str, *, repo: bool = True) -> AEC:
    """A draft naming the sample repository (a git URL), indexed for ``owner``."""
    url = None
    if repo:
        url = f"file://{Path(app.settings.db_url.removeprefix('file:')).parent / 'sample-repo'}"
        assert index_now(app.settings.db_url, owner, url).state == "ready"
    return app.documents.create(AEC.new(aec_id=f"aec-{uuid.uuid4().hex[:10]}", owner_id=owner,
                                        repo=url, **CRITICAL))


def _error(resp: Any) -> str:
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


def _drain(app: CloudApp, clients: dict[str, FlaskClient]) -> list[str]:
    """Deliver recorded tasks through run_step until none are left."""
    assert isinstance(app.queue, MemoryTaskQueue)
    outcomes = []
    while tasks := app.queue.pop_all():
        for t in tasks:
            resp = clients["run_step"].post("/", json={"runId": t.run_id,
                                                       "stepIndex": t.step_index,
                                                       "epoch": t.epoch},
                                            headers={"X-Ticketflow-Task-Secret": SECRET})
            assert resp.status_code == 200, resp.get_data(as_text=True)
            outcomes.append(resp.get_json()["outcome"])
    return outcomes


# -- start_generation ------------------------------------------------------------------------


def test_cors_preflight(app: CloudApp, clients: dict[str, FlaskClient]) -> None:
    resp = clients["start_generation"].options(
        "/", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                      "Access-Control-Request-Headers": "authorization, content-type"})
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    other = clients["start_generation"].options("/", headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_start_auth_validation_and_errors(app: CloudApp, clients: dict[str, FlaskClient],
                                          auth_env: AuthEmulator) -> None:
    start = clients["start_generation"]
    owner, token = auth_env.sign_up(f"o-{uuid.uuid4().hex[:6]}@example.com", "secret-pw")
    _, other_token = auth_env.sign_in_anonymously()
    aec = _ticket(app, owner)
    resp = start.post("/", json={"aecId": aec.id})
    assert resp.status_code == 401 and _error(resp) == "unauthenticated"
    resp = start.post("/", json={"aecId": aec.id}, headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and _error(resp) == "unauthenticated"
    auth = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    for bad in ("not json", json.dumps({"aec": aec.id}), json.dumps({"aecId": ""}),
                json.dumps({"aecId": aec.id, "extra": 1}), json.dumps([aec.id])):
        resp = start.post("/", data=bad, headers=auth, content_type="application/json")
        assert resp.status_code == 400 and _error(resp) == "invalid_request", bad
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    resp = start.post("/", json={"aecId": "aec-missing"}, headers=auth)
    assert resp.status_code == 404 and _error(resp) == "not_found"
    resp = start.post("/", json={"aecId": aec.id},
                      headers={"Authorization": f"Bearer {other_token}"})
    assert resp.status_code == 403 and _error(resp) == "forbidden"
    resp = start.post("/", json={"aecId": aec.id}, headers=auth)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    run_id = resp.get_json()["runId"]
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert [t.name for t in app.queue.pop_all()] == [f"{run_id}-1-0"]  # type: ignore[attr-defined]
    again = start.post("/", json={"aecId": aec.id}, headers=auth)
    assert again.status_code == 409 and _error(again) in ("already_running", "locked")
    assert start.get("/", headers=auth).status_code == 405


@pytest.mark.parametrize("aec_id", ["..", ".", "__x__", "__", "a/b", "aec\n1"],
                         ids=["dotdot", "dot", "reserved", "underscores", "slash", "control"])
def test_start_refuses_an_illegal_ticket_id_before_touching_firestore(
        app: CloudApp, clients: dict[str, FlaskClient], auth_env: AuthEmulator,
        monkeypatch: pytest.MonkeyPatch, aec_id: str) -> None:
    _, token = auth_env.sign_in_anonymously()
    touched: list[str] = []

    def tripwire(aec_id: str) -> None:
        touched.append(aec_id)
        raise AssertionError("Firestore was read for an illegal ticket id")

    monkeypatch.setattr(app.documents, "get", tripwire)
    resp = clients["start_generation"].post(
        "/", json={"aecId": aec_id}, headers={"Authorization": f"Bearer {token}",
                                              "Origin": ORIGIN})
    assert resp.status_code == 400 and _error(resp) == "invalid_request"
    assert "not a valid ticket id" in resp.get_json()["error"]["message"]
    assert touched == []


def test_an_unexpected_start_error_is_json_500_with_cors(
        app: CloudApp, clients: dict[str, FlaskClient], auth_env: AuthEmulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    owner, token = auth_env.sign_in_anonymously()
    aec = _ticket(app, owner, repo=False)

    def boom(aec_id: str, *, uid: str, trace_id: str | None = None) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.engine, "start", boom)
    resp = clients["start_generation"].post(
        "/", json={"aecId": aec.id}, headers={"Authorization": f"Bearer {token}",
                                              "Origin": ORIGIN})
    assert resp.status_code == 500 and _error(resp) == "internal"
    assert "RuntimeError: disk on fire" in resp.get_json()["error"]["message"]
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_every_function_answers_with_cors_when_the_app_cannot_be_built(
        clients: dict[str, FlaskClient]) -> None:
    """The functions' own start fails (here: a database URL nobody can open): each HTTP
    function still answers a JSON 500 that names the error, with the CORS headers, so
    the page shows it instead of "Failed to fetch"."""

    def broken() -> CloudApp:
        raise RuntimeError("cannot open the database at file:/nonexistent/dir/tf.db")

    set_app(None)
    set_app_factory(broken)
    try:
        for target in ("start_generation", "run_step", "sweep"):
            resp = clients[target].post("/", json={"aecId": "a"},
                                        headers={"Origin": ORIGIN})
            assert resp.status_code == 500 and _error(resp) == "internal", target
            message = resp.get_json()["error"]["message"]
            assert "RuntimeError: cannot open the database" in message, message
            assert resp.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN), target
    finally:
        set_app_factory(build_cloud_app)


def test_every_function_answers_503_with_cors_while_the_database_is_down(
        clients: dict[str, FlaskClient]) -> None:
    """A database that cannot be reached while the app is built: each HTTP function
    answers 503 with the wait (``Retry-After``) and the CORS headers, so the page can
    say to try again instead of "Failed to fetch"."""

    def down() -> CloudApp:
        raise RetryableError("the database cannot be reached", code="database_unavailable",
                             retry_after_s=4.2)

    set_app(None)
    set_app_factory(down)
    try:
        for target in ("start_generation", "run_step", "sweep"):
            resp = clients[target].post("/", json={"aecId": "a"},
                                        headers={"Origin": ORIGIN})
            assert resp.status_code == 503, (target, resp.get_data(as_text=True))
            assert resp.headers["Retry-After"] == "5", target
            assert _error(resp) == "database_unavailable", target
            assert resp.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN), target
    finally:
        set_app_factory(build_cloud_app)


def test_a_disabled_user_gets_401(app: CloudApp, clients: dict[str, FlaskClient],
                                  auth_env: AuthEmulator) -> None:
    owner, token = auth_env.sign_up(f"d-{uuid.uuid4().hex[:6]}@example.com", "secret-pw")
    aec = _ticket(app, owner, repo=False)
    auth_env.disable_user(owner)
    resp = clients["start_generation"].post(
        "/", json={"aecId": aec.id}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and _error(resp) == "user_disabled"
    assert app.runs.active_run(aec.id) is None


def test_a_lock_that_cannot_be_written_leaves_no_run(
        app: CloudApp, firestore_client: firestore.Client, auth_env: AuthEmulator) -> None:
    """A ticket whose version cannot be incremented (written past the rules with the
    admin client): start fails, and the run it created is cancelled, not left active."""
    owner, _ = auth_env.sign_in_anonymously()
    aec = _ticket(app, owner, repo=False)
    firestore_client.collection("aecs").document(aec.id).update({"version": 2**63 - 1})
    with pytest.raises(Exception, match=r"(?i)range|overflow|invalid"):
        app.engine.start(aec.id, uid=owner)
    assert app.runs.active_run(aec.id) is None
    [run] = app.runs.list_runs(aec_id=aec.id)
    assert run.status == "cancelled" and (run.cancel_reason or "").startswith("not started")


# -- run_step / sweep ---------------------------------------------------------------------------


def test_run_step_accepts_only_task_calls_and_maps_outcomes(
        app: CloudApp, clients: dict[str, FlaskClient], auth_env: AuthEmulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    step = clients["run_step"]
    owner, _ = auth_env.sign_in_anonymously()
    aec = _ticket(app, owner)
    run = app.engine.start(aec.id, uid=owner)
    body = {"runId": run.run_id, "stepIndex": 1, "epoch": 0}
    assert step.post("/", json=body).status_code == 401
    assert step.post("/", json=body,
                     headers={"X-Ticketflow-Task-Secret": "wrong"}).status_code == 401
    ok = {"X-Ticketflow-Task-Secret": SECRET}
    for bad in ({"runId": run.run_id}, {"runId": "", "stepIndex": 1}, {"stepIndex": 12},
                "garbage"):
        resp = step.post("/", json=bad, headers=ok)
        assert resp.status_code == 200 and resp.get_json()["outcome"] == "rejected", bad
        assert "bad step task dropped" in resp.get_json()["error"]
    assert _drain(app, clients) == ["committed", "committed", "committed", "suspended"]
    for _ in range(2):  # the same task delivered again: a no-op
        resp = step.post("/", json=body, headers=ok)
        assert resp.status_code == 200 and resp.get_json()["outcome"] == "duplicate"
    record = app.runs.get_run(run.run_id)
    assert record is not None and record.status == "suspended" and record.step_index == 4

    def busy(task: Any) -> Any:
        raise RetryableError("Firestore unavailable", code="firestore_unavailable",
                             retry_after_s=2.3)

    monkeypatch.setattr(app.engine, "run_step", busy)
    resp = step.post("/", json=body, headers=ok)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "3"
    assert _error(resp) == "firestore_unavailable"


def test_sweep_needs_the_task_secret(app: CloudApp, clients: dict[str, FlaskClient]) -> None:
    assert clients["sweep"].post("/").status_code == 401
    resp = clients["sweep"].post("/", headers={"X-Ticketflow-Task-Secret": SECRET})
    assert resp.status_code == 200 and "redispatched" in resp.get_json()


def test_oidc_mode_refuses_calls_without_a_google_token(
        app: CloudApp, clients: dict[str, FlaskClient]) -> None:
    app.tasks = CloudTasksSettings(service_account_email="tasks@p.iam.gserviceaccount.com",
                                   audience="https://fn.example/run_step")
    resp = clients["run_step"].post("/", json={"runId": "r", "stepIndex": 1},
                                    headers={"X-Ticketflow-Task-Secret": SECRET})
    assert resp.status_code == 401
    resp = clients["run_step"].post("/", json={"runId": "r", "stepIndex": 1},
                                    headers={"Authorization": "Bearer not-a-jwt"})
    assert resp.status_code == 401 and _error(resp) == "unauthenticated"


DEPLOYED = {"K_SERVICE": "start-generation", "TICKETFLOW_DB_URL": "libsql://db.example"}


def test_production_refuses_the_auth_emulator() -> None:
    env = {**DEPLOYED, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}
    with pytest.raises(UnsafeEnvironmentError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        check_environment(env)
    check_environment({**env, "TICKETFLOW_ALLOW_EMULATOR_AUTH": "1"})
    check_environment({**env, "TICKETFLOW_ALLOW_EMULATOR_AUTH": "1",
                       "FIREBASE_AUTH_EMULATOR_HOST": "[::1]:9099"})
    check_environment({**env, "TICKETFLOW_ALLOW_EMULATOR_AUTH": "1",
                       "FIREBASE_AUTH_EMULATOR_HOST": "localhost:9099"})
    check_environment({"FIREBASE_AUTH_EMULATOR_HOST": "10.0.0.5:9099"})  # not deployed
    check_environment(DEPLOYED)


@pytest.mark.parametrize("host", ["10.0.0.5:9099", "auth.example.com:9099", "0.0.0.0:9099"])
def test_emulator_auth_allowed_only_on_a_loopback_address(host: str) -> None:
    env = {**DEPLOYED, "FIREBASE_AUTH_EMULATOR_HOST": host,
           "TICKETFLOW_ALLOW_EMULATOR_AUTH": "1"}
    with pytest.raises(UnsafeEnvironmentError, match="loopback"):
        check_environment(env)


@pytest.mark.parametrize("url", [None, "file:/tmp/tf.db", "/tmp/tf.db"],
                         ids=["default", "file-url", "bare-path"])
def test_a_deployed_function_refuses_a_file_database(url: str | None) -> None:
    env = {"K_SERVICE": "run-step"}
    if url is not None:
        env["TICKETFLOW_DB_URL"] = url
    with pytest.raises(UnsafeEnvironmentError, match="libSQL server"):
        check_environment(env)


# -- on_action_created ------------------------------------------------------------------------


def _post_event(client: FlaskClient, aec_id: str, action_id: str, body: bytes,
                content_type: str) -> Any:
    headers = {"ce-specversion": "1.0", "ce-id": uuid.uuid4().hex,
               "ce-source": "//firestore.googleapis.com/projects/demo-ticketflow/databases/"
                            "(default)",
               "ce-type": "google.cloud.firestore.document.v1.created",
               "ce-subject": f"documents/aecs/{aec_id}/actions/{action_id}",
               "Content-Type": content_type}
    resp = client.post("/", data=body, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


@pytest.mark.parametrize("form,content_type", [
    ("action_created.b64", "application/protobuf"),
    ("action_created.pb", "application/protobuf"),
    ("action_created.json", "application/json"),
])
def test_event_fixtures_in_every_form(app: CloudApp, clients: dict[str, FlaskClient],
                                      form: str, content_type: str) -> None:
    body = (EVENTS / form).read_bytes()
    decoded = decode_document_event(body if form != "action_created.json"
                                    else json.loads(body))
    assert decoded.path == "aecs/aec-fixture/actions/act-fixture"
    assert decoded.fields["type"] == "proceed" and decoded.fields["uid"] == "user-fixture"
    assert decoded.fields["createdAt"].year == 2026
    _post_event(clients["on_action_created"], "aec-fixture", "act-fixture", body,
                content_type)
    result = app.documents.get_action_result("aec-fixture", "act-fixture")
    assert result is not None and result.status == "rejected"
    assert result.reason == "unknown run run-fixture" and result.run_id == "run-fixture"


def test_event_forms_agree() -> None:
    raw = (EVENTS / "action_created.pb").read_bytes()
    b64 = (EVENTS / "action_created.b64").read_text()
    js = json.loads((EVENTS / "action_created.json").read_text())
    assert base64.b64decode(b64) == raw
    forms = [decode_document_event(raw), decode_document_event(b64),
             decode_document_event(b64.encode()), decode_document_event(js)]
    assert all(f == forms[0] for f in forms)


def test_actions_validated_owner_checked_and_idempotent(
        app: CloudApp, clients: dict[str, FlaskClient], auth_env: AuthEmulator) -> None:
    events = clients["on_action_created"]
    owner, _ = auth_env.sign_in_anonymously()
    aec = _ticket(app, owner)
    run = app.engine.start(aec.id, uid=owner)
    _drain(app, clients)
    waiting = app.runs.get_run(run.run_id)
    assert waiting is not None and waiting.suspension is not None
    token = waiting.suspension.token

    def send(action_id: str, **fields: Any) -> Any:
        _post_event(events, aec.id, action_id, action_event_body(fields, aec.id, action_id),
                    "application/protobuf")
        return app.documents.get_action_result(aec.id, action_id)

    bad = send("a-bad", type="bogus", runId=run.run_id, token=token, uid=owner)
    assert bad.status == "rejected" and bad.reason.startswith("invalid action: type")
    anon = send("a-anon", type="proceed", runId=run.run_id, token=token)
    assert anon.status == "rejected" and "uid" in anon.reason
    foreign = send("a-foreign", type="proceed", runId=run.run_id, token=token, uid="intruder")
    assert foreign.status == "rejected"
    assert foreign.reason == "only the ticket's owner can act on its generation"
    stale = send("a-stale", type="proceed", runId=run.run_id, token="old", uid=owner)
    assert stale.status == "rejected" and "stale" in stale.reason
    first = send("a-ok", type="proceed", runId=run.run_id, token=token, uid=owner)
    assert first.status == "accepted", first
    moved = app.runs.get_run(run.run_id)
    assert moved is not None and moved.step_index == 5
    again = send("a-ok", type="proceed", runId=run.run_id, token=token, uid=owner)
    assert again.status == "accepted"
    late = send("a-late", type="cancel", runId=run.run_id, token=token, uid=owner)
    assert late.status == "rejected"
    assert [t.step_index for t in app.queue.pop_all()] == [5]  # type: ignore[attr-defined]


# -- on_aec_updated ---------------------------------------------------------------------------


def _post_update(client: FlaskClient, body: bytes, content_type: str, event_id: str,
                 aec_id: str = "aec-fixture") -> None:
    headers = {"ce-specversion": "1.0", "ce-id": event_id,
               "ce-source": "//firestore.googleapis.com/projects/demo-ticketflow/databases/"
                            "(default)",
               "ce-type": "google.cloud.firestore.document.v1.updated",
               "ce-subject": f"documents/aecs/{aec_id}", "Content-Type": content_type}
    resp = client.post("/", data=body, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _ticket_events(app: CloudApp) -> list[dict[str, Any]]:
    ensure_schema(app.db)
    return rows_as_dicts(app.db.execute(
        "SELECT aec_id, kind, uid, status_before, fields, created_at, event_id "
        "FROM ticket_events ORDER BY id"))


@pytest.mark.parametrize("form,content_type", [
    ("aec_updated.b64", "application/protobuf"),
    ("aec_updated.pb", "application/protobuf"),
    ("aec_updated.json", "application/json"),
])
def test_web_edit_of_a_ready_ticket_recorded_once(app: CloudApp,
                                                  clients: dict[str, FlaskClient],
                                                  form: str, content_type: str) -> None:
    body = (EVENTS / form).read_bytes()
    for _ in range(2):  # delivered twice: one row
        _post_update(clients["on_aec_updated"], body, content_type, "evt-edit-1")
    assert _ticket_events(app) == [{
        "aec_id": "aec-fixture", "kind": "edit", "uid": "user-fixture",
        "status_before": "ready", "fields": "title",
        "created_at": "2026-01-02T03:20:00+00:00", "event_id": "evt-edit-1"}]
    _post_update(clients["on_aec_updated"], body, content_type, "evt-edit-2")
    assert len(_ticket_events(app)) == 2  # another event: another edit


def test_server_writes_and_other_events_are_not_edits(
        app: CloudApp, clients: dict[str, FlaskClient]) -> None:
    events = clients["on_aec_updated"]
    server = (EVENTS / "aec_server_write.json").read_bytes()
    change = decode_document_change(json.loads(server))
    assert change.changed(["generationState"]) == ["generationState"]
    _post_update(events, server, "application/json", "evt-server")
    # a create (no old document) and an action's event are not ticket edits either
    _post_update(events, (EVENTS / "action_created.pb").read_bytes(),
                 "application/protobuf", "evt-action")
    assert _ticket_events(app) == []
