"""Who holds a TCP port: the check that keeps a local stack from starting on top of
another one.

Some servers bind with ``SO_REUSEPORT`` (gRPC's do, so the Cloud Tasks emulator
does), so a second emulator can start on a port that a leftover one still holds and
the health check then answers from the old one. A stack checks its ports with
:func:`check_free` before it starts anything and refuses with the holder's pid and
command line (read from ``/proc``, or from ``lsof`` where there is no ``/proc``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ticketflow.dev.emulators import EmulatorError

__all__ = ["PortHolder", "PortTakenError", "check_free", "port_holder", "port_is_free"]

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


class PortTakenError(EmulatorError):
    """A port the stack needs is in use; the message names the process when it can."""


@dataclass(frozen=True)
class PortHolder:
    pid: int | None
    command: str

    def describe(self) -> str:
        if self.pid is None:
            return self.command or "a process this user cannot inspect"
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


def port_is_free(host: str, port: int) -> bool:
    """Whether a plain ``bind`` (no ``SO_REUSEPORT``) to ``host:port`` succeeds now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[3] != _LISTEN:
                continue
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    return inodes


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)[:300]


def _holder_from_proc(port: int) -> PortHolder | None:
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    pid = int(entry.name)
                    return PortHolder(pid, _command_of(pid))
            except OSError:
                continue
    return PortHolder(None, "")


def _holder_from_lsof(port: int) -> PortHolder | None:
    lsof = shutil.which("lsof")
    if lsof is None:
        return None
    out = subprocess.run([lsof, "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-Fpc"],
                         capture_output=True, text=True, timeout=10, check=False).stdout
    pid = next((int(ln[1:]) for ln in out.splitlines() if ln.startswith("p")), None)
    cmd = next((ln[1:] for ln in out.splitlines() if ln.startswith("c")), "")
    return PortHolder(pid, cmd) if pid is not None else None


def port_holder(port: int) -> PortHolder | None:
    """The process listening on ``port`` (``pid`` ``None`` when it belongs to a user
    whose processes cannot be read), or ``None`` when nothing listens there."""
    if Path("/proc/net/tcp").exists():
        return _holder_from_proc(port)
    return _holder_from_lsof(port)


def check_free(host: str, ports: Iterable[tuple[str, int]]) -> None:
    """Raise :class:`PortTakenError` naming every ``(what, port)`` already in use and
    the process that holds it."""
    taken = []
    for what, port in ports:
        if port_is_free(host, port):
            continue
        holder = port_holder(port)
        who = holder.describe() if holder else "another process"
        taken.append(f"port {port} ({what}) is in use by {who}")
    if taken:
        raise PortTakenError("; ".join(taken) + ". Stop it (a stack left over from an "
                             "earlier run?) or choose other ports, then start again.")
