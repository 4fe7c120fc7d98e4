"""The CLI's run list keeps run ids whole: they are what ``resume`` takes."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from ticketflow.cli.render import runs_table
from ticketflow.ports.records import RunRecord
from ticketflow.workflow.definition import CURRENT


def _run(run_id: str) -> RunRecord:
    now = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    return RunRecord(run_id=run_id, aec_id="aec-" + run_id, owner_id="local",
                     workflow_version=CURRENT.version, deadline_at=now, input={},
                     created_at=now, updated_at=now)


@pytest.mark.parametrize("width", [40, 60, 120])
def test_run_ids_are_printed_whole_in_any_terminal_width(width: int) -> None:
    ids = ["run-0f8e2c51d3a94b7e9c0d", "run-77aa01bc22dd43ee9f10"]
    buf = io.StringIO()
    runs_table(Console(file=buf, width=width, color_system=None), [_run(i) for i in ids])
    printed = buf.getvalue()
    for run_id in ids:
        assert run_id in printed, printed
