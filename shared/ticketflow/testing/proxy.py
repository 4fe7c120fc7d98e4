"""A counting HTTP proxy in front of a libSQL server: the evidence, from outside the
functions, of how many requests reached the database (a retry storm would show here).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx

from ticketflow.dev.emulators import LOCALHOST


class CountingProxy:
    """Forwards every request to ``upstream`` (headers and body as sent, answers as
    given) and records ``(method, path, upstream status)`` in :attr:`requests`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                try:
                    resp = proxy._client.request(self.command, proxy.upstream + self.path,
                                                 content=body, headers=headers)
                    status, content = resp.status_code, resp.content
                    kind = resp.headers.get("content-type", "application/octet-stream")
                except httpx.HTTPError:
                    status, content, kind = 502, b"upstream unreachable", "text/plain"
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self._server.server_address[1]}"

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
