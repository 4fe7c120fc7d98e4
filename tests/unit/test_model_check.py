"""The configured Claude model: a current one by default, an unknown or retired one a
clear start-up error (before any run), a deprecated one a warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ticketflow.adapters.claude import (
    DEFAULT_MODEL,
    ClaudeSettings,
    ModelNotUsableError,
    check_model,
    known_models,
)
from ticketflow.compose.llm import build_fallback, build_llm
from ticketflow.settings import ConfigurationError, Settings


def test_the_default_model_is_current_in_the_pinned_sdk() -> None:
    assert ClaudeSettings().model == DEFAULT_MODEL
    assert DEFAULT_MODEL in known_models()
    check_model(DEFAULT_MODEL)  # no error, whatever the date today


def test_a_retired_model_is_refused_with_its_end_of_life() -> None:
    with pytest.raises(ModelNotUsableError) as info:
        check_model("claude-sonnet-4-5", today=date(2026, 12, 1))
    assert "reached its end of life on 2026-11-30" in str(info.value)
    assert DEFAULT_MODEL in str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_a_model_before_its_end_of_life_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ticketflow.adapters.claude"):
        check_model("claude-sonnet-4-5", today=date(2026, 11, 1))
    assert "reaches its end of life on 2026-11-30" in caplog.text


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(ModelNotUsableError, match="not a model the anthropic SDK knows"):
        check_model("claude-9-imaginary")


def test_build_llm_checks_the_model_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("TICKETFLOW_LLM_MODEL", "claude-9-imaginary")
    with pytest.raises(ModelNotUsableError):
        build_llm(Settings(llm="claude", db_url="file::memory:"))
    monkeypatch.setenv("TICKETFLOW_LLM_MODEL", DEFAULT_MODEL)
    llm = build_llm(Settings(llm="claude", db_url="file::memory:"))
    assert llm.provider.model == DEFAULT_MODEL


def test_the_fallback_is_offline_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    claude = build_llm(Settings(llm="claude", db_url="file::memory:"))
    fallback = build_fallback(Settings(), claude)
    assert fallback is not None and fallback.provider.offline
    assert build_fallback(Settings(llm_fallback=False), claude) is None
    offline = build_llm(Settings(llm="offline"))
    assert build_fallback(Settings(), offline) is None  # nothing to fall back from


def test_the_cli_reports_a_retired_model_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "TICKETFLOW_LLM": "claude", "ANTHROPIC_API_KEY": "sk-ant-test",
           "TICKETFLOW_LLM_MODEL": "claude-9-imaginary"}
    r = subprocess.run([sys.executable, "-m", "ticketflow.cli.main", "--db",
                        str(tmp_path / "tf.db"), "generate", "--sample",
                        "invoice-csv-export", "--json"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert "Traceback" not in r.stderr
    assert lines[0].startswith("error: TICKETFLOW_LLM_MODEL='claude-9-imaginary'")
    assert r.stdout == ""
