"""The whole local suite for browser tests and the page benchmark.

Cloud Tasks emulator (one queue), the functions under gunicorn, the Firestore
emulator with ``firestore.rules`` and the action trigger, the Auth emulator and the
Hosting emulator serving a copy of the built page whose ``config.js`` points at
this stack. Every port is a free one; logs go to ``log_dir``. The libSQL file of
the functions gets the sample repository indexed (ready) and a second copy of it
registered as still ``indexing`` (step 5 then waits ``index_wait_s`` before it
degrades: a run that stays in the middle long enough to reload the page).

Also: :func:`run_driver` runs ``tests/e2e/driver.mjs`` (playwright-core on Debian
chromium) and returns its JSON verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticketflow.adapters.cloud_tasks import CloudTasksSettings, ensure_queue
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    LOCALHOST,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    free_port,
    tail,
)
from ticketflow.dev.stack import (
    ACTION_PATTERN,
    AEC_PATTERN,
    PROJECT_ROOT,
    TRIGGER_ID,
    UPDATE_TRIGGER_ID,
    UPDATED_EVENT,
    FunctionsServer,
    HostingEmulator,
    TasksEmulator,
    functions_env,
)

WEB = PROJECT_ROOT / "web"
DRIVER = Path(__file__).with_name("driver.mjs")
SAMPLE_REPO = PROJECT_ROOT / "examples" / "sample-repo"
CHROMIUM = os.environ.get("TICKETFLOW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


class StackError(RuntimeError):
    """Something of the suite could not start; carries log tails."""


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for root in paths:
        if root.is_file():
            newest = max(newest, root.stat().st_mtime)
            continue
        for p in root.rglob("*"):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    return newest


def built_page(out_dir: Path, log_path: Path) -> Path:
    """``web/dist`` when it is newer than the page's sources, else a fresh build of
    the current sources into ``out_dir`` (``web/dist`` is left alone)."""
    dist = WEB / "dist"
    sources = [WEB / "src", WEB / "index.html", WEB / "package.json", WEB / "vite.config.ts"]
    if (dist / "index.html").exists() and \
            (dist / "index.html").stat().st_mtime >= _newest_mtime(sources):
        return dist
    vite = WEB / "node_modules" / ".bin" / "vite"
    if not vite.exists():
        raise StackError(f"{vite} not found: run `npm ci` in {WEB}")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.run([str(vite), "build", "--outDir", str(out_dir), "--emptyOutDir"],
                              cwd=WEB, stdout=log, stderr=subprocess.STDOUT, timeout=300,
                              check=False)
    if proc.returncode != 0 or not (out_dir / "index.html").exists():
        raise StackError(f"vite build failed ({proc.returncode}); log {log_path}:\n"
                         f"{tail(log_path)}")
    return out_dir


@dataclass
class WebStack:
    """See the module doc. ``start()`` raises :class:`StackError` with log tails."""

    root: Path
    project_id: str = DEFAULT_PROJECT_ID
    queue: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:8]}")
    index_wait_s: float = 6.0
    secret: str = field(default_factory=lambda: uuid.uuid4().hex)
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Any] = field(default_factory=list)
    web_url: str = ""
    functions_url: str = ""
    firestore: FirestoreEmulator | None = None
    auth: AuthEmulator | None = None

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def db_path(self) -> Path:
        return self.root / "ticketflow.db"

    @property
    def db_url(self) -> str:
        return f"file:{self.db_path}"

    @property
    def slow_repo(self) -> Path:
        """A copy of the sample repository whose index stays ``indexing``."""
        return self.root / "slow-repo"

    def _start(self, proc: Any) -> None:
        self.procs.append(proc)
        proc.start()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for p in self.root.glob("ticketflow.db*"):
            p.unlink()
        try:
            dist = built_page(self.root / "dist", self.log_dir / "vite-build.log")
            self._index_repos()
            tasks = TasksEmulator(self.log_dir)
            self._start(tasks)
            ensure_queue(CloudTasksSettings(project_id=self.project_id, queue=self.queue,
                                            emulator_host=tasks.host_port))
            functions_port = free_port()
            self.functions_url = f"http://{LOCALHOST}:{functions_port}"
            auth = AuthEmulator(self.log_dir, project_id=self.project_id)
            firestore = FirestoreEmulator(
                self.log_dir, project_id=self.project_id,
                rules_path=PROJECT_ROOT / "firestore.rules",
                functions_emulator=f"{LOCALHOST}:{functions_port}")
            env = functions_env(
                db_url=self.db_url, project_id=self.project_id,
                firestore_host=firestore.host_port, tasks_host=tasks.host_port,
                queue=self.queue, functions_url=self.functions_url, secret=self.secret,
                auth_host=auth.host_port,
                extra={"TICKETFLOW_ALLOW_EMULATOR_AUTH": "1", "TICKETFLOW_LLM": "offline",
                       "TICKETFLOW_INDEX_WAIT_S": str(self.index_wait_s),
                       **self.extra_env})
            self._start(FunctionsServer(self.log_dir, env, port=functions_port))
            self._start(firestore)
            firestore.register_trigger(TRIGGER_ID, ACTION_PATTERN)
            firestore.register_trigger(UPDATE_TRIGGER_ID, AEC_PATTERN, UPDATED_EVENT)
            self.firestore = firestore
            self._start(auth)
            self.auth = auth
            public = self._public_dir(dist, firestore.host_port, auth.base_url)
            hosting = HostingEmulator(self.log_dir, public, project_id=self.project_id)
            self._start(hosting)
            self.web_url = hosting.base_url
        except (EmulatorError, StackError, OSError, subprocess.SubprocessError) as exc:
            logs = self.logs()
            self.stop()
            raise StackError(f"{exc}\n{logs}") from exc
        except BaseException:
            self.stop()
            raise

    def _index_repos(self) -> None:
        shutil.rmtree(self.slow_repo, ignore_errors=True)
        shutil.copytree(SAMPLE_REPO, self.slow_repo)
        with Database(self.db_url) as db:
            index = LibsqlRepoIndex(db)
            status = index.index(str(SAMPLE_REPO))
            if status.state != "ready":
                raise StackError(f"indexing {SAMPLE_REPO} ended {status.state}")
            index.mark(str(self.slow_repo), "indexing")

    def _public_dir(self, dist: Path, firestore_host: str, auth_url: str) -> Path:
        public = self.root / "hosting"
        shutil.rmtree(public, ignore_errors=True)
        shutil.copytree(dist, public)
        config = {"projectId": self.project_id, "useEmulators": True,
                  "firestoreEmulator": firestore_host, "authEmulator": auth_url,
                  "functionsUrl": self.functions_url}
        (public / "config.js").write_text(
            f"window.__TICKETFLOW_CONFIG__ = {json.dumps(config, indent=2)};\n")
        return public

    def dead(self) -> list[str]:
        return [p.name for p in self.procs if not p.running]

    def logs(self, lines: int = 25) -> str:
        parts = [f"== {p.name} ({p.log_path})\n{p.log_tail(lines)}" for p in self.procs]
        return "\n".join(parts)

    def stop(self) -> None:
        while self.procs:
            proc = self.procs.pop()
            with contextlib.suppress(Exception):
                proc.stop()

    def __enter__(self) -> WebStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DriverError(AssertionError):
    """The browser driver failed; carries its output and the stack's log tails."""


