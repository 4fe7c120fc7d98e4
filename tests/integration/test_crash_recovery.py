"""Crash recovery with real processes: ``kill -9`` at a step boundary, after a step's
handler returned and before its commit (``after_execute``), and between a step's
commit and the dispatch of the next one; then ``ticketflow resume`` in a new process.
(A kill from outside while a handler runs: ``test_outside_kill.py``.)

Each case checks that the run completes, that the ticket equals the one an
uninterrupted run produces, and that no committed step executed again (read from
the libSQL file: ``step_attempts`` against ``step_outputs``).

The kill is injected with ``TICKETFLOW_CRASH_AT=point:step``, read by
``python -m ticketflow.testing.crash`` (the CLI armed with that crash hook).
Steps 4 and 9 end in a suspension, whose path has no ``after_dispatch`` point; their
boundaries are covered by ``before_execute`` of the step that follows (the resume
of the suspension committed and dispatched, the next step claimed, nothing run).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SAMPLE = "invoice-pdf-typo"  # critical findings (step 4) and questions (step 9)
ANSWER_FLAGS = ["--on-findings", "proceed", "--skip-questions", "--json"]
COMPARED = ("acceptanceCriteria", "assumptions", "repoPaths", "type", "findings", "status")
STEPS = range(1, 12)
TIMEOUT_S = 60


@dataclass(frozen=True)
class Kill:
    point: str
    step: int

    @property
    def spec(self) -> str:
        return f"{self.point}:{self.step}"

    @property
    def before_commit(self) -> bool:
        """The killed step had not committed: it runs again, exactly once more."""
        return self.point in ("before_execute", "after_execute")


def _boundary(n: int) -> Kill:
    # Steps 4 and 9 suspend and are committed by the person's action, which has no
    # crash point: kill right after that commit + dispatch, when the next step is claimed.
    return Kill("before_execute", n + 1) if n in (4, 9) else Kill("after_dispatch", n)


KILLS = (
    [_boundary(n) for n in range(1, 11)]
    + [Kill("after_execute", n) for n in (1, 5, 7, 11)]
    + [Kill("after_commit", n) for n in (3, 7, 10)]
)


def _env(crash_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env |= {"TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_LLM": "offline",
            "PYTHONUNBUFFERED": "1"}
    if crash_at:
        env["TICKETFLOW_CRASH_AT"] = crash_at
    return env


def _ticketflow(cwd: Path, db: Path, *args: str,
                crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketflow.testing.crash", "--db", str(db), *args],
        cwd=cwd, env=_env(crash_at), capture_output=True, text=True, timeout=TIMEOUT_S,
    )


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def _compared(aec: dict[str, Any]) -> dict[str, Any]:
    return {k: aec.get(k) for k in COMPARED}


def _show(cwd: Path, db: Path, aec_id: str) -> dict[str, Any]:
    data: dict[str, Any] = _json(_ticketflow(cwd, db, "show", aec_id, "--json"))
    return data


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ticket of an uninterrupted run of the same request."""
    cwd = tmp_path_factory.mktemp("reference")
    db = cwd / "ticketflow.db"
    out = _json(_ticketflow(cwd, db, "generate", "--sample", SAMPLE, *ANSWER_FLAGS))
    assert out["run"]["status"] == "completed"
    shown = _show(cwd, db, out["aec"]["id"])
    assert shown["aec"]["status"] == "ready"
    return _compared(shown["aec"])


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _at(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


@pytest.mark.parametrize("kill", KILLS, ids=lambda k: k.spec)
def test_kill_9_then_resume(kill: Kill, tmp_path: Path, reference: dict[str, Any]) -> None:
    db = tmp_path / "ticketflow.db"

    crashed = _ticketflow(tmp_path, db, "generate", "--sample", SAMPLE, *ANSWER_FLAGS,
                          crash_at=kill.spec)
    assert crashed.returncode == -signal.SIGKILL, (
        f"{kill.spec} did not kill the process (exit {crashed.returncode})\n"
        f"{crashed.stderr[-2000:]}")
    runs = _rows(db, "SELECT run_id, aec_id, status FROM runs")
    assert len(runs) == 1
    run_id, aec_id = runs[0]["run_id"], runs[0]["aec_id"]
    assert runs[0]["status"] in ("running", "suspended")

    resumed = _json(_ticketflow(tmp_path, db, "resume", *ANSWER_FLAGS))
    assert resumed["run"]["runId"] == run_id
    assert resumed["run"]["status"] == "completed"

    shown = _show(tmp_path, db, aec_id)
    assert _compared(shown["aec"]) == reference
    assert shown["aec"]["locked"] is False
    assert shown["aec"]["generationState"]["status"] == "completed"
    assert _rows(db, "SELECT status, step_index FROM runs")[0]["status"] == "completed"

    # exactly one committed output per step
    outputs = _rows(db, f"SELECT step_index, finished_at FROM step_outputs "
                        f"WHERE run_id = '{run_id}' ORDER BY step_index")
    assert [r["step_index"] for r in outputs] == list(STEPS)
    committed_at = {r["step_index"]: _at(r["finished_at"]) for r in outputs}

    # no attempt of a step started after that step's output was committed
    attempts = _rows(db, f"SELECT step_index, attempt, lease_id, started_at, outcome "
                         f"FROM step_attempts WHERE run_id = '{run_id}' "
                         f"ORDER BY step_index, started_at")
    late = [dict(a) for a in attempts
            if _at(a["started_at"]) > committed_at[a["step_index"]]]
    assert late == [], f"steps executed again after their commit: {late}"

    # every step executed once, except the one killed before its commit: twice
    per_step: dict[int, list[sqlite3.Row]] = {}
    for a in attempts:
        per_step.setdefault(a["step_index"], []).append(a)
    expected = {n: 1 for n in STEPS}
    if kill.before_commit:
        expected[kill.step] = 2
    counts = {n: len(per_step.get(n, [])) for n in STEPS}
    if kill.point == "after_dispatch" and kill.step + 1 in counts:
        # the next step, dispatched before the kill, may already have started in the
        # other worker thread and died with the process: then it ran once more
        assert counts[kill.step + 1] in (1, 2)
        expected[kill.step + 1] = counts[kill.step + 1]
    assert counts == expected
    for n, rows in per_step.items():
        final = rows[-1]["outcome"]
        assert final == ("suspended" if n in (4, 9) else "committed"), (n, [dict(r) for r in rows])
        assert all(r["outcome"] is None for r in rows[:-1]), (n, [dict(r) for r in rows])


def test_completed_but_unprojected_run_is_reprojected_by_resume(
        tmp_path: Path, reference: dict[str, Any]) -> None:
    """kill -9 between the commit of the last step and its projection."""
    db = tmp_path / "ticketflow.db"
    crashed = _ticketflow(tmp_path, db, "generate", "--sample", SAMPLE, *ANSWER_FLAGS,
                          crash_at="after_commit:11")
    assert crashed.returncode == -signal.SIGKILL
    aec_id = _rows(db, "SELECT aec_id FROM runs")[0]["aec_id"]
    resumed = _ticketflow(tmp_path, db, "resume", *ANSWER_FLAGS)
    assert resumed.returncode == 0, resumed.stderr
    shown = _show(tmp_path, db, aec_id)
    assert _compared(shown["aec"]) == reference
    assert shown["run"]["status"] == "completed"
    assert shown["aec"]["generationState"]["status"] == "completed"
