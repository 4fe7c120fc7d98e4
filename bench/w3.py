"""W3: chaos soak of the embedded default (definitions: docs/benchmarks.md).

The soak itself is :mod:`ticketflow.testing.chaos.embedded` (the test suite runs a
short one, ``tests/integration/test_chaos_short.py``): the real 11-step workflow in
worker processes sharing one libSQL file, with kill -9 of workers mid-step and at
crash points (between commit and enqueue among them), language-model faults,
duplicated deliveries, racing and malformed actions, edits of locked tickets,
deadlines passing and waits left to expire; then the invariants checked from the
database. The last line of output is one JSON object; the exit status is 1 when an
invariant is violated.

    python bench/w3.py                     # 200 runs
    python bench/w3.py --runs 30 --quick   # the short version

Then the cloud part (``bench/w3_cloud.py``: ``--cloud-runs`` runs, default 20, through
the emulator suite and functions processes), reported under ``emulator_suite`` with
its own invariants; ``--quick`` leaves it out unless ``--cloud-runs`` is given (the
test suite's short cloud soak is ``tests/integration/test_chaos_cloud_short.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from ticketflow.dev.emulators import EmulatorError
from ticketflow.observability.logs import configure_logging
from ticketflow.testing.chaos.cloud import run_cloud_soak
from ticketflow.testing.chaos.embedded import EmbeddedSoakConfig, run_embedded_soak


def cloud_part(args: argparse.Namespace) -> dict[str, Any] | str:
    """The cloud part (``bench/w3_cloud.py``), or why it was not run."""
    runs = args.cloud_runs if args.cloud_runs is not None else (0 if args.quick else 20)
    if runs <= 0:
        return ("not run: --quick without --cloud-runs" if args.cloud_runs is None
                else "not run: --cloud-runs 0")
    try:
        return run_cloud_soak(runs, seed=args.seed, quick=args.quick)
    except EmulatorError as exc:
        return f"not run: the emulator suite did not start: {str(exc)[:500]}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="shorter drain and waits")
    p.add_argument("--workers", type=int, default=3, help="worker processes")
    p.add_argument("--concurrency", type=int, default=12, help="runs executing at once")
    p.add_argument("--kill-rate", type=float, default=0.03,
                   help="chance per 20 ms tick of a kill -9 of a worker holding a step")
    p.add_argument("--ignore-rate", type=float, default=0.05,
                   help="share of suspensions left to expire")
    p.add_argument("--drain-s", type=float, default=180.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", type=Path, default=None, help="keep the database and logs here")
    p.add_argument("--cloud-runs", type=int, default=None,
                   help="runs of the cloud part (default 20, none with --quick; 0 = skip)")
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    configure_logging("CRITICAL")  # the workers' logs are in <work>/logs
    t_all = time.perf_counter()
    config = EmbeddedSoakConfig(
        runs=args.runs, quick=args.quick, workers=args.workers,
        concurrency=args.concurrency, kill_rate=args.kill_rate,
        ignore_rate=args.ignore_rate,
        drain_s=min(args.drain_s, 120.0) if args.quick else args.drain_s, seed=args.seed)
    result = run_embedded_soak(config, keep=args.keep)
    violated = list(result.pop("violated"))
    result.pop("invariants_ok")
    emulator_suite = cloud_part(args)
    if isinstance(emulator_suite, dict):
        violated += [f"emulator_suite.{k}" for k in emulator_suite["violated"]]
    result.pop("elapsed_s")
    out = {
        "benchmark": "W3",
        **result,
        "invariants_ok": not violated,
        "violated": violated,
        "emulator_suite": emulator_suite,
        "elapsed_s": round(time.perf_counter() - t_all, 1),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out))
    return 1 if violated else 0


if __name__ == "__main__":
    sys.exit(main())
