"""Every function target in one WSGI app, for local runs and end-to-end tests.

Routes (werkzeug ``DispatcherMiddleware``, each mount a functions-framework app):
``/start_generation``, ``/run_step``, ``/register_repository``, ``/index_repository``,
``/sweep``, ``/on_action_created``,
``/on_aec_updated``, and ``/functions/...`` (where the Firestore emulator POSTs trigger
events: ``/functions/projects/{project}/triggers/{id}``) -> the target of trigger
``id`` (``on-action-created`` -> ``on_action_created``, ``on-aec-updated`` ->
``on_aec_updated``; an unknown id -> ``on_action_created``);
``/`` answers ``{"ok": true}`` (health check).

Being the development entry point, it also arms what only tests and benchmarks
use, from the environment: crash points (``TICKETFLOW_CRASH_AT``, see
:mod:`ticketflow.testing.crash`; index builds too) and a benchmark workload
(``TICKETFLOW_APP_HOOK=module:function``, called with the built app, returning it).
Deployed functions (``main.py``) know neither.

Serve it with gunicorn (``gunicorn --pythonpath functions dev_app:app``), or with
``python functions/dev_app.py --port 8090`` (one process, threaded).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import flask
import functions_framework
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ticketflow.compose import cloud
from ticketflow.testing.crash import crash_hook

SOURCE = str(Path(__file__).with_name("main.py"))
HTTP_TARGETS = ("start_generation", "run_step", "register_repository", "index_repository",
                "sweep")
EVENT_TARGET = "on_action_created"
# Trigger ids registered with the Firestore emulator (ticketflow.dev.stack) -> targets.
TRIGGERS = {"on-action-created": "on_action_created", "on-aec-updated": "on_aec_updated"}
EVENT_TARGETS = tuple(dict.fromkeys(TRIGGERS.values()))


def _app_factory() -> cloud.CloudApp:
    app = cloud.build_cloud_app(faults=crash_hook())
    if hook := os.environ.get("TICKETFLOW_APP_HOOK"):
        module, _, fn = hook.partition(":")
        app = getattr(importlib.import_module(module), fn)(app)
    return app


def _rooted(wsgi: Any) -> Any:
    """A mounted app sees ``/`` (not an empty path, which Flask would redirect)."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("PATH_INFO"):
            environ["PATH_INFO"] = "/"
        return wsgi(environ, start_response)

    return app


def _by_trigger(apps: dict[str, Any], default: Any) -> Any:
    """``/projects/{project}/triggers/{id}`` (under ``/functions``) -> the app of the
    trigger ``id``."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        parts = [p for p in str(environ.get("PATH_INFO", "")).split("/") if p]
        trigger = parts[3] if len(parts) >= 4 and parts[2] == "triggers" else ""
        return apps.get(trigger, default)(environ, start_response)

    return app


def build() -> Any:
    cloud.set_app_factory(_app_factory)
    root = flask.Flask("ticketflow-dev")

    @root.get("/")
    def health() -> flask.Response:
        return flask.jsonify({"ok": True, "targets": [*HTTP_TARGETS, *EVENT_TARGETS]})

    mounts: dict[str, Any] = {
        f"/{t}": _rooted(functions_framework.create_app(t, SOURCE, "http"))
        for t in HTTP_TARGETS
    }
    events = {t: _rooted(functions_framework.create_app(t, SOURCE, "cloudevent"))
              for t in EVENT_TARGETS}
    mounts.update({f"/{t}": events[t] for t in EVENT_TARGETS})
    mounts["/functions"] = _by_trigger({tid: events[t] for tid, t in TRIGGERS.items()},
                                       events[EVENT_TARGET])
    return DispatcherMiddleware(root, mounts)


app = build()


def main(argv: list[str] | None = None) -> int:
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="Serve every function target (dev).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
