"""The invariants of the chaos soaks and kill tests, computed from evidence gathered
outside the run store (:data:`WITNESSES` names the evidence of each):

* the side file (:mod:`ticketflow.testing.witness`): each handler execution's start
  and end, each commit the store accepted, by process;
* the fake Messages API's log (:class:`~ticketflow.testing.fake_messages_api.Served`):
  each model request by run, step and attempt, and the fault it consumed;
* what the person wrote and the verdict written back on each action document
  (Firestore; in the embedded default, the verdict handed back to the person);
* the tickets as the person reads them, and what an uninterrupted run of the same
  request produces (:mod:`ticketflow.testing.chaos.reference`).

The run store is read for one thing only: which leases a killed process held at its
death (:func:`leases_of`), to count a kill as taking effect; its own journal
(``step_attempts``) is compared with the witness as a cross-check.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ticketflow.adapters.libsql.database import Database
from ticketflow.domain import AEC
from ticketflow.testing.chaos.reference import (
    Decision,
    ReferenceRunner,
    content_of,
    witnessed_answers,
)
from ticketflow.testing.fake_messages_api import Served

WITNESSES = {
    "stuck": "the tickets as the person reads them at the end (still generating or "
             "locked = stuck), with the run store's running runs as a cross-check",
    "steps_committed_twice": "the side file's commit records, written by each process "
                             "when the run store accepted its commit",
    "steps_executed_after_commit": "the side file's handler starts and the fake Messages "
                                   "API's request log, against the end of the committed "
                                   "execution and the first start of a later step",
    "actions_accepted_twice": "the verdicts on the action documents (cloud: read back "
                              "from Firestore; embedded: as handed back to the person)",
    "content_lost": "each ticket as the person reads it, against an uninterrupted run of "
                    "the same request replaying the last clean answer the fake Messages "
                    "API gave each step (outputs vary per call) and the accepted actions",
    "other_violations": "verdicts of malformed, invalid and duplicated inputs as the "
                        "caller received them; the run store's journal disagreeing",
}
INVARIANTS = tuple(WITNESSES)


@dataclass
class StartedRun:
    """A run the driver started: its ticket and the request it made."""

    run_id: str
    aec_id: str
    request: dict[str, Any]


@dataclass
class ActionSeen:
    """An action the driver wrote, and the verdict read back (``None``: none yet)."""

    run_id: str
    aec_id: str
    action_id: str
    kind: str          # the suspension it answered: review | questions | "" (malformed)
    type: str
    token: str
    answers: dict[str, str] | None
    source: str        # reply | race | bad | invalid
    verdict: str | None = None
    reason: str | None = None


@dataclass
class Kill:
    """A SIGKILL the driver sent (``how="outside"``) or a crash point fired
    (``how="at_<point>"``), with the leases the process held when it died."""

    pid: int
    how: str
    leases: list[tuple[str, int]] = field(default_factory=list)


def leases_of(db: Database, pid: int) -> list[tuple[str, int]]:
    """``(run, step)`` leased by process ``pid`` (of this host) and not yet released."""
    rs = db.execute("SELECT run_id, step_index, lease_id FROM runs WHERE status = 'running' "
                    "AND lease_id IS NOT NULL")
    return [(str(r[0]), int(r[1])) for r in rs.rows
            if str(r[2]).count(":") >= 2 and str(r[2]).split(":")[1] == str(pid)]


# -- executions -------------------------------------------------------------------------------


def _key(r: Mapping[str, Any]) -> tuple[str, int, int, int]:
    return (str(r["run"]), int(r["step"]), int(r.get("attempt") or 0), int(r["pid"]))


def open_executions(side: Iterable[Mapping[str, Any]], pid: int) -> list[tuple[str, int]]:
    """``(run, step)`` of the executions process ``pid`` started and never ended."""
    started: Counter[tuple[str, int, int, int]] = Counter()
    for r in side:
        if r.get("pid") != pid or r["e"] not in ("start", "end"):
            continue
        started[_key(r)] += 1 if r["e"] == "start" else -1
    return sorted({(k[0], k[1]) for k, n in started.items() if n > 0})


def kill_effect(kill: Kill, side: Sequence[Mapping[str, Any]]) -> str:
    """Where the kill landed: ``mid_handler`` (an execution of the process was running:
    the side file has its start and no end), ``lease_held`` (it held a claimed step
    whose handler was not running), ``after_commit`` (its last record is a commit: it
    died between a commit and what follows), or ``no_effect``."""
    if open_executions(side, kill.pid):
        return "mid_handler"
    if kill.leases:
        return "lease_held"
    own = [r for r in side if r.get("pid") == kill.pid]
    if own and own[-1]["e"] == "commit":
        return "after_commit"
    return "no_effect"


def commits_twice(side: Sequence[Mapping[str, Any]]) -> list[str]:
    n = Counter((str(r["run"]), int(r["step"])) for r in side if r["e"] == "commit")
    return [f"{run} step {step}: {c} commits accepted" for (run, step), c in n.items() if c > 1]


def executed_after_commit(side: Sequence[Mapping[str, Any]],
                          served: Sequence[Served]) -> list[str]:
    """Handler starts and model requests of a step after it committed. The commit is
    bounded from above by the end of the execution whose commit was accepted (same
    process, the last end before the commit record) and by the first start of any
    later step of the run (which cannot start before it)."""
    starts: dict[tuple[str, int], list[Mapping[str, Any]]] = defaultdict(list)
    ends: dict[tuple[str, int], list[Mapping[str, Any]]] = defaultdict(list)
    first_start: dict[str, dict[int, float]] = defaultdict(dict)
    commits: list[Mapping[str, Any]] = []
    for r in side:
        if r["e"] == "start":
            starts[(r["run"], r["step"])].append(r)
            steps = first_start[r["run"]]
            steps[r["step"]] = min(steps.get(r["step"], r["t"]), r["t"])
        elif r["e"] == "end":
            ends[(r["run"], r["step"])].append(r)
        elif r["e"] == "commit":
            commits.append(r)
    bound: dict[tuple[str, int], float] = {}
    for c in commits:
        own = [e["t"] for e in ends[(c["run"], c["step"])]
               if e["pid"] == c["pid"] and e["t"] <= c["t"]]
        t = max(own) if own else c["t"]
        key = (c["run"], c["step"])
        bound[key] = min(bound.get(key, t), t)
    for run, steps in first_start.items():
        for step in steps:
            later = [t for s, t in steps.items() if s > step]
            if later:
                bound[(run, step)] = min(bound.get((run, step), min(later)), min(later))
    out: list[str] = []
    for (run, step), t in bound.items():
        for r in starts[(run, step)]:
            if r["t"] > t:
                out.append(f"{run} step {step}: executed again by pid {r['pid']} "
                           f"{r['t'] - t:.3f}s after its commit")
    for s in served:
        if s.run_id is not None and s.step is not None:
            t = bound.get((s.run_id, s.step))
            if t is not None and s.received_at > t:
                out.append(f"{s.run_id} step {s.step}: model request #{s.serial} "
                           f"{s.received_at - t:.3f}s after its commit")
    return out


def executions(side: Iterable[Mapping[str, Any]], run_id: str) -> dict[int, list[int]]:
    """Per step of ``run_id``, the process of each handler execution, in order."""
    out: dict[int, list[int]] = defaultdict(list)
    for r in side:
        if r["e"] == "start" and r["run"] == run_id:
            out[int(r["step"])].append(int(r["pid"]))
    return dict(out)


def model_requests(served: Iterable[Served], run_id: str) -> dict[int, list[int | None]]:
    """Per step of ``run_id``, the process of each model request the fake served."""
    out: dict[int, list[int | None]] = defaultdict(list)
    for s in served:
        if s.run_id == run_id and s.step is not None:
            out[s.step].append(s.pid)
    return dict(out)


# -- actions ------------------------------------------------------------------------------------


def actions_accepted_twice(actions: Sequence[ActionSeen]) -> list[str]:
    n = Counter((a.run_id, a.token) for a in actions if a.verdict == "accepted" and a.token)
    return [f"{run}: {c} actions accepted for one suspension" for (run, _), c in n.items()
            if c > 1]


def misjudged(actions: Sequence[ActionSeen]) -> list[str]:
    """Malformed or invalid actions accepted, verdicts missing, rejections without a
    reason."""
    out = []
    for a in actions:
        if a.verdict is None:
            out.append(f"{a.action_id}: no verdict")
        elif a.source in ("bad", "invalid") and a.verdict == "accepted":
            out.append(f"{a.action_id}: {a.source} action accepted")
        elif a.verdict == "rejected" and not a.reason:
            out.append(f"{a.action_id}: rejected without a reason")
    return out


def decisions_of(actions: Sequence[ActionSeen], run_id: str) -> dict[str, Decision | None]:
    """Per suspension kind, the person's accepted action on ``run_id``."""
    out: dict[str, Decision | None] = {}
    for a in actions:
        if a.run_id == run_id and a.verdict == "accepted" and a.kind:
            out[a.kind] = Decision(a.type, a.answers)
    return out


