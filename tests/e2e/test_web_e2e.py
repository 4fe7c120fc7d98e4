"""The web page end to end, in Debian chromium (playwright-core), against the whole
local suite started here: Firestore emulator (rules + action trigger), Auth and
Hosting emulators, the functions under gunicorn, the Cloud Tasks emulator.

Each test runs one scenario of ``driver.mjs`` and checks its observations against
the state in Firestore and libSQL. Screenshots: ``test-artifacts/screenshots/``.
What cannot start FAILS with its log tail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from ticketflow.adapters.firestore import firestore_client
from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.emulators import PROJECT_ROOT
from ticketflow.testing.browser import (
    ARTIFACTS,
    CHROMIUM,
    SAMPLE_REPO,
    SCREENSHOTS,
    StackError,
    WebStack,
    run_driver,
)

pytestmark = [pytest.mark.emulator, pytest.mark.browser, pytest.mark.slow]
DOCS_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def stack() -> Iterator[WebStack]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium", pytrace=False)
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH", pytrace=False)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    s = WebStack(root=ARTIFACTS / "e2e")
    try:
        s.start()
    except StackError as exc:
        pytest.fail(f"the emulator suite did not start: {exc}", pytrace=False)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def fs(stack: WebStack) -> Iterator[firestore.Client]:
    assert stack.firestore is not None
    client = firestore_client(stack.project_id, stack.firestore.host_port)
    yield client
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def db(stack: WebStack) -> Iterator[Database]:
    with Database(stack.db_url) as database:
        yield database


def _doc(fs: firestore.Client, aec_id: str) -> dict[str, Any] | None:
    snap = fs.collection("aecs").document(aec_id).get(timeout=10)
    return snap.to_dict() if snap.exists else None


def _runs(db: Database, aec_id: str) -> list[dict[str, Any]]:
    rows = db.execute("SELECT run_id, status, step_index, cancel_reason FROM runs "
                      "WHERE aec_id = ? ORDER BY created_at", [aec_id]).rows
    return [dict(zip(("run_id", "status", "step_index", "cancel_reason"), r, strict=True))
            for r in rows]


def _steps(db: Database, run_id: str) -> list[int]:
    rows = db.execute("SELECT step_index FROM step_outputs WHERE run_id = ? "
                      "ORDER BY step_index", [run_id]).rows
    return [int(r[0]) for r in rows]


def _same_view(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("status", "workflowState", "currentStep", "steps", "findings",
                "findingsModal", "wizard", "locked"):
        assert a[key] == b[key], (key, a[key], b[key])


def test_review_proceed_skip_reload_second_tab_locked(stack: WebStack, fs: firestore.Client,
                                                      db: Database) -> None:
    r = run_driver(stack, "review_proceed_skip")
    review = r["atReview"]
    assert review["findingsModal"] and review["workflowState"] == "suspended"
    assert {sev for _, sev in review["findings"]} >= {"critical"}
    assert review["steps"][:3] == ["done"] * 3 and review["steps"][3] == "suspended"
    # locked: the UI offers no edit, and the rules deny direct writes
    assert r["lockedUi"] == {"locked": True, "editable": False, "saveButton": False}
    direct = r["directWrite"]
    assert direct["uid"] == r["uid"] and direct["readLocked"] is True
    assert direct["editTitle"] == direct["unlock"] == direct["generationState"] \
        == "permission-denied", direct
    # reload and second tab: same state
    _same_view(review, r["afterReloadReview"])
    _same_view(review, r["tab2Review"])
    _same_view(r["atQuestions"], r["afterReloadQuestions"])
    _same_view(r["atQuestions"], r["tab2Questions"])
    assert r["atQuestions"]["steps"][8] == "suspended" and len(r["questionIds"]) >= 2
    # ready in both tabs, nothing moved backwards on screen
    for view in (r["ready"], r["tab2Ready"]):
        assert view["ready"] and view["status"] == "ready" and not view["locked"]
        assert view["acceptanceCriteria"] > 0 and view["offlineLabel"]
    # progress watched live: steps 1-3 finished one by one, then the suspension
    to_review = [(e["step"], e["status"]) for e in r["logToReview"]]
    assert {(1, "done"), (2, "done"), (3, "done"), (4, "suspended")} <= set(to_review)
    assert to_review.index((1, "done")) < to_review.index((4, "suspended"))
    after_skip = {(e["step"], e["status"]) for e in r["log"]}
    assert {(9, "done"), (10, "skipped")} <= after_skip and r["backwards"] == []
    doc = _doc(fs, r["aecId"])
    assert doc is not None and doc["status"] == "ready" and doc["locked"] is False
    assert doc["title"] == "Fix the PDF download of paid invoices"  # the denied edit
    (run,) = _runs(db, r["aecId"])
    assert run["status"] == "completed" and _steps(db, run["run_id"]) == list(range(1, 12))
    assert doc["generationState"]["runId"] == run["run_id"]


def test_two_questions_back_next_submit(stack: WebStack, fs: firestore.Client,
                                        db: Database) -> None:
    r = run_driver(stack, "two_questions")
    q1, q2 = r["questionIds"]
    assert r["atQuestions"]["wizard"] and not r["atQuestions"]["findingsModal"]
    assert r["nextOnLast"] is False and "Question 2 of 2" in r["progressOnLast"]
    assert r["backAnswer"] == r["answers"][q1] and r["backDisabled"] is True
    assert r["forwardAnswer"] == r["answers"][q2]
    ready = r["ready"]
    assert ready["ready"] and sorted(ready["refinements"]) == sorted([q1, q2])
    doc = _doc(fs, r["aecId"])
    assert doc is not None and doc["status"] == "ready"
    assert doc["answers"] == r["answers"]
    (run,) = _runs(db, r["aecId"])
    assert run["status"] == "completed"
    assert 4 in _steps(db, run["run_id"])  # no critical finding: review went through
    (shot,) = [Path(p) for p in r["screenshots"] if p.endswith("question-2.png")]
    assert shot.stat().st_size > 10_000
    if os.environ.get("TICKETFLOW_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_edit_returns_to_prefilled_unlocked_draft(stack: WebStack, fs: firestore.Client,
                                                  db: Database) -> None:
    r = run_driver(stack, "edit")
    form = r["form"]
    assert form["title"] == "Fix the PDF download of paid invoices"
    assert "render_invoice_pdf()" in form["description"]
    assert form["repo"] == stack.sample_url and form["titleEditable"]
    assert form["submitEnabled"] and r["typed"].endswith("(edited)")
    assert r["draft"]["status"] == "draft" and r["draft"]["formMode"] == "edit"
    assert not r["draft"]["locked"]
    assert r["afterReload"]["formMode"] == "edit" and r["afterReload"]["status"] == "draft"
    doc = _doc(fs, r["aecId"])
    assert doc is not None and doc["status"] == "draft" and doc["locked"] is False
    assert not doc.get("lockedBy")
    (run,) = _runs(db, r["aecId"])
    assert run["status"] == "cancelled" and run["step_index"] == 4


def test_cancel_confirms_then_deletes(stack: WebStack, fs: firestore.Client,
                                      db: Database) -> None:
    r = run_driver(stack, "cancel")
    assert r["keptAfterNo"]["findingsModal"] and r["keptAfterNo"]["status"] == "awaiting_review"
    assert r["aecId"] not in r["list"]["listRows"] and r["list"]["hash"] in ("#/", "")
    assert r["reopened"] in ("missing", "cancelled")
    assert _doc(fs, r["aecId"]) is None
    (run,) = _runs(db, r["aecId"])
    assert run["status"] == "cancelled"


def test_reload_mid_run_and_at_suspension(stack: WebStack, db: Database) -> None:
    r = run_driver(stack, "reload_mid_run")
    before, after = r["beforeReload"], r["afterReload"]
    assert before["status"] == "generating" and before["currentStep"] == "5"
    assert before["steps"][4] == "running"
    # the run was still on step 5 when the page came back: the same rows
    assert after["status"] == "generating" and after["currentStep"] == "5", after
    assert after["steps"] == before["steps"]
    _same_view(r["atQuestions"], r["afterReloadQuestions"])
    assert (5, "degraded") in {(e["step"], e["status"]) for e in r["log"]}
    assert r["ready"]["ready"] and r["backwards"] == []
    (run,) = _runs(db, r["aecId"])
    assert run["status"] == "completed"


def test_register_a_repository_watch_it_index_and_create_a_ticket_on_it(
        stack: WebStack, fs: firestore.Client) -> None:
    r = run_driver(stack, "repositories")
    assert stack.watch is not None
    url = stack.watch.repo_url("watch.git")
    typo = r["misspelt"]
    assert "wacth.git is not a git repository" in typo["error"]
    assert "check the URL's spelling" in typo["error"]
    assert typo["kept"].endswith("/wacth.git") and typo["rows"] == 0  # kept to fix, none added
    held = r["whileHeld"]
    assert held["state"] == "indexing" and held["url"] == url and held["reindexDisabled"]
    assert r["gate"] == 204 and stack.watch.uploads() == 1
    head = git_head(stack.root / "repos" / "sample")
    assert r["ready"]["commit"] == head
    assert r["prefilled"] == url
    ticket = r["ticket"]
    assert ticket["commit"] == head and ticket["shown"] == head[:12]
    assert ticket["paths"] and all((SAMPLE_REPO / p).exists() for p in ticket["paths"])
    doc = _doc(fs, r["aecId"])
    assert doc is not None and doc["status"] == "ready"
    assert doc["repository"]["commit"] == head and doc["repository"]["status"] == "ready"
    assert doc["repository"]["repoId"] == r["ready"]["repoId"]
    view = fs.collection("repositories").document(r["ready"]["repoId"]).get(timeout=10)
    assert view.exists and view.to_dict()["index"]["state"] == "ready"
    # the ticket on a misspelt URL: ready, degraded, the reason on the page
    assert "wacth.git is not a git repository" in r["typoError"]
    assert "check the URL's spelling" in r["typoError"]
    typo = _doc(fs, r["typoAecId"])
    assert typo is not None and typo["status"] == "ready"
    assert typo["repository"]["status"] == "failed"
    step5 = typo["generationState"]["steps"][4]
    assert step5["status"] == "degraded" and "repository indexing failed" in step5["detail"]
    # a URL typed without its scheme: refused at the start, shown, the ticket a draft
    assert "did you mean https://github.com/acme/app" in r["noSchemeError"]
    draft = _doc(fs, r["noSchemeAecId"])
    assert draft is not None and draft["status"] == "draft" and draft["locked"] is False


def git_head(path: Path) -> str:
    from dulwich.repo import Repo

    with Repo(str(path)) as repo:
        return repo.head().decode()
