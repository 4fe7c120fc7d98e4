"""``ticketflow stats``: the success metrics of the runs in the database
(definitions in ``docs/metrics.md``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ticketflow.adapters.libsql.metrics import compute_stats, parse_since
from ticketflow.cli.common import CliError, embedded, one_line_errors, out


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}{unit}"
    return f"{v}{unit}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def render_text(s: dict[str, Any]) -> list[str]:
    """The stats as short human-readable lines."""
    r = s["runs"]
    ttr = s["time_to_ready_s"]
    ab = s["abandonment"]
    cr = s["crash_recovery"]
    ed = s["edit_after_completion"]
    llm = s["llm"]
    lines = [
        f"runs            {r['total']} (completed {r['completed']}, failed {r['failed']}, "
        f"cancelled {r['cancelled']}, waiting {r['suspended']}, running {r['running']})"
        + (f" since {s['since']}" if s["since"] else ""),
        f"completion      {_pct(s['completion_rate'])} of finished runs",
        f"time to ready   p50 {_fmt(ttr['excluding_waits']['p50'], 's')} / "
        f"p95 {_fmt(ttr['excluding_waits']['p95'], 's')} working; "
        f"p50 {_fmt(ttr['including_waits']['p50'], 's')} / "
        f"p95 {_fmt(ttr['including_waits']['p95'], 's')} including waits for a person",
        f"user actions    {_fmt(s['user_actions_per_run']['accepted_mean'])} accepted per "
        f"finished run, {s['user_actions_per_run']['rejected_total']} rejected",
        f"abandonment     {_pct(ab['rate'])} of runs that waited ({ab['waits_expired']} "
        f"expired, {ab['cancelled_at_suspension']} cancelled at a suspension)",
        f"edited after    {_pct(ed['rate'])} of completed runs ({ed['edited']}/"
        f"{ed['completed']})",
        f"crash recovery  {_pct(cr['rate'])} ({cr['recovered']}/{cr['interrupted_runs']} runs "
        f"with a killed attempt completed)",
        f"degraded        {_pct(s['degradation']['rate'])} of finished runs",
        f"without AI      {sum(st.get('fallbacks', 0) for st in s['steps'])} step(s) produced "
        "by the offline fallback after the model failed",
        f"model           {llm['calls']} calls, {llm['tokens']} tokens, "
        f"${llm['cost_usd']:.4f}",
    ]
    if s["failures"]:
        lines.append("failures        " + ", ".join(f"{k} {v}" for k, v in
                                                   sorted(s["failures"].items())))
    if s["steps"]:
        lines.append("")
        lines.append("step                      attempts  retries  unfinished  fallbacks  "
                     "p50 ms    p95 ms")
        for st in s["steps"]:
            d = st["duration_ms"]
            lines.append(f"{st['step']:>2} {st['name'][:22]:<22} {st['attempts']:>8} "
                         f"{st['retries']:>8} {st['unfinished']:>11} "
                         f"{st.get('fallbacks', 0):>10}  "
                         f"{_fmt(d['p50']):>8}  {_fmt(d['p95']):>8}")
    return lines


@one_line_errors
def stats(
    since: Annotated[str | None, typer.Option(
        help="Only runs started since: 7d, 24h, 30m, or an ISO date/time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stats as JSON.")
                       ] = False,
) -> None:
    """Success metrics: completion, time to ready, actions, abandonment, recovery."""
    try:
        start = parse_since(since)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    with embedded(read_only=True) as application:
        data = compute_stats(application.db, since=start)
    if as_json:
        out.print_json(json.dumps(data))
    else:
        for line in render_text(data):
            out.print(line, markup=False)
