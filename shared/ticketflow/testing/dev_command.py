"""``ticketflow dev`` run as a person runs it: a real process, real signals.

:class:`DevCommand` starts the command on free ports with its state in a folder of
the test's, reads what it prints, waits for its summary, and knows every process
it started (its descendants, read from ``/proc``), so that a test can send Ctrl-C
(SIGINT) twice and then check, from outside, that nothing is left and every port
is free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    PROJECT_ROOT,
    free_port,
    tail,
)
from ticketflow.dev.ports import port_is_free

READY_LINE = "Ctrl-C stops everything."


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still exist and are not zombies."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if state[state.rindex(")") + 2] != "Z":
            out.add(pid)
    return out


@dataclass
class DevCommand:
    """One ``ticketflow dev`` process (see the module doc). ``ports`` are chosen free
    at construction and kept across restarts; ``env`` is added to the environment."""

    state_dir: Path
    dist: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=lambda: {
        name: free_port() for name in ("functions", "firestore", "auth", "hosting", "tasks",
                                       "database")})
    proc: subprocess.Popen[str] | None = field(default=None, init=False)
    lines: list[str] = field(default_factory=list, init=False)
    _reader: threading.Thread | None = field(default=None, init=False)

    @property
    def root(self) -> Path:
        return self.state_dir.parent

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def logs(self, lines: int = 25) -> str:
        """The command's output and the tail of each part's log."""
        parts = [f"== ticketflow dev\n{chr(10).join(self.lines[-lines:])}"]
        for log in sorted(self.log_dir.glob("*.log")) if self.log_dir.is_dir() else []:
            parts.append(f"== {log.name}\n{tail(log, lines)}")
        return "\n".join(parts)

    @property
    def web_url(self) -> str:
        return f"http://{LOCALHOST}:{self.ports['hosting']}"

    @property
    def functions_url(self) -> str:
        return f"http://{LOCALHOST}:{self.ports['functions']}"

    @property
    def project_id(self) -> str:
        return DEFAULT_PROJECT_ID

    def args(self) -> list[str]:
        out = [sys.executable, "-m", "ticketflow.cli.main", "dev",
               "--state-dir", str(self.state_dir)]
        for name, port in self.ports.items():
            out += [f"--{name}-port", str(port)]
        if self.dist is not None:
            out += ["--page", str(self.dist)]
        return out + self.extra_args

    def start(self) -> DevCommand:
        """Start the command (returns at once; see :meth:`wait_ready`)."""
        self.lines = []
        self.proc = subprocess.Popen(
            self.args(), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout_s: float = 240.0) -> None:
        """Until the summary is printed; ``AssertionError`` with the output if the
        command exits first or takes too long."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if READY_LINE in self.lines:
                return
            if self.proc is not None and self.proc.poll() is not None:
                time.sleep(0.2)  # the reader's last lines
                raise AssertionError(f"ticketflow dev exited ({self.proc.returncode}):\n"
                                     f"{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"ticketflow dev not ready after {timeout_s:.0f}s:\n{self.output}")

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout_s)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code

    def interrupt(self) -> None:
        """Ctrl-C, as the terminal sends it to the command."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)

    def children(self) -> set[int]:
        assert self.proc is not None
        return descendants(self.proc.pid)

    def ports_free(self) -> dict[str, bool]:
        return {name: port_is_free(LOCALHOST, port) for name, port in self.ports.items()}

    def kill(self) -> None:
        """Leave nothing behind, whatever happened (the test's own cleanup)."""
        if self.proc is None:
            return
        pids = descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pid in alive(pids):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
