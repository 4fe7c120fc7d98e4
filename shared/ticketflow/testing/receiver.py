"""An HTTP server that records every POST it gets: a Cloud Tasks target for tests of
the queue and for the dispatcher probe of the cloud benchmark."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class TaskReceiver:
    """Records ``(task name, lower-cased headers, body)`` of each POST in
    :attr:`requests` and its arrival time (``time.time()``) in :attr:`arrivals`.

    ``on_request(n)`` (optional) runs inside the n-th request, before the answer, as
    a step function enqueueing its successor would. Answers 200 with no body.
    """

    def __init__(self, on_request: Callable[[int], None] | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.arrivals: list[float] = []
        self.on_request = on_request
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                t = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.arrivals.append(t)
                    receiver.requests.append(
                        (headers.get("x-cloudtasks-taskname", ""), headers, body))
                    n = len(receiver.requests)
                if receiver.on_request is not None:
                    receiver.on_request(n)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def reset(self) -> None:
        """Forget what was received so far."""
        with self._lock:
            self.requests.clear()
            self.arrivals.clear()

    def start(self) -> TaskReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TaskReceiver:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
