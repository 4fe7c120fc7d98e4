"""W2's workload inside the functions process (see ``bench/w2.py``).

Loaded by ``TICKETFLOW_APP_HOOK=bench._w2_workload:install``: :func:`install` gets the
freshly built :class:`~ticketflow.compose.cloud.CloudApp` and

* registers the W1 no-op workflow (same 11 step names, indices, retry policies and
  timeouts; every handler returns about 1 KB of JSON, step 4 suspends for a review
  of a critical finding, step 9 for questions) and makes the engine start runs on it;
* records, with the wall clock (``time.time()``, the bench reads it in another
  process on the same machine), where each request spends its time: function entry,
  run load + claim, handler, the libSQL commit (timestamp taken right after it
  returns), the Firestore projection, the Cloud Tasks enqueue, function exit.

One JSON line per request (and one per handler execution) is appended to the file
named by ``TICKETFLOW_W2_EVENTS``. Nothing here changes what the engine does.
(The leading underscore keeps this module out of ``make bench``'s ``bench/w*.py``.)
"""

from __future__ import annotations

import cProfile
import dataclasses
import json
import os
import pstats
import threading
import time
from collections.abc import Callable
from typing import Any

from bench._workload import BLOB, FINDINGS, QUESTIONS, bench_output

from ticketflow.cloud import handlers as functions_http
from ticketflow.compose.cloud import CloudApp
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.definition import DEFINITIONS, STEPS, StepSpec, WorkflowDefinition
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput

VERSION = "w2-bench.1"




class Recorder:
    """Appends one JSON object per line; the request being served is thread-local."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.Lock()
        self._file = open(path, "a", buffering=1) if path else None  # noqa: SIM115
        self._local = threading.local()

    def emit(self, event: dict[str, Any]) -> None:
        if self._file is None:
            return
        line = json.dumps(event, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")

    @property
    def current(self) -> dict[str, Any] | None:
        return getattr(self._local, "rec", None)

    def begin(self, kind: str) -> tuple[dict[str, Any], bool]:
        """The request's record (a new one if none is open); ``True`` if we own it."""
        rec = self.current
        if rec is not None:
            return rec, False
        rec = {"k": kind, "pid": os.getpid(), "t_entry": time.time()}
        self._local.rec = rec
        return rec, True

    def end(self, rec: dict[str, Any], owned: bool) -> None:
        if owned:
            rec["t_exit"] = time.time()
            self._local.rec = None
            self.emit(rec)


REC = Recorder(os.environ.get("TICKETFLOW_W2_EVENTS"))


class Profiler:
    """With ``TICKETFLOW_W2_PROFILE=path``: cProfile of every run_step / trigger request
    (in the thread serving it), merged and written to ``path`` every 20 requests."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stats: pstats.Stats | None = None
        self._n = 0

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        prof = cProfile.Profile()
        prof.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            prof.disable()
            with self._lock:
                if self._stats is None:
                    self._stats = pstats.Stats(prof)
                else:
                    self._stats.add(prof)
                self._n += 1
                if self._n % 20 == 0 and self.path:
                    self._stats.dump_stats(self.path)


PROFILER = Profiler(os.environ.get("TICKETFLOW_W2_PROFILE"))


def _handler(index: int, name: str) -> Callable[[StepContext], StepOutput]:
    def handler(ctx: StepContext) -> StepOutput:
        t = time.time()
        REC.emit({"k": "handler", "run": ctx.run.run_id, "step": index, "t": t})
        if index == 4:
            raise Suspend("review", {"findings": FINDINGS})
        if index == 9:
            raise Suspend("questions", {"questions": QUESTIONS})
        return bench_output(name)(detail=f"no-op step {index}", blob=BLOB)

    return handler


def _bench_step(spec: StepSpec) -> StepSpec:
    return dataclasses.replace(spec, handler=_handler(spec.index, spec.name),
                               output=bench_output(spec.name))


BENCH = WorkflowDefinition(VERSION, tuple(_bench_step(s) for s in STEPS))


# -- timing wrappers (instance attributes: only this process's app is affected) -------------


def _timed(obj: Any, name: str, label: str,
           note: Callable[[dict[str, Any], Any, tuple[Any, ...]], None] | None = None) -> None:
    """Wrap ``obj.name``: the open request record gets ``{label}_t0``/``{label}_t1``
    (first call) and ``{label}_ms`` (summed over calls)."""
    orig = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rec = REC.current
        t0 = time.time()
        try:
            result = orig(*args, **kwargs)
        finally:
            t1 = time.time()
            if rec is not None:
                rec.setdefault(f"{label}_t0", t0)
                rec.setdefault(f"{label}_t1", t1)
                rec[f"{label}_ms"] = rec.get(f"{label}_ms", 0.0) + (t1 - t0) * 1000
                rec[f"{label}_n"] = rec.get(f"{label}_n", 0) + 1
        if rec is not None and note is not None:
            note(rec, result, args)
        return result

    setattr(obj, name, wrapper)


def _count(key: str) -> None:
    rec = REC.current
    if rec is not None:
        rec[key] = rec.get(key, 0) + 1


def _counted(fn: Callable[..., Any], key: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _count(key)
        return fn(*args, **kwargs)

    return wrapper


def _note_commit(rec: dict[str, Any], committed: Any, args: tuple[Any, ...]) -> None:
    if committed is not None:
        rec["seq"] = committed.seq
        rec["aec"] = committed.aec_id
        rec["status"] = committed.status


def _note_project(rec: dict[str, Any], _result: Any, args: tuple[Any, ...]) -> None:
    aec_id, state = args[0], args[1]
    rec.setdefault("aec", aec_id)
    rec["projected_seq"] = state.seq


def _entry(label: str, orig: Callable[..., Any],
           describe: Callable[[tuple[Any, ...], Any], dict[str, Any]]) -> Callable[..., Any]:
    """A function entry point that opens (or joins) the request's record."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rec, owned = REC.begin(label)
        rec.setdefault(f"{label}_t0", time.time())
        result = None
        try:
            if PROFILER.path and owned:
                result = PROFILER.run(orig, *args, **kwargs)
            else:
                result = orig(*args, **kwargs)
            return result
        finally:
            rec[f"{label}_t1"] = time.time()
            try:
                rec.update(describe(args, result))
            except Exception as exc:  # a measurement must never break a request
                rec["describe_error"] = repr(exc)
            REC.end(rec, owned)

    return wrapper


