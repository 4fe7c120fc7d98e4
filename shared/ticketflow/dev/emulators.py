"""Supervisors for the local emulators, for pytest fixtures and for a dev command.

* :class:`FirestoreEmulator` - the Cloud Firestore emulator shipped with the Google
  Cloud CLI, started from its launcher directly (it evaluates ``firestore.rules``,
  runs on Java 17 and needs no download, unlike firebase-tools' own launcher).
* :class:`AuthEmulator` - the Firebase Auth emulator from the project's pinned
  ``firebase-tools`` (``npm ci`` at the project root), with a private config so its
  ports (and the emulator hub's) are free ones.

Each runs in its own process group, logs to a file in a folder the caller gives,
is health-checked over HTTP and is stopped (the whole group) by :meth:`stop` or on
leaving its ``with`` block, whatever happened inside.

Dev use: ``python -m ticketflow.dev.emulators --log-dir .devstack/logs`` starts both
and prints where they listen until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXPORT_METADATA = "firestore_export.overall_export_metadata"
DEFAULT_PROJECT_ID = "demo-ticketflow"
LOCALHOST = "127.0.0.1"


class EmulatorError(RuntimeError):
    """An emulator could not be started or answered wrongly; carries its log tail."""


_FIRST_PORT = 10000
_handed_out: set[int] = set()
_handed_lock = threading.Lock()


def _ephemeral_start() -> int:
    """Where the kernel's ephemeral range starts (the ports it gives to ``connect``
    and to ``bind`` on port 0)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = LOCALHOST) -> int:
    """A port that was free a moment ago, for a server that binds it later.

    Chosen below the kernel's ephemeral range, and never twice in this process: a
    child that takes seconds to bind (firebase-tools, Java) could otherwise find its
    port taken by an outgoing connection or by another ``bind(0)`` meanwhile."""
    top = _ephemeral_start()
    rng = random.SystemRandom()
    for _ in range(200) if top - _FIRST_PORT > 1000 else ():
        port = rng.randrange(_FIRST_PORT, top)
        with _handed_lock:
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@functools.cache
def gcloud_sdk_root() -> Path:
    """The Google Cloud CLI's installation folder (``gcloud info`` is slow: cached).

    ``CLOUDSDK_ROOT_DIR`` overrides the lookup.
    """
    env = os.environ.get("CLOUDSDK_ROOT_DIR")
    if env:
        return Path(env)
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise EmulatorError("gcloud is not on PATH: install the Google Cloud CLI")
    out = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    root = out.stdout.strip()
    if out.returncode != 0 or not root:
        raise EmulatorError(f"gcloud info failed ({out.returncode}): {out.stderr.strip()}")
    return Path(root)


