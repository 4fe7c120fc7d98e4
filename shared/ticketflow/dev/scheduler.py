"""Cloud Scheduler's sweep job, locally.

In production a Cloud Scheduler job POSTs to the ``sweep`` function every minute
(``deploy/deploy.sh``), which repairs what crashes and lost deliveries left: outbox
rows never dispatched, runs whose task was lost, expired waits, overdue runs,
projections behind their run. Without it a run whose step task was lost stays on
its step, locked, for good. :class:`SweepScheduler` is that job as a part of a local
stack: a thread that calls ``POST {functions}/sweep`` with the task secret every
``interval_s`` and logs each answer, one JSON line a call, to ``scheduler.log``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from ticketflow.adapters.cloud_tasks import SECRET_HEADER
from ticketflow.dev.emulators import tail

__all__ = ["SweepScheduler"]


class SweepScheduler:
    """See the module doc. ``sweeps`` counts the calls answered with 200."""

    name = "scheduler"

    def __init__(self, log_dir: Path, url: str, secret: str, *,
                 interval_s: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.interval_s = interval_s
        self.log_path = Path(log_dir) / "scheduler.log"
        self.sweeps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sweep-scheduler",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def sweep_once(self) -> dict[str, object]:
        """One call, as the job makes it; the answer (or the error) as logged."""
        started = time.time()
        try:
            response = httpx.post(self.url, headers={SECRET_HEADER: self.secret},
                                  timeout=max(self.interval_s, 30.0))
            entry: dict[str, object] = {"status": response.status_code}
            try:
                entry["report"] = response.json()
            except ValueError:
                entry["body"] = response.text[:300]
            if response.status_code == 200:
                self.sweeps += 1
        except httpx.HTTPError as exc:
            entry = {"error": f"{type(exc).__name__}: {exc}"}
        entry = {"time": started, **entry}
        with self.log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")
        return entry

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sweep_once()
