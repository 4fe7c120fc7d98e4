"""The short cloud chaos soak (:mod:`ticketflow.testing.chaos.cloud`, the same as
``bench/w3_cloud.py --cloud-runs 6 --quick``): the functions process killed with
``kill -9`` mid-step and at crash points (between commit and enqueue among them),
then restarted and swept; language-model faults; task deliveries and trigger events
duplicated; racing and malformed action documents; edits of locked tickets through
the rules; run state on a libSQL server (sqld). Every invariant must hold: nothing
stuck, nothing committed or accepted twice, no content lost, no wrong verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketflow.dev.emulators import EmulatorError
from ticketflow.testing.chaos.cloud import run_cloud_soak

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def test_short_cloud_chaos_soak_keeps_every_invariant(tmp_path: Path) -> None:
    try:
        result = run_cloud_soak(6, quick=True, kill_budget=4, seed=3, drain_s=90.0,
                                keep=tmp_path / "w3c")
    except EmulatorError as exc:
        pytest.fail(f"the emulator suite did not start: {exc}", pytrace=False)
    assert result["invariants_ok"] and result["violated"] == [], result
    assert result["config"]["database"] == "sqld"  # the deployed shape
    assert result["runs"] >= 6
    for key in ("stuck", "steps_committed_twice", "steps_executed_after_commit",
                "actions_accepted_twice", "content_lost", "other_violations"):
        assert result[key] == 0, (key, result["details"])
    assert result["completed"] + result["failed_with_persisted_error"] \
        + result["cancelled"] + result["waiting_for_person"] == result["runs"]
    assert result["actions_without_verdict"] == 0, result["details"]["undecided"]
    faults = result["faults_injected"]
    assert sum(v for k, v in faults.items() if k.startswith("kill9_")) > 0, faults
    assert sum(v for k, v in faults.items() if k.startswith("llm_")) > 0, faults
    assert faults.get("duplicate_delivery_committed_step", 0) > 0, faults
    assert faults.get("malformed_action_through_rules", 0) > 0, faults
    assert result["completed"] > 0
