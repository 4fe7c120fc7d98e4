"""Timeouts of steps whose handler runs on the worker's own thread.

The embedded workers run a handler where they are (no hand-over to another thread
per step); what a timeout then does is what it does for a handler run in a thread
pool: the attempt ends when its time is up, and the step is retried elsewhere. The
handler itself cannot be interrupted in Python: when it returns late, its result is
dropped (``done`` says so) and its lease, already released, refuses its commit.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("ticketflow.watchdog")
T = TypeVar("T")


class Watchdog(Generic[T]):
    """Calls ``on_expired(item)`` for a watched item still running at its deadline,
    from its own thread, checked every ``tick_s``. Only items running right now are
    kept (a handful: one per worker), so checking them all is cheap."""

    def __init__(self, on_expired: Callable[[T], None], *, tick_s: float = 0.25) -> None:
        self._on_expired = on_expired
        self._tick_s = tick_s
        self._active: dict[int, tuple[float, T]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def watch(self, timeout_s: float, item: T) -> int:
        """Start watching ``item``; returns the token for :meth:`done`."""
        token = next(self._ids)
        with self._lock:
            self._active[token] = (time.monotonic() + timeout_s, item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="step-watchdog",
                                                daemon=True)
                self._thread.start()
        return token

    def done(self, token: int) -> bool:
        """Stop watching; False when the deadline already passed and ``on_expired``
        has taken over the item (the caller then drops its result)."""
        with self._lock:
            return self._active.pop(token, None) is not None

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._tick_s):
            now = time.monotonic()
            with self._lock:
                due = [t for t, (deadline, _) in self._active.items() if deadline <= now]
                expired = [self._active.pop(t)[1] for t in due]
            for item in expired:
                try:
                    self._on_expired(item)
                except Exception:  # the sweeper repairs what this could not do
                    log.exception("could not end a timed-out step")
