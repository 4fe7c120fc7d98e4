"""Control-flow signals of a step.

``Suspend`` derives from ``BaseException`` so that a step's ``except Exception``
cannot swallow it. (The two error verbs, ``RetryableError`` and ``TerminalError``,
are domain errors: adapters raise them too; see :mod:`ticketflow.domain.errors`.)
"""

from __future__ import annotations

from typing import Any


class Suspend(BaseException):
    """Raised by a step to stop the run and wait for a person."""

    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(kind)
        self.kind = kind
        self.payload = payload
