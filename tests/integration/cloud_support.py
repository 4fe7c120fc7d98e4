"""Helpers for the cloud-function tests: a task receiver, the Firestore REST API
as a signed-in user sees it, and the cross-process stack (Cloud Tasks emulator,
functions processes, Firestore emulator with the trigger, Auth emulator)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
import pytest

from ticketflow.adapters.cloud_tasks import CloudTasksSettings, ensure_queue
from ticketflow.adapters.firestore import FirestoreDocumentStore, firestore_client
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.dev.stack import (
    ACTION_PATTERN,
    AEC_PATTERN,
    TRIGGER_ID,
    UPDATE_TRIGGER_ID,
    UPDATED_EVENT,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    FunctionsServer,
    TasksEmulator,
    free_port,
    functions_env,
    wait_port_free,
)
from ticketflow.ports.records import RunRecord

T = TypeVar("T")
SECRET = "test-task-secret"


class TaskReceiver:
    """An HTTP server that records every POST (name from the Cloud Tasks header)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                name = headers.get("x-cloudtasks-taskname", "")
                receiver.requests.append((name, headers, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TaskReceiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_until(check: Callable[[], T | None], timeout_s: float = 60.0, *,
               what: str = "condition", logs: Callable[[], str] | None = None,
               interval_s: float = 0.1) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    value = check()
    if value:
        return value
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}"
                         + (f"\n--- logs ---\n{logs()}" if logs else ""))


# -- Firestore REST as a signed-in user (rules apply) --------------------------------------


def rest_value(v: Any) -> dict[str, Any]:
    if v is None:
        return {"nullValue": None}
    if isinstance(v, bool):
        return {"booleanValue": v}
    if isinstance(v, int):
        return {"integerValue": str(v)}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, dict):
        return {"mapValue": {"fields": {k: rest_value(x) for k, x in v.items()}}}
    raise TypeError(type(v))


def action_event_body(fields: dict[str, Any], aec_id: str, action_id: str, *,
                      project_id: str = "demo-ticketflow") -> bytes:
    """The ``document.v1.created`` payload of an action document (protobuf)."""
    from google.events.cloud.firestore_v1.types import Document, DocumentEventData, Value

    def val(v: Any) -> Any:
        if isinstance(v, dict):
            return Value(map_value={"fields": {k: val(x) for k, x in v.items()}})
        return Value(string_value=v)

    name = (f"projects/{project_id}/databases/(default)/documents/aecs/{aec_id}"
            f"/actions/{action_id}")
    doc = Document(name=name, fields={k: val(v) for k, v in fields.items()})
    return bytes(DocumentEventData.serialize(DocumentEventData(value=doc)))


def write_action(fs: FirestoreEmulator, id_token: str, aec_id: str, fields: dict[str, Any],
                 action_id: str | None = None) -> tuple[str, httpx.Response]:
    """Create ``aecs/{aec}/actions/{id}`` with the user's token; ``createdAt`` is set to
    the request time with a field transform, as the web SDK's serverTimestamp does."""
    action_id = action_id or f"act-{uuid.uuid4().hex[:12]}"
    name = (f"projects/{fs.project_id}/databases/(default)/documents/aecs/{aec_id}"
            f"/actions/{action_id}")
    body = {"writes": [{
        "update": {"name": name, "fields": {k: rest_value(v) for k, v in fields.items()}},
        "currentDocument": {"exists": False},
        "updateTransforms": [{"fieldPath": "createdAt", "setToServerValue": "REQUEST_TIME"}],
    }]}
    resp = httpx.post(f"{fs.base_url}/v1/projects/{fs.project_id}/databases/(default)"
                      "/documents:commit", json=body,
                      headers={"Authorization": f"Bearer {id_token}"}, timeout=10.0)
    return action_id, resp


def edit_aec(fs: FirestoreEmulator, id_token: str, aec_id: str,
             fields: dict[str, Any]) -> httpx.Response:
    """Update only ``fields`` of ``aecs/{aec}`` with the user's token, as the web page's
    edit does (a PATCH with an update mask; the rules decide)."""
    name = f"projects/{fs.project_id}/databases/(default)/documents/aecs/{aec_id}"
    return httpx.patch(f"{fs.base_url}/v1/{name}",
                       params=[("updateMask.fieldPaths", k) for k in fields],
                       json={"fields": {k: rest_value(v) for k, v in fields.items()}},
                       headers={"Authorization": f"Bearer {id_token}"}, timeout=10.0)


# -- the cross-process stack -----------------------------------------------------------------


