"""One sample payload per language-model task (``ticketflow.ports.llm.TASKS``), for the
adapter's tests and the fake-server figures of the quality benchmark: a CSV-export
request with an intent, a draft, a warning finding, a question and its answer.
"""

from __future__ import annotations

from pydantic import BaseModel

from ticketflow.domain import (
    Draft,
    Finding,
    FindingKind,
    Intent,
    Question,
    Severity,
    TicketRequest,
    TicketType,
    TypeDetection,
)
from ticketflow.ports import ApiEndpoint, FileHit
from ticketflow.ports.llm import (
    ClaimsPayload,
    DraftPayload,
    QuestionsPayload,
    RefinePayload,
    TypePayload,
)

REQUEST = TicketRequest(title="Export invoices as CSV",
                        description="Admins want to download their invoices from billing.",
                        repo="acme/shop")
INTENT = Intent(goal="Let admins export invoices as CSV", actors=["account admin"])
DRAFT = Draft(acceptance_criteria=["Given an admin, when they export, then a CSV downloads."],
              repo_paths=["billing/api/routes.py"])
FINDING = Finding(id="f-missing-route-1", kind=FindingKind.MISSING_ROUTE,
                  severity=Severity.WARNING, evidence="GET /api/invoices/export",
                  message="The route does not exist.")
KNOWN_PATHS = ["billing/api/routes.py", "billing/services/invoices.py",
               "web/src/pages/BillingPage.tsx"]

PAYLOADS: dict[str, BaseModel] = {
    "extract_intent": REQUEST,
    "detect_type": TypePayload(request=REQUEST, intent=INTENT),
    "extract_claims": ClaimsPayload(request=REQUEST),
    "generate_draft": DraftPayload(
        request=REQUEST, intent=INTENT,
        type=TypeDetection(type=TicketType.FEATURE, confidence=0.9),
        findings=[FINDING],
        repo_files=[FileHit(path="billing/services/invoices.py", score=0.92,
                            snippet="def list_invoices(org_id, since):")],
        endpoints=[ApiEndpoint(method="GET", path="/api/billing/invoices",
                               source="billing/api/routes.py")],
        known_paths=KNOWN_PATHS,
    ),
    "generate_questions": QuestionsPayload(request=REQUEST, intent=INTENT,
                                           findings=[FINDING], draft=DRAFT),
    "refine_draft": RefinePayload(
        request=REQUEST, draft=DRAFT,
        questions=[Question(id="q1", text="Which statuses?")],
        answers={"q1": "Only issued and paid"}, known_paths=KNOWN_PATHS,
    ),
}
"""Task name -> its payload model."""
