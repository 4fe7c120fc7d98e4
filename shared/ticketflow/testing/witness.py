"""The independent witness of the chaos soaks and the kill tests: what the processes
did, written down outside the run store, by the processes themselves, as it happened.

A process is *instrumented* (:func:`instrument`) with three things:

* its step handlers wrapped (a workflow definition of their own, version
  ``{version}+witness``, which only instrumented processes know, so a process left
  uninstrumented fails such a run loudly instead of running it unseen): each
  execution appends ``start`` before the handler runs and ``end`` (``ok`` with a
  digest of the output, ``suspend`` or ``error``) after it;
* its run store wrapped at the port: each commit the store *accepted* appends
  ``commit`` (before the engine goes on, so before any later crash point);
* its language model's HTTP client tagging every request with the step it serves
  (``x-ticketflow-run``, ``-step``, ``-attempt``, ``-pid``), so the fake Messages API
  logs each request by run, step and attempt
  (:class:`~ticketflow.testing.fake_messages_api.FakeMessagesAPI`).

Records go to a :class:`SideFile`: one JSON object per line, appended with
``O_APPEND`` (one ``write`` per record, shorter than ``PIPE_BUF``, so processes never
interleave) and ``fsync`` before the handler goes on, stamped with the wall clock
(``t``, comparable across the processes of one machine) and the process id.

The settings come from the environment, so that any process can be instrumented:
``TICKETFLOW_WITNESS_FILE`` (the side file; unset: no instrumentation) and
``TICKETFLOW_WITNESS_SLOW=step:seconds[,step:seconds]`` (a handler that takes that
much longer: it sleeps after doing its work, model call included, and before
returning, so that a kill from outside lands while it runs, after its side effects
and before the engine has its result). The chaos
worker, ``python -m ticketflow.testing.crash`` and, through
``TICKETFLOW_APP_HOOK=ticketflow.testing.witness:install``, the functions' dev entry
point read them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, cast

from ticketflow.compose.llm import db_url_with_path
from ticketflow.observability.tracing import current_step
from ticketflow.ports import LanguageModel, RunStore
from ticketflow.settings import Settings
from ticketflow.workflow.context import StepContext
from ticketflow.workflow.definition import (
    CURRENT,
    DEFINITIONS,
    StepSpec,
    WorkflowDefinition,
)
from ticketflow.workflow.runtime import Engine
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput

FILE_ENV = "TICKETFLOW_WITNESS_FILE"
SLOW_ENV = "TICKETFLOW_WITNESS_SLOW"
APP_HOOK = "ticketflow.testing.witness:install"
"""``TICKETFLOW_APP_HOOK`` value that instruments a functions process."""
SCOPE_HEADERS = ("x-ticketflow-run", "x-ticketflow-step", "x-ticketflow-attempt",
                 "x-ticketflow-pid")


class SideFile:
    """An append-only, fsynced JSON-lines file shared by processes (see module doc)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def append(self, event: str, **fields: Any) -> None:
        record = {"e": event, "pid": os.getpid(), "t": time.time(), **fields}
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, start: int = 0) -> tuple[list[dict[str, Any]], int]:
        """The complete records from byte ``start`` on, and where the next read starts
        (a line still being written is left for the next read)."""
        if not self.path.exists():
            return [], start
        with self.path.open("rb") as f:
            f.seek(start)
            data = f.read()
        end = data.rfind(b"\n") + 1
        records = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        return records, start + end

    def records(self) -> list[dict[str, Any]]:
        return self.read()[0]

    def follow_handlers(self, start: int, running: Counter[tuple[int, str, int, int]]) -> int:
        """Apply the handler starts and ends from byte ``start`` on to ``running``
        (``(pid, run, step, attempt)`` -> handlers in it now); where the next read starts."""
        records, at = self.read(start)
        for r in records:
            if r["e"] in ("start", "end"):
                key = (int(r["pid"]), str(r["run"]), int(r["step"]), int(r["attempt"]))
                running[key] += 1 if r["e"] == "start" else -1
                if not running[key]:
                    del running[key]
        return at


def witness_env(side: Path | str, slow: Mapping[int, float] | None = None, *,
                app_hook: bool = False) -> dict[str, str]:
    """The environment that instruments a process (``app_hook``: a functions process,
    through ``TICKETFLOW_APP_HOOK``)."""
    env = {FILE_ENV: str(side)}
    if slow:
        env[SLOW_ENV] = ",".join(f"{k}:{v}" for k, v in slow.items())
    if app_hook:
        env["TICKETFLOW_APP_HOOK"] = APP_HOOK
    return env


def parse_slow(spec: str | None) -> dict[int, float]:
    """``"5:2.5,7:30"`` -> ``{5: 2.5, 7: 30.0}``."""
    out: dict[int, float] = {}
    for part in (spec or "").split(","):
        if ":" in part:
            step, seconds = part.split(":", 1)
            out[int(step)] = float(seconds)
    return out


