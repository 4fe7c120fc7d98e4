"""Which files of a repository a request is about (step 5's ranking).

Each candidate file gets features (:mod:`.retrieval_features`): what the request
names (files that define or are the code names it mentions, declare the routes it
names, show the labels it quotes), the entities it talks about (models, schemas and
the files named after them), its words (the index's full-text ranking, the request
words the path carries), the page it names, a package manifest when it brings in a
dependency, what kind of file it is (tests, migrations, translations, lock files,
prose and compiled copies count against a file), and its place next to the best files
(the template a view renders, the view that renders a template, the file that mounts
a router, companion modules, the entry files of an application-wide change).

A file's score is a weighted sum of its features, in two stages, both logistic
regressions fitted on the development group of the W4 benchmark by
``bench/w4_fit.py`` and shipped as package data (``retrieval_weights.json``): the
*seed* weights rank the candidates known before any file is ranked and choose the
seeds whose neighbours become candidates too; the *rank* weights, over every
feature, order them all. A weights file written for another feature list is refused
(:class:`WeightsError`): a change to the features needs a refit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from ticketflow.ports import FileHit, RepoIndex
from ticketflow.workflow.retrieval_features import (
    FEATURES,
    SEED_FEATURES,
    Request,
    extend,
    gather,
)

__all__ = ["LIMIT", "MAX_PINNED", "SEEDS", "WEIGHTS_FILE", "Linear", "Weights", "WeightsError",
           "load_weights", "ordered", "parse_weights", "rank", "retrieve", "seeds_of"]

LIMIT = 8
#: named files that are seeds whatever their score, and the best-scored others
MAX_PINNED = 3
SEEDS = 4
WEIGHTS_FILE = "retrieval_weights.json"


class WeightsError(ValueError):
    """A weights file that does not fit this code's features."""


@dataclass(frozen=True)
class Linear:
    """A logistic model: ``bias + sum(weight * feature)``."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    by_name: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", dict(zip(self.names, self.weights, strict=True)))

    def score(self, row: dict[str, float]) -> float:
        return self.bias + sum(self.by_name.get(k, 0.0) * v for k, v in row.items())


@dataclass(frozen=True)
class Weights:
    seed: Linear
    rank: Linear
    about: dict[str, Any]


def parse_weights(doc: dict[str, Any], source: str = WEIGHTS_FILE) -> Weights:
    """The weights of ``doc``, refused unless they are for exactly this code's
    features, in its order."""
    try:
        names = tuple(doc["features"])
        seed = doc["seed"]
        rank_part = doc["rank"]
        seed_names = tuple(seed["features"])
        out = Weights(seed=Linear(seed_names, tuple(map(float, seed["weights"])),
                                  float(seed["bias"])),
                      rank=Linear(names, tuple(map(float, rank_part["weights"])),
                                  float(rank_part["bias"])),
                      about={k: v for k, v in doc.items()
                             if k not in ("features", "seed", "rank")})
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{source} is not a weights file of step 5's ranking ({exc}); "
                           "write it with python bench/w4_fit.py") from exc
    for what, have, want in (("features", names, FEATURES),
                             ("seed features", seed_names, SEED_FEATURES)):
        if have != want:
            missing = [n for n in want if n not in have]
            unknown = [n for n in have if n not in want]
            raise WeightsError(
                f"{source} was fitted for other {what} than step 5 computes (missing: "
                f"{', '.join(missing) or 'none'}; unknown: {', '.join(unknown) or 'none'}"
                f"{'; same names, other order' if not missing and not unknown else ''}): "
                "refit with python bench/w4_fit.py")
    return out


@cache
def load_weights() -> Weights:
    """The shipped weights (package data next to this module), read once."""
    resource = resources.files("ticketflow.workflow").joinpath(WEIGHTS_FILE)
    return parse_weights(json.loads(resource.read_text(encoding="utf-8")))


def seeds_of(req: Request, seed: Linear) -> dict[str, float]:
    """The seeds of ``req`` and their strengths in (0, 1]: the named files (up to
    :data:`MAX_PINNED`) and the :data:`SEEDS` best others by the seed weights; a
    seed's strength is its probability over the strongest seed's."""
    scored = {p: _sigmoid(seed.score(req.rows[p])) for p in req.candidates}
    best = sorted(scored, key=lambda p: (-scored[p], p))
    named = [n.path for n in req.named if n.path in req.rows][:MAX_PINNED]
    chosen = list(dict.fromkeys([*named, *[p for p in best if p not in named][:SEEDS]]))
    top = max((scored[p] for p in chosen), default=1.0) or 1.0
    return {p: scored[p] / top for p in chosen}


def rank(index: RepoIndex, repo: str, query: str, text: str,
         weights: Weights | None = None) -> list[tuple[str, float]]:
    """Every candidate with its score (logit), best first."""
    weights = weights or load_weights()
    return ordered(_ranked(index, repo, query, text, weights), weights.rank)


def _ranked(index: RepoIndex, repo: str, query: str, text: str, weights: Weights) -> Request:
    req = gather(index, repo, query, text)
    extend(index, repo, req, seeds_of(req, weights.seed))
    return req


def ordered(req: Request, model: Linear) -> list[tuple[str, float]]:
    """The candidates of ``req`` by ``model``'s score, best first (ties by path)."""
    scores = {p: model.score(row) for p, row in req.rows.items()}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def retrieve(index: RepoIndex, repo: str, query: str, text: str, limit: int = LIMIT,
             weights: Weights | None = None) -> list[FileHit]:
    """The ``limit`` best files for a request, scored by the probability the fitted
    model gives them (see the module doc)."""
    weights = weights or load_weights()
    req = _ranked(index, repo, query, text, weights)
    best = ordered(req, weights.rank)[:limit]
    shown = index.snippets(repo, query, [p for p, _ in best])
    known = {h.path: h.language for h in req.hits}
    return [FileHit(path=p, score=round(_sigmoid(s), 4), snippet=shown.get(p, ""),
                    language=known.get(p) or _language(p)) for p, s in best]


def _sigmoid(x: float) -> float:
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def _language(path: str) -> str | None:
    suffix = PurePosixPath(path).suffix.lower()
    return {".py": "python", ".ts": "typescript", ".tsx": "typescript", ".js": "javascript",
            ".jsx": "javascript", ".html": "html", ".vue": "vue"}.get(suffix)
