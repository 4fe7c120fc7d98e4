"""Durability of a libSQL file's commits by an fsync of its WAL, outside the write lock.

Every native commit runs with ``synchronous=NORMAL``: SQLite appends the transaction
to the ``-wal`` file and returns without an fsync. A commit is durable once the WAL
has been synced after it was written, and one ``fdatasync`` of the WAL makes every
commit written before it durable (the WAL is append-only between checkpoints, and a
checkpoint syncs it first). So the writer numbers its commits (a log sequence
number), and a caller that needs durability waits until a sync that started after
its commit has returned:

* the sync runs outside the write lock, so other threads keep committing while the
  disk flushes (flush pipelining, as in Johnson et al., "Aether: a scalable approach
  to logging", VLDB 2010);
* waiters elect one leader that syncs for all of them (group commit): many commits
  arriving together share one fsync, each still its own atomic transaction;
* a waiter about to lead first gathers, when other threads are doing durable work
  whose sync will follow (:meth:`expect`: a pipelined scope, a task handed to an
  in-process worker): it waits until one of them finishes that work or starts
  waiting itself, so that one fsync covers both (the trade PostgreSQL's
  ``commit_delay`` and ``commit_siblings`` make). The latecomer saves up to one
  fsync; the wait costs it nothing unless it ends just before the latecomer comes
  (whose commit then waits for the leader's fsync and its own), so the wait is a few
  fsyncs long (``GATHER_FSYNCS`` times their moving average, at most
  ``GATHER_MAX_S``): past it, work that long gains little from sharing. Only when the
  leader's acknowledgement comes moves, never what it covers;
* a failed fsync is sticky: the kernel may have dropped the dirty pages, so no later
  commit on this handle is ever reported durable (:class:`DurabilityError`).

A process killed at any line loses nothing either way (the data is in the kernel's
page cache); the fsync is for the machine losing power or the kernel crashing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ticketflow.domain.errors import RetryableError

__all__ = ["GATHER_MAX_S", "DurabilityError", "WalSync"]

GATHER_MAX_S = 0.01  # the longest a leader waits for expected commits (module doc)
GATHER_FSYNCS = 4.0  # ... in fsyncs (moving average): the disk time it can save is one
_FSYNC_WEIGHT = 0.2  # of the newest fsync in the moving average of their durations


class DurabilityError(RetryableError):
    """An fsync of the WAL failed: commits since the last good one may not be durable.

    Retryable for the task that met it (its step was not acknowledged, so it is
    delivered again), but this handle refuses every later durable write: restart the
    process, which reopens the file and reads what reached the disk."""

    code = "durability"


class WalSync:
    """Numbered commits of one database file and the fsyncs that make them durable."""

    def __init__(self, db_path: str, *, on_sync: Callable[[], None] | None = None) -> None:
        wal = Path(f"{db_path}-wal")
        # the writer connection has created the WAL by now; make its directory entry
        # durable once (SQLite itself does not sync the directory in WAL mode)
        self._fd = os.open(wal, os.O_RDONLY | os.O_CLOEXEC)
        _sync_dir(wal.parent)
        self._on_sync = on_sync
        self._cv = threading.Condition(threading.Lock())
        self._written = 0  # commits made on this handle
        self._synced = 0  # commits known durable
        self._syncing = False
        self._error: OSError | None = None
        self._closed = False
        self._expected = 0  # durable work in flight whose sync will follow (expect)
        self._events = 0  # such work finished, or a thread began to wait: leaders go
        self._fsync_s = 0.0  # moving average of the fdatasync durations

    def expect(self) -> Callable[[], None]:
        """Note durable work in flight (its commits and then a sync will follow); the
        returned function, called once, says it is done (module doc: gathering)."""
        with self._cv:
            self._expected += 1
        released = False

        def done() -> None:
            nonlocal released
            with self._cv:
                if released:
                    return
                released = True
                self._expected -= 1
                self._events += 1
                self._cv.notify_all()

        return done

    def committed(self) -> int:
        """Count one commit just made (called right after it); its sequence number."""
        with self._cv:
            self._written += 1
            return self._written

    @property
    def written(self) -> int:
        with self._cv:
            return self._written

    def wait(self, lsn: int, *, own_expected: int = 0) -> None:
        """Return once commit ``lsn`` (and every one before it) is durable.
        ``own_expected``: how many of the expected works (:meth:`expect`) are the
        caller's own, which it must not wait for."""
        gathered = False
        with self._cv:
            if self._synced < lsn:
                self._events += 1  # a leader gathering commits can go now
                self._cv.notify_all()
            while True:
                if self._error is not None:
                    raise DurabilityError(
                        f"an fsync of the WAL failed ({self._error}); commits since "
                        "the last good one may not be durable: restart the process",
                        retry_after_s=5.0) from self._error
                if self._synced >= lsn:
                    return
                if self._closed:
                    raise DurabilityError("the database was closed before its commits "
                                          "were synced")
                if self._syncing:
                    self._cv.wait()
                elif not gathered and self._expected > own_expected:
                    gathered = True
                    self._gather()
                else:
                    break
            self._syncing = True  # lead: one fsync for every commit written so far
            target = self._written
        error: OSError | None = None
        t0 = time.perf_counter()
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            error = exc
        took = time.perf_counter() - t0
        with self._cv:
            self._syncing = False
            if error is not None:
                self._error = error
            else:
                self._synced = max(self._synced, target)
                self._fsync_s += _FSYNC_WEIGHT * (took - self._fsync_s)
            self._cv.notify_all()
        if error is None and self._on_sync is not None:
            self._on_sync()
        self.wait(lsn)  # re-checks: raises the error, or returns (target >= lsn)

    def _gather(self) -> None:
        """Wait (holding ``_cv``) until expected work finishes or another thread
        begins to wait or to sync, for a few fsyncs at most (module doc)."""
        seen = self._events
        deadline = time.monotonic() + min(GATHER_FSYNCS * self._fsync_s, GATHER_MAX_S)
        while self._events == seen and not self._syncing:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cv.wait(left)

    def sync_all(self, *, own_expected: int = 0) -> None:
        """Make every commit made so far durable."""
        self.wait(self.written, own_expected=own_expected)

    def close(self) -> None:
        """Sync what was written, then let the file go (idempotent)."""
        with self._cv:
            if self._closed:
                return
        try:
            if self._error is None:
                self.sync_all()
        finally:
            with self._cv:
                while self._syncing:  # a leader still uses the descriptor
                    self._cv.wait()
                self._closed = True
                self._cv.notify_all()
                os.close(self._fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