def driver_env(stack: WebStack, **extra: str) -> dict[str, str]:
    return {**os.environ, "TF_WEB_URL": stack.web_url, "TF_CHROMIUM": CHROMIUM,
            "TF_SAMPLE_REPO": str(SAMPLE_REPO), "TF_SLOW_REPO": str(stack.slow_repo),
            "TF_SCREENSHOTS": str(SCREENSHOTS), "TF_FIREBASE_SDK":
                str(WEB / "node_modules" / "firebase"),
            "TF_PROFILE_ROOT": str(stack.root / "profiles"), **extra}


def run_driver(stack: WebStack, scenario: str, *, timeout_s: float = 240.0,
               **extra: str) -> dict[str, Any]:
    """Run one scenario of ``driver.mjs``; its last stdout line is a JSON object with
    ``ok``. A failure raises :class:`DriverError` with the driver's output and logs."""
    node = shutil.which("node")
    if node is None:
        raise DriverError("node is not on PATH")
    log_path = stack.log_dir / f"driver-{scenario}.log"
    try:
        proc = subprocess.run([node, str(DRIVER), scenario], cwd=WEB,
                              env=driver_env(stack, **extra), capture_output=True,
                              text=True, timeout=timeout_s, check=False)
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        code = -1
    log_path.write_text(f"$ node driver.mjs {scenario} (exit {code})\n--- stdout\n{out}"
                        f"\n--- stderr\n{err}")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    result: dict[str, Any] | None = None
    if lines:
        with contextlib.suppress(json.JSONDecodeError):
            result = json.loads(lines[-1])
    if code != 0 or result is None or not result.get("ok"):
        detail = (result or {}).get("error") or "no JSON verdict"
        raise DriverError(f"driver scenario {scenario!r} failed (exit {code}): {detail}\n"
                          f"--- driver stderr (tail)\n{err[-3000:]}\n"
                          f"--- driver log {log_path}\n--- stack logs\n{stack.logs(15)}")
    return result
