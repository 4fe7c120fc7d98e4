"""Pieces both composition roots build the same way: the language model, the
database URL."""

from __future__ import annotations

import os
from pathlib import Path

from ticketflow.adapters.libsql.metrics import LlmUsageRecorder
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.ports import LanguageModel
from ticketflow.settings import Settings


def build_llm(settings: Settings) -> LanguageModel:
    """Claude when a key is set (or asked for), else the labelled offline provider.

    The configured model is checked here, at start-up: an unknown or retired model is
    a :class:`~ticketflow.adapters.claude.ModelNotUsableError`, not a failed run."""
    want = settings.llm
    if want == "offline" or (want == "auto" and not os.environ.get("ANTHROPIC_API_KEY")):
        return OfflineLanguageModel()
    # imported here: the anthropic SDK is not worth loading for an offline run
    from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings, check_model

    check_model(ClaudeSettings().model)

    # every call's tokens, cost and latency go to ``llm_calls`` in the run store's
    # database (its own connection, opened on the first call)
    recorder = LlmUsageRecorder(url=db_url_with_path(settings), auth_token=settings.db_auth_token)
    return ClaudeLanguageModel(ClaudeSettings(), on_usage=recorder)


def db_url_with_path(settings: Settings) -> str:
    url = settings.db_url
    if url.startswith("file:"):
        Path(url[5:]).parent.mkdir(parents=True, exist_ok=True)
    return url


def build_fallback(settings: Settings, llm: LanguageModel) -> LanguageModel | None:
    """The provider that stands in when ``llm`` fails after its retries: the labelled
    offline heuristics, unless the setting turns it off or ``llm`` is offline already."""
    if not settings.llm_fallback or llm.provider.offline:
        return None
    return OfflineLanguageModel()