def firestore_launcher() -> Path:
    """The ``cloud_firestore_emulator`` launcher inside the Google Cloud CLI."""
    path = gcloud_sdk_root() / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
    if not path.exists():
        raise EmulatorError(
            f"{path} not found: install the Cloud Firestore emulator component"
        )
    return path


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (empty if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Supervised:
    """One emulator process in its own process group, logging to ``log_path``."""

    name = "emulator"

    def __init__(self, log_dir: Path | str, *, host: str, port: int,
                 start_timeout_s: float) -> None:
        self.log_dir = Path(log_dir)
        self.host = host
        self.port = port or free_port(host)
        self.start_timeout_s = start_timeout_s
        self.log_path = self.log_dir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what subclasses provide ----------------------------------------------------

    def command(self) -> list[str]:
        raise NotImplementedError

    def health_url(self) -> str:
        return f"{self.base_url}/"

    def cwd(self) -> Path:
        return self.log_dir

    def extra_env(self) -> Mapping[str, str]:
        return {}

    def _after_start(self) -> None:
        """Checks once the process answers (a failure stops it)."""

    # -- lifecycle ------------------------------------------------------------------

    @property
    def host_port(self) -> str:
        """``host:port`` without a scheme (what ``*_EMULATOR_HOST`` variables expect)."""
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the process and wait until it answers; ``EmulatorError`` if it cannot."""
        if self._proc is not None:
            raise EmulatorError(f"{self.name} already started")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd, cwd=self.cwd(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env={**os.environ, **self.extra_env()},
                start_new_session=True,
            )
        try:
            self._wait_healthy()
            self._after_start()
        except BaseException:
            self.stop()
            raise

    def kill(self) -> int | None:
        """A crash, not a shutdown: SIGKILL to the whole group at once (no SIGTERM
        first, so nothing in it gets to clean up), then reap the leader. Returns the
        leader's exit status (``-9`` when the signal killed it), ``None`` if none ran."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace_s``."""
        if self._proc is None:
            return
        self.signal_group(signal.SIGTERM)
        if not self.wait_exit(grace_s):
            self.signal_group(signal.SIGKILL)
            self.wait_exit(5.0)
        self.release()

    # The three pieces of ``stop``, for a stack that stops all its parts at once
    # within one deadline (``ticketflow.dev.stack.Stack.stop``).

    @property
    def pid(self) -> int | None:
        """The process group's leader (also the group's id), while started."""
        return self._proc.pid if self._proc is not None else None

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the whole process group (no-op when not started)."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, sig)

    def wait_exit(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the leader to exit; whether it has."""
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout=max(timeout_s, 0.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def release(self) -> None:
        """Forget the process; what is left of its group (children of a launcher
        script that outlived it) is killed."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def __enter__(self) -> Supervised:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        url = self.health_url()
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise EmulatorError(
                    f"{self.name} exited with code {code} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                response = httpx.get(url, timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise EmulatorError(
            f"{self.name} not healthy at {url} after {self.start_timeout_s:.0f}s ({last}); "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def _request(self, method: str, path: str, *, timeout_s: float = 30.0,
                 **kwargs: Any) -> httpx.Response:
        # 30 s: compiling the rules on a just-started JVM took over 10 s on a loaded machine
        response = httpx.request(method, f"{self.base_url}{path}", timeout=timeout_s, **kwargs)
        if response.status_code >= 300:
            raise EmulatorError(
                f"{self.name}: {method} {path} -> HTTP {response.status_code}: {response.text}"
            )
        return response


class FirestoreEmulator(Supervised):
    """The Cloud Firestore emulator from the Google Cloud CLI (see module doc).

    ``functions_emulator`` (``host:port``) is where it POSTs Firestore CloudEvents
    for triggers registered with :meth:`register_trigger`.
    """

    name = "firestore-emulator"

    def __init__(
        self,
        log_dir: Path | str,
        *,
        port: int = 0,
        rules_path: Path | str | None = PROJECT_ROOT / "firestore.rules",
        project_id: str = DEFAULT_PROJECT_ID,
        functions_emulator: str | None = None,
        host: str = LOCALHOST,
        start_timeout_s: float = 60.0,
        import_from: Path | None = None,
    ) -> None:
        super().__init__(log_dir, host=host, port=port, start_timeout_s=start_timeout_s)
        self.rules_path = Path(rules_path) if rules_path is not None else None
        self.project_id = project_id
        self.functions_emulator = functions_emulator
        self.import_from = import_from

    def command(self) -> list[str]:
        cmd = [
            str(firestore_launcher()), "start", f"--host={self.host}", f"--port={self.port}",
            f"--project_id={self.project_id}", "--single_project_mode=true",
        ]
        if self.rules_path is not None:
            if not self.rules_path.exists():
                raise EmulatorError(f"rules file {self.rules_path} not found")
            cmd.append(f"--rules={self.rules_path.resolve()}")
        if self.functions_emulator:
            cmd.append(f"--functions_emulator={self.functions_emulator}")
        if self.import_from is not None:
            cmd.append(f"--import-data={self.import_from.resolve() / EXPORT_METADATA}")
        return cmd

    def export(self, folder: Path, *, timeout_s: float = 10.0) -> None:
        """Write every document to ``folder`` (an export that ``import_from`` reads)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        body = {"database": f"projects/{self.project_id}/databases/(default)",
                "export_directory": str(folder.parent.resolve()),
                "export_name": folder.name}
        response = httpx.post(f"{self.base_url}/emulator/v1/projects/{self.project_id}:export",
                              json=body, timeout=timeout_s)
        if response.status_code != 200:
            raise EmulatorError(f"{self.name}: export -> HTTP {response.status_code}: "
                                f"{response.text[:300]}")

    @property
    def documents_url(self) -> str:
        """REST root of the documents (``.../documents``), for rules-checked calls."""
        return f"{self.base_url}/v1/projects/{self.project_id}/databases/(default)/documents"

    def _after_start(self) -> None:
        # The emulator starts even when the rules file does not compile (and then
        # denies everything): load it again through the API, which reports errors.
        if self.rules_path is not None:
            self.load_rules()

    def load_rules(self, rules_path: Path | str | None = None) -> None:
        """(Re)load security rules; ``EmulatorError`` with the compiler's message if
        they do not compile."""
        path = Path(rules_path) if rules_path is not None else self.rules_path
        if path is None:
            raise EmulatorError("no rules file given")
        body = {"rules": {"files": [{"name": path.name, "content": path.read_text()}]}}
        # the first compile runs on a cold JVM: seconds on a busy machine, so a generous
        # timeout (a slow machine is not a broken emulator)
        self._request("PUT", f"/emulator/v1/projects/{self.project_id}:securityRules",
                      json=body, timeout_s=60.0)

    def env(self) -> dict[str, str]:
        """Environment for processes that should use this emulator."""
        return {"FIRESTORE_EMULATOR_HOST": self.host_port,
                "GOOGLE_CLOUD_PROJECT": self.project_id}

    def reset(self) -> None:
        """Delete every document of the project's default database."""
        self._request(
            "DELETE", f"/emulator/v1/projects/{self.project_id}/databases/(default)/documents"
        )

    def register_trigger(
        self,
        trigger_id: str,
        document_pattern: str,
        event_type: str = "google.cloud.firestore.document.v1.created",
    ) -> None:
        """Ask the emulator to POST CloudEvents for ``document_pattern`` (for example
        ``aecs/{aecId}/actions/{actionId}``) to the functions emulator."""
        if not self.functions_emulator:
            raise EmulatorError("register_trigger needs functions_emulator set at start")
        body = {
            "eventType": event_type,
            "database": "(default)",
            "namespace": "(default)",
            "document": {"value": document_pattern, "matchType": "PATH_PATTERN"},
        }
        self._request(
            "POST", f"/emulator/v1/projects/{self.project_id}/eventarcTrigger",
            params={"eventarcTriggerId": trigger_id}, json=body,
        )

    def __enter__(self) -> FirestoreEmulator:
        self.start()
        return self


class AuthEmulator(Supervised):
    """The Firebase Auth emulator (firebase-tools) on free ports (see module doc)."""

    name = "auth-emulator"

    def __init__(
        self,
        log_dir: Path | str,
        *,
        port: int = 0,
        project_id: str = DEFAULT_PROJECT_ID,
        host: str = LOCALHOST,
        project_root: Path = PROJECT_ROOT,
        start_timeout_s: float = 120.0,
        import_from: Path | None = None,
    ) -> None:
        super().__init__(log_dir, host=host, port=port, start_timeout_s=start_timeout_s)
        self.project_id = project_id
        self.project_root = project_root
        self.config_path = self.log_dir / "auth-emulator.firebase.json"
        self.import_from = import_from
        self.hub_port = 0

    def _firebase_bin(self) -> Path:
        path = self.project_root / "node_modules" / ".bin" / "firebase"
        if not path.exists():
            raise EmulatorError(
                f"{path} not found: run `npm ci` in {self.project_root} (firebase-tools)"
            )
        return path

    def command(self) -> list[str]:
        firebase = self._firebase_bin()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.hub_port = free_port(self.host)
        config = {
            "emulators": {
                "singleProjectMode": True,
                "auth": {"host": self.host, "port": self.port},
                "hub": {"host": self.host, "port": self.hub_port},
                "logging": {"host": self.host, "port": free_port(self.host)},
                "ui": {"enabled": False},
            }
        }
        self.config_path.write_text(json.dumps(config, indent=2))
        cmd = [
            str(firebase), "emulators:start", "--only", "auth",
            "--project", self.project_id, "--config", str(self.config_path),
        ]
        if self.import_from is not None:
            cmd += ["--import", str(self.import_from.resolve())]
        return cmd

    def export(self, folder: Path, *, timeout_s: float = 10.0) -> None:
        """Write the accounts to ``folder`` through the emulator hub (what ``firebase
        emulators:export`` does); ``import_from`` reads it back."""
        response = httpx.post(f"http://{self.host}:{self.hub_port}/_admin/export",
                              json={"path": str(folder.resolve()), "initiatedBy": "ticketflow",
                                    "targets": ["auth"]}, timeout=timeout_s)
        if response.status_code != 200:
            raise EmulatorError(f"{self.name}: export -> HTTP {response.status_code}: "
                                f"{response.text[:300]}")

    def extra_env(self) -> Mapping[str, str]:
        return {"NO_UPDATE_NOTIFIER": "1", "CI": os.environ.get("CI", "true")}

    def env(self) -> dict[str, str]:
        """Environment for processes that verify this emulator's tokens."""
        return {"FIREBASE_AUTH_EMULATOR_HOST": self.host_port}

    def sign_up(self, email: str, password: str) -> tuple[str, str]:
        """Create an email/password user; returns ``(uid, id_token)``."""
        data = self._identity("accounts:signUp",
                              {"email": email, "password": password,
                               "returnSecureToken": True})
        return str(data["localId"]), str(data["idToken"])

    def sign_in_anonymously(self) -> tuple[str, str]:
        """A new anonymous user; returns ``(uid, id_token)``."""
        data = self._identity("accounts:signUp", {"returnSecureToken": True})
        return str(data["localId"]), str(data["idToken"])

    def disable_user(self, uid: str) -> None:
        """Disable an account (as the Firebase console or the Admin SDK would)."""
        self._request("POST", f"/identitytoolkit.googleapis.com/v1/projects/{self.project_id}"
                      "/accounts:update", json={"localId": uid, "disableUser": True},
                      headers={"Authorization": "Bearer owner"})

    def reset(self) -> None:
        """Delete every user of the project."""
        self._request("DELETE", f"/emulator/v1/projects/{self.project_id}/accounts")

    def _identity(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._request(
            "POST", f"/identitytoolkit.googleapis.com/v1/{method}", params={"key": "any"},
            json=body,
        )
        result: dict[str, Any] = response.json()
        return result

    def __enter__(self) -> AuthEmulator:
        self.start()
        return self


def start_in_parallel(*emulators: Supervised) -> None:
    """Start several emulators at once (each waits for its own health check); the
    first failure is raised after all have finished trying."""
    errors: list[BaseException] = []

    def start(emulator: Supervised) -> None:
        try:
            emulator.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in emulators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@contextlib.contextmanager
def running(*emulators: Supervised) -> Iterator[None]:
    """Start each emulator in turn; stop all that started on leaving, in reverse."""
    with contextlib.ExitStack() as stack:
        for emulator in emulators:
            emulator.start()
            stack.callback(emulator.stop)
        yield


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Start the Firestore and Auth emulators until interrupted (dev command)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--log-dir", type=Path, default=PROJECT_ROOT / ".devstack" / "logs")
    parser.add_argument("--firestore-port", type=int, default=8080)
    parser.add_argument("--auth-port", type=int, default=9099)
    parser.add_argument("--functions-emulator", default=None, help="host:port of the functions")
    parser.add_argument("--project-id", default=DEFAULT_PROJECT_ID)
    args = parser.parse_args(argv)
    firestore = FirestoreEmulator(args.log_dir, port=args.firestore_port,
                                  project_id=args.project_id,
                                  functions_emulator=args.functions_emulator)
    auth = AuthEmulator(args.log_dir, port=args.auth_port, project_id=args.project_id)
    try:
        with running(firestore, auth):
            print(f"firestore emulator: {firestore.host_port}", flush=True)
            print(f"auth emulator:      {auth.host_port}", flush=True)
            print(f"logs:               {args.log_dir}", flush=True)
            signal.signal(signal.SIGTERM, _interrupt)
            with contextlib.suppress(KeyboardInterrupt):
                while firestore.running and auth.running:
                    time.sleep(1.0)
    except EmulatorError as exc:
        print(exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
