"""Fit step 5's ranking weights on W4's development group.

Every case with labelled files gives its candidate files (as step 5 gathers them) with
their features (``ticketflow.workflow.retrieval_features``), labelled 1 when the file
is among the case's ``relevant`` files. Two L2-regularised logistic regressions are
fitted by Newton's method in plain Python (deterministic: fixed order, no sampling):
the *seed* weights over the features known before any file is ranked, then, with the
seeds those choose, the *rank* weights over every feature. The result is written to
``shared/ticketflow/workflow/retrieval_weights.json``, which step 5 ships and reads.

Printed as JSON (last line): recall@5 in-sample, and leave-one-repository-out (both
stages fitted on every other repository, the left-out one ranked), overall and per
repository.

    python bench/w4_fit.py            # refit and write the weights file
    python bench/w4_fit.py --check    # fail if the committed file is not what the code fits

The held-out group is refused: it is never fitted on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _w4_sets import CACHE, HELD_OUT, ROOT, SETS, Case, fetch, load, log
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex, repo_key
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.compose.preflight import run_preflight
from ticketflow.domain import TicketRequest
from ticketflow.ports import RepoIndex
from ticketflow.workflow.retrieval import (
    Linear,
    Weights,
    WeightsError,
    ordered,
    parse_weights,
    seeds_of,
)
from ticketflow.workflow.retrieval_features import (
    FEATURES,
    SEED_FEATURES,
    Request,
    extend,
    gather,
)
from ticketflow.workflow.steps.s05_repo_context import retrieval_request

WEIGHTS = ROOT / "shared" / "ticketflow" / "workflow" / "retrieval_weights.json"
K = 5
L2 = 1.0
DIGITS = 6
# what the committed file may differ in from a refit
_UNCHECKED = ("fitted_at", "fit_seconds")


class Memo:
    """A read-only index whose answers are kept: every fold of the leave-one-out
    asks the same questions of the neighbours of mostly the same seeds."""

    def __init__(self, index: RepoIndex) -> None:
        self._index = index
        self._memo: dict[tuple[Any, ...], Any] = {}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._index, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            key = (name, *(tuple(a) if isinstance(a, list) else a for a in args),
                   *sorted(kwargs.items()))
            if key not in self._memo:
                self._memo[key] = method(*args, **kwargs)
            return self._memo[key]  # nothing that reads the index changes what it got

        return call


@dataclass
class Example:
    """One labelled case: its request as step 5 gathers it, before any seed."""

    case: Case
    key: str
    gathered: Request
    relevant: frozenset[str]


# -- logistic regression ----------------------------------------------------------------------


Row = list[tuple[int, float]]


def fit_logistic(rows: Sequence[Row], labels: Sequence[int], width: int, l2: float,
                 sample: Sequence[float] | None = None) -> list[float]:
    """Weights (the last one the bias, not penalised) minimising the logistic loss (each
    row counted ``sample[i]`` times) plus ``l2 / 2 * |w|^2``, by Newton's method with
    step halving."""
    w = [0.0] * (width + 1)
    bias = width
    counts = list(sample) if sample is not None else [1.0] * len(rows)

    def loss(weights: list[float]) -> float:
        total = 0.5 * l2 * sum(v * v for v in weights[:bias])
        for row, y, c in zip(rows, labels, counts, strict=True):
            z = weights[bias] + sum(weights[i] * v for i, v in row)
            total += c * (_softplus(z) - y * z)
        return total

    current = loss(w)
    for _ in range(100):
        grad = [l2 * v for v in w[:bias]] + [0.0]
        hess = [[0.0] * (width + 1) for _ in range(width + 1)]
        for i in range(width):
            hess[i][i] = l2
        hess[bias][bias] = 1e-9
        for row, y, c in zip(rows, labels, counts, strict=True):
            full = [*row, (bias, 1.0)]
            z = sum(w[i] * v for i, v in full)
            p = _sigmoid(z)
            h = c * p * (1.0 - p)
            for i, v in full:
                grad[i] += c * (p - y) * v
                line = hess[i]
                for j, u in full:
                    line[j] += h * v * u
        step = _solve(hess, grad)
        scale = 1.0
        while True:
            trial = [a - scale * d for a, d in zip(w, step, strict=True)]
            value = loss(trial)
            if value <= current or scale < 1e-4:
                break
            scale /= 2
        w, moved, current = trial, max(abs(scale * d) for d in step), value
        if moved < 1e-9:
            break
    return w


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """``a x = b`` for a symmetric positive definite ``a`` (Gaussian elimination with
    partial pivoting, on copies)."""
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-300:
            continue
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        s = m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))
        x[r] = s / m[r][r] if abs(m[r][r]) >= 1e-300 else 0.0
    return x


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _softplus(z: float) -> float:
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


# -- the two stages ---------------------------------------------------------------------------


def _sparse(row: dict[str, float], names: tuple[str, ...]) -> Row:
    at = {n: i for i, n in enumerate(names)}
    return [(at[k], v) for k, v in sorted(row.items(), key=lambda kv: at[kv[0]])]


def _linear(names: tuple[str, ...], w: list[float]) -> Linear:
    return Linear(names, tuple(round(v, DIGITS) for v in w[:-1]), round(w[-1], DIGITS))


def extended(ex: Example, index: RepoIndex, seed: Linear) -> Request:
    """The example's request with the neighbours of the seeds ``seed`` chooses."""
    req = replace(ex.gathered, rows={p: dict(row) for p, row in ex.gathered.rows.items()})
    extend(index, ex.key, req, seeds_of(req, seed))
    return req


