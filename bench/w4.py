"""W4: ticket quality of the code-aware parts (definitions: docs/benchmarks.md).

Labelled request sets over public code nobody on the team wrote (``_w4_sets.py``), in
two groups: development (``w4_dev.json`` and the former held-out sets, which became
development data once they had been scored), which the rules and the ranking are
tuned on; and the held-out group when there is one, committed before any tuning
against it and never tuned on. Each group is reported overall, per source file and
per repository, with raw counts; held-out cases and misses are never printed, only
aggregates.

For every case, steps 1-3 and 5 run as ``ticketflow preflight`` runs them, then steps
6 and 7 draft the ticket, and:

* retrieval: relevant files among the top 5 of step 5 (recall macro-averaged over
  cases; precision is hits / 5);
* critical recall: planted references that got a critical finding whose message
  names them (a finding that only quotes the same sentence does not count);
* critical precision: critical findings that name a planted reference, over all
  critical findings;
* clean criticals: requests without a planted reference (clean and warning-only)
  given any critical finding;
* warning recall: warning-only requests whose every labelled contradiction,
  unmeasurable requirement or missing information got a warning of that kind
  (``contradiction``, or one of ``unmeasurable`` and ``missing_information``, which
  the sets use for the same lack; ``warning_recall_strict_kind_counts`` asks for the
  very kind) quoting only the sentences that hold the labelled evidence; a
  contradiction, which the sets label by one of its two sides, quotes a labelled
  sentence and other sentences of the request (``warning_recall_within_labelled_counts``:
  every quoted sentence a labelled one, contradictions too; ``warning_recall_clause_counts``:
  quoting only the labelled clause itself; the stricter rules of earlier figures);
* wording warnings on other requests: warnings of those three kinds given to requests
  that were not labelled with any (how noisy those rules are);
* step 7: paths the provider proposed that step 7 dropped because they are not in
  the repository, and paths left in drafts that do not exist on disk (must be 0).

Also: per-call latency and token figures of the Claude adapter against the local fake
Messages API (they measure the adapter and HTTP stack, not the real service). With
``ANTHROPIC_API_KEY`` set, ``--claude`` repeats the quality measurement with Claude.

    python bench/w4.py                 # both groups; one JSON object as the last line
    python bench/w4.py --set development --verbose
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _w4_sets import HELD_OUT, SETS, Case, Planted, RequestSet, Warned, fetch, load, log
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.compose.embedded import open_embedded
from ticketflow.compose.preflight import run_preflight
from ticketflow.domain import Severity
from ticketflow.ports import LanguageModel
from ticketflow.settings import Settings
from ticketflow.workflow.steps.s06_api_context import gather_api_context
from ticketflow.workflow.steps.s07_generate_draft import generate_draft

K = 5


# -- scoring one case ----------------------------------------------------------------------


def names_planted(message: str, planted: Planted) -> bool:
    """Does a finding's message name the planted reference?"""
    name = planted.name.removesuffix("()")
    if planted.kind == "route":
        parts = name.split(None, 1)
        path = parts[-1]
        norm = re.sub(r"[:{<]?([A-Za-z_]\w*)[}>]?", r"\1", path)
        msg = re.sub(r"[:{<]?([A-Za-z_]\w*)[}>]?", r"\1", message)
        return norm in msg
    return name in message


def _sentences(text: str) -> list[str]:
    return [s.strip(" .") for s in re.split(r"\s*(?:/|…|\.\.\.)\s+|(?<=[.!?])\s+", text)
            if s.strip(" .")]


# What a test needs and the request does not give: a measurable target
# (``unmeasurable``), or who, when or what happens (``missing_information``). The sets
# label both ways (the earlier ones name a vague target missing information), so a
# label of one is met by a warning of either; ``strict`` asks for the very kind.
_FAMILY = {"unmeasurable": "lacking", "missing_information": "lacking"}


def labelled_sentences(description: str, evidence: str) -> list[str]:
    """The sentences of ``description`` the labelled ``evidence`` lies in (or spans)."""
    wanted = _sentences(evidence)
    return [s for s in _sentences(description) if any(w in s or s in w for w in wanted)]


