"""Structured logs: JSON lines with the step's scope added automatically."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ticketflow.observability.logs import (
    TRACE_FIELD,
    JsonFormatter,
    StepScopeFilter,
    configure_logging,
)
from ticketflow.observability.tracing import StepScope, current_step

SCOPE = StepScope(run_id="run-1", aec_id="aec-1", step=7, step_name="generate_draft",
                  attempt=2, trace_id="abc123")


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(project_id="proj-1"))
    handler.addFilter(StepScopeFilter())
    logger = logging.getLogger("ticketflow.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(x) for x in stream.getvalue().splitlines()]


def test_one_json_object_a_line_with_cloud_logging_fields(capture: Any) -> None:
    logger, stream, _ = capture
    logger.warning("hello %s", "world", extra={"duration_ms": 1.5, "outcome": "committed"})
    (entry,) = lines(stream)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello world"
    assert entry["time"].endswith("+00:00")
    assert entry["duration_ms"] == 1.5 and entry["outcome"] == "committed"
    assert "run_id" not in entry and TRACE_FIELD not in entry


def test_step_scope_fields_are_added_inside_a_step(capture: Any) -> None:
    logger, stream, _ = capture
    token = current_step.set(SCOPE)
    try:
        logger.info("deep below the step")
    finally:
        current_step.reset(token)
    (entry,) = lines(stream)
    assert {k: entry[k] for k in ("run_id", "aec_id", "step", "step_name", "attempt",
                                  "trace_id")} == SCOPE.log_fields()
    assert entry[TRACE_FIELD] == "projects/proj-1/traces/abc123"


def test_scope_reaches_the_handler_worker_thread(capture: Any) -> None:
    """The runtime runs handlers with ``copy_context().run`` in a pool thread."""
    logger, stream, _ = capture
    token = current_step.set(SCOPE)
    try:
        ctx = contextvars.copy_context()
    finally:
        current_step.reset(token)
    t = threading.Thread(target=ctx.run, args=(logger.info, "in the worker thread"))
    t.start()
    t.join()
    (entry,) = lines(stream)
    assert entry["run_id"] == "run-1" and entry["attempt"] == 2


def test_explicit_extra_wins_over_the_scope(capture: Any) -> None:
    logger, stream, _ = capture
    token = current_step.set(SCOPE)
    try:
        logger.info("explicit", extra={"step": 99, "trace_id": "other"})
    finally:
        current_step.reset(token)
    (entry,) = lines(stream)
    assert entry["step"] == 99
    assert entry[TRACE_FIELD] == "projects/proj-1/traces/other"


def test_trace_field_from_extra_outside_a_step(capture: Any) -> None:
    logger, stream, _ = capture
    logger.info("run started", extra={"run_id": "run-9", "trace_id": "t-9"})
    (entry,) = lines(stream)
    assert entry[TRACE_FIELD] == "projects/proj-1/traces/t-9"


def test_no_trace_field_without_a_project() -> None:
    fmt = JsonFormatter(project_id=None)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.trace_id = "t-1"
    entry = json.loads(fmt.format(record))
    assert entry["trace_id"] == "t-1" and TRACE_FIELD not in entry


def test_exceptions_are_one_line_of_json(capture: Any) -> None:
    logger, stream, _ = capture
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (entry,) = lines(stream)
    assert entry["severity"] == "ERROR" and "ValueError: boom" in entry["exception"]


def test_configure_logging_uses_the_project_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKETFLOW_PROJECT_ID", raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-proj")
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        (handler,) = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        assert handler.formatter.project_id == "env-proj"
        assert any(isinstance(f, StepScopeFilter) for f in handler.filters)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
