"""A local fake of the Anthropic Messages API (``POST /v1/messages``) for the real SDK.

It replays recorded responses per task, keyed by the tool the request forces
(``tool_choice.name``), from ``ticketflow/testing/recorded_llm/*.json``, and injects scripted faults
from a FIFO queue: rate limits with ``retry-after``, 529 overloaded, 5xx, a hang longer
than the client timeout, truncated output, schema-violating tool input and an answer
without a tool call. Every request is recorded for assertions (:attr:`requests`),
and every answer in :attr:`served`: the step it served (from the headers a witnessed
process adds, see :mod:`ticketflow.testing.witness`), when, which fault it consumed
(a fault counts only once a request consumed it), and the tool input it carried.

``vary=True`` makes the outputs differ per call: each successful answer carries its
call's serial number in free-text fields that reach the ticket (and in the type's
confidence), so a step executed again leaves a different trace in the content.

Usage::

    with FakeMessagesAPI() as api:
        api.enqueue(Fault.rate_limited(retry_after=3), Fault.overloaded())
        client = anthropic.Anthropic(base_url=api.url, api_key="test", max_retries=0)
        ...
        assert api.requests[-1].tool_name == "extract_intent"
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

FIXTURES_DIR = Path(__file__).resolve().parent / "recorded_llm"

FaultKind = Literal["status", "hang", "truncated", "malformed", "no_tool_use"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request the fake receives."""

    kind: FaultKind
    status: int = 200
    error_type: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    tool_input: dict[str, Any] | None = None

    @classmethod
    def error(cls, status: int, message: str = "", *, error_type: str | None = None,
              headers: dict[str, str] | None = None) -> Fault:
        """An HTTP error with the API's error envelope."""
        etype = error_type or _ERROR_TYPES.get(status, "api_error")
        return cls("status", status=status, error_type=etype,
                   message=message or f"fake {etype}", headers=dict(headers or {}))

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = 1) -> Fault:
        """429 with a ``retry-after`` header (seconds) unless ``retry_after`` is None."""
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        return cls.error(429, "Number of request tokens has exceeded your rate limit.",
                         headers=headers)

    @classmethod
    def overloaded(cls) -> Fault:
        """529: the API is temporarily overloaded."""
        return cls.error(529, "Overloaded")

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx internal error."""
        return cls.error(status, "Internal server error")

    @classmethod
    def unauthorized(cls) -> Fault:
        """401: invalid x-api-key."""
        return cls.error(401, "invalid x-api-key")

    @classmethod
    def hang(cls, seconds: float = 5.0) -> Fault:
        """Hold the request for ``seconds`` (released early when the fake stops)."""
        return cls("hang", hang_s=seconds)

    @classmethod
    def truncated(cls) -> Fault:
        """A 200 answer cut off at ``max_tokens`` with partial tool input."""
        return cls("truncated")

    @classmethod
    def malformed(cls, tool_input: dict[str, Any] | None = None) -> Fault:
        """A tool call whose input violates the schema (the recorded input plus an
        unknown field, unless ``tool_input`` is given)."""
        return cls("malformed", tool_input=tool_input)

    @classmethod
    def no_tool_use(cls) -> Fault:
        """A plain-text answer that never calls the tool."""
        return cls("no_tool_use")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def tool_name(self) -> str | None:
        """The forced tool (``tool_choice.name``), else the first tool's name."""
        choice = self.body.get("tool_choice") or {}
        if isinstance(choice, dict) and choice.get("name"):
            return str(choice["name"])
        tools = self.body.get("tools") or []
        return str(tools[0]["name"]) if tools else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def system_blocks(self) -> list[dict[str, Any]]:
        """``system`` normalised to a list of text blocks."""
        system = self.body.get("system")
        if isinstance(system, str):
            return [{"type": "text", "text": system}]
        return list(system or [])

    def text(self) -> str:
        """The whole request body as JSON, for substring assertions."""
        return json.dumps(self.body)