def warning_found(findings: list[dict[str, Any]], label: Warned, description: str, *,
                  strict: bool = False, clause: bool = False, within: bool = False) -> bool:
    """A warning of the labelled kind (or of its family, see ``_FAMILY``) whose
    evidence is quoted from the labelled sentences: each part lies inside a sentence
    of the description that holds the labelled evidence. A contradiction is between
    two sentences and the sets label one side of it, so a contradiction counts when one
    of its parts lies in a labelled sentence and the other parts are sentences of the
    description (the other side). ``within``: every part inside the labelled sentences,
    contradictions too (the rule of the figures before 2026-12-02 19:00 UTC);
    ``clause``: every part inside the labelled evidence itself (the rule before 15:00
    UTC that day)."""
    scope = [label.evidence] if clause else labelled_sentences(description, label.evidence)
    one_side = label.kind == "contradiction" and not (clause or within)
    text = _sentences(description)

    def same(kind: str) -> bool:
        if strict or kind == label.kind:
            return kind == label.kind
        return _FAMILY.get(kind, kind) == _FAMILY.get(label.kind, label.kind)

    def inside(part: str, sentences: list[str]) -> bool:
        return any(part in s for s in sentences)

    for f in findings:
        if f["severity"] == Severity.CRITICAL.value or not same(f["kind"]):
            continue
        parts = _sentences(f["evidence"])
        if not parts:
            continue
        if one_side:
            if any(inside(p, scope) for p in parts) and all(inside(p, text) for p in parts):
                return True
        elif all(inside(p, scope) for p in parts):
            return True
    return False


def score_case(case: Case, report: Any, draft_kept: list[str], dropped: list[str],
               repo: Path) -> dict[str, Any]:
    doc = report.as_json()
    top = report.retrieved_files[:K]
    hits = [p for p in top if p in case.relevant]
    critical = [f for f in doc["findings"] if f["severity"] == Severity.CRITICAL.value]
    planted_found = [p.name for p in case.planted
                     if any(names_planted(f["message"], p) for f in critical)]
    naming = [f for f in critical
              if any(names_planted(f["message"], p) for p in case.planted)]
    found = doc["findings"]
    warnings_found = [w.kind for w in case.warnings
                      if warning_found(found, w, case.description)]
    warnings_strict = [w.kind for w in case.warnings
                       if warning_found(found, w, case.description, strict=True)]
    warnings_clause = [w.kind for w in case.warnings
                       if warning_found(found, w, case.description, clause=True)]
    warnings_within = [w.kind for w in case.warnings
                       if warning_found(found, w, case.description, within=True)]
    missing_on_disk = [p for p in draft_kept if not (repo / p).exists()]
    return {
        "case": case.id, "source": case.source, "repo": case.repo, "kind": case.kind,
        "relevant": len(case.relevant), "hits": len(hits), "top5": top,
        "lost": [p for p in case.relevant if p not in top],
        "planted": [f"{p.kind}:{p.name}" for p in case.planted],
        "planted_found": planted_found,
        "critical": [f["message"] for f in critical],
        "critical_naming_planted": len(naming),
        "warnings_labelled": [w.kind for w in case.warnings],
        "warnings_found": warnings_found,
        "warnings_found_strict": warnings_strict,
        "warnings_found_clause": warnings_clause,
        "warnings_found_within": warnings_within,
        "warnings": [f"{f['kind']}: {f['evidence']}" for f in doc["findings"]
                     if f["severity"] != Severity.CRITICAL.value],
        "wording_warnings": sum(1 for f in doc["findings"]
                                if f["kind"] in ("contradiction", "missing_information",
                                                 "unmeasurable")),
        "draft_paths": draft_kept, "draft_dropped": dropped,
        "draft_missing_on_disk": missing_on_disk,
    }


