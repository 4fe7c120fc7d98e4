"""Supervisors of the stack's other processes (the emulators of Google's services are
in :mod:`ticketflow.dev.emulators`): the Cloud Tasks emulator, the functions, and
firebase-tools' Hosting emulator. Each is a :class:`~ticketflow.dev.emulators.Supervised`:
its own process group, a log file, a health check, a clean stop.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    PROJECT_ROOT,
    EmulatorError,
    Supervised,
    free_port,
)

__all__ = ["FunctionsServer", "HostingEmulator", "TasksEmulator", "wait_port_free"]


def wait_port_free(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
                return
            except OSError:
                time.sleep(0.1)
    raise EmulatorError(f"port {host}:{port} still in use after {timeout_s:.0f}s")


class TasksEmulator(Supervised):
    """``gcloud-tasks-emulator`` (gRPC only: health is a ListQueues call)."""

    name = "tasks-emulator"

    def __init__(self, log_dir: Path | str, *, port: int = 0, host: str = LOCALHOST,
                 start_timeout_s: float = 30.0) -> None:
        super().__init__(log_dir, host=host, port=port, start_timeout_s=start_timeout_s)

    def command(self) -> list[str]:
        exe = Path(sys.executable).with_name("gcloud-tasks-emulator")
        if not exe.exists():
            raise EmulatorError(f"{exe} not found: pip install --no-deps -r "
                                f"{PROJECT_ROOT / 'requirements-emulators.txt'}")
        return [sys.executable, "-u", str(exe), "start", f"--port={self.port}"]

    def _wait_healthy(self) -> None:
        import grpc  # type: ignore[import-untyped]
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        deadline = time.monotonic() + self.start_timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise EmulatorError(f"{self.name} exited with code {self._proc.returncode}; "
                                    f"log {self.log_path}:\n{self.log_tail()}")
            channel = grpc.insecure_channel(self.host_port)
            try:
                client = tasks_v2.CloudTasksClient(
                    transport=CloudTasksGrpcTransport(channel=channel))
                client.list_queues(parent="projects/p/locations/l", timeout=1.0)
                return
            except Exception as exc:  # not up yet: any gRPC error
                last = repr(exc)
            finally:
                channel.close()
            time.sleep(0.2)
        raise EmulatorError(f"{self.name} not healthy at {self.host_port} ({last}); "
                            f"log {self.log_path}:\n{self.log_tail()}")

    def __enter__(self) -> TasksEmulator:
        self.start()
        return self


class FunctionsServer(Supervised):
    """Every function target in one process (``functions/dev_app.py``)."""

    name = "functions"

    def __init__(self, log_dir: Path | str, env: Mapping[str, str], *, port: int = 0,
                 host: str = LOCALHOST, server: str = "gunicorn", threads: int = 8,
                 name: str | None = None, start_timeout_s: float = 60.0) -> None:
        if name:
            self.name = name
        super().__init__(log_dir, host=host, port=port, start_timeout_s=start_timeout_s)
        self.env = dict(env)
        self.server = server
        self.threads = threads

    def command(self) -> list[str]:
        if self.server == "gunicorn":
            return [sys.executable, "-m", "gunicorn", "--pythonpath", "functions",
                    "--bind", self.host_port, "--workers", "1", "--threads",
                    str(self.threads), "--timeout", "0", "--graceful-timeout", "5",
                    "dev_app:app"]
        return [sys.executable, "-u", "functions/dev_app.py", "--host", self.host,
                "--port", str(self.port)]

    def cwd(self) -> Path:
        return PROJECT_ROOT

    def extra_env(self) -> Mapping[str, str]:
        return {"PYTHONUNBUFFERED": "1", **self.env}

    def __enter__(self) -> FunctionsServer:
        self.start()
        return self


class HostingEmulator(Supervised):
    """firebase-tools' Hosting emulator serving a folder (a copy of ``web/dist``)."""

    name = "hosting-emulator"

    def __init__(self, log_dir: Path | str, public_dir: Path, *, port: int = 0,
                 host: str = LOCALHOST, project_id: str = DEFAULT_PROJECT_ID,
                 start_timeout_s: float = 120.0) -> None:
        super().__init__(log_dir, host=host, port=port, start_timeout_s=start_timeout_s)
        self.public_dir = public_dir
        self.project_id = project_id
        self.config_path = self.log_dir / "hosting-emulator.firebase.json"

    def command(self) -> list[str]:
        firebase = PROJECT_ROOT / "node_modules" / ".bin" / "firebase"
        if not firebase.exists():
            raise EmulatorError(f"{firebase} not found: run `npm ci` in {PROJECT_ROOT}")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "hosting": {"public": os.path.relpath(self.public_dir.resolve(),
                                                  self.config_path.parent.resolve()),
                        "rewrites": [{"source": "**", "destination": "/index.html"}]},
            "emulators": {
                "singleProjectMode": True,
                "hosting": {"host": self.host, "port": self.port},
                "hub": {"host": self.host, "port": free_port(self.host)},
                "logging": {"host": self.host, "port": free_port(self.host)},
                "ui": {"enabled": False},
            },
        }
        self.config_path.write_text(json.dumps(config, indent=2))
        return [str(firebase), "emulators:start", "--only", "hosting", "--project",
                self.project_id, "--config", str(self.config_path)]

    def extra_env(self) -> Mapping[str, str]:
        return {"NO_UPDATE_NOTIFIER": "1", "CI": os.environ.get("CI", "true")}