def fit(examples: list[Example], index: RepoIndex, l2: float) -> Weights:
    """Both stages fitted on ``examples``."""
    rows: list[Row] = []
    labels: list[int] = []
    for ex in examples:
        for p, row in ex.gathered.rows.items():
            rows.append(_sparse(row, SEED_FEATURES))
            labels.append(int(p in ex.relevant))
    seed = _linear(SEED_FEATURES, fit_logistic(rows, labels, len(SEED_FEATURES), l2))
    rows, labels = [], []
    for ex in examples:
        for p, row in extended(ex, index, seed).rows.items():
            rows.append(_sparse(row, FEATURES))
            labels.append(int(p in ex.relevant))
    rank = _linear(FEATURES, fit_logistic(rows, labels, len(FEATURES), l2))
    return Weights(seed=seed, rank=rank, about={})


def recall(ex: Example, index: RepoIndex, weights: Weights) -> float:
    top = [p for p, _ in ordered(extended(ex, index, weights.seed), weights.rank)[:K]]
    return len(ex.relevant & set(top)) / len(ex.relevant)


def _figures(per_case: list[tuple[str, float]]) -> dict[str, Any]:
    repos = list(dict.fromkeys(r for r, _ in per_case))
    return {"overall": round(statistics.fmean(v for _, v in per_case), 3),
            "per_repository": {r: round(statistics.fmean(v for q, v in per_case if q == r), 3)
                               for r in repos}}


# -- the data ---------------------------------------------------------------------------------


def examples_of(group: str, index: LibsqlRepoIndex) -> tuple[list[Example], dict[str, Any]]:
    request_set = load(group)
    llm = OfflineLanguageModel()
    keys: dict[str, str] = {}
    for name, spec in request_set.repos.items():
        path = fetch(spec)
        status = index.index(str(path))
        if status.state != "ready":
            raise SystemExit(f"{name}: index {status.state} ({status.error})")
        keys[name] = repo_key(str(path))
    memo: RepoIndex = Memo(index)  # type: ignore[assignment]
    out: list[Example] = []
    for case in request_set.cases:
        if not case.relevant:
            continue
        intent = run_preflight(case.title, case.description, repo=None, index=None,
                               llm=llm).intent
        query, text = retrieval_request(
            TicketRequest(title=case.title, description=case.description), intent)
        out.append(Example(case, keys[case.repo], gather(memo, keys[case.repo], query, text),
                           frozenset(case.relevant)))
    about = {"group": group, "sources": {s: str(SETS[group][s].relative_to(ROOT))
                                         for s in request_set.sources},
             "repositories": {n: s.get("pypi") or s.get("npm") or s.get("path")
                              for n, s in request_set.repos.items()},
             "cases": len(out)}
    return out, about


