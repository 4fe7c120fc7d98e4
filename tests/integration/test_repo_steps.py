"""The code-aware steps against a real repository: the story's test cases 2 and 6,
the ``ticketflow preflight`` command, and preflight findings on the sample repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.cli.driver import LOCAL_UID, Reply
from ticketflow.compose.embedded import EmbeddedApp, open_embedded
from ticketflow.compose.preflight import PreflightReport, run_preflight
from ticketflow.domain import AEC, AECStatus, FindingKind, Severity
from ticketflow.testing.embedded import QUESTIONS, SAMPLE_REPO, new_ticket, run_to_end, settings_for
from ticketflow.testing.git_repos import GitHttpServer, make_repo


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedApp]:
    application = open_embedded(settings_for(tmp_path_factory.mktemp("pf")))
    assert application.index.index(str(SAMPLE_REPO)).state == "ready"
    yield application
    application.close()


def check(app: EmbeddedApp, title: str, description: str = "") -> PreflightReport:
    return run_preflight(title, description, repo=str(SAMPLE_REPO), index=app.index,
                         llm=OfflineLanguageModel())


def details(app: EmbeddedApp, run_id: str) -> dict[int, tuple[str, str]]:
    return {s.step_index: (s.status, s.detail) for s in app.runs.steps(run_id)}


# -- story test cases 2 and 6 ------------------------------------------------------------------


def test_case_2_happy_path_with_a_repository(app: EmbeddedApp) -> None:
    aec = new_ticket(app, QUESTIONS, repo=SAMPLE_REPO)
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id, Reply("skip"))
    assert final.status == "completed"
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.status is AECStatus.READY
    assert ticket.repo_paths and ticket.repo_paths[0] == "web/src/components/InvoiceList.tsx"
    assert all((SAMPLE_REPO / p).exists() for p in ticket.repo_paths)
    assert not [f for f in ticket.findings if f.severity is Severity.CRITICAL]
    steps = details(app, run.run_id)
    assert steps[3][0] == "done" and steps[5][0] == "done" and steps[6][0] == "done"
    assert "endpoint" in steps[6][1]


def test_case_6_indexing_in_progress_degrades_and_the_run_completes(
        app: EmbeddedApp, tmp_path: Path) -> None:
    make_repo(tmp_path / "served", SAMPLE_REPO)
    with GitHttpServer({"sample": tmp_path / "served"}) as server:
        server.gate.clear()  # the pack download waits: the index stays "indexing"
        url = server.repo_url("sample")
        aec = app.documents.create(AEC.new(aec_id="aec-slow", owner_id=LOCAL_UID, repo=url,
                                           **QUESTIONS))
        run = app.engine.start(aec.id, uid=LOCAL_UID)
        final = run_to_end(app, run.run_id, Reply("skip"))
        assert final.status == "completed"
        steps = details(app, run.run_id)
        assert steps[5][0] == "degraded" and "indexing in progress" in steps[5][1]
        assert steps[3][0] == "degraded" and steps[6][0] == "skipped"
        ticket = app.documents.get(aec.id)
        assert ticket is not None and ticket.status is AECStatus.READY and ticket.repo_paths == []
        assert any("unavailable" in a for a in ticket.assumptions)
        assert ticket.repository is not None
        assert ticket.repository.status in ("queued", "indexing")
        server.gate.set()  # the same index then finishes, for the next ticket
        rec = app.index_repository(url)
        assert rec.state == "ready" and rec.index_id == ticket.repository.index_id


def test_failed_index_degrades_with_the_error(app: EmbeddedApp, tmp_path: Path) -> None:
    (tmp_path / "not-git").mkdir()
    aec = app.documents.create(AEC.new(aec_id="aec-bad", owner_id=LOCAL_UID,
                                       repo=f"file://{tmp_path / 'not-git'}", **QUESTIONS))
    run = app.engine.start(aec.id, uid=LOCAL_UID)
    final = run_to_end(app, run.run_id, Reply("skip"))
    assert final.status == "completed"
    status, detail = details(app, run.run_id)[5]
    assert status == "degraded" and "indexing failed" in detail
    assert "is not a git repository" in detail
    ticket = app.documents.get(aec.id)
    assert ticket is not None and ticket.repository is not None
    assert ticket.repository.status == "failed"
    assert "not a git repository" in (ticket.repository.error or "")


# -- preflight findings --------------------------------------------------------------------------


def test_grounded_request_has_no_critical_finding(indexed: EmbeddedApp) -> None:
    report = check(indexed, "Fix the PDF download of paid invoices",
                   "`render_invoice_pdf()` in billing/pdf.py fails for paid invoices; "
                   "the InvoiceList component and INVOICE_PAGE_SIZE are fine. "
                   "GET /api/invoices/{id}/pdf answers 500.")
    assert report.critical == []
    assert "billing/pdf.py" in report.retrieved_files[:3]


@pytest.mark.parametrize(("description", "kind", "name", "closest"), [
    ("The bug is in billing/pdf_renderer.py.", FindingKind.MISSING_FILE,
     "billing/pdf_renderer.py", "billing/pdf.py"),
    ("Reuse the existing `render_invoice_pdfs()` helper.", FindingKind.MISSING_SYMBOL,
     "render_invoice_pdfs", "render_invoice_pdf"),
    ("The existing GET /api/invoice/{id}/pdf endpoint answers 500.", FindingKind.MISSING_ROUTE,
     "/api/invoice/{id}/pdf", "/api/invoices/{id}/pdf"),
    ("Raise INVOICE_PAGE_SIZES to 50.", FindingKind.MISSING_SETTING, "INVOICE_PAGE_SIZES",
     "INVOICE_PAGE_SIZE"),
])
def test_planted_reference_is_critical_with_the_closest_match(
        indexed: EmbeddedApp, description: str, kind: FindingKind, name: str,
        closest: str) -> None:
    report = check(indexed, "Invoice PDFs", description)
    (crit,) = report.critical
    assert crit.kind is kind and name in crit.message
    assert crit.evidence and crit.evidence in f"Invoice PDFs.\n{description}"
    assert crit.suggestion is not None and closest in crit.suggestion


def test_creating_something_new_is_not_a_finding(indexed: EmbeddedApp) -> None:
    report = check(indexed, "Create a refunds endpoint",
                   "Add a new POST /api/invoices/{id}/refunds endpoint and a new "
                   "`RefundService` class in billing/refunds.py.")
    assert [f for f in report.findings if f.kind in (
        FindingKind.MISSING_FILE, FindingKind.MISSING_SYMBOL, FindingKind.MISSING_ROUTE,
        FindingKind.MISSING_SETTING)] == []


def test_vague_request_gets_an_unmeasurable_warning(indexed: EmbeddedApp) -> None:
    report = check(indexed, "Faster invoice list", "The invoice list should be faster.")
    assert report.critical == []
    assert any(f.kind is FindingKind.UNMEASURABLE and f.severity is Severity.WARNING
               for f in report.findings)


def test_a_fault_left_open_gets_a_missing_information_warning(indexed: EmbeddedApp) -> None:
    report = check(indexed, "Invoice export", "The invoice export fails for some users.")
    assert [f.kind for f in report.findings if f.severity is Severity.WARNING
            and f.kind in (FindingKind.UNMEASURABLE, FindingKind.MISSING_INFORMATION)] == [
        FindingKind.MISSING_INFORMATION]


# -- the command ---------------------------------------------------------------------------------


def test_preflight_command_prints_the_json_shape(tmp_path: Path) -> None:
    env = {**os.environ, "TICKETFLOW_INDEX_WAIT_S": "0", "TICKETFLOW_LLM": "offline"}
    r = subprocess.run(
        [sys.executable, "-m", "ticketflow.cli.main", "--db", str(tmp_path / "tf.db"), "preflight",
         "--repo", str(SAMPLE_REPO), "--title", "Fix the PDF download of paid invoices",
         "--description", "The bug is in `render_invoice_pdf()` in billing/pdf_renderer.py.",
         "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"retrieved_files", "findings"} <= set(data)
    assert data["retrieved_files"][0] == "billing/pdf.py"
    assert all(isinstance(p, str) and (SAMPLE_REPO / p).exists()
               for p in data["retrieved_files"])
    for f in data["findings"]:
        assert {"kind", "severity", "evidence", "message"} <= set(f)
    crit = [f for f in data["findings"] if f["severity"] == "critical"]
    assert [f["kind"] for f in crit] == ["missing_file"]
    assert "billing/pdf.py" in crit[0]["suggestion"]
    # no ticket and no run were created
    runs = subprocess.run([sys.executable, "-m", "ticketflow.cli.main", "--db",
                           str(tmp_path / "tf.db"), "runs", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert json.loads(runs.stdout) == []
