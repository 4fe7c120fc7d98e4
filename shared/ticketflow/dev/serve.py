"""``ticketflow dev``: the whole cloud shape on this machine, for a person.

:func:`dev_stack` assembles it from :class:`~ticketflow.dev.stack.Stack`'s parts on
fixed ports (the page's ``config.js`` and the README name them), with what a stack
that runs for days needs: the sweep job on a schedule and the data kept consistent
between starts. :func:`serve_forever` runs it until Ctrl-C: it refuses to start on
a taken port (naming the process), prints where everything is and the one URL to
open, and stops everything it started, a second Ctrl-C included.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from ticketflow.dev.database import SqldServer
from ticketflow.dev.emulators import PROJECT_ROOT, EmulatorError
from ticketflow.dev.stack import Stack

__all__ = ["STOP_SIGNALS", "dev_stack", "serve_forever"]


def dev_stack(root: Path = PROJECT_ROOT, *, functions_port: int = 8090,
              firestore_port: int = 8080, auth_port: int = 9099, hosting_port: int = 5000,
              tasks_port: int = 9022, database_port: int = 8091, hosting: bool = True,
              server: str = "gunicorn", state_dir: Path | None = None,
              dist: Path | None = None, sweep_every_s: float = 10.0,
              keep_data: bool = True) -> Stack:
    """What ``ticketflow dev`` runs: every part, on fixed ports, the sweep job every
    ``sweep_every_s``, state in ``root/.devstack`` (the database: a sqld server on
    ``database_port`` keeping its data in ``sqld/ticketflow``, as deployed; the bundled
    sample as a git repository in ``sample-repo``, offered by the page; with
    ``keep_data``, it and the emulators' data are kept from one start to the next as
    one, see :mod:`ticketflow.dev.persistence`; logs; the served page), the page
    (``dist``, default ``root/web/dist``) served when it is built."""
    state = state_dir or root / ".devstack"
    stack = Stack(state, functions_port=functions_port)
    stack = (stack.with_database(SqldServer(stack.logs_at, state / "sqld" / "ticketflow",
                                            name="sqld-ticketflow", port=database_port,
                                            fresh=not keep_data))
             .with_tasks(port=tasks_port)
             .with_firestore(port=firestore_port, rules=root / "firestore.rules")
             .with_auth(port=auth_port)
             .with_functions(server=server)
             .with_scheduler(sweep_every_s)
             .with_sample(state / "sample-repo"))
    if keep_data:
        stack.with_persistence(state / "emulator-data")
    dist = dist or root / "web" / "dist"
    if hosting and (dist / "index.html").exists():
        stack.with_hosting(dist, port=hosting_port)
    return stack


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve_forever(stack: Stack, print_fn: Callable[[str], object] = print) -> int:
    """Start ``stack``, print where everything is, wait for Ctrl-C (or a part that
    exits), then stop everything. A second Ctrl-C (or SIGTERM, SIGHUP) while it stops
    kills every process group at once (:meth:`Stack.hurry`); nothing is left behind
    either way. Returns the exit code: 0 after Ctrl-C, 1 when a part failed."""
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:
            stack.hurry()
            return
        stopping = True
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        try:
            stack.start()
        except EmulatorError as exc:
            print_fn(f"error: {exc}")
            return 1
        except KeyboardInterrupt:  # start() stopped what it had started
            return 0
        code = 0
        try:
            _print_summary(stack, print_fn)
            while stack.alive():
                time.sleep(0.5)
            print_fn(f"stopped: {', '.join(stack.dead())} exited; see {stack.logs_at}")
            code = 1
        except KeyboardInterrupt:
            print_fn("stopping everything (Ctrl-C again: at once)")
        stopping = True
        stack.stop()
        if stack.stopped_note:
            print_fn(stack.stopped_note)
        print_fn("stopped")
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_summary(stack: Stack, print_fn: Callable[[str], object]) -> None:
    width = max(len(k) for k in stack.urls)
    for name, url in stack.urls.items():
        print_fn(f"{name.ljust(width)}  {url}")
    for note in stack.notes:
        print_fn(note)
    if "web" in stack.urls:
        print_fn(f"Open {stack.urls['web']} first.")
    print_fn("Ctrl-C stops everything.")
