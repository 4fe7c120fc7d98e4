"""Git repositories for tests and benchmarks: made with dulwich (no ``git`` binary),
served over git's smart HTTP protocol from 127.0.0.1, and indexed ahead of a test.

* :func:`make_repo` turns a directory of files into a git repository with one commit;
  :func:`commit_files` adds a commit that writes (or deletes) files.
* :class:`GitHttpServer` serves repositories with dulwich's WSGI server on a free
  port, records every request (evidence from outside the system), can demand HTTP
  Basic credentials, and can hold pack downloads at a gate the test opens (an index
  that stays "indexing" for as long as a test needs).
* :func:`index_now` builds the index of a repository for a user in a libSQL database
  through the embedded default's own index queue (what the functions would find
  ready).
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

AUTHOR = b"ticketflow tests <tests@ticketflow.invalid>"


def make_repo(path: Path, files: Path | Mapping[str, str] | None = None, *,
              message: str = "initial commit") -> str:
    """A git repository at ``path`` with ``files`` (a directory copied in, or a
    mapping of relative path -> text) committed; returns the commit id."""
    from dulwich import porcelain

    path.mkdir(parents=True, exist_ok=True)
    if isinstance(files, Path):
        shutil.copytree(files, path, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".git", "__pycache__"))
    elif files:
        for rel, text in files.items():
            target = path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    porcelain.init(str(path))
    return _commit_all(path, message)


def _commit_all(path: Path, message: str) -> str:
    from dulwich import porcelain
    from dulwich.repo import Repo

    with Repo(str(path)) as repo:
        tracked = {p.decode() for p in repo.open_index()}
        present: list[str] = []
        for root, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in names:
                full = Path(root) / name
                present.append(full.relative_to(path).as_posix())
        gone = sorted(tracked - set(present))
        if gone:
            porcelain.remove(repo, [str(path / g) for g in gone], cached=True)
        # add in batches: one call per file is slow on large trees
        for i in range(0, len(present), 2000):
            porcelain.add(repo, [str(path / p) for p in present[i:i + 2000]])
        sha = porcelain.commit(repo, message=message.encode(), author=AUTHOR,
                               committer=AUTHOR)
    return sha.decode() if isinstance(sha, bytes) else str(sha)


def commit_files(path: Path, changes: Mapping[str, str | None], *,
                 message: str = "change") -> str:
    """Write (text) or delete (``None``) files of the repository at ``path`` and commit
    them; returns the new commit id."""
    for rel, text in changes.items():
        target = path / rel
        if text is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return _commit_all(path, message)


@dataclass
class GitHttpServer:
    """dulwich's smart HTTP server for ``repos`` (URL path -> repository directory).

    ``credentials`` (user, password) makes every request require HTTP Basic auth;
    :attr:`gate` cleared holds each pack download (``POST .../git-upload-pack``)
    until it is set (or until another process POSTs ``/_gate/open``);
    :attr:`requests` logs ``(method, path, status)``."""

    repos: Mapping[str, Path]
    credentials: tuple[str, str] | None = None
    host: str = "127.0.0.1"
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    _server: Any = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.gate.set()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://{self.host}:{self._server.server_port}"

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name.strip('/')}"

    def uploads(self) -> int:
        """How many pack downloads were served."""
        return sum(1 for m, p, _ in self.requests if m == "POST" and p.endswith("upload-pack"))

    def _app(self) -> Any:
        from dulwich.repo import Repo
        from dulwich.server import DictBackend
        from dulwich.web import make_wsgi_chain

        repos: dict[str, Any] = {f"/{k.strip('/')}": Repo(str(v)) for k, v in self.repos.items()}
        backend = DictBackend(repos)
        inner = make_wsgi_chain(backend)
        server = self
        expected = None
        if self.credentials:
            raw = f"{self.credentials[0]}:{self.credentials[1]}".encode()
            expected = "Basic " + base64.b64encode(raw).decode()

        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            if method == "POST" and path == "/_gate/open":  # a test in another process
                server.gate.set()
                start_response("204 No Content", [("Access-Control-Allow-Origin", "*")])
                return [b""]
            if expected is not None and environ.get("HTTP_AUTHORIZATION") != expected:
                server.requests.append((method, path, 401))
                start_response("401 Unauthorized", [
                    ("WWW-Authenticate", 'Basic realm="git"'), ("Content-Length", "0")])
                return [b""]
            if method == "POST" and path.endswith("git-upload-pack"):
                server.gate.wait()
            status: list[int] = []

            def recording_start(st: str, headers: Any, exc_info: Any = None) -> Any:
                status.append(int(st.split()[0]))
                return start_response(st, headers, exc_info) if exc_info else \
                    start_response(st, headers)

            result = inner(environ, recording_start)
            server.requests.append((method, path, status[0] if status else 0))
            return result

        return app

    def start(self) -> GitHttpServer:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        class Threaded(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        self._server = make_server(self.host, 0, self._app(), server_class=Threaded,
                                   handler_class=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def index_now(db_url: str, owner: str, url: str, ref: str | None = None, *,
              timeout_s: float = 120.0, **settings: Any) -> Any:
    """Register ``url`` for ``owner`` and build its index in the database ``db_url``
    through the embedded default's index queue; returns the finished index record."""
    from ticketflow.compose.embedded import open_embedded
    from ticketflow.settings import Settings

    app = open_embedded(Settings(db_url=db_url, llm="offline", poll_s=0.05, **settings))
    try:
        return app.index_repository(url, ref, owner=owner, timeout_s=timeout_s)
    finally:
        app.close()