@dataclass(frozen=True)
class Served:
    """One answer, as the fake gave it. ``run_id`` / ``step`` / ``attempt`` / ``pid``
    come from the request's ``x-ticketflow-*`` headers (``None`` without them);
    ``clean``: a 200 carrying the recorded (varied) tool input with no fault applied
    (not even a hang), i.e. an answer the client could use; ``tool_input``: what it
    carried."""

    serial: int
    tool: str | None
    run_id: str | None
    step: int | None
    attempt: int | None
    pid: int | None
    received_at: float
    answered_at: float
    status: int
    fault: str | None
    clean: bool
    model: str | None
    tool_input: dict[str, Any] | None


VARIED = {
    "extract_intent": ("goal",),
    "detect_type": ("rationale",),
    "generate_draft": ("acceptanceCriteria",),
    "generate_questions": ("questions",),
    "refine_draft": ("draft",),
}
"""Per tool, the fields a varied answer marks with its serial (see :func:`vary`)."""


def vary(tool: str, tool_input: dict[str, Any], serial: int) -> None:
    """Mark ``tool_input`` with ``serial`` where it reaches the ticket: a suffix on the
    goal, the first acceptance criterion (of the draft, or of the refined draft), every
    question's text, the type's rationale; the type's confidence becomes
    ``0.5 + (serial % 500) / 1000``. Identifiers, enums and paths are left alone."""
    mark = f" [call {serial}]"
    for key in VARIED.get(tool, ()):
        value = tool_input.get(key)
        if isinstance(value, str):
            tool_input[key] = value + mark
        elif key == "acceptanceCriteria" and isinstance(value, list) and value:
            value[0] = str(value[0]) + mark
        elif key == "questions" and isinstance(value, list):
            for q in value:
                q["text"] = str(q["text"]) + mark
        elif key == "draft" and isinstance(value, dict):
            vary("generate_draft", value, serial)
    if tool == "detect_type":
        tool_input["confidence"] = round(0.5 + (serial % 500) / 1000, 3)