def output_digest(output: StepOutput) -> str:
    return hashlib.sha256(output.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


def _witnessed(spec: StepSpec, side: SideFile, slow_s: float) -> Callable[[StepContext],
                                                                          StepOutput]:
    inner = spec.handler

    def handler(ctx: StepContext) -> StepOutput:
        key = {"run": ctx.run.run_id, "step": spec.index, "attempt": ctx.run.attempt}
        side.append("start", **key)
        try:
            output = inner(ctx)
            if slow_s:  # its work done (a model call made), its result not yet returned
                time.sleep(slow_s)
        except Suspend:
            side.append("end", **key, outcome="suspend")
            raise
        except BaseException as exc:
            side.append("end", **key, outcome="error", error=type(exc).__name__)
            raise
        side.append("end", **key, outcome="ok", digest=output_digest(output))
        return output

    return handler


def witness_version(base: WorkflowDefinition = CURRENT) -> str:
    return f"{base.version}+witness"


def witness_definition(side: SideFile, slow: Mapping[int, float] | None = None, *,
                       base: WorkflowDefinition = CURRENT) -> WorkflowDefinition:
    """``base`` with every handler witnessed (and slowed per ``slow``), registered in
    :data:`~ticketflow.workflow.definition.DEFINITIONS` under :func:`witness_version`
    (in this process only: that is the point)."""
    slow = slow or {}
    definition = WorkflowDefinition(witness_version(base), tuple(
        dataclasses.replace(s, handler=_witnessed(s, side, slow.get(s.index, 0.0)))
        for s in base.steps))
    DEFINITIONS[definition.version] = definition
    return definition


class _WitnessedRuns:
    """A run store whose accepted commits are written to the side file."""

    def __init__(self, inner: RunStore, side: SideFile) -> None:
        self._inner = inner
        self._side = side

    def commit(self, run_id: str, step_index: int, *args: Any, **kwargs: Any) -> Any:
        committed = self._inner.commit(run_id, step_index, *args, **kwargs)
        if committed is not None:
            step = kwargs.get("step")
            self._side.append("commit", run=run_id, step=step_index,
                              attempt=getattr(step, "attempts", None),
                              kind="suspension" if kwargs.get("suspension") else "output")
        return committed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def scope_headers() -> dict[str, str]:
    """The step this thread is executing, as the headers the fake Messages API logs."""
    scope = current_step.get()
    if scope is None:
        return {}
    return dict(zip(SCOPE_HEADERS, (scope.run_id, str(scope.step), str(scope.attempt),
                                    str(os.getpid())), strict=True))


def tagged_claude(settings: Settings) -> LanguageModel:
    """The Claude adapter as :func:`ticketflow.compose.llm.build_llm` builds it (usage
    recorded in the run store's database), on an HTTP client that adds
    :func:`scope_headers` to every request."""
    import anthropic
    import httpx

    from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings
    from ticketflow.adapters.libsql.metrics import LlmUsageRecorder

    claude = ClaudeSettings()

    def tag(request: httpx.Request) -> None:
        request.headers.update(scope_headers())

    client = anthropic.Anthropic(
        api_key=claude.api_key.get_secret_value() if claude.api_key else None,
        base_url=claude.base_url, max_retries=0, timeout=claude.timeout_s,
        http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [tag]}))
    recorder = LlmUsageRecorder(url=db_url_with_path(settings),
                                auth_token=settings.db_auth_token)
    return ClaudeLanguageModel(claude, on_usage=recorder, client=client)


def instrument(engine: Engine, settings: Settings, side: SideFile | Path | str, *,
               slow: Mapping[int, float] | None = None) -> Engine:
    """Witness ``engine`` (see the module doc): new runs pin the witnessed definition,
    commits are written down, and a Claude model's requests are tagged."""
    side = side if isinstance(side, SideFile) else SideFile(side)
    engine.definition = witness_definition(side, slow)
    engine.runs = cast(RunStore, _WitnessedRuns(engine.runs, side))
    if getattr(engine.deps.llm.provider, "name", "") == "claude":
        engine.deps = dataclasses.replace(engine.deps, llm=tagged_claude(settings))
    return engine


class _HasEngine(Protocol):
    engine: Engine
    settings: Settings


def instrument_from_env(app: _HasEngine) -> bool:
    """Instrument ``app.engine`` as ``TICKETFLOW_WITNESS_*`` say; False when unset."""
    path = os.environ.get(FILE_ENV)
    if not path:
        return False
    instrument(app.engine, app.settings, path, slow=parse_slow(os.environ.get(SLOW_ENV)))
    return True


def install(app: Any) -> Any:
    """``TICKETFLOW_APP_HOOK`` entry: instrument the functions' freshly built app."""
    instrument_from_env(app)
    return app
