"""W3: chaos soak of the embedded default (definitions: docs/benchmarks.md).

The soak itself is :mod:`ticketflow.testing.chaos.embedded` (the test suite runs a
short one, ``tests/integration/test_chaos_short.py``): the real 11-step workflow in
witnessed worker processes sharing one libSQL file, with SIGKILL of workers from
outside while a handler runs and at crash points (between commit and enqueue among
them), language-model faults, duplicated deliveries, racing and malformed actions,
edits of locked tickets, deadlines passing and waits left to expire; then the
invariants computed from the witness (``witnesses`` in the output names each one's).
The last line of output is one JSON object; the exit status is 1 when an invariant
is violated, too few runs completed, or a part did not run.

    python bench/w3.py                                # 200 runs, then 20 in the cloud
    python bench/w3.py --runs 30 --quick --cloud-runs 6
    python bench/w3.py --no-cloud                     # the embedded part alone

Then the cloud part (``bench/w3_cloud.py``: ``--cloud-runs`` runs through the
emulator suite and functions processes), reported under ``emulator_suite`` with its
own invariants. A part that could not run is a violation (``emulator_suite.not_run``);
only ``--no-cloud`` leaves it out, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ticketflow.dev.emulators import EmulatorError
from ticketflow.observability.logs import configure_logging
from ticketflow.testing.chaos.cloud import run_cloud_soak
from ticketflow.testing.chaos.common import chaos_seed
from ticketflow.testing.chaos.embedded import EmbeddedSoakConfig, run_embedded_soak


def cloud_part(args: argparse.Namespace) -> dict[str, Any] | str:
    """The cloud part (``bench/w3_cloud.py``), or why it was not run."""
    if args.no_cloud:
        return "skipped: --no-cloud"
    runs = args.cloud_runs if args.cloud_runs is not None else (6 if args.quick else 20)
    if runs <= 0:
        return "not run: --cloud-runs 0 (use --no-cloud to leave the part out)"
    try:
        return run_cloud_soak(runs, seed=args.seed, quick=args.quick,
                              drain_s=90.0 if args.quick else 120.0)
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
                   help="runs of the cloud part (default 20, 6 with --quick)")
    p.add_argument("--no-cloud", action="store_true",
                   help="leave the cloud part out (otherwise a part not run is a violation)")
    p.add_argument("--completion-floor", type=float, default=0.5,
                   help="least share of runs that must end ready")
    args = p.parse_args()
    args.seed = chaos_seed(args.seed)
    configure_logging("CRITICAL")  # the workers' logs are in <work>/logs
    t_all = time.perf_counter()
    config = EmbeddedSoakConfig(
        runs=args.runs, quick=args.quick, workers=args.workers,
        concurrency=args.concurrency, kill_rate=args.kill_rate,
        ignore_rate=args.ignore_rate,
        drain_s=min(args.drain_s, 120.0) if args.quick else args.drain_s, seed=args.seed,
        completion_floor=args.completion_floor)
    result = run_embedded_soak(config, keep=args.keep)
    violated = list(result.pop("violated"))
    result.pop("invariants_ok")
    emulator_suite = cloud_part(args)
    if isinstance(emulator_suite, dict):
        violated += [f"emulator_suite.{k}" for k in emulator_suite["violated"]]
    elif not emulator_suite.startswith("skipped"):
        violated.append("emulator_suite.not_run")
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
