"""``ticketflow stats`` on a database with real runs (real processes, real libSQL file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = [sys.executable, "-m", "ticketflow.cli.main"]


def tf(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_LLM": "offline"}
    return subprocess.run([*BIN, "--db", str(tmp_path / "tf.db"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_stats_after_a_completed_and_a_cancelled_run(tmp_path: Path) -> None:
    done = tf(tmp_path, "generate", "--sample", "invoice-pdf-typo", "--on-findings",
              "proceed", "--skip-questions", "--json")
    assert done.returncode == 0, done.stderr
    waiting = tf(tmp_path, "generate", "--sample", "invoice-pdf-typo")
    assert waiting.returncode == 3, waiting.stderr
    run_id = next(w for w in waiting.stdout.split() if w.startswith("run-"))
    assert tf(tmp_path, "cancel", run_id).returncode == 0

    r = tf(tmp_path, "stats", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["runs"]["total"] == 2
    assert s["runs"]["completed"] == 1 and s["runs"]["cancelled"] == 1
    assert s["completion_rate"] == 0.5
    assert s["time_to_ready_s"]["including_waits"]["n"] == 1
    assert s["abandonment"]["cancelled_at_suspension"] == 1
    assert s["abandonment"]["runs_abandoned"] == 1
    assert s["user_actions_per_run"]["accepted_mean"] == 1.5  # proceed + skip; abort
    steps = {st["step"]: st for st in s["steps"]}
    assert steps[1]["committed"] == 2 and steps[4]["suspended"] == 2
    assert s["llm"]["calls"] == 0  # the offline provider makes no model calls

    text = tf(tmp_path, "stats")
    assert text.returncode == 0, text.stderr
    assert "completion      50.0% of finished runs" in text.stdout
    assert "time to ready" in text.stdout and "extract_intent" in text.stdout

    later = json.loads(tf(tmp_path, "stats", "--since", "2999-01-01", "--json").stdout)
    assert later["runs"]["total"] == 0 and later["completion_rate"] is None


def test_stats_rejects_a_bad_since(tmp_path: Path) -> None:
    r = tf(tmp_path, "stats", "--since", "last tuesday")
    assert r.returncode == 2
    assert "--since takes" in r.stderr and r.stderr.strip().count("\n") == 0