# -- tickets -------------------------------------------------------------------------------------


@dataclass
class TicketCheck:
    """The tickets' end states and what is wrong with them."""

    outcomes: Counter[str] = field(default_factory=Counter)
    stuck: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    compared: int = 0


def check_tickets(started: Sequence[StartedRun], tickets: Mapping[str, AEC | None],
                  actions: Sequence[ActionSeen], served: Sequence[Served],
                  reference: ReferenceRunner) -> TicketCheck:
    """Every ticket's end state explained by the witness: ``ready`` with the
    uninterrupted run's content, ``failed`` with its error on the ticket, back to
    ``draft`` after an accepted edit (or the review's expiry), deleted after an
    accepted cancel, or still waiting for a person; anything else is stuck or lost."""
    out = TicketCheck()
    latest = {s.aec_id: s for s in started}  # the last run of each ticket decides it
    for aec_id, run in latest.items():
        aec = tickets.get(aec_id)
        accepted = decisions_of(actions, run.run_id)
        types = {d.type for d in accepted.values() if d is not None}
        if aec is None:
            out.outcomes["deleted"] += 1
            if "cancel" not in types:
                out.lost.append(f"{run.run_id}: ticket {aec_id} gone without an accepted "
                                f"cancel")
            continue
        status = aec.status.value
        if status == "generating" or (aec.locked and status not in (
                "awaiting_review", "awaiting_answers")):
            out.stuck.append(f"{run.run_id}: ticket {status}, locked={aec.locked}")
            out.outcomes["stuck"] += 1
            continue
        out.outcomes[status] += 1
        if status == "failed" and not aec.error:
            out.stuck.append(f"{run.run_id}: ticket failed without its error")
        elif status == "draft" and "edit" not in types and "review" in accepted:
            out.lost.append(f"{run.run_id}: back to draft, but the accepted review "
                            f"action was {accepted['review']}")
        elif status == "ready":
            out.compared += 1
            answers = [s for s in served if s.run_id == run.run_id]
            model = next((s.model for s in answers if s.model), None)
            ref_status, want = reference.content(run.request, witnessed_answers(
                answers, run.run_id), model, accepted, aec.fallback_steps)
            if want is None:
                out.lost.append(f"{run.run_id}: ready, but the uninterrupted run ended "
                                f"{ref_status}")
            elif content_of(aec) != want:
                out.lost.append(f"{run.run_id}: content differs from the uninterrupted "
                                f"run's: {_diff(content_of(aec).model_dump(), want.model_dump())}")
    return out


