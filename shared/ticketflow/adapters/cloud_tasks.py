"""``TaskQueue`` on Google Cloud Tasks (the official ``google-cloud-tasks`` client).

Each :class:`~ticketflow.ports.StepTask` becomes one HTTP task:

* name ``projects/P/locations/L/queues/Q/tasks/{task.name}`` (sanitised to the
  service's ``[A-Za-z0-9_-]{1,500}``), so a double enqueue of the same step and
  epoch is rejected by the service with ``AlreadyExists``, which :meth:`enqueue`
  reports as ``False`` (a duplicate is success, not an error);
* ``POST`` to the ``run_step`` URL with the JSON body ``{runId, stepIndex, epoch}``;
* authenticated with an OIDC token (service account + audience) in production, or
  with the ``X-Ticketflow-Task-Secret`` header locally (the emulator sends no
  token of its own);
* ``dispatch_deadline`` from settings, ``schedule_time`` for a delay.

Every RPC has a timeout and a bounded retry on transient gRPC errors; retrying a
create is safe because the name is deterministic (a retry after a lost reply sees
``AlreadyExists`` and reports ``False``). When the retries run out the error is a
:class:`~ticketflow.workflow.signals.RetryableError`: the caller's outbox row stays
pending and the sweeper dispatches it again.

The service alone decides what a duplicate is; this adapter keeps no memory of its
own. Known emulator gap: ``gcloud-tasks-emulator`` accepts duplicate task names, so
locally a double enqueue is delivered twice (the contract test states it as an
expected failure). The runtime makes a second delivery a no-op either way: a
finished step's task finds the run's pointer moved on, and a step in flight is
refused by its lease.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketflow.domain.errors import RetryableError
from ticketflow.ports import StepTask

log = logging.getLogger("ticketflow.cloud_tasks")

SECRET_HEADER = "X-Ticketflow-Task-Secret"
_NAME_OK = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
_TRANSIENT: tuple[type[Exception], ...] = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.ResourceExhausted,
    gexc.Aborted,
)
_GIVE_UP: tuple[type[Exception], ...] = (gexc.RetryError, *_TRANSIENT)


class CloudTasksSettings(BaseSettings):
    """``TICKETFLOW_TASKS_*``: where step tasks go and how they authenticate."""

    model_config = SettingsConfigDict(env_prefix="TICKETFLOW_TASKS_", env_file=".env",
                                      extra="ignore")

    project_id: str = "demo-ticketflow"
    location: str = "us-central1"
    queue: str = "ticketflow-steps"
    target_url: str = Field("http://127.0.0.1:8090/run_step",
                            description="the run_step function's URL")
    emulator_host: str | None = Field(None, description="host:port of a Cloud Tasks "
                                      "emulator (insecure gRPC); unset in production")
    service_account_email: str | None = Field(
        None, description="production: OIDC tokens are minted for this account")
    audience: str | None = Field(None, description="OIDC audience (default: target_url)")
    secret: str | None = Field(None, description="local: value of the "
                               "X-Ticketflow-Task-Secret header")
    invoker_emails: str = Field("", description="comma-separated extra service accounts "
                                "allowed to call run_step / sweep (Cloud Scheduler's)")
    dispatch_deadline_s: float = Field(600.0, ge=15.0, le=1800.0)
    index_queue: str = Field("ticketflow-index", description="the index_repository queue")
    index_target_url: str | None = Field(
        None, description="the index_repository function's URL (default: target_url with "
        "run_step replaced by index_repository)")
    index_dispatch_deadline_s: float = Field(1800.0, ge=15.0, le=1800.0)
    rpc_timeout_s: float = Field(10.0, gt=0)
    rpc_retry_deadline_s: float = Field(30.0, gt=0)

    @property
    def queue_path(self) -> str:
        return f"projects/{self.project_id}/locations/{self.location}/queues/{self.queue}"

    @property
    def oidc_audience(self) -> str:
        return self.audience or self.target_url

    def for_index(self) -> CloudTasksSettings:
        """These settings aimed at the index queue and the index_repository function
        (the OIDC audience is that function's URL unless ``audience`` is set)."""
        url = self.index_target_url or self.target_url.replace("/run_step", "/index_repository")
        return self.model_copy(update={"queue": self.index_queue, "target_url": url,
                                       "dispatch_deadline_s": self.index_dispatch_deadline_s})

    @property
    def allowed_invokers(self) -> set[str]:
        extra = {e.strip() for e in self.invoker_emails.split(",") if e.strip()}
        return extra | ({self.service_account_email} if self.service_account_email else set())


def sanitize_task_id(name: str) -> str:
    """A task id the service accepts, stable for a given ``name``. Names already
    valid are kept; others get their bad characters replaced and a short digest of
    the original appended, so two different names never collide."""
    if _NAME_OK.match(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)[: 500 - 13]
    return f"{cleaned}-{digest}"


def task_body(task: StepTask) -> dict[str, Any]:
    return {"runId": task.run_id, "stepIndex": task.step_index, "epoch": task.epoch}


def make_client(settings: CloudTasksSettings) -> tasks_v2.CloudTasksClient:
    """The official client; an insecure gRPC channel when an emulator is configured."""
    if settings.emulator_host:
        import grpc  # type: ignore[import-untyped]
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        channel = grpc.insecure_channel(settings.emulator_host)
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    return tasks_v2.CloudTasksClient()


def _retry(deadline_s: float) -> gretry.Retry:
    return gretry.Retry(predicate=gretry.if_exception_type(*_TRANSIENT), initial=0.1,
                        maximum=2.0, multiplier=2.0, timeout=deadline_s)



def http_request(s: CloudTasksSettings, body: dict[str, Any]) -> tasks_v2.HttpRequest:
    """A task's POST of ``body`` as JSON to ``s.target_url``, authenticated with an
    OIDC token for ``s.service_account_email`` (production) or the secret header."""
    http = tasks_v2.HttpRequest(
        http_method=tasks_v2.HttpMethod.POST, url=s.target_url,
        headers={"Content-Type": "application/json"}, body=json.dumps(body).encode())
    if s.service_account_email:
        http.oidc_token = tasks_v2.OidcToken(
            service_account_email=s.service_account_email, audience=s.oidc_audience)
    else:
        assert s.secret is not None
        http.headers[SECRET_HEADER] = s.secret
    return http

class CloudTasksQueue:
    """``TaskQueue`` on Cloud Tasks (see the module doc)."""

    def __init__(self, settings: CloudTasksSettings | None = None, *,
                 client: Any | None = None) -> None:
        self.settings = settings or CloudTasksSettings()
        if not self.settings.service_account_email and not self.settings.secret:
            raise ValueError(
                "Cloud Tasks needs TICKETFLOW_TASKS_SERVICE_ACCOUNT_EMAIL (OIDC, production) "
                "or TICKETFLOW_TASKS_SECRET (local header) so run_step can authenticate")
        self.client = client if client is not None else make_client(self.settings)

    def task_path(self, task: StepTask) -> str:
        return f"{self.settings.queue_path}/tasks/{sanitize_task_id(task.name)}"

    def build_task(self, task: StepTask, *, delay_s: float = 0.0,
                   now: datetime | None = None) -> tasks_v2.Task:
        s = self.settings
        http = http_request(s, task_body(task))
        proto = tasks_v2.Task(
            name=self.task_path(task), http_request=http,
            dispatch_deadline=duration_pb2.Duration(seconds=int(s.dispatch_deadline_s)),
        )
        if delay_s > 0:
            when = (now or datetime.now(UTC)) + timedelta(seconds=delay_s)
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(when)
            proto.schedule_time = ts
        return proto

    def enqueue(self, task: StepTask, *, delay_s: float = 0.0) -> bool:
        s = self.settings
        try:
            self.client.create_task(
                request={"parent": s.queue_path, "task": self.build_task(task, delay_s=delay_s)},
                retry=_retry(s.rpc_retry_deadline_s), timeout=s.rpc_timeout_s,
            )
        except gexc.AlreadyExists:
            log.info("task already exists", extra={"task": task.name})
            return False
        except _GIVE_UP as exc:
            raise RetryableError(f"Cloud Tasks unavailable: {exc}",
                                 code="tasks_unavailable") from exc
        return True


def ensure_queue(settings: CloudTasksSettings | None = None, *, client: Any | None = None,
                 max_attempts: int = 20, min_backoff_s: float = 1.0,
                 max_backoff_s: float = 60.0) -> str:
    """Create the queue if it does not exist (local use: emulator or a dev project);
    returns its path. Production queues are created by ``deploy/deploy.sh``."""
    s = settings or CloudTasksSettings()
    client = client if client is not None else make_client(s)
    queue = tasks_v2.Queue(
        name=s.queue_path,
        retry_config=tasks_v2.RetryConfig(
            max_attempts=max_attempts,
            min_backoff=duration_pb2.Duration(seconds=int(min_backoff_s)),
            max_backoff=duration_pb2.Duration(seconds=int(max_backoff_s)),
        ),
    )
    parent = f"projects/{s.project_id}/locations/{s.location}"
    with contextlib.suppress(gexc.AlreadyExists):
        client.create_queue(request={"parent": parent, "queue": queue},
                            retry=_retry(s.rpc_retry_deadline_s), timeout=s.rpc_timeout_s)
    return s.queue_path
