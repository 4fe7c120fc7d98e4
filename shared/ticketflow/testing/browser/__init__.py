"""The web page in a real browser, against the whole local suite: for the browser
tests (``tests/e2e``) and the page benchmark (``bench/w2_page.py``).

:class:`WebStack` is the one stack builder (:class:`ticketflow.dev.stack.Stack`) with
every part: the Cloud Tasks emulator (the step queue and its index queue), the
functions under gunicorn, the Firestore emulator with ``firestore.rules`` and the
triggers, the Auth emulator and the Hosting emulator serving the built page
(:func:`built_page`) with a ``config.js`` pointing at this stack.

Repositories are named by git URL, as in a deployment: the sample repository by
``file://``, and two copies served over smart HTTP by dulwich whose pack downloads
are held at a gate: ``slow`` never opens (its index stays ``indexing``: steps 3 and
5 wait ``index_wait_s`` before they degrade, a run that stays in the middle long
enough to reload the page), ``watch`` opens when the browser test POSTs its gate URL
(a repository the page watches being indexed). Each browser user's index is built
by the index task through the Cloud Tasks emulator.

:func:`run_driver` runs one scenario of ``driver.mjs`` (next to this module:
playwright-core on Debian chromium) and returns its JSON verdict.
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
from typing import Any, Protocol

from ticketflow.dev.emulators import (
    DEFAULT_PROJECT_ID,
    PROJECT_ROOT,
    AuthEmulator,
    EmulatorError,
    FirestoreEmulator,
    tail,
)
from ticketflow.dev.stack import Stack
from ticketflow.testing.git_repos import GitHttpServer, make_repo

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
    """See the module doc. ``start()`` raises :class:`StackError` with log tails; state
    and logs live under ``root`` (kept for inspection)."""

    root: Path
    project_id: str = DEFAULT_PROJECT_ID
    queue: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:8]}")
    index_wait_s: float = 6.0
    extra_env: dict[str, str] = field(default_factory=dict)
    stack: Stack | None = field(default=None, init=False)
    git: GitHttpServer | None = field(default=None, init=False)
    watch: GitHttpServer | None = field(default=None, init=False)
    sample_url: str = field(default="", init=False)

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def db_url(self) -> str:
        assert self.stack is not None, "not started"
        return self.stack.db_url

    @property
    def firestore(self) -> FirestoreEmulator | None:
        return self.stack.firestore if self.stack else None

    @property
    def auth(self) -> AuthEmulator | None:
        return self.stack.auth if self.stack else None

    @property
    def web_url(self) -> str:
        return self.stack.hosting.base_url if self.stack and self.stack.hosting else ""

    @property
    def functions_url(self) -> str:
        return self.stack.functions_url if self.stack else ""

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            dist = built_page(self.root / "dist", self.log_dir / "vite-build.log")
            self._repos()
            self.stack = (
                Stack(self.root, log_dir=self.log_dir, project_id=self.project_id)
                .with_database("ticketflow")
                .with_tasks(self.queue).with_firestore().with_auth()
                .with_functions(env={"TICKETFLOW_LLM": "offline",
                                     "TICKETFLOW_INDEX_WAIT_S": str(self.index_wait_s),
                                     # a held download times out and is retried, so the
                                     # emulator (one task at a time per queue) keeps
                                     # indexing the other repositories
                                     "TICKETFLOW_INDEX_FETCH_TIMEOUT_S": "2",
                                     "TICKETFLOW_INDEX_MAX_ATTEMPTS": "1000",
                                     "TICKETFLOW_INDEX_BACKOFF_S": "0.5",
                                     **self.extra_env})
                .with_hosting(dist))
            self.stack.start()
        except (EmulatorError, StackError, OSError, subprocess.SubprocessError) as exc:
            logs = self.logs()
            self.stop()
            raise StackError(f"{exc}\n{logs}") from exc
        except BaseException:
            self.stop()
            raise

    def _repos(self) -> None:
        repos = self.root / "repos"
        shutil.rmtree(repos, ignore_errors=True)
        make_repo(repos / "sample", SAMPLE_REPO)
        self.sample_url = f"file://{repos / 'sample'}"
        self.git = GitHttpServer({"slow.git": repos / "sample"}).start()
        self.git.gate.clear()  # never opened: "slow" stays indexing
        self.watch = GitHttpServer({"watch.git": repos / "sample"}).start()
        self.watch.gate.clear()  # opened by the browser test

    def dead(self) -> list[str]:
        return self.stack.dead() if self.stack else []

    def logs(self, lines: int = 25) -> str:
        return self.stack.logs(lines) if self.stack else ""

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        for server in (self.git, self.watch):
            if server is not None:
                server.stop()

    def __enter__(self) -> WebStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DriverError(AssertionError):
    """The browser driver failed; carries its output and the stack's log tails."""


class BrowserTarget(Protocol):
    """What the driver runs against: a served page, and where to put its files
    (:class:`WebStack`, or ``ticketflow dev`` run as a command)."""

    @property
    def web_url(self) -> str: ...

    @property
    def root(self) -> Path: ...

    @property
    def log_dir(self) -> Path: ...

    def logs(self, lines: int = 25) -> str: ...


def driver_env(stack: BrowserTarget, **extra: str) -> dict[str, str]:
    # a WebStack serves the sample repositories over git; ``ticketflow dev`` run as a
    # command does not (its scenarios name no repository)
    git, watch = getattr(stack, "git", None), getattr(stack, "watch", None)
    return {**os.environ, "TF_WEB_URL": stack.web_url, "TF_CHROMIUM": CHROMIUM,
            "TF_SAMPLE_REPO": getattr(stack, "sample_url", ""),
            "TF_SLOW_REPO": git.repo_url("slow.git") if git else "",
            "TF_WATCH_REPO": watch.repo_url("watch.git") if watch else "",
            "TF_WATCH_GATE": f"{watch.url}/_gate/open" if watch else "",
            "TF_SCREENSHOTS": str(SCREENSHOTS), "TF_FIREBASE_SDK":
                str(WEB / "node_modules" / "firebase"),
            "TF_PROFILE_ROOT": str(stack.root / "profiles"), **extra}


def run_driver(stack: BrowserTarget, scenario: str, *, timeout_s: float = 240.0,
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
