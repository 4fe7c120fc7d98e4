"""Invoice PDF rendering."""

from __future__ import annotations

from fpdf import FPDF

from billing.models import Invoice


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """A one-page PDF of the invoice with its line items and total."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.cell(0, 10, f"Invoice {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, f"Customer: {invoice.customer.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"Due: {invoice.due_on.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    for line in invoice.lines:
        pdf.cell(0, 7, f"{line.quantity} x {line.description}  {line.amount} {invoice.currency}",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, f"Total: {invoice.total} {invoice.currency}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
