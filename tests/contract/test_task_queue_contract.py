"""One contract for every ``TaskQueue``: libSQL (embedded), in-memory (unit tests) and
Cloud Tasks (against ``gcloud-tasks-emulator``, the official client over gRPC).

Contract: a new name is accepted (True); the same name again is a successful no-op
(False); another epoch of the same step is a new task; a delayed task is not
delivered before its delay.

Cloud Tasks runs against ``gcloud-tasks-emulator`` with nothing in between: the
adapter keeps no memory of the names it created. The emulator accepts a duplicate
name (the real service answers ``AlreadyExists``), so the duplicate case is a strict
expected failure there: it fails today for that reason alone, and turns into an
error the day the emulator starts rejecting duplicates. How the adapter maps the
real service's ``AlreadyExists`` and its transient errors can only be tested with
the real client against fake gRPC errors (below). That a duplicate delivery is
harmless is the runtime's job, tested across processes in
``tests/integration/test_outside_kill.py``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest
from google.api_core import exceptions as gexc
from google.cloud import tasks_v2

from ticketflow.adapters.cloud_tasks import (
    SECRET_HEADER,
    CloudTasksQueue,
    CloudTasksSettings,
    ensure_queue,
    sanitize_task_id,
)
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.queue import LibsqlTaskQueue
from ticketflow.adapters.memory import MemoryTaskQueue
from ticketflow.dev.emulators import EmulatorError
from ticketflow.dev.processes import TasksEmulator
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import StepTask, TaskQueue
from ticketflow.testing.receiver import TaskReceiver


class Harness(Protocol):
    queue: TaskQueue

    def delivered(self) -> set[str]:
        """Names of the tasks delivered (or due) so far."""
        ...


class LibsqlHarness:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.queue = LibsqlTaskQueue(self.db)
        self._seen: set[str] = set()

    def delivered(self) -> set[str]:
        while (claimed := self.queue.claim("contract", 60.0)) is not None:
            task, _ = claimed
            self.queue.ack(task, "contract")
            self._seen.add(task.name)
        return set(self._seen)


class MemoryHarness:
    """The memory queue only records; a task is "delivered" once its delay elapsed."""

    def __init__(self) -> None:
        self.queue = MemoryTaskQueue()
        self._at: dict[str, float] = {}
        real = self.queue.enqueue

        def enqueue(task: StepTask, *, delay_s: float = 0.0) -> bool:
            ok = real(task, delay_s=delay_s)
            if ok:
                self._at[task.name] = time.monotonic()
            return ok

        self.queue.enqueue = enqueue  # type: ignore[method-assign]

    def delivered(self) -> set[str]:
        now = time.monotonic()
        return {name for name, (_, delay) in self.queue.tasks.items()
                if self._at[name] + delay <= now}


class CloudHarness:
    def __init__(self, emulator: TasksEmulator, receiver: TaskReceiver) -> None:
        settings = CloudTasksSettings(
            emulator_host=emulator.host_port, queue=f"contract-{uuid.uuid4().hex[:8]}",
            target_url=f"{receiver.url}/run_step", secret="contract-secret")
        ensure_queue(settings)
        self.queue = CloudTasksQueue(settings)
        self.receiver = receiver
        self.prefix = settings.queue_path

    def delivered(self) -> set[str]:
        return {name for name, headers, _ in self.receiver.requests
                if headers.get("x-cloudtasks-queuename") == self.prefix}


@pytest.fixture(scope="module")
def tasks_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TasksEmulator]:
    emulator = TasksEmulator(tmp_path_factory.mktemp("tasks-emulator"))
    try:
        emulator.start()
    except EmulatorError as exc:
        pytest.fail(f"Cloud Tasks emulator did not start: {exc}", pytrace=False)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[TaskReceiver]:
    with TaskReceiver() as r:
        yield r


@pytest.fixture(params=["libsql-native", "libsql-libsql-client", "libsql-sqld", "memory",
                        "cloud_tasks"])
def harness(request: pytest.FixtureRequest,
            open_libsql: Callable[[str], Database]) -> Iterator[Harness]:
    if request.param.startswith("libsql-"):
        yield LibsqlHarness(open_libsql(request.param.removeprefix("libsql-")))
    elif request.param == "memory":
        yield MemoryHarness()
    else:
        yield CloudHarness(request.getfixturevalue("tasks_emulator"),
                           request.getfixturevalue("receiver"))


def _wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _task(step: int = 1, epoch: int = 0) -> StepTask:
    return StepTask(run_id=f"run-{uuid.uuid4().hex[:12]}", step_index=step, epoch=epoch)


EMULATOR_ACCEPTS_DUPLICATES = (
    "gcloud-tasks-emulator accepts a task whose name already exists (the real service "
    "answers ALREADY_EXISTS), so the second enqueue returns True and the task is "
    "delivered twice")


def test_new_name_accepted_and_duplicate_is_a_successful_noop(
        harness: Harness, request: pytest.FixtureRequest) -> None:
    if isinstance(harness, CloudHarness):
        request.applymarker(pytest.mark.xfail(strict=True,
                                              reason=EMULATOR_ACCEPTS_DUPLICATES))
    task = _task()
    assert harness.queue.enqueue(task) is True
    assert harness.queue.enqueue(task) is False
    assert harness.queue.enqueue(task.model_copy()) is False
    assert _wait_for(lambda: task.name in harness.delivered())


def test_another_epoch_or_step_is_a_new_task(harness: Harness) -> None:
    task = _task(step=3)
    assert harness.queue.enqueue(task)
    assert harness.queue.enqueue(StepTask(run_id=task.run_id, step_index=3, epoch=1))
    assert harness.queue.enqueue(StepTask(run_id=task.run_id, step_index=4))
    names = {task.name, f"{task.run_id}-3-1", f"{task.run_id}-4-0"}
    assert _wait_for(lambda: names <= harness.delivered())


def test_delay_is_honoured(harness: Harness) -> None:
    task = _task(step=2)
    start = time.monotonic()
    assert harness.queue.enqueue(task, delay_s=1.5)
    while time.monotonic() - start < 1.2:
        assert task.name not in harness.delivered(), "delivered before its delay"
        time.sleep(0.1)
    assert _wait_for(lambda: task.name in harness.delivered(), timeout_s=10.0)
    assert time.monotonic() - start >= 1.5


# -- Cloud Tasks specifics, with the real client and fake gRPC errors ----------------------


class FakeClient:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    def create_task(self, request: dict[str, Any], retry: Any = None,
                    timeout: float | None = None) -> Any:
        self.calls.append({"request": request, "timeout": timeout})

        def call() -> Any:
            self.calls.append({"attempt": True})
            if self.errors:
                raise self.errors.pop(0)
            return request["task"]

        return retry(call)() if retry is not None else call()


def _settings(**kw: Any) -> CloudTasksSettings:
    base: dict[str, Any] = {"project_id": "p", "location": "l", "queue": "q",
                            "target_url": "https://fn.example/run_step", "secret": "s3cret",
                            "rpc_retry_deadline_s": 1.0}
    return CloudTasksSettings(**{**base, **kw})


def test_already_exists_from_the_service_means_false() -> None:
    client = FakeClient(gexc.AlreadyExists("task exists"))
    queue = CloudTasksQueue(_settings(), client=client)
    assert queue.enqueue(StepTask(run_id="run-1", step_index=1)) is False


def test_transient_errors_are_retried_then_reported_as_retryable() -> None:
    client = FakeClient(gexc.ServiceUnavailable("blip"), gexc.DeadlineExceeded("slow"))
    queue = CloudTasksQueue(_settings(), client=client)
    assert queue.enqueue(StepTask(run_id="run-1", step_index=1)) is True
    # A retry after a lost reply sees AlreadyExists: still a success.
    client = FakeClient(gexc.DeadlineExceeded("lost reply"), gexc.AlreadyExists("mine"))
    assert CloudTasksQueue(_settings(), client=client).enqueue(
        StepTask(run_id="run-1", step_index=1)) is False
    down = FakeClient(*[gexc.ServiceUnavailable("down")] * 100)
    started = time.monotonic()
    with pytest.raises(RetryableError) as info:
        CloudTasksQueue(_settings(), client=down).enqueue(StepTask(run_id="r", step_index=1))
    assert info.value.code == "tasks_unavailable"
    assert time.monotonic() - started < 5.0
    with pytest.raises(gexc.PermissionDenied):
        CloudTasksQueue(_settings(), client=FakeClient(gexc.PermissionDenied("no"))).enqueue(
            StepTask(run_id="r", step_index=1))


def test_task_shape_secret_header_locally_oidc_in_production() -> None:
    task = StepTask(run_id="run-abc", step_index=5, epoch=2)
    local = CloudTasksQueue(_settings(dispatch_deadline_s=300), client=FakeClient())
    proto = local.build_task(task, delay_s=30)
    assert proto.name == "projects/p/locations/l/queues/q/tasks/run-abc-5-2"
    assert proto.http_request.url == "https://fn.example/run_step"
    assert proto.http_request.http_method == tasks_v2.HttpMethod.POST
    assert proto.http_request.headers[SECRET_HEADER] == "s3cret"
    assert proto.http_request.body == b'{"runId": "run-abc", "stepIndex": 5, "epoch": 2}'
    assert proto.dispatch_deadline.total_seconds() == 300
    assert proto.schedule_time is not None
    prod = CloudTasksQueue(_settings(secret=None, service_account_email="tasks@p.iam",
                                     audience="https://fn.example"), client=FakeClient())
    proto = prod.build_task(task)
    assert SECRET_HEADER not in proto.http_request.headers
    assert proto.http_request.oidc_token.service_account_email == "tasks@p.iam"
    assert proto.http_request.oidc_token.audience == "https://fn.example"
    with pytest.raises(ValueError, match="SERVICE_ACCOUNT_EMAIL"):
        CloudTasksQueue(_settings(secret=None), client=FakeClient())


def test_task_ids_are_sanitised_deterministically() -> None:
    assert sanitize_task_id("run-abc-1-0") == "run-abc-1-0"
    odd = sanitize_task_id("run.with/odd:chars-1-0")
    assert odd == sanitize_task_id("run.with/odd:chars-1-0")
    assert odd != sanitize_task_id("run_with_odd_chars-1-0")
    assert all(c.isalnum() or c in "-_" for c in odd)
    assert len(sanitize_task_id("x" * 900)) <= 500
