"""W4: ticket quality of the code-aware parts (definitions: docs/benchmarks.md).

A labelled set of ticket requests (``bench/w4_cases.json``) over the bundled sample
repository and over public code nobody on the team wrote: the source distributions
of pinned PyPI releases, downloaded on first use with
``pip download --no-deps --no-binary :all: NAME==VERSION`` into ``bench/.cache/``
(git-ignored) and unpacked there.

Each case says which files a developer would touch (``relevant``), which references
in its wording were planted and do not exist (``planted``) and whether it is
``clean`` (grounded in real code, or only asks to create new things: no critical
finding expected). The labels were written from reading the code, not from the
system's output.

For every case, steps 1-3 and 5 run as ``ticketflow preflight`` runs them, then
steps 6 and 7 draft the ticket, and:

* ``retrieval_recall_at_5`` / ``retrieval_precision_at_5``: relevant files in the
  top 5 of step 5 (precision is hits / 5, so a case with one relevant file can
  reach at most 0.2), averaged over cases;
* ``critical_finding_recall``: planted references that got a critical finding
  naming them;
* ``clean_false_positive_rate``: clean cases with any critical finding;
* ``draft_paths_nonexistent``: paths in drafts that are not files or directories
  on disk (must be 0).

Also: per-call latency and token figures of the Claude adapter against the local
fake Messages API (``fake_server_*``: they measure the adapter and HTTP stack, not
the real service). With ``ANTHROPIC_API_KEY`` set, ``--claude`` repeats the quality
measurement with Claude.

    python bench/w4.py            # prints one JSON object as its last line
    python bench/w4.py --verbose  # also prints every case's retrieval and findings
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
CASES = ROOT / "bench" / "w4_cases.json"
K = 5

sys.path.insert(0, str(ROOT))  # the fake Messages API lives in tests/fakes

from ticketflow.adapters.offline import OfflineLanguageModel  # noqa: E402
from ticketflow.compose.embedded import open_embedded  # noqa: E402
from ticketflow.compose.preflight import run_preflight  # noqa: E402
from ticketflow.domain import Severity  # noqa: E402
from ticketflow.ports import LanguageModel  # noqa: E402
from ticketflow.settings import Settings  # noqa: E402
from ticketflow.workflow.steps.s06_api_context import gather_api_context  # noqa: E402
from ticketflow.workflow.steps.s07_generate_draft import generate_draft  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- setup: the repositories ---------------------------------------------------------------


def fetch(spec: dict[str, str]) -> Path:
    """The unpacked source distribution of ``spec['pypi']`` (downloaded once)."""
    src = CACHE / "src"
    target = src / spec["dir"]
    if target.is_dir():
        return _own_work_tree(target)
    dl = CACHE / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    src.mkdir(parents=True, exist_ok=True)
    log(f"downloading {spec['pypi']} (source distribution)")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                    ":all:", "-q", "-d", str(dl), spec["pypi"]], check=True)
    name, version = spec["pypi"].split("==")
    archives = [p for p in dl.iterdir() if p.name.lower().startswith(
        f"{name.lower().replace('-', '_')}-{version}") or p.name.lower().startswith(
        f"{name.lower()}-{version}")]
    if not archives:
        raise SystemExit(f"pip download of {spec['pypi']} produced no archive in {dl}")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(src, filter="data")
    if not target.is_dir():
        raise SystemExit(f"{archives[0].name} did not unpack to {target}")
    return _own_work_tree(target)


def _own_work_tree(path: Path) -> Path:
    """Make the unpacked source its own (empty) git work tree.

    ``bench/.cache`` is ignored by this project's git, and the indexer lists a git
    work tree with ``git ls-files --exclude-standard``: without a repository of its
    own, the unpacked source would be listed as empty."""
    if not (path / ".git").exists():
        subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def repositories(specs: dict[str, dict[str, str]]) -> dict[str, Path]:
    return {name: (ROOT / spec["path"] if "path" in spec else fetch(spec)).resolve()
            for name, spec in specs.items()}


# -- quality ---------------------------------------------------------------------------------


def _names_planted(finding: dict[str, Any], name: str) -> bool:
    bare = name.removesuffix("()")
    text = f"{finding['message']} {finding['evidence']}"
    if " " in bare and bare.split(None, 1)[0].isupper():  # "GET /path"
        bare = bare.split(None, 1)[1]
    return bare in text


def quality(llm: LanguageModel, repos: dict[str, Path], cases: list[dict[str, Any]],
            workdir: Path, verbose: bool) -> dict[str, Any]:
    app = open_embedded(Settings(db_url=f"file:{workdir}/w4-{llm.provider.name}.db",
                                 llm="offline", index_wait_s=0.0), llm=llm)
    try:
        index_s: dict[str, float] = {}
        for name, path in repos.items():
            t0 = time.perf_counter()
            status = app.index.index(str(path))
            index_s[name] = round(time.perf_counter() - t0, 2)
            log(f"indexed {name}: {status.state}, {status.files_done} files, {index_s[name]}s")
        recalls: list[float] = []
        precisions: list[float] = []
        planted_total = planted_hit = 0
        clean_total = clean_fp = 0
        draft_paths = draft_missing = 0
        per_case: list[dict[str, Any]] = []
        misses: list[dict[str, Any]] = []
        step_ms: list[float] = []
        for case in cases:
            repo = repos[case["repo"]]
            t0 = time.perf_counter()
            report = run_preflight(case["title"], case["description"], repo=str(repo),
                                   index=app.index, llm=llm)
            step_ms.append((time.perf_counter() - t0) * 1000)
            ctx = report.context
            assert ctx is not None
            ctx.outputs["gather_api_context"] = gather_api_context(ctx).model_dump(
                mode="json", by_alias=True)
            draft = generate_draft(ctx).draft
            top = report.retrieved_files[:K]
            relevant = set(case["relevant"])
            hits = [p for p in top if p in relevant]
            if relevant:
                recalls.append(len(hits) / len(relevant))
                precisions.append(len(hits) / K)
            doc = report.as_json()
            critical = [f for f in doc["findings"] if f["severity"] == Severity.CRITICAL.value]
            found_planted = []
            for planted in case["planted"]:
                planted_total += 1
                if any(_names_planted(f, planted["name"]) for f in critical):
                    planted_hit += 1
                    found_planted.append(planted["name"])
                else:
                    misses.append({"case": case["id"], "miss": "planted reference not flagged",
                                   "reference": planted})
            if case["clean"]:
                clean_total += 1
                if critical:
                    clean_fp += 1
                    misses.append({"case": case["id"], "miss": "critical finding on a clean "
                                   "request", "findings": [f["message"] for f in critical]})
            elif len(critical) > len(case["planted"]):
                extra = [f["message"] for f in critical
                         if not any(_names_planted(f, p["name"]) for p in case["planted"])]
                if extra:
                    misses.append({"case": case["id"], "miss": "critical finding besides "
                                   "the planted ones", "findings": extra})
            for p in draft.repo_paths:
                draft_paths += 1
                if not (repo / p).exists():
                    draft_missing += 1
                    misses.append({"case": case["id"], "miss": "draft path does not exist",
                                   "path": p})
            lost = sorted(relevant - set(top))
            if lost:
                misses.append({"case": case["id"], "miss": "relevant file not in top 5",
                               "files": lost, "top5": top})
            row = {"case": case["id"], "recall_at_5": round(len(hits) / len(relevant), 3)
                   if relevant else None, "top5": top,
                   "critical": [f["message"] for f in critical],
                   "warnings": [f["kind"] for f in doc["findings"]
                                if f["severity"] != Severity.CRITICAL.value],
                   "planted_found": found_planted, "draft_paths": draft.repo_paths}
            per_case.append(row)
            if verbose:
                log(json.dumps(row, indent=1))
        return {
            "cases": len(cases),
            "retrieval_recall_at_5": round(statistics.fmean(recalls), 3),
            "retrieval_precision_at_5": round(statistics.fmean(precisions), 3),
            "critical_finding_recall": round(planted_hit / planted_total, 3)
            if planted_total else None,
            "planted_references": planted_total,
            "clean_false_positive_rate": round(clean_fp / clean_total, 3) if clean_total
            else None,
            "clean_cases": clean_total,
            "draft_paths_total": draft_paths,
            "draft_paths_nonexistent": draft_missing,
            "preflight_ms_p50": round(statistics.median(step_ms), 1),
            "index_s": index_s,
            "misses": misses,
        }
    finally:
        app.close()


# -- the Claude adapter against the fake Messages API ------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def fake_server_figures(repetitions: int) -> dict[str, Any]:
    from tests.unit.test_anthropic_adapter import PAYLOADS

    from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings, UsageRecord
    from ticketflow.ports.llm import TASKS
    from ticketflow.testing.fake_messages_api import FakeMessagesAPI

    per_task: dict[str, Any] = {}
    all_ms: list[float] = []
    with FakeMessagesAPI() as api:
        records: list[UsageRecord] = []
        llm = ClaudeLanguageModel(ClaudeSettings(base_url=api.url, api_key="sk-fake",
                                                 timeout_s=10.0, max_retries=0),
                                  on_usage=records.append)
        for name, task in sorted(TASKS.items()):
            llm.generate(task, PAYLOADS[name], task.output)  # warm the connection
            records.clear()
            ms: list[float] = []
            for _ in range(repetitions):
                t0 = time.perf_counter()
                llm.generate(task, PAYLOADS[name], task.output)
                ms.append((time.perf_counter() - t0) * 1000)
            rec = records[-1]
            request_chars = len(api.requests[-1].text())
            per_task[name] = {
                "latency_ms_p50": _pct(ms, 0.5), "latency_ms_p95": _pct(ms, 0.95),
                "input_tokens": rec.input_tokens, "output_tokens": rec.output_tokens,
                "cache_read_tokens": rec.cache_read_tokens,
                "cache_write_tokens": rec.cache_write_tokens, "cost_usd": rec.cost_usd,
                "request_chars": request_chars,
            }
            all_ms.extend(ms)
    return {
        "note": "fake-server figures: local fake Messages API with recorded responses; "
                "latency is the adapter + SDK + local HTTP, tokens are the recorded usage",
        "calls": len(all_ms),
        "latency_ms_p50": _pct(all_ms, 0.5),
        "latency_ms_p95": _pct(all_ms, 0.95),
        "per_task": per_task,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--claude", action="store_true",
                        help="also measure quality with Claude (needs ANTHROPIC_API_KEY)")
    parser.add_argument("--fake-reps", type=int, default=30)
    args = parser.parse_args()
    spec = json.loads(CASES.read_text())
    repos = repositories(spec["repos"])
    cases = spec["cases"]
    result: dict[str, Any] = {"benchmark": "w4", "repos": {
        n: spec["repos"][n].get("pypi", spec["repos"][n].get("path")) for n in repos}}
    with tempfile.TemporaryDirectory(prefix="w4-") as tmp:
        offline = quality(OfflineLanguageModel(), repos, cases, Path(tmp), args.verbose)
        result.update({k: v for k, v in offline.items()})
        result["provider"] = "offline-heuristics"
        if args.claude and os.environ.get("ANTHROPIC_API_KEY"):
            from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings

            result["claude"] = quality(ClaudeLanguageModel(ClaudeSettings()), repos, cases,
                                       Path(tmp), args.verbose)
        else:
            result["claude"] = "not measured (no ANTHROPIC_API_KEY, or --claude not given)"
    result["claude_adapter_fake_server"] = fake_server_figures(args.fake_reps)
    for miss in result["misses"]:
        log(f"miss: {json.dumps(miss)}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