def run(group: str, l2: float, loro: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The weights document and the figures."""
    t0 = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    db = Database(f"file:{CACHE / 'w4_fit.db'}")
    try:
        index = LibsqlRepoIndex(db)
        examples, about = examples_of(group, index)
        memo: RepoIndex = Memo(index)  # type: ignore[assignment]
        weights = fit(examples, memo, l2)
        inside = _figures([(ex.case.repo, recall(ex, memo, weights)) for ex in examples])
        figures: dict[str, Any] = {"in_sample_recall_at_5": inside}
        if loro:
            per_case: list[tuple[str, float]] = []
            for repo in about["repositories"]:
                left = [ex for ex in examples if ex.case.repo == repo]
                if not left:
                    continue
                fold = fit([ex for ex in examples if ex.case.repo != repo], memo, l2)
                per_case += [(repo, recall(ex, memo, fold)) for ex in left]
                log(f"left out {repo}: {_figures(per_case)['per_repository'][repo]}")
            order = {r: i for i, r in enumerate(about["repositories"])}
            per_case.sort(key=lambda rv: order[rv[0]])
            figures["leave_one_repository_out_recall_at_5"] = _figures(per_case)
    finally:
        db.close()
    about.update(candidates=sum(len(ex.gathered.rows) for ex in examples),
                 relevant_files=sum(len(ex.relevant) for ex in examples), l2=l2)
    doc = {
        "about": "step 5's ranking weights (ticketflow.workflow.retrieval), fitted by "
                 "bench/w4_fit.py; refit after any change to the features",
        "features": list(FEATURES),
        "seed": {"features": list(SEED_FEATURES), "weights": list(weights.seed.weights),
                 "bias": weights.seed.bias},
        "rank": {"weights": list(weights.rank.weights), "bias": weights.rank.bias},
        "fitted_on": about,
        "in_sample_recall_at_5": inside["overall"],
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fit_seconds": round(time.perf_counter() - t0, 1),
    }
    parse_weights(doc)  # what is written can be read
    return doc, figures


def _fixed_hashing() -> None:
    """Run again with string hashing fixed: some features add up over sets of words, so
    the order of a float sum, and with it the weights' last digits, would follow
    Python's per-process hash seed, and a refit of unchanged code and data would not
    give the same file."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv],
                  {**os.environ, "PYTHONHASHSEED": "0"})


def main() -> None:
    _fixed_hashing()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", choices=list(SETS), default="development")
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed weights file is not what a refit gives")
    parser.add_argument("--l2", type=float, default=L2)
    parser.add_argument("--no-loro", action="store_true",
                        help="skip the leave-one-repository-out figures")
    args = parser.parse_args()
    if args.set in HELD_OUT:
        raise SystemExit(f"refused: {args.set} is a held-out group, never fitted on")
    doc, figures = run(args.set, args.l2, loro=not args.no_loro)
    if args.check:
        try:
            committed = json.loads(WEIGHTS.read_text())
            parse_weights(committed, str(WEIGHTS))
        except (OSError, ValueError, WeightsError) as exc:
            raise SystemExit(f"check failed: {exc}") from exc
        differ = sorted(k for k in {*doc, *committed} if k not in _UNCHECKED
                        and doc.get(k) != committed.get(k))
        print(json.dumps({"check": "differs" if differ else "ok", "keys": differ, **figures}))
        if differ:
            raise SystemExit(f"check failed: {WEIGHTS.name} differs from a refit in "
                             f"{', '.join(differ)}: run python bench/w4_fit.py")
        return
    WEIGHTS.write_text(json.dumps(doc, indent=1) + "\n")
    log(f"wrote {WEIGHTS.relative_to(ROOT)}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
