"""``IndexQueue`` on Google Cloud Tasks: ``index_repository`` tasks on their own queue
(``TICKETFLOW_TASKS_INDEX_QUEUE``), so a long index never delays a ticket's steps.

Same rules as :mod:`ticketflow.adapters.cloud_tasks`: the task name is
deterministic (``index-{indexId}-{epoch}``: a double enqueue is ``AlreadyExists``,
reported as ``False``), the body is JSON ``{indexId, epoch}``, authentication is an
OIDC token (production) or the local secret header, and the dispatch deadline is the
queue's maximum (30 minutes) so a large repository can finish in one attempt.
"""

from __future__ import annotations

import logging
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import tasks_v2
from google.protobuf import duration_pb2

from ticketflow.adapters.cloud_tasks import (
    _GIVE_UP,
    CloudTasksSettings,
    _retry,
    http_request,
    make_client,
    sanitize_task_id,
)
from ticketflow.domain.errors import RetryableError
from ticketflow.ports.repositories import IndexTask

log = logging.getLogger("ticketflow.cloud_tasks")


def index_task_body(task: IndexTask) -> dict[str, Any]:
    return {"indexId": task.index_id, "epoch": task.epoch}


class CloudTasksIndexQueue:
    """:class:`ticketflow.ports.repositories.IndexQueue` on Cloud Tasks."""

    def __init__(self, settings: CloudTasksSettings | None = None, *,
                 client: Any | None = None) -> None:
        self.settings = (settings or CloudTasksSettings()).for_index()
        if not self.settings.service_account_email and not self.settings.secret:
            raise ValueError("Cloud Tasks needs TICKETFLOW_TASKS_SERVICE_ACCOUNT_EMAIL or "
                             "TICKETFLOW_TASKS_SECRET so index_repository can authenticate")
        self.client = client if client is not None else make_client(self.settings)

    def build_task(self, task: IndexTask) -> tasks_v2.Task:
        s = self.settings
        http = http_request(s, index_task_body(task))
        return tasks_v2.Task(
            name=f"{s.queue_path}/tasks/{sanitize_task_id(task.name)}", http_request=http,
            dispatch_deadline=duration_pb2.Duration(seconds=int(s.dispatch_deadline_s)))

    def enqueue(self, task: IndexTask) -> bool:
        s = self.settings
        try:
            self.client.create_task(
                request={"parent": s.queue_path, "task": self.build_task(task)},
                retry=_retry(s.rpc_retry_deadline_s), timeout=s.rpc_timeout_s)
        except gexc.AlreadyExists:
            log.info("index task already exists", extra={"task": task.name})
            return False
        except gexc.NotFound as exc:  # a deployment without the index queue
            raise RetryableError(f"Cloud Tasks queue {s.queue_path} does not exist: {exc}",
                                 code="tasks_queue_missing") from exc
        except _GIVE_UP as exc:
            raise RetryableError(f"Cloud Tasks unavailable: {exc}",
                                 code="tasks_unavailable") from exc
        return True
