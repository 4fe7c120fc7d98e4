"""What the chaos soaks share: the requests they run, the crash points they arm, the
language-model faults they inject, the settings, the seed, and the verdict."""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.testing.chaos.invariants import INVARIANTS
from ticketflow.testing.fake_messages_api import FakeMessagesAPI, Fault, Served

log = logging.getLogger("ticketflow.chaos")

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
CRASH_POINTS = ("before_execute", "after_execute", "after_commit", "after_dispatch")
NON_SUSPENDING = (1, 2, 3, 5, 6, 7, 8, 10, 11)
FINISHED = ("completed", "failed", "cancelled")
LLM_FAULTS = ("rate_limited", "overloaded", "server_error", "hang", "malformed",
              "truncated", "no_tool_use")
SEED_ENV = "TICKETFLOW_CHAOS_SEED"
SLOW_HANDLERS = "3:0.15,7:0.15"
"""Handlers slowed in the soaks (``TICKETFLOW_WITNESS_SLOW``), so that a kill from
outside lands while one runs, in a step without a model call and in one with."""

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


def chaos_seed(seed: int | None = None) -> int:
    """``seed``, else ``$TICKETFLOW_CHAOS_SEED``, else a fresh random one; logged, so
    that a failing soak can be run again with the same fault schedule."""
    if seed is None:
        env = os.environ.get(SEED_ENV)
        seed = int(env) if env else random.SystemRandom().randrange(1 << 30)
    log.warning("chaos seed %d (again: %s=%d)", seed, SEED_ENV, seed)
    return seed


def rng_for(seed: int, *parts: object) -> random.Random:
    """A generator of its own for one thing the soak decides (a run's replies, a
    worker's crash point), so that a seed gives each the same choices however the
    processes' timing interleaves the rest."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def fake_llm(notes: Counter[str]) -> FakeMessagesAPI:
    """The fake Messages API, started, its outputs varying per call; a killed client
    resetting its connection is counted in ``notes`` (expected, not worth a traceback)."""
    api = FakeMessagesAPI(vary=True).start()
    server: Any = api._server
    server.handle_error = lambda *a: notes.update(["llm_connection_reset"])
    return api


def inject_llm_fault(api: FakeMessagesAPI, rng: random.Random,
                     injected: Counter[str]) -> None:
    """Queue one language-model fault on ``api``: each kind in turn first (so even a
    short soak meets every kind), then at random. 429 with retry-after, 529, 500, a
    hang past the client timeout, a schema-violating, truncated or tool-less answer (a
    quarter of the malformed ones twice, so the corrective retry fails too and the
    step fails for good). ``injected`` counts what was queued; a fault counts as
    taken effect only when a request consumed it (the fake's log)."""
    n = sum(injected.values())
    kind = LLM_FAULTS[n] if n < len(LLM_FAULTS) else rng.choice(LLM_FAULTS)
    fault = {
        "rate_limited": lambda: Fault.rate_limited(retry_after=0.05),
        "overloaded": Fault.overloaded, "server_error": Fault.server_error,
        "hang": lambda: Fault.hang(2.0), "malformed": Fault.malformed,
        "truncated": Fault.truncated, "no_tool_use": Fault.no_tool_use,
    }[kind]()
    if kind == "malformed" and rng.random() < 0.25:
        api.enqueue(fault, Fault.malformed())
        injected["malformed_twice"] += 1
        return
    api.enqueue(fault)
    injected[kind] += 1


def llm_faults_taken_from(served: Iterable[Served]) -> dict[str, int]:
    """The faults requests consumed (the fake's log), as ``llm_<kind>`` (an HTTP error
    by its status: ``llm_status_429``)."""
    return dict(Counter(f"llm_{s.fault}" for s in served if s.fault))


def unprojected(db: Database) -> int:
    """Runs whose last progress has not reached their ticket yet."""
    return int(db.execute("SELECT COUNT(*) FROM runs WHERE projected_seq < seq").rows[0][0])


def violated(result: Mapping[str, Any], runs: int, floor: float) -> list[str]:
    """The invariants ``result`` breaks, ``runs`` when fewer runs were made, and
    ``completion_rate`` when fewer than ``floor`` of them ended ready."""
    out = [k for k in INVARIANTS if result[k]]
    if result["runs"] < runs:
        out.append("runs")
    if result["completion_rate"] < floor:
        out.append("completion_rate")
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
