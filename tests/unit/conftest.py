"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LibsqlRepoIndex]:
    """An empty repository index on a libSQL file."""
    db = Database(f"file:{tmp_path}/idx.db")
    yield LibsqlRepoIndex(db)
    db.close()
