"""The worker processes of the embedded chaos soak (each one
:mod:`ticketflow.testing.chaos.worker`), started, killed from outside and reaped.

Every death is written down as a :class:`~ticketflow.testing.chaos.invariants.Kill`
with the leases the process held when it died (read at once, before another worker
can take them over); where it landed is decided at the end from the side file
(:func:`~ticketflow.testing.chaos.invariants.kill_effect`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.testing.chaos.common import CRASH_POINTS, NON_SUSPENDING, rng_for
from ticketflow.testing.chaos.invariants import Kill, leases_of
from ticketflow.testing.crash import ENV as CRASH_ENV

WORKER = "ticketflow.testing.chaos.worker"


class Workers:
    """Worker subprocesses sharing the soak's database; half of them (and the first
    four, one per crash point) carry a ``TICKETFLOW_CRASH_AT`` point."""

    def __init__(self, n: int, env: dict[str, str], log_dir: Path, db: Database, seed: int,
                 notes: Counter[str]) -> None:
        self.env = env
        self.log_dir = log_dir
        self.db = db
        self.seed = seed
        self.notes = notes
        self.procs: dict[int, tuple[subprocess.Popen[bytes], str | None]] = {}
        self.kills: list[Kill] = []
        self.spawned = 0
        self.chaos = True
        for _ in range(n):
            self.spawn()

    def spawn(self) -> None:
        rng = rng_for(self.seed, "worker", self.spawned)
        spec = None
        if self.chaos and (self.spawned < len(CRASH_POINTS) or rng.random() < 0.5):
            point = (CRASH_POINTS[self.spawned] if self.spawned < len(CRASH_POINTS)
                     else rng.choice(CRASH_POINTS))
            steps = range(1, 12) if point == "before_execute" else NON_SUSPENDING
            spec = f"{point}:{rng.choice(list(steps))}"
        env = {k: v for k, v in os.environ.items() if k != CRASH_ENV} | self.env
        if spec:
            env[CRASH_ENV] = spec
        self.spawned += 1
        log = open(self.log_dir / f"worker-{self.spawned}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", WORKER], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        log.close()
        self.procs[proc.pid] = (proc, spec)

    def reap(self) -> None:
        """Write down the workers a crash point killed; start new ones in their place."""
        for pid, (proc, spec) in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.procs[pid]
            if code == -signal.SIGKILL and spec:
                self.kills.append(Kill(pid, f"at_{spec.split(':')[0]}", leases_of(self.db, pid)))
            elif code != 0:
                self.notes["worker_exit_unexpected"] += 1
            self.spawn()

    def kill(self, pid: int) -> bool:
        """SIGKILL worker ``pid`` from outside, reap it, write it down, replace it."""
        if pid not in self.procs:
            return False
        proc, _ = self.procs.pop(pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()  # no zombie: a dead lease holder must look dead to the others
        self.kills.append(Kill(pid, "outside", leases_of(self.db, pid)))
        self.spawn()
        return True

    def calm(self) -> None:
        """No more crash points: replace the workers that carry one."""
        self.chaos = False
        for pid, (proc, spec) in list(self.procs.items()):
            if spec:
                del self.procs[pid]
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                self.spawn()

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            proc.terminate()
        for proc, _ in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
