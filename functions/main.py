"""Cloud Functions entry points (gen2, python311). Thin: each decodes the request and
hands it to :mod:`ticketflow.cloud.handlers`, which holds the logic and the error
mapping. The engine and its adapters are built once per instance, on first use.

Targets: ``start_generation`` (HTTP), ``run_step`` (HTTP, Cloud Tasks),
``register_repository`` (HTTP), ``index_repository`` (HTTP, Cloud Tasks, the index
queue), ``on_action_created`` (CloudEvent, Firestore ``document.v1.created`` on
``aecs/{aecId}/actions/{actionId}``), ``on_aec_updated`` (CloudEvent, Firestore
``document.v1.updated`` on ``aecs/{aecId}``), ``sweep`` (HTTP, Cloud Scheduler).
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from ticketflow.cloud import handlers, repositories
from ticketflow.compose.cloud import check_environment
from ticketflow.observability.logs import configure_logging

check_environment()  # refuse emulator token checks in a deployed function
configure_logging()


@functions_framework.http
def start_generation(request: flask.Request) -> flask.Response:
    return handlers.start_generation(request)


@functions_framework.http
def run_step(request: flask.Request) -> flask.Response:
    return handlers.run_step(request)


@functions_framework.http
def register_repository(request: flask.Request) -> flask.Response:
    return repositories.register_repository(request)


@functions_framework.http
def index_repository(request: flask.Request) -> flask.Response:
    return repositories.index_repository(request)


@functions_framework.http
def sweep(request: flask.Request) -> flask.Response:
    return handlers.sweep(request)


@functions_framework.cloud_event
def on_action_created(cloud_event: Any) -> None:
    handlers.on_action_created(cloud_event)


@functions_framework.cloud_event
def on_aec_updated(cloud_event: Any) -> None:
    handlers.on_aec_updated(cloud_event)
