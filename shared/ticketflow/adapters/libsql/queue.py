"""A durable task queue in libSQL with an in-process worker pool (the embedded default).

Semantics modelled on Cloud Tasks: named tasks (a name is never accepted twice,
so a double enqueue is a no-op), at-least-once delivery, a visibility timeout
after which an unacknowledged task is delivered again, retries with exponential
backoff (or the handler's ``retry_after_s``), and a delivery cap after which the
task is parked as ``dead`` with its last error. A lease held by a process on this
host that no longer exists is taken over at once, so a restarted CLI resumes
without waiting for the visibility timeout.

:meth:`LocalWorkerPool.offer` hands a task straight to an idle worker of this
process, without a row in the queue: for tasks whose outbox row is already durable
(the row stays pending until the step's claim, so a crash leaves it to the sweeper).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.database import Database, apply_schema
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import Clock, StepTask
from ticketflow.ports.leases import lease_holder_dead, new_lease_id

log = logging.getLogger("ticketflow.queue")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS queue_tasks (
        name TEXT PRIMARY KEY, queue TEXT NOT NULL, run_id TEXT NOT NULL,
        step_index INTEGER NOT NULL, epoch INTEGER NOT NULL, status TEXT NOT NULL,
        available_at TEXT NOT NULL, deliveries INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT, leased_until TEXT, last_error TEXT, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS queue_ready ON queue_tasks(queue, status, available_at)",
]


class LibsqlTaskQueue:
    """``TaskQueue`` in libSQL; :class:`LocalWorkerPool` consumes it."""

    def __init__(self, db: Database, *, queue: str = "steps", clock: Clock | None = None,
                 max_deliveries: int = 100) -> None:
        self.db = db
        self.queue = queue
        self.clock = clock or SystemClock()
        self.max_deliveries = max_deliveries
        self._wake = threading.Condition()
        self._generation = 0  # bumped by every enqueue, so a waiter never misses one
        apply_schema(db, "queue", 1, SCHEMA)

    def enqueue(self, task: StepTask, *, delay_s: float = 0.0) -> bool:
        now = self.clock.now()
        rs = self.db.execute(
            "INSERT INTO queue_tasks(name, queue, run_id, step_index, epoch, status, "
            "available_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) "
            "ON CONFLICT(name) DO NOTHING",
            [task.name, self.queue, task.run_id, task.step_index, task.epoch,
             (now + timedelta(seconds=delay_s)).isoformat(), now.isoformat()],
            durable=False,  # the run store's outbox is the durable copy
        )
        self.notify()
        return bool(rs.rows_affected == 1)

    def notify(self) -> None:
        """Wake one waiting worker: there is work."""
        with self._wake:
            self._generation += 1
            self._wake.notify()

    def claim(self, worker: str, visibility_s: float, *,
              ack: StepTask | None = None) -> tuple[StepTask, int] | None:
        """Lease the next due task; returns it with its delivery count.

        ``ack``: a task this worker finished, acknowledged in the same transaction
        (a busy worker then writes once per task instead of twice).
        """
        now = self.clock.now()
        if ack is None:
            due = self.db.execute(  # a read first: idle polling never takes the write lock
                "SELECT 1 FROM queue_tasks WHERE queue = ? AND status = 'pending' "
                "AND available_at <= ? AND (leased_until IS NULL OR leased_until < ?) LIMIT 1",
                [self.queue, now.isoformat(), now.isoformat()])
            if not due.rows:
                return None
        take = (
            "UPDATE queue_tasks SET lease_owner = :w, leased_until = :until, "
            "deliveries = deliveries + 1 WHERE name = (SELECT name FROM queue_tasks "
            "WHERE queue = :q AND status = 'pending' AND available_at <= :now "
            "AND (leased_until IS NULL OR leased_until < :now) "
            "ORDER BY available_at LIMIT 1) RETURNING run_id, step_index, epoch, deliveries",
            {"w": worker, "until": (now + timedelta(seconds=visibility_s)).isoformat(),
             "q": self.queue, "now": now.isoformat()},
        )
        if ack is None:
            rs = self.db.execute(*take, durable=False)
        else:
            rs = self.db.batch([self._ack_stmt(ack, worker), take], durable=False)[1]
        if not rs.rows:
            return None
        r = rs.rows[0]
        return StepTask(run_id=r[0], step_index=r[1], epoch=r[2]), int(r[3])

    def ack(self, task: StepTask, worker: str) -> None:
        self.db.execute(*self._ack_stmt(task, worker), durable=False)

    @staticmethod
    def _ack_stmt(task: StepTask, worker: str) -> tuple[str, list[str]]:
        return ("UPDATE queue_tasks SET status = 'done', lease_owner = NULL, "
                "leased_until = NULL WHERE name = ? AND lease_owner = ?", [task.name, worker])

    def retry(self, task: StepTask, worker: str, delay_s: float, error: str,
              deliveries: int) -> None:
        now = self.clock.now()
        dead = deliveries >= self.max_deliveries
        self.db.execute(
            "UPDATE queue_tasks SET status = ?, available_at = ?, lease_owner = NULL, "
            "leased_until = NULL, last_error = ? WHERE name = ? AND lease_owner = ?",
            ["dead" if dead else "pending", (now + timedelta(seconds=delay_s)).isoformat(),
             error[:2000], task.name, worker], durable=False)
        if dead:
            log.error("task parked after too many deliveries",
                      extra={"task": task.name, "error": error})

    def reap_dead_leases(self) -> int:
        """Free leases held by processes on this host that died (a kill -9)."""
        rs = self.db.execute(
            "SELECT DISTINCT lease_owner FROM queue_tasks WHERE status = 'pending' "
            "AND lease_owner IS NOT NULL")
        dead = [str(r[0]) for r in rs.rows if lease_holder_dead(str(r[0]))]
        for owner in dead:
            self.db.execute(
                "UPDATE queue_tasks SET lease_owner = NULL, leased_until = NULL "
                "WHERE lease_owner = ? AND status = 'pending'", [owner], durable=False)
        return len(dead)

    def counts(self) -> dict[str, int]:
        rs = self.db.execute(
            "SELECT status, COUNT(*) FROM queue_tasks WHERE queue = ? GROUP BY status",
            [self.queue])
        return {str(r[0]): int(r[1]) for r in rs.rows}

    @property
    def generation(self) -> int:
        return self._generation

    def wait_for_work(self, timeout: float, seen_generation: int) -> None:
        """Sleep until an enqueue newer than ``seen_generation`` or ``timeout``."""
        with self._wake:
            if self._generation == seen_generation:
                self._wake.wait(timeout)

    def next_due(self) -> datetime | None:
        rs = self.db.execute(
            "SELECT MIN(available_at) FROM queue_tasks WHERE queue = ? AND status = 'pending'",
            [self.queue])
        v = rs.rows[0][0] if rs.rows else None
        return datetime.fromisoformat(str(v)) if v else None


class LocalWorkerPool:
    """Threads that deliver queued tasks to ``handler`` (``Engine.run_step``).

    A handler that raises is retried with exponential backoff and jitter, or after
    the ``retry_after_s`` of a :class:`RetryableError`.
    """

    def __init__(self, queue: LibsqlTaskQueue, handler: Callable[[StepTask], object], *,
                 workers: int = 2, visibility_s: float = 600.0, poll_s: float = 0.5,
                 backoff_s: float = 0.5, max_backoff_s: float = 60.0,
                 on_idle: Callable[[], object] | None = None, idle_every_s: float = 5.0,
                 on_start: Callable[[], object] | None = None,
                 on_stop: Callable[[], object] | None = None) -> None:
        self.queue = queue
        self.handler = handler
        self.workers = workers
        self.visibility_s = visibility_s
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.on_idle = on_idle
        self.idle_every_s = idle_every_s
        self.on_start = on_start
        self.on_stop = on_stop
        self.worker_id = new_lease_id()
        # offered tasks, each with its note of expected durable work (Database.expect)
        self._offered: deque[tuple[StepTask, Callable[[], None]]] = deque()
        self._running = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()
        self.errors: list[str] = []

    def start(self) -> LocalWorkerPool:
        self.queue.reap_dead_leases()
        self._running = True
        if self.on_start is not None:
            self.on_start()
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, args=(i,), name=f"worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._running = False
        if self.on_stop is not None:
            self.on_stop()
        self._stop.set()
        with self.queue._wake:
            self.queue._wake.notify_all()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        while self._offered:  # never delivered here: their outbox rows stay pending
            self._offered.popleft()[1]()

    def __enter__(self) -> LocalWorkerPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def busy(self) -> int:
        return self._busy

    def offer(self, task: StepTask) -> bool:
        """Hand ``task`` to the next free worker; False when the pool is not running
        (the caller then enqueues it). A task offered when the process dies is lost
        from memory only: its outbox row is still pending."""
        if not self._running:
            return False
        # a sync due meanwhile (the offerer's own, typically) may wait briefly for the
        # step's commit, to cover both with one fsync
        self._offered.append((task, self.queue.db.expect()))
        self.queue.notify()
        return True

    def _loop(self, i: int) -> None:
        last_idle = time.monotonic()  # ``on_start`` has just done what an idle call does
        done: StepTask | None = None  # acknowledged together with the next claim
        while not self._stop.is_set():
            seen = self.queue.generation
            try:
                offered, done_expected = self._offered.popleft()
            except IndexError:
                offered = None
            if offered is not None:
                with self.queue.db.owning(done_expected):
                    self._deliver(offered, None)
                continue
            try:
                claimed = self.queue.claim(self.worker_id, self.visibility_s, ack=done)
                done = None
            except Exception as exc:  # the database itself failed: log, back off, go on
                log.exception("queue claim failed")
                self.errors.append(str(exc))
                self._stop.wait(self.poll_s)
                continue
            if claimed is None:
                if i == 0 and self.on_idle and time.monotonic() - last_idle > self.idle_every_s:
                    last_idle = time.monotonic()
                    try:
                        self.on_idle()
                    except Exception:
                        log.exception("idle callback failed")
                self.queue.wait_for_work(self.poll_s, seen)
                continue
            task, deliveries = claimed
            if self._deliver(task, deliveries):
                done = task
        if done is not None:
            try:
                self.queue.ack(done, self.worker_id)
            except Exception:  # unacknowledged: redelivered later, a no-op then
                log.exception("final acknowledgement failed")

    def _deliver(self, task: StepTask, deliveries: int | None) -> bool:
        """Run the handler; True when the task is done. A failure is retried with
        backoff: through the task's queue row, or (``deliveries`` None: an offered
        task, which has none) as a new queue row."""
        with self._busy_lock:
            self._busy += 1
        try:
            self.handler(task)
            return True
        except Exception as exc:
            if isinstance(exc, RetryableError) and exc.retry_after_s is not None:
                delay = exc.retry_after_s
            else:
                delay = self._backoff(deliveries or 1)
            if not isinstance(exc, RetryableError):
                log.exception("task handler failed", extra={"task": task.name})
            error = str(exc) if isinstance(exc, RetryableError) else \
                f"{type(exc).__name__}: {exc}"
            try:
                if deliveries is None:
                    self.queue.enqueue(task, delay_s=delay)
                else:
                    self.queue.retry(task, self.worker_id, delay, error, deliveries)
            except Exception as again:  # left to the visibility timeout or the sweeper
                log.exception("could not schedule the retry", extra={"task": task.name})
                self.errors.append(str(again))
            return False
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _backoff(self, deliveries: int) -> float:
        base = min(self.backoff_s * 2 ** max(deliveries - 1, 0), self.max_backoff_s)
        return float(base * (0.5 + random.random() / 2))
