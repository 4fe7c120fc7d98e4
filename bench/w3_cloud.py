"""W3, cloud part: the chaos soak through the real cloud stack (definitions: docs/benchmarks.md).

The soak itself is :mod:`ticketflow.testing.chaos.cloud` (the test suite runs a short
one, ``tests/integration/test_chaos_cloud_short.py``): the witnessed functions
process group SIGKILLed from outside while a handler runs and at crash points, then
restarted and swept (and the database server, when the stack has one); language-model
faults; task deliveries and trigger events duplicated; racing and malformed action
documents; edits of locked tickets through the rules. Then the invariants computed
from the witness (``witnesses`` in the output names each one's).

    python bench/w3_cloud.py                  # 20 runs, one JSON object as the last line
    python bench/w3_cloud.py --cloud-runs 6 --quick

``bench/w3.py`` runs the same under ``emulator_suite``. Logs of every process go to
``test-artifacts/w3-cloud/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ticketflow.dev.emulators import EmulatorError
from ticketflow.observability.logs import configure_logging
from ticketflow.testing.chaos.cloud import run_cloud_soak


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud-runs", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="shorter waits and drain")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--kill-budget", type=int, default=None,
                   help="most functions-process kills (default: runs / 2, at least 3)")
    p.add_argument("--drain-s", type=float, default=120.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--completion-floor", type=float, default=0.5,
                   help="least share of runs that must end ready")
    p.add_argument("--keep", type=Path, default=None, help="keep the database here")
    args = p.parse_args()
    configure_logging("CRITICAL")
    try:
        out = run_cloud_soak(args.cloud_runs, seed=args.seed, quick=args.quick,
                             concurrency=args.concurrency, kill_budget=args.kill_budget,
                             drain_s=min(args.drain_s, 90.0) if args.quick else args.drain_s,
                             completion_floor=args.completion_floor, keep=args.keep)
    except EmulatorError as exc:
        print(json.dumps({"benchmark": "W3-cloud", "error": f"stack did not start: {exc}"}))
        return 2
    print(json.dumps({"benchmark": "W3-cloud", **out}))
    return 0 if out["invariants_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
