"""What the chaos soaks (W3, embedded and on the emulator suite) share: the requests
they run, the crash points they arm, and the run states they accept at the end."""

from __future__ import annotations

from typing import Any

REQUESTS: list[dict[str, Any]] = [
    {"title": "Let users reset a forgotten password",
     "description": "A user who forgot their password can request a reset link by email "
                    "from the sign-in page. The link expires after 30 minutes.",
     "repo": False},
    {"title": "Fix the PDF download of paid invoices",
     "description": "Downloading the PDF of a paid invoice fails with a 500 error. The bug "
                    "is in `render_invoice_pdf()` in billing/pdf_renderer.py.",
     "repo": True},
    {"title": "Add CSV export to the invoice list",
     "description": "As an accountant I want to export the invoices of the InvoiceList "
                    "component to a CSV file. It should be fast for large lists.",
     "repo": True},
]
CRASH_POINTS = ("before_execute", "mid_step", "after_commit", "after_dispatch")
NON_SUSPENDING = (1, 2, 3, 5, 6, 7, 8, 10, 11)
FINISHED = ("completed", "failed", "cancelled")
