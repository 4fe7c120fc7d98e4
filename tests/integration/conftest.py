"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.testing.embedded import settings_for


@pytest.fixture
def app(tmp_path: Path) -> Iterator[EmbeddedApp]:
    """The embedded default on ``tmp_path/tf.db`` with the offline model (a module
    that needs other settings defines its own ``app``)."""
    application = open_embedded(settings_for(tmp_path))
    yield application
    application.close()
