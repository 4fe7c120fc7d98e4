"""The local emulator suite (``ticketflow dev``) and the process supervisors that the
end-to-end tests share with it.

Started in this order, each health-checked before the next:

1. the Cloud Tasks emulator (``gcloud-tasks-emulator``, from
   ``requirements-emulators.txt``) with the step queue created;
2. the functions (every target in one process, ``functions/dev_app.py``) under
   gunicorn, or under werkzeug's single-process server (tests kill it with SIGKILL);
3. the Cloud Firestore emulator (Google Cloud CLI) with ``firestore.rules`` and two
   triggers registered to the functions: ``aecs/{aecId}/actions/{actionId}`` created
   (``on_action_created``) and ``aecs/{aecId}`` updated (``on_aec_updated``);
4. the Auth emulator and, when ``web/dist`` exists, the Hosting emulator (firebase-tools).

Every process runs in its own process group and logs to ``.devstack/logs/``;
stopping the stack (or Ctrl-C) stops every group it started, in reverse order.
The Firestore and Auth supervisors live in ``tests/support/emulators.py`` (this
module imports them from the project checkout).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    PROJECT_ROOT,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    Supervised,
    free_port,
)

TRIGGER_ID = "on-action-created"
ACTION_PATTERN = "aecs/{aecId}/actions/{actionId}"
UPDATE_TRIGGER_ID = "on-aec-updated"  # functions/dev_app.py routes both ids
AEC_PATTERN = "aecs/{aecId}"
UPDATED_EVENT = "google.cloud.firestore.document.v1.updated"

__all__ = ["AuthEmulator", "DevStack", "EmulatorError", "FirestoreEmulator",
           "FunctionsServer", "HostingEmulator", "TasksEmulator", "free_port"]


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

    def kill(self) -> None:
        """SIGKILL the whole group at once (a crash, not a shutdown)."""
        self.stop(grace_s=0.0)

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


def functions_env(*, db_url: str, project_id: str, firestore_host: str, tasks_host: str,
                  queue: str, functions_url: str, secret: str,
                  auth_host: str | None = None, extra: Mapping[str, str] | None = None,
                  ) -> dict[str, str]:
    """The environment a local functions process reads (see ``deploy/README.md``)."""
    env = {
        "TICKETFLOW_DB_URL": db_url,
        "TICKETFLOW_PROJECT_ID": project_id,
        "GOOGLE_CLOUD_PROJECT": project_id,
        "TICKETFLOW_FIRESTORE_EMULATOR_HOST": firestore_host,
        "TICKETFLOW_TASKS_PROJECT_ID": project_id,
        "TICKETFLOW_TASKS_EMULATOR_HOST": tasks_host,
        "TICKETFLOW_TASKS_QUEUE": queue,
        "TICKETFLOW_TASKS_TARGET_URL": f"{functions_url}/run_step",
        "TICKETFLOW_TASKS_SECRET": secret,
        "TICKETFLOW_LLM": os.environ.get("TICKETFLOW_LLM", "auto"),
    }
    if auth_host:
        env["FIREBASE_AUTH_EMULATOR_HOST"] = auth_host
    env.update(extra or {})
    return env


@dataclass
class DevStack:
    """Everything ``ticketflow dev`` runs (see the module doc)."""

    root: Path = PROJECT_ROOT
    project_id: str = DEFAULT_PROJECT_ID
    firestore_port: int = 8080
    auth_port: int = 9099
    hosting_port: int = 5000
    functions_port: int = 8090
    tasks_port: int = 9022
    queue: str = "ticketflow-steps"
    server: str = "gunicorn"
    hosting: bool = True
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    started: list[Supervised] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.root / ".devstack"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def _start(self, proc: Supervised) -> None:
        proc.start()
        self.started.append(proc)

    def start(self) -> None:
        from ticketflow.adapters.cloud_tasks import CloudTasksSettings, ensure_queue

        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            tasks = TasksEmulator(self.log_dir, port=self.tasks_port)
            self._start(tasks)
            ensure_queue(CloudTasksSettings(project_id=self.project_id, queue=self.queue,
                                            emulator_host=tasks.host_port))
            functions_url = f"http://{LOCALHOST}:{self.functions_port}"
            auth = AuthEmulator(self.log_dir, port=self.auth_port, project_id=self.project_id)
            firestore = FirestoreEmulator(
                self.log_dir, port=self.firestore_port, project_id=self.project_id,
                rules_path=self.root / "firestore.rules",
                functions_emulator=f"{LOCALHOST}:{self.functions_port}")
            env = functions_env(
                db_url=f"file:{self.state_dir / 'ticketflow.db'}", project_id=self.project_id,
                firestore_host=firestore.host_port, tasks_host=tasks.host_port,
                queue=self.queue, functions_url=functions_url, secret=self.secret,
                auth_host=auth.host_port,
                extra={"TICKETFLOW_ALLOW_EMULATOR_AUTH": "1"})
            self._start(FunctionsServer(self.log_dir, env, port=self.functions_port,
                                        server=self.server))
            self._start(firestore)
            firestore.register_trigger(TRIGGER_ID, ACTION_PATTERN)
            firestore.register_trigger(UPDATE_TRIGGER_ID, AEC_PATTERN, UPDATED_EVENT)
            self._start(auth)
            self.urls = {"functions": functions_url, "firestore": firestore.base_url,
                         "auth": auth.base_url, "tasks (gRPC)": tasks.host_port,
                         "run_step secret": self.secret}
            dist = self.root / "web" / "dist"
            if self.hosting and (dist / "index.html").exists():
                public = self._hosting_dir(dist, firestore.host_port, auth.base_url,
                                           functions_url)
                self._start(HostingEmulator(self.log_dir, public, port=self.hosting_port,
                                            project_id=self.project_id))
                self.urls["web"] = f"http://{LOCALHOST}:{self.hosting_port}"
            self.urls["logs"] = str(self.log_dir)
        except BaseException:
            self.stop()
            raise

    def _hosting_dir(self, dist: Path, firestore_host: str, auth_url: str,
                     functions_url: str) -> Path:
        """A copy of ``web/dist`` whose ``config.js`` points at this stack."""
        public = self.state_dir / "hosting"
        shutil.rmtree(public, ignore_errors=True)
        shutil.copytree(dist, public)
        config: dict[str, Any] = {"projectId": self.project_id, "useEmulators": True,
                                  "firestoreEmulator": firestore_host,
                                  "authEmulator": auth_url, "functionsUrl": functions_url}
        (public / "config.js").write_text(
            f"window.__TICKETFLOW_CONFIG__ = {json.dumps(config, indent=2)};\n")
        return public

    def stop(self) -> None:
        while self.started:
            proc = self.started.pop()
            with contextlib.suppress(Exception):
                proc.stop()

    def alive(self) -> bool:
        return all(p.running for p in self.started)

    def dead(self) -> list[str]:
        return [p.name for p in self.started if not p.running]

    @contextlib.contextmanager
    def running(self) -> Iterator[DevStack]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


def serve_forever(stack: DevStack, print_fn: Any = print) -> int:
    """Start ``stack``, print where everything is, wait for Ctrl-C (or a crash)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        with stack.running():
            width = max(len(k) for k in stack.urls)
            for name, url in stack.urls.items():
                print_fn(f"{name.ljust(width)}  {url}")
            print_fn("Ctrl-C stops everything.")
            while stack.alive():
                time.sleep(1.0)
            print_fn(f"stopped: {', '.join(stack.dead())} exited; see {stack.log_dir}")
            return 1
    except KeyboardInterrupt:
        return 0
    except EmulatorError as exc:
        print_fn(f"error: {exc}")
        return 1