def _describe_task(args: tuple[Any, ...], result: Any) -> dict[str, Any]:
    task = args[0]
    out = {"run": task.run_id, "step": task.step_index}
    if result is not None:
        out["outcome"] = result.outcome
    return out


def _describe_request(args: tuple[Any, ...], result: Any) -> dict[str, Any]:
    request = args[0]
    out: dict[str, Any] = {"task_name": request.headers.get("X-CloudTasks-TaskName", "")}
    body = request.get_json(silent=True) or {}
    if isinstance(body, dict):
        out.update({"run": body.get("runId"), "step": body.get("stepIndex")})
    return out


def _describe_event(args: tuple[Any, ...], result: Any) -> dict[str, Any]:
    event = args[0]
    out: dict[str, Any] = {"subject": event.get("subject"), "event_time": event.get("time")}
    if result is not None:
        out.update({"action": result.action_id, "verdict": result.status,
                    "run": result.run_id})
    return out


def _describe_act(args: tuple[Any, ...], result: Any) -> dict[str, Any]:
    req = args[0]
    return {"run": req.run_id, "action": req.action_id, "type": req.type,
            **({"verdict": result.status} if result is not None else {})}


def install(app: CloudApp) -> CloudApp:
    """Run the no-op workflow on ``app`` and record timings (see the module doc)."""
    DEFINITIONS[BENCH.version] = BENCH  # runs pin this version; run_step looks it up here
    engine = app.engine
    engine.definition = BENCH
    engine.run_step = _entry("engine", engine.run_step, _describe_task)  # type: ignore[method-assign]
    engine.act = _entry("act", engine.act, _describe_act)  # type: ignore[method-assign]
    _timed(app.runs, "get_run", "get_run")
    _timed(app.runs, "claim", "claim")
    _timed(app.runs, "steps", "steps")
    _timed(app.runs, "commit", "commit", _note_commit)
    _timed(app.runs, "resume", "resume")
    _timed(app.runs, "mark_projected", "mark_projected")
    _timed(app.runs, "mark_dispatched", "mark_dispatched")
    _timed(app.documents, "project", "project", _note_project)
    _timed(app.documents, "mutate", "mutate")
    _timed(app.documents, "put_action_result", "put_result")
    _timed(app.queue, "enqueue", "enqueue")
    _timed(app.runs, "claim_with_steps", "claim")
    # round trips, attributed to the request being served: libSQL calls (each one a
    # request to a libSQL server), Firestore calls (the adapter reports each one)
    for name in ("execute", "batch"):
        setattr(app.db, name, _counted(getattr(app.db, name), "libsql_calls"))
    app.documents.on_rpc = lambda _kind: _count("firestore_rpcs")
    # The HTTP / CloudEvent entry points (main.py calls them through the module, so
    # this takes effect from the next request on: the first one is recorded from the
    # engine's entry only).
    functions_http.run_step = _entry(  # type: ignore[assignment]
        "http", functions_http.run_step, _describe_request)
    functions_http.on_action_created = _entry(  # type: ignore[assignment]
        "trigger", functions_http.on_action_created, _describe_event)
    REC.emit({"k": "installed", "pid": os.getpid(), "t": time.time(), "version": VERSION})
    return app