@dataclass
class CloudStack:
    """Session-wide emulators; functions processes started per test on ``trigger_port``
    (where the Firestore emulator delivers the action trigger)."""

    log_dir: Path
    tasks: TasksEmulator
    firestore: FirestoreEmulator
    auth: AuthEmulator
    trigger_port: int
    started: list[FunctionsServer] = field(default_factory=list)

    def start(self) -> None:
        self.tasks.start()
        self.firestore.start()
        self.firestore.register_trigger(TRIGGER_ID, ACTION_PATTERN)
        self.firestore.register_trigger(UPDATE_TRIGGER_ID, AEC_PATTERN, UPDATED_EVENT)
        self.auth.start()

    def stop(self) -> None:
        for proc in self.started:
            proc.stop()
        for emulator in (self.auth, self.firestore, self.tasks):
            emulator.stop()

    def logs(self) -> str:
        parts = []
        for proc in [*self.started, self.tasks, self.firestore]:
            parts.append(f"== {proc.name} ({proc.log_path})\n{proc.log_tail(30)}")
        return "\n".join(parts)


@contextlib.contextmanager
def running_stack(log_dir: Path) -> Iterator[CloudStack]:
    """The emulators for one test module; a stack that cannot start fails the tests."""
    trigger_port = free_port()
    s = CloudStack(
        log_dir=log_dir, tasks=TasksEmulator(log_dir),
        firestore=FirestoreEmulator(log_dir, functions_emulator=f"127.0.0.1:{trigger_port}"),
        auth=AuthEmulator(log_dir), trigger_port=trigger_port)
    try:
        s.start()
    except EmulatorError as exc:
        s.stop()
        pytest.fail(f"emulator stack did not start: {exc}", pytrace=False)
    try:
        yield s
    finally:
        s.stop()


def document_store(stack: CloudStack) -> FirestoreDocumentStore:
    client = firestore_client(stack.firestore.project_id, stack.firestore.host_port)
    return FirestoreDocumentStore(client, timeout_s=5.0)


@dataclass
class Deployment:
    """One test's functions process(es), queue and libSQL file."""

    stack: CloudStack
    db_path: Path
    queue: str
    extra_env: dict[str, str] = field(default_factory=dict)
    server: FunctionsServer | None = None
    db: Database | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.stack.trigger_port}"

    def env(self, port: int, **extra: str) -> dict[str, str]:
        return functions_env(
            db_url=f"file:{self.db_path}", project_id=self.stack.firestore.project_id,
            firestore_host=self.stack.firestore.host_port,
            tasks_host=self.stack.tasks.host_port, queue=self.queue,
            functions_url=f"http://127.0.0.1:{port}", secret=SECRET,
            auth_host=self.stack.auth.host_port,
            extra={"TICKETFLOW_LLM": "offline", "TICKETFLOW_INDEX_WAIT_S": "0",
                   "TICKETFLOW_RETRY_BACKOFF_SCALE": "0.01",
                   "TICKETFLOW_OUTBOX_GRACE_S": "0", **self.extra_env, **extra})

    def start_functions(self, *, port: int | None = None, server: str = "gunicorn",
                        name: str = "functions", **extra: str) -> FunctionsServer:
        port = port or self.stack.trigger_port
        wait_port_free("127.0.0.1", port)
        proc = FunctionsServer(self.stack.log_dir, self.env(port, **extra), port=port,
                               server=server, name=f"{name}-{self.queue}")
        self.stack.started.append(proc)
        try:
            proc.start()
        except EmulatorError as exc:
            raise AssertionError(f"functions did not start: {exc}") from exc
        if port == self.stack.trigger_port:
            self.server = proc
        return proc

    def ensure_queue(self) -> None:
        ensure_queue(CloudTasksSettings(project_id=self.stack.firestore.project_id,
                                        queue=self.queue,
                                        emulator_host=self.stack.tasks.host_port))

    def runs(self) -> LibsqlRunStore:
        if self.db is None:
            self.db = Database(f"file:{self.db_path}")
        return LibsqlRunStore(self.db)

    def run(self, run_id: str) -> RunRecord:
        record = self.runs().get_run(run_id)
        assert record is not None, run_id
        return record

    def wait_run(self, run_id: str, check: Callable[[RunRecord], bool], what: str,
                 timeout_s: float = 60.0) -> RunRecord:
        return wait_until(lambda: (r if check(r := self.run(run_id)) else None), timeout_s,
                          what=what, logs=self.stack.logs)

    def post(self, path: str, json: Any = None, *, token: str | None = None,
             secret: bool = False, base: str | None = None) -> httpx.Response:
        headers: dict[str, str] = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if secret:
            headers["X-Ticketflow-Task-Secret"] = SECRET
        return httpx.post(f"{base or self.url}{path}", json=json, headers=headers,
                          timeout=30.0)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
