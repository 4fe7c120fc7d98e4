"""The result of a soak (both shapes): the evidence it gathered, turned into the
invariants' counts (each named with its witness), the outcomes, and the faults that
took effect, the one dict ``bench/w3.py`` prints and the short soaks assert on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.runs import LibsqlRunStore
from ticketflow.domain import AEC
from ticketflow.testing.chaos.common import SAMPLE_REPO, llm_faults_taken_from
from ticketflow.testing.chaos.invariants import (
    WITNESSES,
    ActionSeen,
    Kill,
    StartedRun,
    actions_accepted_twice,
    check_tickets,
    commits_twice,
    executed_after_commit,
    journal_disagreements,
    kill_effect,
    misjudged,
)
from ticketflow.testing.chaos.reference import ReferenceRunner
from ticketflow.testing.fake_messages_api import Served


@dataclass
class Evidence:
    """What a soak gathered, from outside the run store (``running``, the run store's
    runs still running, is the one cross-check read from it)."""

    side: list[dict[str, Any]]
    served: list[Served]
    started: Sequence[StartedRun]
    tickets: dict[str, AEC | None]
    actions: Sequence[ActionSeen]
    kills: Sequence[Kill]
    running: list[str]
    violations: list[str]
    effect: Counter[str]
    injected: Counter[str]
    llm_faults_queued_unconsumed: int
    notes: Counter[str]
    extra: dict[str, Any] = field(default_factory=dict)


def faults_taken(e: Evidence) -> tuple[Counter[str], Counter[str]]:
    """The faults that took effect, and the kills that did not (by how they came)."""
    taken: Counter[str] = Counter({k: v for k, v in e.effect.items() if v})
    without: Counter[str] = Counter()
    for kill in e.kills:
        where = kill_effect(kill, e.side)
        if where == "no_effect":
            without[f"kill9_{kill.how}"] += 1
        else:
            taken[f"kill9_{kill.how}_{where}"] += 1
    taken.update(llm_faults_taken_from(e.served))
    return taken, without


def report(e: Evidence, db: Database, work: Path) -> dict[str, Any]:
    runner = ReferenceRunner(work / "reference", SAMPLE_REPO)
    try:
        tickets = check_tickets(e.started, e.tickets, e.actions, e.served, runner)
    finally:
        runner.close()
    stuck = tickets.stuck + e.running
    twice = commits_twice(e.side)
    after = executed_after_commit(e.side, e.served)
    accepted = actions_accepted_twice(e.actions)
    untagged = [f"model request #{s.serial} ({s.tool}) carries no step: an unwitnessed "
                f"process called the model" for s in e.served if s.run_id is None]
    other = e.violations + misjudged(e.actions) + journal_disagreements(db, e.side) + untagged
    taken, without = faults_taken(e)
    n = len(e.started)
    out = tickets.outcomes
    runs = LibsqlRunStore(db).list_runs(10_000)
    return {
        "runs": n,
        "completed": out["ready"],
        "completion_rate": round(out["ready"] / n, 3) if n else 0.0,
        "failed_with_persisted_error": out["failed"],
        "cancelled": out["draft"] + out["deleted"],
        "waiting_for_person": out["awaiting_review"] + out["awaiting_answers"],
        "ticket_outcomes": dict(sorted(out.items())),
        "stuck": len(stuck),
        "steps_committed_twice": len(twice),
        "steps_executed_after_commit": len(after),
        "actions_accepted_twice": len(accepted),
        "content_lost": len(tickets.lost),
        "other_violations": len(other),
        "witnesses": WITNESSES,
        "witnessed": {
            "side_file_records": len(e.side),
            "handler_executions": sum(r["e"] == "start" for r in e.side),
            "commits": sum(r["e"] == "commit" for r in e.side),
            "model_requests": len(e.served),
            "actions_with_verdict": sum(a.verdict is not None for a in e.actions),
            "tickets_compared_with_uninterrupted_run": tickets.compared,
        },
        "faults_taken_effect": dict(sorted(taken.items())),
        "faults_total": sum(taken.values()),
        "faults_without_effect": {
            **dict(sorted(without.items())),
            "llm_queued_never_consumed": e.llm_faults_queued_unconsumed},
        "faults_decided": dict(sorted(e.injected.items())),
        "failures_by_code": dict(Counter(r.error.code for r in runs
                                         if r.status == "failed" and r.error)),
        "cancel_reasons": dict(Counter(r.cancel_reason or "" for r in runs
                                       if r.status == "cancelled")),
        "observed": dict(sorted(e.notes.items())),
        **e.extra,
        "details": {"stuck": stuck[:5], "content_lost": tickets.lost[:5],
                    "steps_committed_twice": twice[:5], "steps_executed_after_commit": after[:5],
                    "actions_accepted_twice": accepted[:5], "violations": other[:5]},
    }
