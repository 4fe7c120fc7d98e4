"""Each workflow step on its own: a hand-built context, recorded model responses.

The Claude adapter talks to the local fake Messages API (recorded responses in
``ticketflow/testing/recorded_llm``); the same steps also run on the offline provider. The
repository index is the real libSQL index of ``examples/sample-repo``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ticketflow.adapters.claude import ClaudeLanguageModel, ClaudeSettings
from ticketflow.adapters.clock import SystemClock
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex, repo_key
from ticketflow.adapters.memory import MemoryDocumentStore
from ticketflow.adapters.offline import OfflineLanguageModel
from ticketflow.domain import (
    Answers,
    Draft,
    Finding,
    FindingKind,
    Intent,
    Question,
    RepoContext,
    Severity,
    TicketRequest,
    TicketType,
    TypeDetection,
)
from ticketflow.domain.errors import TerminalError
from ticketflow.ports import FileHit, LanguageModel, RepoIndex
from ticketflow.ports.records import RunRecord
from ticketflow.testing.fake_messages_api import FakeMessagesAPI
from ticketflow.workflow.context import StepContext, StepDeps
from ticketflow.workflow.definition import CURRENT
from ticketflow.workflow.signals import Suspend
from ticketflow.workflow.steps.base import StepOutput
from ticketflow.workflow.steps.s01_extract_intent import IntentOutput, extract_intent
from ticketflow.workflow.steps.s02_detect_type import TypeOutput, detect_type
from ticketflow.workflow.steps.s03_preflight import PreflightOutput, preflight
from ticketflow.workflow.steps.s04_review_findings import ReviewOutput, review_findings
from ticketflow.workflow.steps.s05_repo_context import RepoContextOutput, gather_repo_context
from ticketflow.workflow.steps.s06_api_context import ApiContextOutput, gather_api_context
from ticketflow.workflow.steps.s07_generate_draft import DraftOutput, generate_draft
from ticketflow.workflow.steps.s08_generate_questions import (
    QuestionsOutput,
    generate_questions,
)
from ticketflow.workflow.steps.s09_ask_questions import AnswersOutput, ask_questions
from ticketflow.workflow.steps.s10_refine_draft import refine_draft

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

SAMPLE_REPO = Path(__file__).resolve().parents[2] / "examples" / "sample-repo"
CSV = TicketRequest(title="Add CSV export to the invoice list",
                    description="As an accountant I want to export the invoices of the "
                                "InvoiceList component to a CSV file.",
                    repo=str(SAMPLE_REPO))
INTENT = Intent(goal="Export the invoice list as CSV", actors=["accountant"],
                in_scope=["CSV export of the InvoiceList component"])
DETECTION = TypeDetection(type=TicketType.FEATURE, confidence=0.9)
MISSING_INFO = Finding(id="f-missing-1", kind=FindingKind.UNMEASURABLE,
                       severity=Severity.WARNING, evidence="It should be fast.",
                       message="'fast' has no target value, so it cannot be tested.")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibsqlRepoIndex]:
    db = Database(f"file:{tmp_path_factory.mktemp('idx')}/idx.db")
    idx = LibsqlRepoIndex(db)
    assert idx.index(str(SAMPLE_REPO)).state == "ready"
    yield idx
    db.close()


@pytest.fixture(scope="module")
def api() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as fake:
        yield fake


@pytest.fixture
def claude(api: FakeMessagesAPI) -> ClaudeLanguageModel:
    return ClaudeLanguageModel(ClaudeSettings(base_url=api.url, api_key="sk-ant-test",
                                              timeout_s=5.0, max_retries=0),
                               sleep=lambda _s: None)


@pytest.fixture(params=["claude", "offline"])
def llm(request: pytest.FixtureRequest, claude: ClaudeLanguageModel) -> LanguageModel:
    return claude if request.param == "claude" else OfflineLanguageModel()


def ctx_for(llm: LanguageModel, request: TicketRequest = CSV, *,
            index: RepoIndex | None = None, index_wait_s: float = 0.0,
            **outputs: StepOutput) -> StepContext:
    now = datetime.now(UTC)
    if request.repo and request.repository is None:  # a directory indexed directly
        request = request.model_copy(update={"repository": RepoContext(
            url=request.repo, index_id=repo_key(request.repo))})
    run = RunRecord(run_id="run-" + uuid.uuid4().hex[:8], aec_id="aec-1", owner_id="u1",
                    workflow_version=CURRENT.version, deadline_at=now + timedelta(hours=1),
                    input=request.doc(), created_at=now, updated_at=now)
    clock = SystemClock()
    deps = StepDeps(llm=llm, documents=MemoryDocumentStore(clock), clock=clock, index=index,
                    index_wait_s=index_wait_s)
    outputs.setdefault("review_findings", ReviewOutput(decision="no_critical_findings"))
    done: dict[str, dict[str, Any]] = {
        name: out.model_dump(mode="json", by_alias=True) for name, out in outputs.items()}
    return StepContext(run=run, deps=deps, outputs=done)


def intent_out() -> IntentOutput:
    return IntentOutput(intent=INTENT, provider=OfflineLanguageModel.provider)


def preflight_out(*findings: Finding) -> PreflightOutput:
    return PreflightOutput(findings=list(findings), index_state="ready")


# -- steps 1 and 2 -----------------------------------------------------------------------------


def test_step1_extract_intent_from_the_recorded_response(claude: ClaudeLanguageModel,
                                                         api: FakeMessagesAPI) -> None:
    out = extract_intent(ctx_for(claude))
    assert out.intent.goal.startswith("Let account admins export")
    assert out.provider.name == "claude" and not out.provider.offline
    assert "offline" not in out.detail
    assert "Add CSV export to the invoice list" in api.requests_for("extract_intent")[-1].text()


def test_step1_offline_is_labelled() -> None:
    out = extract_intent(ctx_for(OfflineLanguageModel()))
    assert out.provider.offline and "(offline heuristics)" in out.detail
    assert "accountant" in out.intent.actors


def test_step2_detect_type(llm: LanguageModel) -> None:
    out = detect_type(ctx_for(llm, extract_intent=intent_out()))
    assert out.detection.type is TicketType.FEATURE
    assert 0 < out.detection.confidence <= 1 and out.detail.startswith("feature")


# -- step 3 and 4: preflight and review -------------------------------------------------


def test_step3_grounded_request_has_no_critical_finding(index: LibsqlRepoIndex) -> None:
    out = preflight(ctx_for(OfflineLanguageModel(), index=index))
    assert out.index_state == "ready" and out.critical == []


def test_step3_missing_file_is_critical_with_the_closest_match(index: LibsqlRepoIndex) -> None:
    req = TicketRequest(title="Fix the PDF download",
                        description="The bug is in billing/pdf_renderer.py.",
                        repo=str(SAMPLE_REPO))
    out = preflight(ctx_for(OfflineLanguageModel(), req, index=index))
    (crit,) = out.critical
    assert crit.kind is FindingKind.MISSING_FILE
    assert "billing/pdf_renderer.py" in crit.evidence
    assert crit.suggestion and "billing/pdf.py" in crit.suggestion


def test_step3_index_not_ready_degrades(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    req = TicketRequest(title="Fix `render_invoice_pdf()`", repo=str(tmp_path))
    out = preflight(ctx_for(OfflineLanguageModel(), req, index=index))
    assert out.outcome == "degraded" and out.critical == []
    assert [f.kind for f in out.findings] == [FindingKind.UNVERIFIABLE]


def test_step3_says_when_the_index_failed_rather_than_is_pending(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    missing = str(tmp_path / "gone")
    assert index.index(missing).state == "failed"
    req = TicketRequest(title="Fix `render_invoice_pdf()`", repo=missing)
    (finding,) = preflight(ctx_for(OfflineLanguageModel(), req, index=index)).findings
    assert finding.kind is FindingKind.UNVERIFIABLE
    assert finding.message.startswith("The repository could not be indexed")
    assert finding.suggestion and "can be reached" in finding.suggestion


def test_step4_suspends_only_on_critical_findings() -> None:
    crit = Finding(id="f1", kind=FindingKind.MISSING_FILE, severity=Severity.CRITICAL,
                   evidence="billing/pdf_renderer.py", message="missing")
    with pytest.raises(Suspend) as stop:
        review_findings(ctx_for(OfflineLanguageModel(), preflight=preflight_out(crit)))
    assert stop.value.kind == "review"
    out = review_findings(ctx_for(OfflineLanguageModel(), preflight=preflight_out(MISSING_INFO)))
    assert out.outcome == "skipped" and out.decision == "no_critical_findings"


# -- step 5 and 6: repository and API context ------------------------------------------


def test_step5_ready_index_retrieves_the_named_component(index: LibsqlRepoIndex) -> None:
    out = gather_repo_context(ctx_for(OfflineLanguageModel(), index=index,
                                      extract_intent=intent_out()))
    assert out.index_state == "ready" and out.outcome == "done"
    assert out.files[0].path == "web/src/components/InvoiceList.tsx"
    assert all((SAMPLE_REPO / f.path).is_file() for f in out.files)


def test_step5_indexing_in_progress_degrades_after_the_bounded_wait(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def a():\n    pass\n")
    index.index(str(tmp_path))
    index.mark(str(tmp_path), "indexing")
    req = TicketRequest(title="Change a()", repo=str(tmp_path))
    out = gather_repo_context(ctx_for(OfflineLanguageModel(), req, index=index,
                                      index_wait_s=0.3, extract_intent=intent_out()))
    assert out.outcome == "degraded" and out.index_state == "indexing"
    assert "indexing in progress" in out.detail and out.files == []


def test_step5_without_a_repository_is_skipped() -> None:
    out = gather_repo_context(ctx_for(OfflineLanguageModel(), TicketRequest(title="x"),
                                      extract_intent=intent_out()))
    assert out.outcome == "skipped"


def test_step6_endpoints_from_the_openapi_document(index: LibsqlRepoIndex) -> None:
    ready = RepoContextOutput(index_state="ready")
    out = gather_api_context(ctx_for(OfflineLanguageModel(), index=index,
                                     gather_repo_context=ready))
    assert out.outcome == "done"
    assert any(e.method == "GET" and e.path == "/api/invoices/{id}/pdf" for e in out.endpoints)


def test_step6_skipped_cleanly_without_api_context(index: LibsqlRepoIndex,
                                                   tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text("def helper():\n    return 1\n")
    index.index(str(tmp_path))
    req = TicketRequest(title="x", repo=str(tmp_path))
    ready = RepoContextOutput(index_state="ready")
    out = gather_api_context(ctx_for(OfflineLanguageModel(), req, index=index,
                                     gather_repo_context=ready))
    assert out.outcome == "skipped" and out.endpoints == []
    degraded = RepoContextOutput(index_state="indexing", outcome="degraded")
    out = gather_api_context(ctx_for(OfflineLanguageModel(), index=index,
                                     gather_repo_context=degraded))
    assert out.outcome == "skipped" and "no ready repository index" in out.detail


# -- step 7: the draft ------------------------------------------------------------------


def draft_ctx(llm: LanguageModel, index: LibsqlRepoIndex) -> StepContext:
    files = [FileHit(path="web/src/components/InvoiceList.tsx", score=1.0),
             FileHit(path="api/routes/invoices.py", score=0.8)]
    return ctx_for(llm, index=index, extract_intent=intent_out(),
                   detect_type=TypeOutput(detection=DETECTION),
                   preflight=preflight_out(MISSING_INFO),
                   gather_repo_context=RepoContextOutput(index_state="ready", files=files),
                   gather_api_context=ApiContextOutput())


def test_step7_claude_paths_that_do_not_exist_are_dropped(claude: ClaudeLanguageModel,
                                                          index: LibsqlRepoIndex) -> None:
    out = generate_draft(draft_ctx(claude, index))
    assert out.draft.acceptance_criteria
    # the recorded answer names paths of another code base: none exists here
    assert out.draft.repo_paths == []
    assert "billing/api/routes.py" in out.dropped_paths
    assert "dropped 3 path(s)" in out.detail


def test_step7_offline_paths_all_exist(index: LibsqlRepoIndex) -> None:
    out = generate_draft(draft_ctx(OfflineLanguageModel(), index))
    assert out.draft.repo_paths[0] == "web/src/components/InvoiceList.tsx"
    assert all((SAMPLE_REPO / p).exists() for p in out.draft.repo_paths)
    assert out.dropped_paths == []
    assert any("measurable target" in a for a in out.draft.assumptions)


def test_step7_an_empty_draft_fails_terminally(index: LibsqlRepoIndex) -> None:
    class Empty(OfflineLanguageModel):
        def generate(self, task: Any, payload: Any, output: Any) -> Any:
            return Draft(acceptance_criteria=[])

    with pytest.raises(TerminalError, match="no acceptance criteria"):
        generate_draft(draft_ctx(Empty(), index))


# -- steps 8 to 10: questions, answers, refinement ---------------------------------------


def questions_ctx(llm: LanguageModel, **more: StepOutput) -> StepContext:
    draft = Draft(acceptance_criteria=["The CSV downloads"], repo_paths=[
        "web/src/components/InvoiceList.tsx"])
    more.setdefault("preflight", preflight_out(MISSING_INFO))
    return ctx_for(llm, extract_intent=intent_out(), generate_draft=DraftOutput(draft=draft),
                   **more)


def test_step8_claude_questions(claude: ClaudeLanguageModel) -> None:
    out = generate_questions(questions_ctx(claude))
    assert [q.id for q in out.questions] == ["q1", "q2", "q3"]
    assert all(q.why for q in out.questions)  # each says what its answer changes


def test_step8_never_asks_again_about_what_the_review_settled(llm: LanguageModel) -> None:
    """Proceeding past critical findings at the review settles them: the questions are
    about what is still open (the payload the model sees holds only those)."""
    critical = Finding(id="f-crit", kind=FindingKind.MISSING_FILE, severity=Severity.CRITICAL,
                       evidence="It is in billing/pdf_renderer.py.", suggestion="Did you mean "
                       "`billing/pdf.py`?", message="The request refers to the file "
                       "`billing/pdf_renderer.py`, which does not exist in the repository.")
    ctx = questions_ctx(llm, preflight=preflight_out(critical, MISSING_INFO),
                        review_findings=ReviewOutput(decision="proceed"))
    out = generate_questions(ctx)
    assert "f-crit" not in {q.finding_id for q in out.questions}
    if llm.provider.offline:
        assert [q.finding_id for q in out.questions] == [MISSING_INFO.id]


def test_step8_offline_asks_only_what_changes_the_ticket() -> None:
    out = generate_questions(questions_ctx(OfflineLanguageModel()))
    (q,) = out.questions
    assert q.finding_id == MISSING_INFO.id and "measurable target" in q.text
    none = generate_questions(ctx_for(
        OfflineLanguageModel(), extract_intent=intent_out(), preflight=preflight_out(),
        generate_draft=DraftOutput(draft=Draft(acceptance_criteria=["x"]))))
    assert none.questions == [] and none.outcome == "skipped"


def test_step9_suspends_with_questions_and_skips_without() -> None:
    qs = QuestionsOutput(questions=[Question(id="q1", text="How fast?")])
    with pytest.raises(Suspend) as stop:
        ask_questions(questions_ctx(OfflineLanguageModel(), generate_questions=qs))
    assert stop.value.kind == "questions"
    out = ask_questions(questions_ctx(OfflineLanguageModel(),
                                      generate_questions=QuestionsOutput()))
    assert out.outcome == "skipped" and out.answers.skipped


def test_step10_records_which_answer_changed_what(llm: LanguageModel,
                                                  index: LibsqlRepoIndex) -> None:
    qs = [Question(id="q1", text="How fast?", why="Target value", finding_id=MISSING_INFO.id),
          Question(id="q2", text="Which statuses?", why="Rows exported"),
          Question(id="q3", text="Which file name?", why="Download name")]
    draft = Draft(acceptance_criteria=["The CSV downloads"],
                  repo_paths=["web/src/components/InvoiceList.tsx"])
    answers = {"q1": "under 2 s for 10,000 invoices", "q2": "issued and paid",
               "q3": "invoices.csv"}
    ctx = ctx_for(llm, index=index, generate_draft=DraftOutput(draft=draft),
                  preflight=preflight_out(MISSING_INFO),
                  generate_questions=QuestionsOutput(questions=qs),
                  ask_questions=AnswersOutput(answers=Answers(answers=answers)))
    out = refine_draft(ctx)
    assert out.outcome == "done"
    assert [r.question_id for r in out.refinements] == ["q1", "q2", "q3"]
    assert all(r.change for r in out.refinements)
    assert all((SAMPLE_REPO / p).exists() for p in out.draft.repo_paths)
    if not llm.provider.offline:
        return
    assert "It should be fast: under 2 s for 10,000 invoices" in out.draft.acceptance_criteria
    assert "10,000" in out.refinements[0].change
    assert out.draft.decisions[0] == "“fast” means under 2 s for 10,000 invoices."
    assert "Which statuses: issued and paid." in out.draft.decisions


def test_step10_without_answers_keeps_the_draft() -> None:
    draft = Draft(acceptance_criteria=["The CSV downloads"])
    ctx = ctx_for(OfflineLanguageModel(), generate_draft=DraftOutput(draft=draft),
                  generate_questions=QuestionsOutput(),
                  ask_questions=AnswersOutput(answers=Answers(skipped=True)))
    out = refine_draft(ctx)
    assert out.outcome == "skipped" and out.draft == draft and out.refinements == []


@pytest.mark.parametrize("title,description,expected", [
    ("Add a max_csv_mb setting to cap CSV export size",
     "Respond with a clear error when the cap is exceeded.", "feature"),
    ("Fix the PDF download of paid invoices", "It fails with a 500 error.", "bug"),
    ("Upgrade Flask to 3.1", "Bump the dependency and fix deprecations.", "chore"),
    ("Investigate slow invoice search", "Explore options and compare them.", "spike"),
])
def test_offline_type_detection_weighs_the_title(title: str, description: str,
                                                 expected: str) -> None:
    from ticketflow.adapters.offline import OfflineLanguageModel
    from ticketflow.domain import Intent, TypeDetection
    from ticketflow.ports.llm import DETECT_TYPE, TypePayload

    payload = TypePayload(request=TicketRequest(title=title, description=description),
                          intent=Intent(goal=title))
    det = OfflineLanguageModel().generate(DETECT_TYPE, payload, TypeDetection)
    assert det.type.value == expected


def test_evidence_is_the_whole_sentence_even_with_dotted_paths() -> None:
    from ticketflow.preflight import extract_references

    refs = extract_references("Intro. The bug is in billing/pdf_renderer.py, which the "
                              "GET /api/x route calls. Next sentence.")
    by_name = {r.name: r for r in refs}
    assert by_name["billing/pdf_renderer.py"].evidence == \
        "The bug is in billing/pdf_renderer.py, which the GET /api/x route calls"


def test_offline_refine_replaces_a_corrected_reference() -> None:
    from ticketflow.adapters.offline import OfflineLanguageModel
    from ticketflow.domain import Draft, Question
    from ticketflow.ports.llm import REFINE_DRAFT, Refined, RefinePayload

    q = Question(id="q1", text="The request refers to the file `billing/pdf_renderer.py`, "
                 "which does not exist. What should the ticket refer to?",
                 why="Correct reference", finding_id="f-1")
    draft = Draft(acceptance_criteria=["Rendering in billing/pdf_renderer.py handles paid "
                                       "invoices"], assumptions=[])
    out = OfflineLanguageModel().generate(REFINE_DRAFT, RefinePayload(
        request=TicketRequest(title="t"), draft=draft, questions=[q],
        answers={"q1": "billing/pdf.py"}), Refined)
    assert out.draft.acceptance_criteria == ["Rendering in billing/pdf.py handles paid invoices"]
    assert "Replaced `billing/pdf_renderer.py` with `billing/pdf.py`" in out.refinements[0].change
    assert out.draft.decisions == ["The ticket refers to `billing/pdf.py`, not "
                                   "`billing/pdf_renderer.py`."]