def _diff(have: Mapping[str, Any], want: Mapping[str, Any]) -> str:
    keys = [k for k in want if have.get(k) != want.get(k)]
    return "; ".join(f"{k}: {str(have.get(k))[:120]!r} != {str(want.get(k))[:120]!r}"
                     for k in keys[:3])


def journal_disagreements(db: Database, side: Sequence[Mapping[str, Any]]) -> list[str]:
    """The run store's own journal (``step_attempts``) against the witness: a step the
    journal says committed twice, or a commit the witness saw and the journal lacks.
    (The converse, a commit in the journal only, is a kill landing between the
    database's commit and the side file's write: not a fault of the system.)"""
    done = "outcome IN ('committed', 'suspended')"
    out = [f"journal: {r[0]} step {r[1]} committed {r[2]} times" for r in db.execute(
        f"SELECT run_id, step_index, COUNT(*) FROM step_attempts WHERE {done} "
        "GROUP BY run_id, step_index HAVING COUNT(*) > 1").rows]
    witnessed = {(str(r["run"]), int(r["step"])) for r in side if r["e"] == "commit"}
    journal = {(str(r[0]), int(r[1])) for r in db.execute(
        f"SELECT run_id, step_index FROM step_attempts WHERE {done}").rows}
    missing = sorted(witnessed - journal)
    out += [f"witness: {run} step {step} commit accepted, absent from the journal"
            for run, step in missing[:5]]
    return out