class FakeMessagesAPI:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 (free port) in a background thread."""

    def __init__(self, fixtures_dir: Path | None = None, *, vary: bool = False) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.served: list[Served] = []
        self.vary = vary
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        for path in sorted((fixtures_dir or FIXTURES_DIR).glob("*.json")):
            self.add_response(json.loads(path.read_text(encoding="utf-8")))

    # -- control -------------------------------------------------------------------

    def add_response(self, response: dict[str, Any]) -> None:
        """Register a recorded Messages response under the tool its tool_use calls."""
        names = [b["name"] for b in response["content"] if b.get("type") == "tool_use"]
        if not names:
            raise ValueError("a recorded response needs a tool_use block")
        self.responses[names[0]] = response

    def enqueue(self, *faults: Fault) -> None:
        """Queue faults; each is consumed by one subsequent request, in order."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def served_log(self) -> list[Served]:
        """A copy of :attr:`served`, in the order the answers were given."""
        with self._lock:
            return list(self.served)

    def consumed_faults(self) -> dict[str, int]:
        """Faults that took effect (a request consumed them), by kind; an HTTP error
        is named by its status (``status_429``)."""
        out: dict[str, int] = {}
        for s in self.served_log():
            if s.fault:
                out[s.fault] = out.get(s.fault, 0) + 1
        return out

    def requests_for(self, tool: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.tool_name == tool]

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Messages API is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeMessagesAPI:
        self._release.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02},
                                        name="fake-messages-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- serving (called from the handler threads) ----------------------------------------

    def _record(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            return self._faults.popleft() if self._faults else None

    def _serve(self, request: RecordedRequest) -> tuple[int, dict[str, str], dict[str, Any]]:
        received = time.time()
        fault = self._record(request)
        serial = next(self._ids)
        status, headers, body = self._answer(request, fault, serial)
        tool_block = next((b for b in body.get("content", [])
                           if isinstance(b, dict) and b.get("type") == "tool_use"), None)
        h = request.headers
        fault_name = None if fault is None else (
            f"status_{fault.status}" if fault.kind == "status" else fault.kind)
        served = Served(
            serial=serial, tool=request.tool_name, run_id=h.get("x-ticketflow-run"),
            step=_int(h.get("x-ticketflow-step")), attempt=_int(h.get("x-ticketflow-attempt")),
            pid=_int(h.get("x-ticketflow-pid")), received_at=received, answered_at=time.time(),
            status=status, fault=fault_name,
            clean=status == 200 and fault is None and tool_block is not None,
            model=request.body.get("model"),
            tool_input=copy.deepcopy(tool_block["input"]) if tool_block else None)
        with self._lock:
            self.served.append(served)
        return status, headers, body

    def _answer(self, request: RecordedRequest, fault: Fault | None,
                serial: int) -> tuple[int, dict[str, str], dict[str, Any]]:
        request_id = f"req_fake{serial:06d}"
        headers = {"request-id": request_id}
        if fault is not None and fault.kind == "status":
            return fault.status, {**headers, **fault.headers}, _error(fault.error_type,
                                                                      fault.message, request_id)
        if fault is not None and fault.kind == "hang":
            self._release.wait(fault.hang_s)
        if "x-api-key" not in request.headers and "authorization" not in request.headers:
            return 401, headers, _error("authentication_error", "x-api-key header is required",
                                        request_id)
        missing = [k for k in ("model", "max_tokens", "messages") if k not in request.body]
        if missing:
            return 400, headers, _error("invalid_request_error",
                                        f"{missing[0]}: Field required", request_id)
        tool = request.tool_name
        recorded = self.responses.get(tool or "")
        if recorded is None:
            return 400, headers, _error("invalid_request_error",
                                        f"fake: no recorded response for tool {tool!r}",
                                        request_id)
        body = copy.deepcopy(recorded)
        body["id"] = f"msg_fake{serial:06d}"
        body["model"] = request.body["model"]
        if self.vary and tool:
            block = next(b for b in body["content"] if b.get("type") == "tool_use")
            vary(tool, block["input"], serial)
        if fault is not None:
            _apply(fault, body, int(request.body["max_tokens"]))
        return 200, headers, body


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _error(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message},
            "request_id": request_id}


def _apply(fault: Fault, body: dict[str, Any], max_tokens: int) -> None:
    """Turn a recorded success into the faulty answer ``fault`` describes."""
    tool_block = next(b for b in body["content"] if b.get("type") == "tool_use")
    if fault.kind == "malformed":
        tool_block["input"] = (fault.tool_input if fault.tool_input is not None
                               else {**tool_block["input"], "unexpectedField": True})
    elif fault.kind == "truncated":
        keys = list(tool_block["input"])
        partial = {k: tool_block["input"][k] for k in keys[: max(1, len(keys) // 2)]}
        for key, value in partial.items():
            if isinstance(value, str):
                partial[key] = value[: max(1, len(value) // 2)]
            elif isinstance(value, list):
                partial[key] = value[: len(value) // 2]
        tool_block["input"] = partial
        body["stop_reason"] = "max_tokens"
        body["usage"]["output_tokens"] = max_tokens
    elif fault.kind == "no_tool_use":
        body["content"] = [{"type": "text", "text": "I can help with that. The ticket should "
                            "describe the change and its acceptance criteria."}]
        body["stop_reason"] = "end_turn"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeMessagesAPI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.rstrip("/") != "/v1/messages":
            self._send(404, {}, _error("not_found_error", f"no route {path}", "req_fake"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(400, {}, _error("invalid_request_error", "body is not JSON", "req_fake"))
            return
        request = RecordedRequest(
            method="POST", path=path,
            headers={k.lower(): v for k, v in self.headers.items()}, body=body,
        )
        status, headers, payload = self.server.fake._serve(request)
        self._send(status, headers, payload)

    def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout); nothing to do

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""
