"""``ticketflow index URL|PATH`` and ``ticketflow repos`` as a user runs them: real
processes, a real libSQL file, the index task on the embedded index queue; a
misspelt repository is one clear line and registers nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ticketflow.testing.embedded import SAMPLE_REPO
from ticketflow.testing.git_repos import commit_files, make_repo

BIN = [sys.executable, "-m", "ticketflow.cli.main"]


def tf(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_LLM": "offline"}
    return subprocess.run([*BIN, "--db", str(tmp_path / "tf.db"), *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=180)


def index_json(tmp_path: Path, *args: str) -> dict[str, Any]:
    r = tf(tmp_path, "index", *args, "--json")
    assert r.returncode == 0, r.stderr
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def test_a_git_url_is_indexed_then_a_new_commit_only_what_changed(tmp_path: Path) -> None:
    first_commit = make_repo(tmp_path / "origin", SAMPLE_REPO)
    url = f"file://{tmp_path / 'origin'}"
    first = index_json(tmp_path, url)
    assert first["state"] == "ready" and first["commit"] == first_commit
    total = first["filesTotal"]
    assert total >= 25 and first["stats"]["extracted"] == total
    again = index_json(tmp_path, url)  # the same commit: the same index, nothing rebuilt
    assert again["indexId"] == first["indexId"] and again["stats"] == first["stats"]
    second_commit = commit_files(tmp_path / "origin", {
        "billing/pdf.py": "def render_invoice_pdf(invoice):\n    return b''\n"})
    second = index_json(tmp_path, url)
    assert second["commit"] == second_commit and second["indexId"] != first["indexId"]
    assert second["stats"]["extracted"] == 1 and second["stats"]["copied"] == total - 1
    listed = json.loads(tf(tmp_path, "repos", "--json").stdout)
    assert [(r["url"], r["index"]["commit"]) for r in listed] == [(url, second_commit)]
    human = tf(tmp_path, "index", url)
    assert human.returncode == 0 and f"ready at {second_commit[:12]}" in human.stdout


def test_a_local_directory_is_indexed_from_its_work_tree(tmp_path: Path) -> None:
    make_repo(tmp_path / "work", SAMPLE_REPO)
    first = index_json(tmp_path, str(tmp_path / "work"))
    assert first["state"] == "ready" and first["commit"] is None
    (tmp_path / "work" / "billing" / "uncommitted.py").write_text("def draft():\n    pass\n")
    second = index_json(tmp_path, "work")  # relative to where the command runs
    assert second["indexId"] == first["indexId"]  # one index per directory, rebuilt
    assert second["filesTotal"] == first["filesTotal"] + 1
    assert second["stats"]["extracted"] == 1


@pytest.mark.parametrize(("target", "words"), [
    ("smaple", "smaple: no such directory"),
    ("file://{tmp}/smaple", "is not a git repository (nothing found there; check the path)"),
    ("github.com/acme/app", "no scheme; did you mean https://github.com/acme/app"),
    ("git@github.com:acme/app.git", "SSH and git:// URLs are not supported"),
])
def test_a_misspelt_repository_is_one_clear_line(tmp_path: Path, target: str,
                                                 words: str) -> None:
    make_repo(tmp_path / "sample", {"app.py": "X = 1\n"})
    target = target.format(tmp=tmp_path)
    r = tf(tmp_path, "index", target)
    assert r.returncode == 2 and words in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    gen = tf(tmp_path, "generate", "--title", "PDF invoices", "--description",
             "Let customers download a PDF of a paid invoice.", "--repo", target, "--json")
    assert gen.returncode == 2 and words in gen.stderr and gen.stdout == ""
    assert json.loads(tf(tmp_path, "repos", "--json").stdout) == []  # nothing registered


def test_an_unknown_ref_names_the_branches(tmp_path: Path) -> None:
    make_repo(tmp_path / "origin", {"app.py": "X = 1\n"})
    r = tf(tmp_path, "index", f"file://{tmp_path / 'origin'}", "--ref", "mian")
    assert r.returncode == 2
    assert "no branch, tag or commit 'mian' (branches: master)" in r.stderr
    assert json.loads(tf(tmp_path, "repos", "--json").stdout) == []
