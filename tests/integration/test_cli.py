"""The ``ticketflow`` command as a user runs it: real processes, real libSQL file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = [sys.executable, "-m", "ticketflow.cli.main"]


def tf(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_LLM": "offline"}
    return subprocess.run([*BIN, "--db", str(tmp_path / "tf.db"), *args], cwd=tmp_path,
                          env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_generate_json_end_to_end_and_show(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"q1": "under 2 seconds for 10,000 invoices"}))
    r = tf(tmp_path, "generate", "--sample", "invoice-csv-export", "--answers", str(answers),
           "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["run"]["status"] == "completed"
    aec = data["aec"]
    assert aec["status"] == "ready" and aec["locked"] is False
    assert aec["generatedBy"]["offline"] is True
    assert any("10,000" in c for c in aec["acceptanceCriteria"])
    shown = json.loads(tf(tmp_path, "show", aec["id"], "--json").stdout)
    assert shown["aec"]["acceptanceCriteria"] == aec["acceptanceCriteria"]
    runs = json.loads(tf(tmp_path, "runs", "--json").stdout)
    assert [x["run"]["runId"] for x in runs] == [data["run"]["runId"]]


def test_stops_at_a_suspension_without_a_terminal_and_answer_continues(
        tmp_path: Path) -> None:
    r = tf(tmp_path, "generate", "--sample", "invoice-pdf-typo")
    assert r.returncode == 3, r.stderr
    assert "waiting for a review of critical findings" in r.stdout
    run_id = next(w for w in r.stdout.split() if w.startswith("run-"))
    bad = tf(tmp_path, "answer", run_id, "-a", "q1=hello")
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "does not answer a findings review" \
        in bad.stderr
    ok = tf(tmp_path, "answer", run_id, "--decision", "proceed")
    assert ok.returncode == 3  # now waiting for answers
    aec_id = json.loads(tf(tmp_path, "runs", "--json").stdout)[0]["run"]["aecId"]
    locked = tf(tmp_path, "edit", aec_id, "--title", "mid-run change")
    assert locked.returncode == 1 and "locked by generation run" in locked.stderr
    done = tf(tmp_path, "answer", run_id, "--skip")
    assert done.returncode == 0, done.stderr
    assert "[ready]" in done.stdout
    edited = tf(tmp_path, "edit", aec_id, "--title", "PDF download of paid invoices")
    assert edited.returncode == 0, edited.stderr
    shown = json.loads(tf(tmp_path, "show", aec_id, "--json").stdout)
    assert shown["aec"]["title"] == "PDF download of paid invoices"
    stats = json.loads(tf(tmp_path, "stats", "--json").stdout)
    assert stats["edit_after_completion"] == {"rate": 1.0, "edited": 1, "completed": 1}


@pytest.mark.parametrize("args,code,message", [
    (["generate", "--title", "  "], 2, "a title is required"),
    (["show", "aec-nope"], 1, "no ticket or run aec-nope"),
    (["cancel", "run-nope"], 1, "no run run-nope"),
    (["generate", "--sample", "nope"], 1, "no sample 'nope'"),
])
def test_errors_are_one_clear_line(tmp_path: Path, args: list[str], code: int,
                                   message: str) -> None:
    r = tf(tmp_path, *args)
    assert r.returncode == code
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
