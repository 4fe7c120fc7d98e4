"""Send invoices to customers by e-mail."""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage

from billing.models import Invoice
from billing.pdf import render_invoice_pdf


def send_invoice_email(invoice: Invoice) -> None:
    """E-mail the invoice PDF to the customer."""
    msg = EmailMessage()
    msg["Subject"] = f"Invoice {invoice.number}"
    msg["From"] = os.environ.get("SMTP_SENDER", "billing@ledgerly.example")
    msg["To"] = invoice.customer.email
    msg.set_content(f"Please find attached invoice {invoice.number} ({invoice.total}).")
    msg.add_attachment(
        render_invoice_pdf(invoice),
        maintype="application",
        subtype="pdf",
        filename=f"{invoice.number}.pdf",
    )
    host = os.environ["SMTP_HOST"]
    port = int(os.getenv("SMTP_PORT", "25"))
    with smtplib.SMTP(host, port) as smtp:
        smtp.send_message(msg)
