"""What the Cloud Functions do, behind ``functions/main.py`` (which only routes here).

* :func:`start_generation` - ``POST {aecId}`` with a Firebase ID token -> 202 ``{runId}``;
  ``{aecId, answers}`` changes the answers of a ready ticket (a run from step 10).
* :func:`run_step` - the Cloud Tasks target: one step of one run.
* :func:`on_action_created` - Firestore trigger on ``aecs/{aecId}/actions/{actionId}``.
* :func:`on_aec_updated` - Firestore trigger on ``aecs/{aecId}`` updates: records the
  web page's direct content edits for the metrics.
* :func:`sweep` - Cloud Scheduler: repair what crashes left (runs and indexes).

The repository functions (``register_repository``, ``index_repository``) are in
:mod:`ticketflow.cloud.repositories`.

Errors are JSON ``{"error": {"code", "message"}}``, and every answer of an HTTP
function carries the CORS headers (:func:`with_cors`), so the page reads the message.
``run_step`` answers 503 (with ``Retry-After``) only for a retryable failure, so that
Cloud Tasks retries it; every terminal outcome, and a body that can never succeed, is
a 200 (Cloud Tasks retries 4xx as well, so a 400 would be retried until the queue
gives up). A database that cannot be reached, or that refuses the credentials, is a
503 with the wait its error names (``Retry-After``) from every HTTP function,
including before the process's app could be built: nothing was written, so the
caller can simply try again.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from ticketflow.adapters.cloud_tasks import SECRET_HEADER, CloudTasksSettings
from ticketflow.adapters.libsql.metrics import record_ticket_edit
from ticketflow.cloud.events import (
    EventDecodeError,
    decode_document_change,
    decode_document_event,
)
from ticketflow.compose.cloud import CloudApp, CloudSettings, built_app, get_app
from ticketflow.domain import (
    AECLockedError,
    ConflictError,
    DomainError,
    InvalidRepositoryError,
    NotFoundError,
    RequiredFieldsError,
)
from ticketflow.domain.errors import RetryableError
from ticketflow.ports import ActionResult, StepTask
from ticketflow.workflow.actions import Rejection, parse_action

log = logging.getLogger("ticketflow.functions")
ACTION_EVENT = "google.cloud.firestore.document.v1.created"
AEC_UPDATED_EVENT = "google.cloud.firestore.document.v1.updated"
# What a person edits (firestore.rules); the server writes generationState, status and
# the generated content, but never these.
PERSON_FIELDS = ("title", "description", "repo", "repoRef", "repoId")


class StartBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    aec_id: str = Field(min_length=1, max_length=200)
    answers: dict[str, str] | None = Field(
        None, max_length=20, description="new answers for a ready ticket: a run from step "
        "10, pinned to its last run's steps 1-9 (Engine.start_from)")

    @field_validator("aec_id")
    @classmethod
    def _firestore_id(cls, v: str) -> str:
        """A legal Firestore document id, checked before Firestore is touched: no ``/``,
        not ``.`` or ``..``, not ``__x__`` (reserved), no control characters."""
        if "/" in v or v in (".", "..") or (v.startswith("__") and v.endswith("__")):
            raise ValueError("not a valid ticket id")
        if any(ord(c) < 32 or ord(c) == 127 for c in v):
            raise ValueError("not a valid ticket id")
        return v


class StepBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    run_id: str = Field(min_length=1, max_length=200)
    step_index: int = Field(ge=1)  # checked against the run's pinned definition
    epoch: int = Field(default=0, ge=0)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> flask.Response:
    resp = flask.jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(p) for p in e.get("loc", ())) or "body"
    return f"{where}: {e.get('msg')}"


def _json_body(request: flask.Request) -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise HttpError(400, "invalid_request", "the body must be a JSON object")
    return data


# -- CORS ------------------------------------------------------------------------------

HttpFunction = Callable[[flask.Request, "CloudApp | None"], flask.Response]


@functools.cache
def _env_cloud_settings() -> CloudSettings:
    return CloudSettings()


def with_cors(function: HttpFunction) -> HttpFunction:
    """Every answer of an HTTP function carries the CORS headers, its errors included:
    a browser hides an answer without them, so the page would only see "Failed to
    fetch" instead of the message. The origins come from the settings alone (not the
    app, whose build may be what failed); an exception that escapes the function
    becomes a JSON 500 that names it; ``OPTIONS`` is the preflight (204)."""

    @functools.wraps(function)
    def wrapped(request: flask.Request, app: CloudApp | None = None) -> flask.Response:
        built = app or built_app()
        cloud = built.cloud if built is not None else _env_cloud_settings()
        cors = _cors_headers(request, cloud)
        if request.method == "OPTIONS":
            resp = flask.Response(status=204)
        else:
            try:
                resp = function(request, app)
            except HttpError as exc:
                resp = error_response(exc.status, exc.code, exc.message, exc.headers)
            except Exception as exc:
                log.exception(f"{function.__name__} failed", extra={"error": str(exc)})
                resp = error_response(500, "internal", f"the {function.__name__} function "
                                      f"failed: {type(exc).__name__}: {exc}"[:500])
        for name, value in cors.items():
            resp.headers.setdefault(name, value)
        return resp

    return wrapped


def _cors_headers(request: flask.Request, cloud: CloudSettings) -> dict[str, str]:
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in cloud.cors_origins.split(",") if o.strip()]
    if not origin or not allowed:
        return {}
    if "*" in allowed:
        allow = "*"
    elif origin in allowed:
        allow = origin
    else:
        return {}
    return {"Access-Control-Allow-Origin": allow, "Vary": "Origin",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "3600"}


# -- Firebase ID tokens -------------------------------------------------------------------

_firebase_lock = threading.Lock()


def _firebase_app(project_id: str) -> Any:
    import firebase_admin

    with _firebase_lock:
        try:
            return firebase_admin.get_app()
        except ValueError:
            return firebase_admin.initialize_app(options={"projectId": project_id})


def verify_firebase_user(request: flask.Request, project_id: str) -> str:
    """The uid of a valid ``Authorization: Bearer <Firebase ID token>``, else 401."""
    from firebase_admin import auth

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(401, "unauthenticated",
                        "sign in first: missing 'Authorization: Bearer <ID token>'")
    from firebase_admin import exceptions as fb_exc

    try:  # check_revoked: a revoked token, or a disabled or deleted user, is refused
        claims = auth.verify_id_token(token.strip(), app=_firebase_app(project_id),
                                      check_revoked=True)
    except auth.CertificateFetchError as exc:
        raise HttpError(503, "auth_unavailable", f"cannot verify the token now: {exc}",
                        {"Retry-After": "5"}) from exc
    except auth.UserDisabledError as exc:
        raise HttpError(401, "user_disabled", "this account is disabled") from exc
    except auth.RevokedIdTokenError as exc:
        raise HttpError(401, "unauthenticated",
                        "the ID token was revoked: sign in again") from exc
    except (auth.InvalidIdTokenError, auth.UserNotFoundError, ValueError) as exc:
        raise HttpError(401, "unauthenticated", f"invalid ID token: {exc}") from exc
    except fb_exc.FirebaseError as exc:  # the user lookup could not reach Auth
        raise HttpError(503, "auth_unavailable", f"cannot verify the token now: {exc}",
                        {"Retry-After": "5"}) from exc
    uid = claims.get("uid") or claims.get("sub")
    if not uid:
        raise HttpError(401, "unauthenticated", "the ID token names no user")
    return str(uid)


# -- task / scheduler callers ------------------------------------------------------------

_google_request: Any = None


def verify_task_caller(request: flask.Request, tasks: CloudTasksSettings) -> None:
    """Only Cloud Tasks (and Cloud Scheduler) may call run_step and sweep: an OIDC token
    for the configured audience from an allowed service account in production, or the
    shared secret header locally."""
    if tasks.service_account_email:
        global _google_request
        from google.auth.transport import requests as grequests
        from google.oauth2 import id_token

        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, "unauthenticated", "missing OIDC token")
        from google.auth import exceptions as gauth_exc
        from google.auth import jwt

        try:  # malformed tokens are refused before any certificate fetch
            jwt.decode(token.strip(), verify=False)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            raise HttpError(401, "unauthenticated", f"invalid OIDC token: {exc}") from exc
        if _google_request is None:
            _google_request = grequests.Request()
        try:
            claims = id_token.verify_oauth2_token(  # type: ignore[no-untyped-call]
                token.strip(), _google_request, audience=tasks.oidc_audience)
        except gauth_exc.TransportError as exc:
            raise HttpError(503, "auth_unavailable", f"cannot verify the token now: {exc}",
                            {"Retry-After": "5"}) from exc
        except (ValueError, gauth_exc.GoogleAuthError) as exc:
            raise HttpError(401, "unauthenticated", f"invalid OIDC token: {exc}") from exc
        email = claims.get("email")
        if not claims.get("email_verified") or email not in tasks.allowed_invokers:
            raise HttpError(403, "forbidden", f"caller {email} may not run steps")
        return
    given = request.headers.get(SECRET_HEADER, "")
    if not tasks.secret or not hmac.compare_digest(given.encode(), tasks.secret.encode()):
        raise HttpError(401, "unauthenticated", f"missing or wrong {SECRET_HEADER}")


# -- the functions --------------------------------------------------------------------------


def _retry_later(exc: RetryableError) -> flask.Response:
    """503 with ``Retry-After`` (whole seconds, at least 1) for a retryable failure."""
    after = max(1, math.ceil(exc.retry_after_s or 1.0))
    return error_response(503, exc.code, str(exc), {"Retry-After": str(after)})


@with_cors
def start_generation(request: flask.Request, app: CloudApp | None = None) -> flask.Response:
    try:
        app = app or get_app()
        if request.method != "POST":
            raise HttpError(405, "method_not_allowed", "use POST",
                            {"Allow": "POST, OPTIONS"})
        uid = verify_firebase_user(request, app.cloud.project_id)
        try:
            body = StartBody.model_validate(_json_body(request))
        except ValidationError as exc:
            raise HttpError(400, "invalid_request", _first_error(exc)) from exc
        try:
            if body.answers is not None:
                run = app.engine.start_from(body.aec_id, uid=uid, answers=body.answers)
            else:
                run = app.engine.start(body.aec_id, uid=uid)
        except RequiredFieldsError as exc:
            raise HttpError(400, "invalid_request", str(exc)) from exc
        except NotFoundError as exc:
            raise HttpError(404, "not_found", str(exc)) from exc
        except PermissionError as exc:
            raise HttpError(403, "forbidden", str(exc)) from exc
        except AECLockedError as exc:
            raise HttpError(409, "locked", str(exc)) from exc
        except ConflictError as exc:
            raise HttpError(409, "already_running", str(exc)) from exc
        except InvalidRepositoryError as exc:
            raise HttpError(400, exc.code, str(exc)) from exc
        except DomainError as exc:
            raise HttpError(409, exc.code, str(exc)) from exc
        except RetryableError as exc:
            raise HttpError(503, exc.code, str(exc), {"Retry-After": str(
                max(1, math.ceil(exc.retry_after_s or 5.0)))}) from exc
    except HttpError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    except RetryableError as exc:  # no app: the database is down, nothing was created
        return _retry_later(exc)
    except Exception as exc:  # the page must be able to read what went wrong
        log.exception("start_generation failed", extra={"error": str(exc)})
        return error_response(500, "internal", "the generation service failed: "
                              f"{type(exc).__name__}: {exc}"[:500])
    log.info("generation started", extra={"run_id": run.run_id, "aec_id": body.aec_id})
    resp = flask.jsonify({"runId": run.run_id, "aecId": body.aec_id})
    resp.status_code = 202
    return resp


@with_cors
def run_step(request: flask.Request, app: CloudApp | None = None) -> flask.Response:
    try:
        app = app or get_app()
    except RetryableError as exc:  # before the caller is checked: reveals nothing of ours
        return _retry_later(exc)
    try:
        verify_task_caller(request, app.tasks)
    except HttpError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    retry_count = request.headers.get("X-CloudTasks-TaskRetryCount", "0")
    try:
        body = StepBody.model_validate(request.get_json(silent=True))
    except ValidationError as exc:
        # Cloud Tasks retries 4xx too: a body that can never succeed is acknowledged.
        note = f"bad step task dropped: {_first_error(exc)}"
        log.error(note, extra={"task": request.headers.get("X-CloudTasks-TaskName")})
        return flask.jsonify({"outcome": "rejected", "error": note})
    task = StepTask(run_id=body.run_id, step_index=body.step_index, epoch=body.epoch)
    try:
        result = app.engine.run_step(task)
    except RetryableError as exc:
        log.warning("step will be retried", extra={"task": task.name, "error": str(exc),
                                                   "retry_count": retry_count})
        return _retry_later(exc)
    log.info("step delivered", extra={"task": task.name, "outcome": result.outcome,
                                      "retry_count": retry_count})
    return flask.jsonify({"outcome": result.outcome, "runId": result.run_id,
                          "stepIndex": result.step_index, "detail": result.detail})


@with_cors
def sweep(request: flask.Request, app: CloudApp | None = None) -> flask.Response:
    try:
        app = app or get_app()
    except RetryableError as exc:
        return _retry_later(exc)
    try:
        verify_task_caller(request, app.tasks)
    except HttpError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    try:
        report = app.engine.sweep()
        indexes = app.indexer.sweep()
    except RetryableError as exc:  # the run store cannot be read: the next sweep repairs
        return _retry_later(exc)
    return flask.jsonify({**asdict(report), "indexes": indexes})


def on_action_created(event: Any, app: CloudApp | None = None) -> ActionResult | None:
    """Validate a person's action document and apply it; the verdict is written back on
    the document. Safe under duplicate and out-of-order delivery (``act`` is idempotent
    per action id). Retryable failures raise, so that the trigger is retried."""
    app = app or get_app()
    event_type = event.get("type", "")
    if event_type and event_type != ACTION_EVENT:
        log.warning("ignored event", extra={"type": event_type})
        return None
    subject = event.get("subject")
    try:
        doc = decode_document_event(event.data, subject)
    except EventDecodeError as exc:
        log.error("undecodable Firestore event", extra={"error": str(exc),
                                                        "event_id": event["id"]})
        return None
    seg = doc.segments
    if len(seg) != 4 or seg[0] != app.cloud.firestore_collection or seg[2] != "actions":
        log.warning("event for another document", extra={"path": doc.path})
        return None
    aec_id, action_id = seg[1], seg[3]
    if isinstance(doc.fields.get("result"), dict):
        return None  # the server's own write: already decided
    now = datetime.now(UTC)
    run_id = doc.fields.get("runId") if isinstance(doc.fields.get("runId"), str) else None
    data = {k: v for k, v in doc.fields.items() if k not in ("actionId", "aecId", "expired")}
    parsed = parse_action(data, action_id=action_id, aec_id=aec_id)
    if isinstance(parsed, Rejection):
        result = ActionResult(action_id=action_id, status="rejected", reason=parsed.reason,
                              run_id=run_id, at=now)
    elif not parsed.uid or parsed.uid.startswith("system:"):
        result = ActionResult(action_id=action_id, status="rejected", run_id=run_id, at=now,
                              reason="invalid action: uid: the author's uid is required")
    else:
        record = app.engine.act(parsed)
        result = ActionResult(action_id=action_id, status=record.status,
                              reason=record.reason, run_id=record.run_id, at=now)
    app.documents.put_action_result(aec_id, action_id, result)
    log.info("action decided", extra={"aec_id": aec_id, "action_id": action_id,
                                      "status": result.status, "reason": result.reason})
    return result


def on_aec_updated(event: Any, app: CloudApp | None = None) -> bool:
    """Record a person's content edit of a ticket (title, description or repo changed:
    the web page writes them straight to Firestore) in ``ticket_events``, with the
    status before the edit and the owner as its author (only the owner may edit).
    The server's own writes never change those fields and are ignored. Keyed by the
    event id: a redelivered event records nothing more. Returns whether a row was
    written; database failures raise, so that the trigger is retried."""
    app = app or get_app()
    event_type = event.get("type", "")
    if event_type and event_type != AEC_UPDATED_EVENT:
        log.warning("ignored event", extra={"type": event_type})
        return False
    event_id = event.get("id") or None
    try:
        change = decode_document_change(event.data, event.get("subject"))
    except EventDecodeError as exc:
        log.error("undecodable Firestore event", extra={"error": str(exc),
                                                        "event_id": event_id})
        return False
    seg = change.segments
    if len(seg) != 2 or seg[0] != app.cloud.firestore_collection:
        log.warning("event for another document", extra={"path": change.path})
        return False
    if change.old is None or change.new is None:
        return False  # a create or a delete, not an edit
    fields = change.changed(PERSON_FIELDS)
    if not fields:
        return False  # the server's own write
    aec_id = seg[1]
    uid = change.new.get("ownerId")
    status = change.old.get("status")
    at = change.update_time or _event_time(event)
    recorded = record_ticket_edit(app.db, aec_id, uid=str(uid or ""), fields=fields,
                                  status_before=str(status) if status is not None else None,
                                  at=at, event_id=event_id)
    log.info("ticket edit recorded" if recorded else "ticket edit already recorded",
             extra={"aec_id": aec_id, "fields": fields, "status_before": status,
                    "event_id": event_id})
    return recorded


def _event_time(event: Any) -> datetime | None:
    raw = event.get("time")
    if not raw:
        return None
    try:
        t = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
