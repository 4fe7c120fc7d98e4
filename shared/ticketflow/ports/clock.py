"""The clock port: time comes from outside so tests shrink waits instead of faking them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time (stored timestamps, expiries, deadlines)."""
        ...
