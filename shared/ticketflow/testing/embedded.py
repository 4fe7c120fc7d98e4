"""The embedded default inside a test: settings for a fresh libSQL file, the story's
three requests, a ticket, and a run driven to its end (or its next suspension)."""

from __future__ import annotations

import uuid
from pathlib import Path

from ticketflow.cli.driver import LOCAL_UID, Reply, drive
from ticketflow.compose.embedded import EmbeddedApp
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.domain import AEC
from ticketflow.ports.records import RunRecord
from ticketflow.settings import Settings

SAMPLE_REPO = PROJECT_ROOT / "examples" / "sample-repo"

CLEAN = {  # straight through: no critical finding, no question
    "title": "Let users reset a forgotten password",
    "description": "A user who forgot their password can request a reset link by email "
                   "from the sign-in page. The link expires after 30 minutes and can be "
                   "used once.",
}
CRITICAL = {  # names a file that does not exist: a review at step 4; and, open after
    # the review, a vague target: questions at step 9
    "title": "Fix the PDF download of paid invoices",
    "description": "Downloading the PDF of a paid invoice fails with a 500 error. The bug "
                   "is in `render_invoice_pdf()` in billing/pdf_renderer.py. The download "
                   "must be fast.",
}
QUESTIONS = {  # vague on speed: questions at step 9
    "title": "Add CSV export to the invoice list",
    "description": "As an accountant I want to export the invoices of the InvoiceList "
                   "component to a CSV file. It should be fast for large lists.",
}


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    """Settings of a test: ``tmp_path/tf.db``, the offline model, quick polls and sweeps."""
    base: dict[str, object] = {
        "db_url": f"file:{tmp_path}/tf.db", "llm": "offline", "poll_s": 0.05,
        "index_wait_s": 0.0, "retry_backoff_scale": 0.01, "sweep_interval_s": 0.5,
        "outbox_grace_s": 0.0,
    }
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


def new_ticket(app: EmbeddedApp, request: dict[str, str], *, repo: Path | None = None,
               owner: str = LOCAL_UID) -> AEC:
    """A draft ticket for ``request``; ``repo`` is indexed first."""
    repo_path = str(repo) if repo else None
    if repo_path:
        assert app.index_repository(repo_path, owner=owner).state == "ready"
    return app.documents.create(AEC.new(aec_id="aec-" + uuid.uuid4().hex[:10],
                                        owner_id=owner, repo=repo_path, **request))


def run_to_end(app: EmbeddedApp, run_id: str, *replies: Reply | None) -> RunRecord:
    """Drive a run, answering its suspensions with ``replies`` in order."""
    queue = list(replies)

    def policy(_state: object) -> Reply | None:
        return queue.pop(0) if queue else None

    return drive(app, run_id, policy, timeout_s=60)
