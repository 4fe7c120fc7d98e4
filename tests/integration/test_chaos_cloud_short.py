"""The short cloud chaos soak (:mod:`ticketflow.testing.chaos.cloud`, the same as
``bench/w3_cloud.py --cloud-runs 6 --quick``): the functions process group SIGKILLed
from outside while a handler runs and at crash points (between commit and enqueue
among them), then restarted and swept; language-model faults; task deliveries and
trigger events duplicated; racing and malformed action documents; edits of locked
tickets through the rules; run state on a libSQL server (sqld).

Every invariant must hold, each computed from the witness (the side file the
functions append to, the fake Messages API's log, the verdicts read back from the
action documents in Firestore, the tickets against uninterrupted runs), and at least
half the runs must end ready. The seed rotates: it is printed, and
``TICKETFLOW_CHAOS_SEED=N`` runs the same fault schedule again."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketflow.dev.emulators import EmulatorError
from ticketflow.testing.chaos.cloud import run_cloud_soak
from ticketflow.testing.chaos.common import SEED_ENV, chaos_seed
from ticketflow.testing.chaos.invariants import INVARIANTS

pytestmark = [pytest.mark.emulator, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")]


def test_short_cloud_chaos_soak_keeps_every_invariant(tmp_path: Path) -> None:
    seed = chaos_seed()
    print(f"chaos seed {seed}: {SEED_ENV}={seed} reproduces this schedule")
    again = f"(seed {seed}; again: {SEED_ENV}={seed})"
    try:
        result = run_cloud_soak(6, quick=True, kill_budget=4, seed=seed, drain_s=90.0,
                                keep=tmp_path / "w3c")
    except EmulatorError as exc:
        pytest.fail(f"the emulator suite did not start: {exc}", pytrace=False)
    assert result["invariants_ok"] and result["violated"] == [], (
        f"violated {result['violated']} {again}: details {result['details']}, "
        f"runs {result['runs']}, completion {result['completion_rate']}, failures "
        f"{result['failures_by_code']}, cancels {result['cancel_reasons']}; all: {result}")
    assert result["config"]["database"] == "sqld"  # the deployed shape
    assert result["runs"] >= 6
    for key in INVARIANTS:
        assert result[key] == 0, (key, result["details"], again)
    assert result["completed"] + result["failed_with_persisted_error"] \
        + result["cancelled"] + result["waiting_for_person"] == result["runs"], again
    assert result["completion_rate"] >= 0.5, again
    assert result["actions_without_verdict"] == 0, result["details"]
    assert result["witnessed"]["tickets_compared_with_uninterrupted_run"] \
        == result["completed"] > 0
    taken = result["faults_taken_effect"]
    assert taken.get("kill9_outside_mid_handler", 0) > 0, (taken, again)
    assert sum(v for k, v in taken.items() if k.startswith("llm_")) > 0, (taken, again)
    for kind in ("duplicate_delivery_committed_step", "duplicate_trigger_event",
                 "malformed_action_through_rules", "malformed_action_around_rules",
                 "racing_actions", "edit_on_locked_ticket"):
        assert taken.get(kind, 0) > 0, (kind, taken, again)
