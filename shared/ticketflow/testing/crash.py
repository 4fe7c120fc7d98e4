"""Crash injection for the crash tests: SIGKILL at a named point of a named step.

The engine calls its fault hook at ``before_execute`` (claimed, handler not run),
``after_execute`` (the handler returned, its result not yet committed), ``after_commit``
(committed, not yet dispatched or projected), ``after_dispatch`` (the step
boundary) and ``after_resume_commit`` (a person's action committed, the next step
not yet dispatched). Production engines have no hook.

None of these is *inside* a handler: a kill while a handler runs comes from outside
the process (``tests/integration/test_outside_kill.py``, the chaos soaks), timed by
the witness's side file (:mod:`ticketflow.testing.witness`).

``python -m ticketflow.testing.crash ARGS`` is the ``ticketflow`` CLI with the hook
built from ``TICKETFLOW_CRASH_AT=point:step[,point:step]`` and, when
``TICKETFLOW_WITNESS_FILE`` is set, the witness's instrumentation; the functions'
dev entry point (``functions/dev_app.py``) reads the same crash variable.
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
    """The ``ticketflow`` CLI, armed with :func:`crash_hook` and the witness."""
    from ticketflow.cli.common import options
    from ticketflow.cli.main import app
    from ticketflow.testing.witness import instrument_from_env

    options.faults = crash_hook()
    options.prepare = instrument_from_env
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
