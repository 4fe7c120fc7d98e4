"""The chaos invariants judge evidence, so each one is shown here to fail on evidence
of the fault it names (and to pass on the evidence of a correct recovery)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ticketflow.domain import AEC, AECStatus
from ticketflow.testing.chaos.invariants import (
    ActionSeen,
    Kill,
    StartedRun,
    actions_accepted_twice,
    check_tickets,
    commits_twice,
    executed_after_commit,
    kill_effect,
    misjudged,
)
from ticketflow.testing.chaos.reference import Decision, ReferenceRunner, witnessed_answers
from ticketflow.testing.embedded import CLEAN, SAMPLE_REPO
from ticketflow.testing.fake_messages_api import FIXTURES_DIR, Served, vary

RUN = "run-1"
STEP_OF = {"extract_intent": 1, "detect_type": 2, "extract_claims": 3, "generate_draft": 7,
           "generate_questions": 8, "refine_draft": 10}


def rec(e: str, step: int, t: float, pid: int = 1, attempt: int = 1,
        **extra: Any) -> dict[str, Any]:
    return {"e": e, "run": RUN, "step": step, "attempt": attempt, "pid": pid, "t": t, **extra}


def served(serial: int, tool: str, t: float, *, pid: int = 1, clean: bool = True,
           fault: str | None = None) -> Served:
    recorded = json.loads((FIXTURES_DIR / f"{tool}.json").read_text())
    tool_input = copy.deepcopy(next(b for b in recorded["content"]
                                    if b["type"] == "tool_use")["input"])
    vary(tool, tool_input, serial)
    return Served(serial, tool, RUN, STEP_OF[tool], 1, pid, t, t + 0.01, 200, fault, clean,
                  "claude-test", tool_input)


def test_a_step_executed_or_asking_the_model_after_its_commit_is_caught() -> None:
    killed_then_again = [rec("start", 7, 1.0, pid=1), rec("start", 7, 2.0, pid=2, attempt=2),
                         rec("end", 7, 2.5, pid=2, attempt=2, outcome="ok"),
                         rec("commit", 7, 2.6, pid=2, attempt=2)]
    calls = [served(1, "generate_draft", 1.1, pid=1), served(2, "generate_draft", 2.1, pid=2)]
    assert executed_after_commit(killed_then_again, calls) == []
    again = [*killed_then_again, rec("start", 7, 3.0, pid=3, attempt=3)]
    assert len(executed_after_commit(again, calls)) == 1
    late_call = [*calls, served(3, "generate_draft", 2.55, pid=2)]
    assert "model request #3" in executed_after_commit(killed_then_again, late_call)[0]


def test_without_a_commit_record_a_later_step_bounds_the_commit() -> None:
    # a kill between the database's commit and the side file's write: step 8 started,
    # so step 7 had committed; step 7 starting after that is caught all the same
    side = [rec("start", 7, 1.0), rec("end", 7, 1.2, outcome="ok"), rec("start", 8, 2.0),
            rec("start", 7, 2.5, pid=2, attempt=2)]
    assert len(executed_after_commit(side, [])) == 1


def test_two_accepted_commits_of_one_step_are_caught() -> None:
    one = [rec("commit", 3, 1.0)]
    assert commits_twice(one) == []
    assert commits_twice([*one, rec("commit", 3, 2.0, pid=2)]) != []


@pytest.mark.parametrize(("side", "leases", "where"), [
    ([rec("start", 5, 1.0)], [], "mid_handler"),
    ([rec("start", 5, 1.0), rec("end", 5, 1.1, outcome="ok")], [(RUN, 5)], "lease_held"),
    ([rec("start", 5, 1.0), rec("end", 5, 1.1, outcome="ok"), rec("commit", 5, 1.2)], [],
     "after_commit"),
    ([rec("start", 5, 1.0), rec("end", 5, 1.1, outcome="ok"), rec("commit", 5, 1.2)],
     [], "no_effect"),
])
def test_a_kill_counts_only_where_it_landed(side: list[dict[str, Any]],
                                            leases: list[tuple[str, int]], where: str) -> None:
    pid = 1 if where != "no_effect" else 99  # the last case: a process with no record
    assert kill_effect(Kill(pid, "outside", leases), side) == where


def _action(action_id: str, verdict: str | None, source: str = "reply",
            reason: str | None = None) -> ActionSeen:
    return ActionSeen(RUN, "aec-1", action_id, "review", "proceed", "tok", None, source,
                      verdict, reason)


def test_actions_accepted_twice_and_misjudged_verdicts_are_caught() -> None:
    race = [_action("a", "accepted"), _action("b", "rejected", reason="already resolved")]
    assert actions_accepted_twice(race) == [] and misjudged(race) == []
    assert actions_accepted_twice([*race, _action("c", "accepted")]) != []
    assert misjudged([_action("d", "accepted", source="bad")]) != []
    assert misjudged([_action("e", "rejected")]) != []  # no reason
    assert misjudged([_action("f", None)]) != []        # no verdict on the document


def test_outputs_vary_per_call_and_the_last_clean_answer_is_the_witnessed_one() -> None:
    a, b = served(1, "extract_intent", 1.0), served(2, "extract_intent", 2.0)
    assert a.tool_input != b.tool_input
    broken = served(3, "extract_intent", 3.0, clean=False, fault="truncated")
    assert witnessed_answers([a, b, broken], RUN)["extract_intent"] == b.tool_input


def test_a_ticket_carrying_another_calls_output_is_content_lost(tmp_path: Path) -> None:
    request = {**CLEAN, "repo": str(SAMPLE_REPO)}
    log = [served(i, tool, float(i)) for i, tool in enumerate(STEP_OF, start=1)]
    runner = ReferenceRunner(tmp_path, SAMPLE_REPO)
    try:
        decisions: dict[str, Decision | None] = {"questions": Decision("skip")}
        status, content = runner.content(request, witnessed_answers(log, RUN), "claude-test",
                                         decisions)
        assert status == "ready" and content is not None
        ticket = AEC.new(aec_id="aec-1", owner_id="u", **request).model_copy(
            update={**dict(content), "status": AECStatus.READY})
        started = [StartedRun(RUN, "aec-1", request)]
        skip = [ActionSeen(RUN, "aec-1", "a", "questions", "skip", "t", None, "reply",
                           "accepted", None)]
        ok = check_tickets(started, {"aec-1": ticket}, skip, log, runner)
        assert ok.lost == [] and ok.compared == 1
        # the draft step ran again (call 9) after the ticket's content was taken from
        # call 3: the last clean answer is not the one in the ticket
        rerun = [*log, served(9, "generate_draft", 9.0, pid=2)]
        lost = check_tickets(started, {"aec-1": ticket}, skip, rerun, runner)
        assert len(lost.lost) == 1 and "content differs" in lost.lost[0]
        gone = check_tickets(started, {"aec-1": None}, skip, log, runner)
        assert gone.lost and "without an accepted cancel" in gone.lost[0]
        # a ticket saying a step was made without AI, when the model's answer is in it
        claims = ticket.model_copy(update={"fallback_steps": ["generate_draft"]})
        wrong = check_tickets(started, {"aec-1": claims}, skip, log, runner)
        assert len(wrong.lost) == 1 and "content differs" in wrong.lost[0]
    finally:
        runner.close()
