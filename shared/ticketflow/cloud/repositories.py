"""The repository functions, behind ``functions/main.py``:

* :func:`register_repository` - ``POST {url, ref?}`` (register, then index) or
  ``POST {repoId}`` (re-index: resolve the ref again, retry a failed index) with a
  Firebase ID token -> 202 ``{repository, index}``. A repository is registered for
  the caller alone; another user's ``repoId`` is refused (403), a URL that cannot be
  used here, or that names no git repository the server can read (a misspelt URL, an
  unknown ref, access refused), is a 400 with the reason and registers nothing.
* :func:`index_repository` - the Cloud Tasks target of the index queue: one delivery
  of one index task (``{indexId, epoch}``). 503 with ``Retry-After`` only for a
  retryable failure; a finished, stale or failed index is a 200 (Cloud Tasks would
  retry a 4xx as well).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from ticketflow.adapters.firestore_repositories import repository_document
from ticketflow.cloud.handlers import (
    HttpError,
    _cors_headers,
    _first_error,
    _json_body,
    error_response,
    verify_firebase_user,
    verify_task_caller,
)
from ticketflow.compose.cloud import CloudApp, get_app
from ticketflow.domain import NotFoundError
from ticketflow.domain.errors import RetryableError
from ticketflow.ports.repositories import IndexTask
from ticketflow.repo_index.fetch import RepoRejectedError

log = logging.getLogger("ticketflow.functions")


class RegisterBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    url: str | None = Field(default=None, max_length=500)
    ref: str | None = Field(default=None, max_length=250)
    repo_id: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")

    @model_validator(mode="after")
    def _one_of(self) -> RegisterBody:
        if not (self.url or self.repo_id):
            raise ValueError("give the repository's url (to register it) or its repoId "
                             "(to index it again)")
        return self


class IndexBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    index_id: str = Field(min_length=1, max_length=100)
    epoch: int = Field(default=0, ge=0)


def _json_doc(doc: dict[str, Any]) -> dict[str, Any]:
    def enc(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: enc(x) for k, x in v.items()}
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return v

    out: dict[str, Any] = enc(doc)
    return out


def register_repository(request: flask.Request, app: CloudApp | None = None) -> flask.Response:
    app = app or get_app()
    cors = _cors_headers(request, app.cloud)
    if request.method == "OPTIONS":
        resp = flask.Response(status=204)
        resp.headers.update(cors)
        return resp
    try:
        if request.method != "POST":
            raise HttpError(405, "method_not_allowed", "use POST", {"Allow": "POST, OPTIONS"})
        uid = verify_firebase_user(request, app.cloud.project_id)
        try:
            body = RegisterBody.model_validate(_json_body(request))
        except ValidationError as exc:
            raise HttpError(400, "invalid_request", _first_error(exc)) from exc
        try:
            if body.repo_id:
                repo = app.indexer.repository_for(uid, body.repo_id)
                index = app.indexer.request(repo)
            else:
                assert body.url is not None
                repo, index = app.indexer.add(uid, body.url, body.ref)
        except RepoRejectedError as exc:
            raise HttpError(400, exc.code, str(exc)) from exc
        except PermissionError as exc:
            raise HttpError(403, "forbidden", str(exc)) from exc
        except NotFoundError as exc:
            raise HttpError(404, "not_found", str(exc)) from exc
        except RetryableError as exc:
            raise HttpError(503, exc.code, str(exc), {"Retry-After": "5"}) from exc
    except HttpError as exc:
        return error_response(exc.status, exc.code, exc.message, {**exc.headers, **cors})
    stored = app.repositories.get_repository(repo.repo_id) or repo
    doc = _json_doc(repository_document(stored, index))
    log.info("repository registered", extra={"repo_id": repo.repo_id,
                                             "index_id": index.index_id,
                                             "state": index.state})
    resp = flask.jsonify({"repository": doc, "index": doc["index"]})
    resp.status_code = 202
    resp.headers.update(cors)
    return resp


def index_repository(request: flask.Request, app: CloudApp | None = None) -> flask.Response:
    app = app or get_app()
    try:
        verify_task_caller(request, app.tasks.for_index())
    except HttpError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    try:
        body = IndexBody.model_validate(request.get_json(silent=True))
    except ValidationError as exc:
        note = f"bad index task dropped: {_first_error(exc)}"
        log.error(note, extra={"task": request.headers.get("X-CloudTasks-TaskName")})
        return flask.jsonify({"outcome": "rejected", "error": note})
    task = IndexTask(index_id=body.index_id, epoch=body.epoch)
    try:
        outcome = app.indexer.run(task)
    except RetryableError as exc:
        after = max(1, math.ceil(exc.retry_after_s or 1.0))
        log.warning("index task will be retried", extra={
            "task": task.name, "error": str(exc),
            "retry_count": request.headers.get("X-CloudTasks-TaskRetryCount", "0")})
        return error_response(503, exc.code, str(exc), {"Retry-After": str(after)})
    rec = app.repositories.get_index(task.index_id)
    return flask.jsonify({"outcome": outcome, "indexId": task.index_id,
                          "state": rec.state if rec else None,
                          "error": rec.status.error if rec else None})
