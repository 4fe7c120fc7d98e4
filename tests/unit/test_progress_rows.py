"""The progress of a run (``generationState``) as :func:`build_state` builds it: rows
are immutable values, built once and reused while equal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from ticketflow.ports.records import RunRecord, StepRecord, committed_run
from ticketflow.workflow.definition import CURRENT
from ticketflow.workflow.projection import build_state

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _step(i: int) -> StepRecord:
    return StepRecord(run_id="r1", step_index=i, step_name=CURRENT.step(i).name,
                      output={"i": i}, started_at=NOW, finished_at=NOW)


def test_progress_rows_are_built_once_and_render_as_built_anew() -> None:
    """A run's progress repeats most rows on every step: an equal row is reused, and a
    time in another zone is another row (it renders with its own offset)."""
    run = committed_run(RunRecord(
        run_id="r1", aec_id="a1", owner_id="u", workflow_version=CURRENT.version,
        deadline_at=NOW + timedelta(hours=1), input={}, created_at=NOW, updated_at=NOW,
        step_index=2, attempt=1, lease_id="L"), NOW)
    first = build_state(run, [_step(1), _step(2)], CURRENT)
    again = build_state(run, [_step(1), _step(2)], CURRENT)
    assert first == again
    assert all(a is b for a, b in zip(first.steps, again.steps, strict=True))
    assert [r.status for r in first.steps[:4]] == ["done", "done", "running", "waiting"]
    east = timezone(timedelta(hours=2))
    moved = _step(1).model_copy(update={"started_at": NOW.astimezone(east)})
    other = build_state(run, [moved, _step(2)], CURRENT)
    assert other.steps[0] is not first.steps[0]
    assert other.steps[0].model_dump_json().count("+02:00") == 1
    assert first.steps[0].model_dump_json().count("+02:00") == 0
