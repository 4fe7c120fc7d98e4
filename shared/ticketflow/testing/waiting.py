"""Waiting for a condition in another process, with the evidence in the failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], timeout_s: float = 60.0, *,
               what: str = "condition", logs: Callable[[], str] | None = None,
               interval_s: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy and return that; after
    ``timeout_s`` raise ``AssertionError`` naming ``what``, with ``logs()`` appended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    value = check()
    if value:
        return value
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}"
                         + (f"\n--- logs ---\n{logs()}" if logs else ""))
