"""Crash injection for the crash tests: SIGKILL at a named point of a named step.

The engine calls its fault hook at ``before_execute`` (claimed, handler not run),
``mid_step`` (the handler returned, its result not yet committed), ``after_commit``
(committed, not yet dispatched or projected), ``after_dispatch`` (the step
boundary) and ``after_resume_commit`` (a person's action committed, the next step
not yet dispatched). Production engines have no hook.

``python -m ticketflow.testing.crash ARGS`` is the ``ticketflow`` CLI with the hook
built from ``TICKETFLOW_CRASH_AT=point:step[,point:step]``; the functions' dev entry
point (``functions/dev_app.py``) reads the same variable.
"""

from __future__ import annotations

import os
import signal

from ticketflow.workflow.runtime import FaultHook

ENV = "TICKETFLOW_CRASH_AT"


def crash_hook(spec: str | None = None) -> FaultHook | None:
    """A hook that kills this process at the points of ``spec`` (default: ``$ENV``),
    or ``None`` when there are none."""
    spec = os.environ.get(ENV, "") if spec is None else spec
    points = {tuple(p.split(":", 1)) for p in spec.split(",") if ":" in p}
    if not points:
        return None

    def hook(point: str, step: int) -> None:
        if (point, str(step)) in points:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main() -> None:
    """The ``ticketflow`` CLI, armed with :func:`crash_hook`."""
    from ticketflow.cli.common import options
    from ticketflow.cli.main import app

    options.faults = crash_hook()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