# -- aggregating -----------------------------------------------------------------------------


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 3) if d else None


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures with their raw counts for a list of scored cases."""
    with_relevant = [r for r in rows if r["relevant"]]
    recalls = [r["hits"] / r["relevant"] for r in with_relevant]
    planted_total = sum(len(r["planted"]) for r in rows)
    planted_hit = sum(len(r["planted_found"]) for r in rows)
    crit_total = sum(len(r["critical"]) for r in rows)
    crit_naming = sum(r["critical_naming_planted"] for r in rows)
    unplanted = [r for r in rows if not r["planted"]]
    clean_crit = [r for r in unplanted if r["critical"]]
    warned = [r for r in rows if r["kind"] == "warning"]
    others = [r for r in rows if r["kind"] != "warning"]
    warned_hit = [r for r in warned if len(r["warnings_found"]) == len(r["warnings_labelled"])]
    warned_strict = [r for r in warned
                     if len(r["warnings_found_strict"]) == len(r["warnings_labelled"])]
    warned_clause = [r for r in warned
                     if len(r["warnings_found_clause"]) == len(r["warnings_labelled"])]
    warned_within = [r for r in warned
                     if len(r["warnings_found_within"]) == len(r["warnings_labelled"])]
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        for p in r["planted"]:
            kind = p.split(":", 1)[0]
            by_kind[kind][1] += 1
            if p.split(":", 1)[1] in r["planted_found"]:
                by_kind[kind][0] += 1
    return {
        "cases": len(rows),
        "retrieval_recall_at_5": round(statistics.fmean(recalls), 3) if recalls else None,
        "retrieval_hits": f"{sum(r['hits'] for r in with_relevant)}/"
                          f"{sum(r['relevant'] for r in with_relevant)} relevant files in top 5",
        "retrieval_precision_at_5": round(statistics.fmean(r["hits"] / K for r in with_relevant),
                                          3) if with_relevant else None,
        "critical_recall": _ratio(planted_hit, planted_total),
        "critical_recall_counts": f"{planted_hit}/{planted_total}",
        "critical_recall_by_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_kind.items())},
        "critical_precision": _ratio(crit_naming, crit_total),
        "critical_precision_counts": f"{crit_naming}/{crit_total}",
        "clean_criticals": f"{len(clean_crit)}/{len(unplanted)}",
        "clean_critical_rate": _ratio(len(clean_crit), len(unplanted)),
        "warning_recall": _ratio(len(warned_hit), len(warned)),
        "warning_recall_counts": f"{len(warned_hit)}/{len(warned)}",
        "warning_recall_strict_kind_counts": f"{len(warned_strict)}/{len(warned)}",
        "warning_recall_within_labelled_counts": f"{len(warned_within)}/{len(warned)}",
        "warning_recall_clause_counts": f"{len(warned_clause)}/{len(warned)}",
        "wording_warnings_on_other_requests": f"{sum(r['wording_warnings'] for r in others)} "
                                              f"on {len(others)} requests",
        "draft_paths_dropped_by_step7": sum(len(r["draft_dropped"]) for r in rows),
        "draft_paths_nonexistent": sum(len(r["draft_missing_on_disk"]) for r in rows),
    }


def misses(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in rows:
        if r["lost"]:
            out.append({"case": r["case"], "miss": "relevant not in top 5", "files": r["lost"],
                        "top5": r["top5"]})
        for p in r["planted"]:
            if p.split(":", 1)[1] not in r["planted_found"]:
                out.append({"case": r["case"], "miss": "planted reference not named", "ref": p})
        extra = len(r["critical"]) - r["critical_naming_planted"]
        if extra:
            out.append({"case": r["case"], "miss": f"{extra} critical finding(s) naming no "
                        "planted reference", "critical": r["critical"]})
        if len(r["warnings_found"]) < len(r["warnings_labelled"]):
            out.append({"case": r["case"], "miss": "labelled warning not found",
                        "labelled": r["warnings_labelled"], "warnings": r["warnings"]})
    return out


# -- running a set -------------------------------------------------------------------------


def measure(llm: LanguageModel, request_set: RequestSet, workdir: Path,
            verbose: bool) -> dict[str, Any]:
    repos = {name: fetch(spec) for name, spec in request_set.repos.items()}
    db = workdir / f"w4-{request_set.name}-{llm.provider.name}.db"
    app = open_embedded(Settings(db_url=f"file:{db}", llm="offline", index_wait_s=0.0), llm=llm)
    try:
        index_s: dict[str, float] = {}
        for name, path in repos.items():
            t0 = time.perf_counter()
            status = app.index.index(str(path))
            index_s[name] = round(time.perf_counter() - t0, 2)
            log(f"[{request_set.name}] indexed {name}: {status.state}, "
                f"{status.files_done} files, {index_s[name]}s")
        rows: list[dict[str, Any]] = []
        for case in request_set.cases:
            repo = repos[case.repo]
            t0 = time.perf_counter()
            report = run_preflight(case.title, case.description, repo=str(repo),
                                   index=app.index, llm=llm)
            preflight_ms = (time.perf_counter() - t0) * 1000
            ctx = report.context
            assert ctx is not None
            ctx.outputs["gather_api_context"] = gather_api_context(ctx).model_dump(
                mode="json", by_alias=True)
            drafted = generate_draft(ctx)
            row = score_case(case, report, drafted.draft.repo_paths, drafted.dropped_paths,
                             repo)
            row["preflight_ms"] = preflight_ms
            rows.append(row)
            if verbose and request_set.name not in HELD_OUT:
                log(json.dumps(row, indent=1))
        out: dict[str, Any] = {
            "written": request_set.written,
            "overall": aggregate(rows),
            "per_repository": _per_repository(rows, request_set),
            "repositories": {n: s.get("pypi") or s.get("npm") or s.get("path")
                             for n, s in request_set.repos.items()},
            "preflight_ms": _latency(rows),
            "index_s": index_s,
        }
        if len(request_set.sources) > 1:
            out["per_source"] = {
                src: {"overall": aggregate(part), "preflight_ms": _latency(part),
                      "per_repository": _per_repository(part, request_set)}
                for src in request_set.sources
                if (part := [r for r in rows if r["source"] == src])}
        if request_set.name in HELD_OUT:
            out["misses"] = "not printed (held-out cases stay unread)"
        else:
            out["misses"] = misses(rows)
        return out
    finally:
        app.close()


def _per_repository(rows: list[dict[str, Any]], request_set: RequestSet) -> dict[str, Any]:
    return {name: aggregate(part) for name in request_set.repos
            if (part := [r for r in rows if r["repo"] == name])}


def _latency(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Preflight (steps 1-3 and 5) wall time per request, overall and per repository."""
    ms = [r["preflight_ms"] for r in rows]
    per_repo: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        per_repo[r["repo"]].append(r["preflight_ms"])
    return {"p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95), "n": len(ms),
            "per_repository": {k: {"p50": _pct(v, 0.5), "p95": _pct(v, 0.95)}
                               for k, v in per_repo.items()}}


