"""The short chaos soak (``bench/w3.py --runs 30 --quick``): worker processes killed
with ``kill -9`` mid-step and between commit and enqueue, language-model faults,
duplicated deliveries, racing and malformed actions, edits of locked tickets. Every
invariant must hold: nothing stuck, nothing committed or accepted twice, no content
lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_short_chaos_soak_keeps_every_invariant(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "w3.py"), "--runs", "30", "--quick",
         "--kill-rate", "0.05", "--seed", "7", "--keep", str(tmp_path / "w3")],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output (exit {proc.returncode})\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0, json.dumps(result, indent=1)
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
