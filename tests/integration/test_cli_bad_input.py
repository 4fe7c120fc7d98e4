"""Bad input reaches the ``ticketflow`` user as one line, never a traceback (real
processes, real libSQL files)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = [sys.executable, "-m", "ticketflow.cli.main"]
ESC = "\x1b"


def tf(db: Path | str, *args: str, cwd: Path, timeout: float = 60,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_LLM": "offline"}
    return subprocess.run([*BIN, "--db", str(db), *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def one_line(r: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with one finished run (critical findings, proceeded, questions skipped)."""
    path = tmp_path / "tf.db"
    r = tf(path, "generate", "--sample", "invoice-pdf-typo", "--on-findings", "proceed",
           "--skip-questions", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return path


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Make ``path`` read-only even for root (``chattr +i``), as a read-only mount or
    another owner's file would be; plain permissions where we are not root."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)


@pytest.mark.parametrize("args", [["show", "[/x]"], ["show", "[bold]x"],
                                  ["cancel", "[/x]"]])
def test_markup_in_user_text_is_printed_as_text(db: Path, tmp_path: Path,
                                                args: list[str]) -> None:
    line = one_line(tf(db, *args, cwd=tmp_path))
    assert args[1] in line


def test_markup_in_an_answer_id_is_printed_as_text(tmp_path: Path) -> None:
    db = tmp_path / "tf.db"
    r = tf(db, "generate", "--sample", "invoice-csv-export", cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    run_id = next(w for w in r.stdout.split() if w.startswith("run-"))
    line = one_line(tf(db, "answer", run_id, "-a", "[/x]=yes", cwd=tmp_path))
    assert "unknown question id(s): [/x]" in line


def test_a_binary_answers_file_is_one_line(db: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_bytes(b"\x00\xff\xfe\x80binary")
    line = one_line(tf(db, "generate", "--sample", "invoice-csv-export", "--answers",
                       str(answers), cwd=tmp_path), code=2)
    assert "is not a text file" in line


@pytest.mark.parametrize("command", [["runs"], ["show", "x"], ["stats"],
                                     ["generate", "--title", "t"]])
def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path,
                                                   command: list[str]) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("shopping list\n" * 200)
    line = one_line(tf(junk, *command, cwd=tmp_path))
    assert "not a database" in line and str(junk) in line


def test_read_only_commands_work_on_a_read_only_database(db: Path, tmp_path: Path) -> None:
    aec_id = json.loads(tf(db, "runs", "--json", cwd=tmp_path).stdout)[0]["run"]["aecId"]
    with immutable(db):
        runs = tf(db, "runs", "--json", cwd=tmp_path)
        assert runs.returncode == 0, runs.stderr
        assert json.loads(runs.stdout)[0]["run"]["status"] == "completed"
        shown = tf(db, "show", aec_id, "--json", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["aec"]["status"] == "ready"
        stats = tf(db, "stats", "--json", cwd=tmp_path)
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["runs"]["completed"] == 1
        line = one_line(tf(db, "generate", "--title", "needs a write", cwd=tmp_path))
        assert "readonly" in line.replace(" ", "").lower()
        edit = one_line(tf(db, "edit", aec_id, "--title", "x", cwd=tmp_path))
        assert "readonly" in edit.replace(" ", "").lower()


def test_control_and_bidi_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "tf.db"
    title = f"Export {ESC}[2J{ESC}]0;owned\x07 invoices \u202eexe.fdp\u202c \x9b31m"
    r = tf(db, "generate", "--title", title, "--description", f"As a user {ESC}[31mred",
           "--skip-questions", "--on-findings", "proceed", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for text in (r.stdout, r.stderr):
        assert ESC not in text and "\x07" not in text and "\x9b" not in text
        assert "\u202e" not in text and "\u202c" not in text
    assert "Export [2J]0;owned invoices exe.fdp 31m" in r.stdout


def test_a_token_in_the_database_url_is_redacted(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "s3cr3t-token-value"
    url = f"http://127.0.0.1:{port}?authToken={secret}"
    r = tf(url, "runs", cwd=tmp_path, env={"TICKETFLOW_DB_AUTH_TOKEN": secret})
    line = one_line(r)
    assert secret not in r.stderr + r.stdout
    assert f"127.0.0.1:{port}" in line and "authToken=***" in line


def test_an_unreachable_database_server_does_not_hang(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # before: the error was printed and the libSQL client's thread kept the process alive
    line = one_line(tf(f"http://127.0.0.1:{port}", "runs", cwd=tmp_path, timeout=30))
    assert f"http://127.0.0.1:{port}" in line