# -- the Claude adapter against the fake Messages API ------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def fake_server_figures(repetitions: int) -> dict[str, Any]:
    from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings, UsageRecord
    from ticketflow.ports.llm import TASKS
    from ticketflow.testing.fake_messages_api import FakeMessagesAPI
    from ticketflow.testing.llm_payloads import PAYLOADS

    per_task: dict[str, Any] = {}
    all_ms: list[float] = []
    with FakeMessagesAPI() as api:
        records: list[UsageRecord] = []
        llm = ClaudeLanguageModel(ClaudeSettings(base_url=api.url, api_key="sk-fake",
                                                 timeout_s=10.0, max_retries=0),
                                  on_usage=records.append)
        for name, task in sorted(TASKS.items()):
            if name not in PAYLOADS:
                continue
            llm.generate(task, PAYLOADS[name], task.output)  # warm the connection
            records.clear()
            ms: list[float] = []
            for _ in range(repetitions):
                t0 = time.perf_counter()
                llm.generate(task, PAYLOADS[name], task.output)
                ms.append((time.perf_counter() - t0) * 1000)
            rec = records[-1]
            per_task[name] = {
                "latency_ms_p50": _pct(ms, 0.5), "latency_ms_p95": _pct(ms, 0.95),
                "input_tokens": rec.input_tokens, "output_tokens": rec.output_tokens,
                "cache_read_tokens": rec.cache_read_tokens,
                "cache_write_tokens": rec.cache_write_tokens, "cost_usd": rec.cost_usd,
                "request_chars": len(api.requests[-1].text()),
            }
            all_ms.extend(ms)
    return {
        "note": "fake-server figures: local fake Messages API with recorded responses; "
                "latency is the adapter + SDK + local HTTP, tokens are the recorded usage",
        "calls": len(all_ms),
        "latency_ms_p50": _pct(all_ms, 0.5) if all_ms else None,
        "latency_ms_p95": _pct(all_ms, 0.95) if all_ms else None,
        "per_task": per_task,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "both"], default="both")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--claude", action="store_true",
                        help="also measure quality with Claude (needs ANTHROPIC_API_KEY)")
    parser.add_argument("--fake-reps", type=int, default=30)
    args = parser.parse_args()
    names = list(SETS) if args.set == "both" else [args.set]
    result: dict[str, Any] = {"benchmark": "w4", "provider": "offline-heuristics"}
    with tempfile.TemporaryDirectory(prefix="w4-") as tmp:
        for name in names:
            request_set = load(name)
            result[name] = measure(OfflineLanguageModel(), request_set, Path(tmp),
                                   args.verbose)
        if args.claude and os.environ.get("ANTHROPIC_API_KEY"):
            from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings

            result["claude"] = {name: measure(ClaudeLanguageModel(ClaudeSettings()),
                                              load(name), Path(tmp), args.verbose)
                                for name in names}
        else:
            result["claude"] = "not measured (no ANTHROPIC_API_KEY, or --claude not given)"
    if args.fake_reps > 0:
        result["claude_adapter_fake_server"] = fake_server_figures(args.fake_reps)
    for name in names:
        if name not in HELD_OUT:
            for miss in result[name]["misses"]:
                log(f"[{name}] miss: {json.dumps(miss)}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
