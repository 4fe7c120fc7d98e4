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
    """Claude when a key is set (or asked for), else the labelled offline provider."""
    want = settings.llm
    if want == "offline" or (want == "auto" and not os.environ.get("ANTHROPIC_API_KEY")):
        return OfflineLanguageModel()
    # imported here: the anthropic SDK is not worth loading for an offline run
    from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings

    # every call's tokens, cost and latency go to ``llm_calls`` in the run store's
    # database (its own connection, opened on the first call)
    recorder = LlmUsageRecorder(url=db_url_with_path(settings), auth_token=settings.db_auth_token)
    return ClaudeLanguageModel(ClaudeSettings(), on_usage=recorder)


def db_url_with_path(settings: Settings) -> str:
    url = settings.db_url
    if url.startswith("file:"):
        Path(url[5:]).parent.mkdir(parents=True, exist_ok=True)
    return url
