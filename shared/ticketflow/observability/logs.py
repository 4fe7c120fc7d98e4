"""Structured logs: one JSON object a line, with the fields Cloud Logging reads
(``severity``, ``message``, ``time``) plus whatever context the caller passed in
``extra`` (run id, ticket id, step, attempt, duration, outcome).

While a step handler runs, :data:`ticketflow.observability.tracing.current_step` is set (also in
the handler's worker thread); :class:`StepScopeFilter` copies its fields (``run_id``,
``aec_id``, ``step``, ``step_name``, ``attempt``, ``trace_id``) onto every record
logged there, so code deep below a step logs with its context without passing it.
Fields given explicitly in ``extra`` win.

When a Google Cloud project id is configured (argument, or ``TICKETFLOW_PROJECT_ID`` /
``GOOGLE_CLOUD_PROJECT`` / ``GCLOUD_PROJECT``), a record carrying a ``trace_id`` also
gets ``logging.googleapis.com/trace`` = ``projects/{project}/traces/{trace_id}``, which
Cloud Logging uses to group the start request, each step task and the trigger of
one run under one trace.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from ticketflow.observability.tracing import current_step

_STD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
TRACE_FIELD = "logging.googleapis.com/trace"
_PROJECT_ENV = ("TICKETFLOW_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")


def project_id_from_env() -> str | None:
    for name in _PROJECT_ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


class StepScopeFilter(logging.Filter):
    """Adds the current step's scope fields to a record (never rejects a record).

    Attach it to a handler: handler filters see records from every logger, and
    run in the thread that logs, where the step's context variable is visible.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        scope = current_step.get()
        if scope is not None:
            for key, value in scope.log_fields().items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see module doc)."""

    def __init__(self, project_id: str | None = None) -> None:
        super().__init__()
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        for k, v in vars(record).items():
            if k not in _STD and not k.startswith("_"):
                entry[k] = v
        scope = current_step.get()
        if scope is not None:  # a handler without the filter still gets the scope
            for k, v in scope.log_fields().items():
                entry.setdefault(k, v)
        trace_id = entry.get("trace_id")
        if self.project_id and trace_id and TRACE_FIELD not in entry:
            entry[TRACE_FIELD] = f"projects/{self.project_id}/traces/{trace_id}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", *, project_id: str | None = None) -> None:
    """JSON lines on stderr for the whole process (CLI, workers, functions)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(project_id or project_id_from_env()))
    handler.addFilter(StepScopeFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
