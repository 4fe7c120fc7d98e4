"""A worker process of the embedded chaos soak: the embedded worker pool, with the
crash points of ``TICKETFLOW_CRASH_AT`` armed and the witness of
``TICKETFLOW_WITNESS_*`` installed (:mod:`ticketflow.testing.witness`), until SIGTERM
(or a kill).

    python -m ticketflow.testing.chaos.worker     # settings from TICKETFLOW_* variables
"""

from __future__ import annotations

import signal
import threading

from ticketflow.compose.embedded import open_embedded
from ticketflow.observability.logs import configure_logging
from ticketflow.settings import Settings
from ticketflow.testing.crash import crash_hook
from ticketflow.testing.witness import instrument_from_env


def main() -> int:
    configure_logging("WARNING")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    app = open_embedded(Settings(), faults=crash_hook())
    instrument_from_env(app)
    try:
        with app.worker_pool():
            while not stop.wait(0.2):
                pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
