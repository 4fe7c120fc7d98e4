"""W2 (page): progress latency from a step's commit to the web page's DOM.

The whole local suite (``ticketflow.testing.browser.WebStack``): Cloud Tasks emulator,
the functions under gunicorn, the Firestore emulator with ``firestore.rules`` and the
triggers, the Auth and Hosting emulators serving the built page, the offline provider.
Debian chromium (playwright-core, the ``bench`` scenario of
``ticketflow/testing/browser/driver.mjs``) signs in and creates N tickets through the
page, one after the other, each with a request that goes straight through the 11
steps (no critical finding, no question), and waits on the ticket page until it is
ready.

Definition of one sample (one step transition of one run):

* commit: ``step_outputs.finished_at`` in libSQL, the timestamp the runtime writes
  in the same transaction that records the step's output (taken immediately before
  the commit; system clock of this machine);
* shown: the moment a ``MutationObserver`` in the page sees that step's row change
  to a finished status (done, skipped, degraded), as
  ``performance.timeOrigin + performance.now()`` in the MutationObserver callback,
  which runs after React committed the change to the DOM and before the next paint.
  ``frame`` is the same to the next animation frame (roughly, painted).

The headline covers steps 1-10. Step 11 (finalize) is reported on its own: it saves
the ticket and sets it ``ready`` in a Firestore transaction *inside* the step, before
the libSQL commit, so the page can show the ready ticket (the progress list gives
way to it) before ``finished_at`` is even taken; its samples,
``finalize_ready_minus_commit``, are a few milliseconds either side of zero and are
not a commit-to-page latency.

latency = shown - commit: it covers the Firestore projection write, the emulator's
listener fan-out, the SDK, the store and React. Both clocks are this machine's wall
clock; the page's drift between ``Date.now()`` and ``timeOrigin + now()`` at the end
is reported as ``page_clock_drift_ms``.

    python bench/w2_page.py               # 12 tickets (120 transitions); JSON last line
    python bench/w2_page.py --tickets 20

Logs and screenshots: ``test-artifacts/w2_page/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from typing import Any

from ticketflow.adapters.libsql.database import Database
from ticketflow.observability.summary import percentile as nearest_rank
from ticketflow.observability.summary import summary as summarize
from ticketflow.testing.browser import ARTIFACTS, StackError, WebStack, run_driver

FINISHED = {"done", "skipped", "degraded"}
FINALIZE = 11
STORY_MS = 500.0
AIM_MS = 200.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    value = nearest_rank(values, q)
    assert value is not None
    return value


def summary(values: list[float]) -> dict[str, float | int | None]:
    return summarize(values, quantiles=(50, 95, 99), extras=("mean", "min", "max"),
                     suffix="_ms", digits=1)


def epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000.0


def commits(db: Database, aec_ids: list[str]) -> dict[tuple[str, int], tuple[str, float]]:
    """``(aec_id, step) -> (status, commit epoch ms)`` for the runs of these tickets."""
    marks = ",".join("?" * len(aec_ids))
    rows = db.execute(
        "SELECT r.aec_id, s.step_index, s.status, s.finished_at FROM step_outputs s "
        f"JOIN runs r ON r.run_id = s.run_id WHERE r.aec_id IN ({marks})", aec_ids).rows
    return {(str(a), int(i)): (str(st), epoch_ms(str(f))) for a, i, st, f in rows if f}


def shown(log: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[float, float | None]]:
    """First moment each ``(aec, step)`` was on screen as finished (step 11: ready)."""
    out: dict[tuple[str, int], tuple[float, float | None]] = {}
    for e in log:
        if not e.get("aec"):
            continue
        if e["step"] == "ticket":
            key = (e["aec"], 11) if e["status"] == "ready" else None
        else:
            key = (e["aec"], int(e["step"])) if e["status"] in FINISHED else None
        if key is not None and key not in out:
            out[key] = (float(e["t"]), e.get("frame"))
    return out


def measure(stack: WebStack, tickets: int) -> dict[str, Any]:
    started = time.monotonic()
    r = run_driver(stack, "bench", timeout_s=60.0 + 30.0 * tickets,
                   TF_BENCH_TICKETS=str(tickets))
    wall_s = time.monotonic() - started
    with Database(stack.db_url) as db:
        committed = commits(db, r["tickets"])
    seen = shown(r["log"])
    dom: list[float] = []
    frame: list[float] = []
    finalize: list[float] = []
    per_step: dict[int, list[float]] = {}
    missing = []
    for key, (status, commit_ms) in sorted(committed.items()):
        if key not in seen:
            missing.append({"aec": key[0], "step": key[1], "status": status})
            continue
        t, f = seen[key]
        if key[1] == FINALIZE:
            finalize.append(t - commit_ms)
            continue
        dom.append(t - commit_ms)
        per_step.setdefault(key[1], []).append(t - commit_ms)
        if f is not None:
            frame.append(float(f) - commit_ms)
    clock = r.get("clock") or {}
    return {
        "benchmark": "w2_page",
        "definition": "steps 1-10: libSQL step_outputs.finished_at (commit) -> "
                      "MutationObserver sees the step row finished; same machine clock",
        "tickets": len(r["tickets"]),
        "transitions": len(dom),
        "unobserved": len(missing),
        "unobserved_detail": missing[:20],
        "commit_to_dom": summary(dom),
        "commit_to_frame": summary(frame),
        "finalize_ready_minus_commit": summary(finalize),
        "per_step_p50_ms": {str(k): round(percentile(v, 50), 1)
                            for k, v in sorted(per_step.items())},
        "per_step_p95_ms": {str(k): round(percentile(v, 95), 1)
                            for k, v in sorted(per_step.items())},
        "negative_samples": sum(1 for v in dom if v < 0),
        "page_clock_drift_ms": round(float(clock.get("now", 0)) - float(clock.get("pageNow", 0)),
                                     1) if clock.get("pageNow") else None,
        "story_p95_under_ms": STORY_MS,
        "meets_story": bool(dom) and percentile(dom, 95) < STORY_MS,
        "aim_p95_under_ms": AIM_MS,
        "meets_aim": bool(dom) and percentile(dom, 95) < AIM_MS,
        "wall_s": round(wall_s, 1),
        "setup": {"llm": "offline", "functions": "gunicorn 1 worker x 8 threads",
                  "browser": "Debian chromium via playwright-core, headless"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=12,
                        help="tickets run through the page (10 measured transitions each)")
    args = parser.parse_args(argv)
    stack = WebStack(root=ARTIFACTS / "w2_page")
    try:
        stack.start()
    except StackError as exc:
        print(json.dumps({"benchmark": "w2_page", "error": f"stack did not start: {exc}"}))
        return 1
    try:
        result = measure(stack, args.tickets)
    except AssertionError as exc:
        print(str(exc), file=sys.stderr)
        print(json.dumps({"benchmark": "w2_page", "error": str(exc).splitlines()[0]}))
        return 1
    finally:
        stack.stop()
    print(json.dumps(result, indent=2), file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
