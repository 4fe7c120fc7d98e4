"""The short chaos soak of the embedded default (:mod:`ticketflow.testing.chaos.embedded`,
the same as ``bench/w3.py --runs 30 --quick``): worker processes killed with
``kill -9`` mid-step and between commit and enqueue, language-model faults,
duplicated deliveries, racing and malformed actions, edits of locked tickets. Every
invariant must hold: nothing stuck, nothing committed or accepted twice, no content
lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketflow.testing.chaos.embedded import EmbeddedSoakConfig, run_embedded_soak

pytestmark = [pytest.mark.slow,
              # the SDK flags the configured default model as nearing end of life
              pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")]


def test_short_chaos_soak_keeps_every_invariant(tmp_path: Path) -> None:
    result = run_embedded_soak(
        EmbeddedSoakConfig(runs=30, quick=True, kill_rate=0.05, seed=7, drain_s=120.0),
        keep=tmp_path / "w3")
    assert result["invariants_ok"] and result["violated"] == [], result
    assert result["runs"] >= 30
    for key in ("stuck", "steps_committed_twice", "steps_executed_after_commit",
                "actions_accepted_twice", "content_lost", "other_violations"):
        assert result[key] == 0, (key, result["details"])
    assert result["completed"] + result["failed_with_persisted_error"] \
        + result["cancelled"] + result["waiting_for_person"] == result["runs"]
    faults = result["faults_injected"]
    assert sum(v for k, v in faults.items() if k.startswith("kill9_")) > 0
    assert sum(v for k, v in faults.items() if k.startswith("llm_")) > 0
    assert faults.get("racing_actions", 0) > 0
    assert result["completed"] > 0
