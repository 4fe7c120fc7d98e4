"""Fault injection for crash tests: ``TICKETFLOW_CRASH_AT=point:step[,point:step]``
kills the process with SIGKILL when the runtime reaches that point of that step.

Points: ``before_execute`` (claimed, handler not run), ``mid_step`` (inside the
handler's slot, before its result is committed), ``after_commit`` (committed, not
yet projected or dispatched), ``after_dispatch`` (the step boundary). Unset in
production: checking it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("TICKETFLOW_CRASH_AT", "")
_POINTS = {tuple(p.split(":", 1)) for p in _SPEC.split(",") if ":" in p}


def crash_point(point: str, step: int) -> None:
    if _POINTS and (point, str(step)) in _POINTS:
        os.kill(os.getpid(), signal.SIGKILL)
