"""What one :class:`~ticketflow.adapters.libsql.database.Database` really did.

Counted only with ``witness=True`` (or ``Database.set_witness``): benchmarks read it,
nothing else depends on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

_COUNTS = ("calls", "statements", "trigger_programs", "transactions", "durable_commits",
           "wal_syncs", "checkpoints", "grouped_batches")


@dataclass
class DbStats:
    """What one ``Database`` did since it opened (or since :meth:`reset`)."""

    calls: int = 0
    """``execute`` and ``batch`` calls: round trips for the remote executor."""
    statements: int = 0
    """SQL statements SQLite executed, from its trace callback."""
    trigger_programs: int = 0
    """Trigger programs those statements ran (the trace callback again, same text)."""
    transactions: int = 0
    """Write transactions committed."""
    durable_commits: int = 0
    """Write transactions holding at least one durable batch (checkpoints, outbox
    rows, answers): each is covered by a WAL fsync before its caller acknowledges it."""
    wal_syncs: int = 0
    """``fdatasync`` calls on the WAL (native executor); one covers every commit
    written before it, so under concurrency there are fewer than durable commits."""
    checkpoints: int = 0
    """WAL checkpoints run (each syncs the WAL and the database file)."""
    grouped_batches: int = 0
    """Batches that shared their transaction with at least one other batch."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {k: getattr(self, k) for k in _COUNTS}

    def reset(self) -> None:
        with self._lock:
            for k in _COUNTS:
                setattr(self, k, 0)

    @property
    def fsyncs(self) -> int:
        """WAL fsyncs plus the two of each checkpoint."""
        return self.wal_syncs + 2 * self.checkpoints
