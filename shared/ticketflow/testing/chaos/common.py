"""What the chaos soaks share: the requests they run, the crash points they arm, the
language-model faults they inject, and the invariants read from the run store."""

from __future__ import annotations

import contextlib
import os
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault

SAMPLE_REPO = PROJECT_ROOT / "examples" / "sample-repo"
REQUESTS: list[dict[str, Any]] = [
    {"title": "Let users reset a forgotten password",
     "description": "A user who forgot their password can request a reset link by email "
                    "from the sign-in page. The link expires after 30 minutes.",
     "repo": False},
    {"title": "Fix the PDF download of paid invoices",
     "description": "Downloading the PDF of a paid invoice fails with a 500 error. The bug "
                    "is in `render_invoice_pdf()` in billing/pdf_renderer.py.",
     "repo": True},
    {"title": "Add CSV export to the invoice list",
     "description": "As an accountant I want to export the invoices of the InvoiceList "
                    "component to a CSV file. It should be fast for large lists.",
     "repo": True},
]
CRASH_POINTS = ("before_execute", "mid_step", "after_commit", "after_dispatch")
NON_SUSPENDING = (1, 2, 3, 5, 6, 7, 8, 10, 11)
FINISHED = ("completed", "failed", "cancelled")
INVARIANTS = ("stuck", "steps_committed_twice", "steps_executed_after_commit",
              "actions_accepted_twice", "content_lost", "other_violations")

LLM_SETTINGS = {
    "TICKETFLOW_LLM": "claude", "ANTHROPIC_API_KEY": "test-key",
    "TICKETFLOW_LLM_TIMEOUT_S": "1.0", "TICKETFLOW_LLM_MAX_RETRIES": "2",
    "TICKETFLOW_LLM_BACKOFF_BASE_S": "0.05", "TICKETFLOW_LLM_BACKOFF_MAX_S": "0.2",
    "TICKETFLOW_LLM_MAX_RETRY_AFTER_S": "2",
}
"""The Claude adapter against the fake Messages API, with short timeouts and backoffs."""

RUN_SETTINGS = {
    "TICKETFLOW_STEP_TIMEOUT_S": "6", "TICKETFLOW_LEASE_GRACE_S": "1",
    "TICKETFLOW_RUN_TIMEOUT_S": "300", "TICKETFLOW_RETRY_BACKOFF_SCALE": "0.02",
    "TICKETFLOW_OUTBOX_GRACE_S": "1", "TICKETFLOW_STALL_AFTER_S": "4",
    "TICKETFLOW_INDEX_WAIT_S": "0",
}
"""Short step timeouts, leases and sweeps, so that every fault resolves quickly."""


def fake_llm(notes: Counter[str]) -> FakeMessagesAPI:
    """The fake Messages API, started; a killed client resetting its connection is
    counted in ``notes`` (expected, not worth a traceback)."""
    api = FakeMessagesAPI().start()
    server: Any = api._server
    server.handle_error = lambda *a: notes.update(["llm_connection_reset"])
    return api


def inject_llm_fault(api: FakeMessagesAPI, rng: random.Random, faults: Counter[str]) -> None:
    """Queue one random language-model fault on ``api`` and count it in ``faults``:
    429 with retry-after, 529, 500, a hang past the client timeout, a schema-violating,
    truncated or tool-less answer (a quarter of the malformed ones twice, so the
    corrective retry fails too and the step fails for good)."""
    kind = rng.choice(["rate_limited", "overloaded", "server_error", "hang",
                       "malformed", "truncated", "no_tool_use"])
    fault = {
        "rate_limited": lambda: Fault.rate_limited(retry_after=0.05),
        "overloaded": Fault.overloaded, "server_error": Fault.server_error,
        "hang": lambda: Fault.hang(2.0), "malformed": Fault.malformed,
        "truncated": Fault.truncated, "no_tool_use": Fault.no_tool_use,
    }[kind]()
    if kind == "malformed" and rng.random() < 0.25:
        api.enqueue(fault, Fault.malformed())
        faults["llm_malformed_twice"] += 1
        return
    api.enqueue(fault)
    faults[f"llm_{kind}"] += 1


def store_invariants(db: Database) -> dict[str, list[Any]]:
    """Rows that break the run store's guarantees: a step committed twice, a step
    executed after its commit, two actions accepted for one suspension token."""
    twice = db.execute(
        "SELECT run_id, step_index FROM step_attempts WHERE outcome = 'committed' "
        "GROUP BY run_id, step_index HAVING COUNT(*) > 1").rows
    after = db.execute(
        "SELECT a.run_id, a.step_index FROM step_attempts a JOIN step_outputs o "
        "ON o.run_id = a.run_id AND o.step_index = a.step_index "
        "WHERE a.started_at > o.finished_at").rows
    accepted_twice = db.execute(
        "SELECT run_id, token FROM actions WHERE status = 'accepted' AND token != '' "
        "GROUP BY run_id, token HAVING COUNT(*) > 1").rows
    return {"steps_committed_twice": list(twice), "steps_executed_after_commit": list(after),
            "actions_accepted_twice": list(accepted_twice)}


def unprojected(db: Database) -> int:
    """Runs whose last progress has not reached their ticket yet."""
    return int(db.execute("SELECT COUNT(*) FROM runs WHERE projected_seq < seq").rows[0][0])


def violated(result: Mapping[str, Any], runs: int) -> list[str]:
    """The invariants ``result`` breaks (and ``runs`` when fewer runs were made)."""
    out = [k for k in INVARIANTS if result[k]]
    if result["runs"] < runs:
        out.append("runs")
    return out


@contextlib.contextmanager
def environment(set_: Mapping[str, str] | None = None, *,
                clear_prefixes: tuple[str, ...] = ()) -> Iterator[None]:
    """``os.environ`` with the variables starting with ``clear_prefixes`` removed and
    ``set_`` added, restored afterwards (child processes inherit it meanwhile)."""
    saved = dict(os.environ)
    for k in [k for k in os.environ if k.startswith(clear_prefixes)] if clear_prefixes else []:
        del os.environ[k]
    os.environ.update(set_ or {})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
