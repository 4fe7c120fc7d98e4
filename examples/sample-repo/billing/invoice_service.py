"""Invoice use cases: listing with filters and pagination, lookup, creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from billing.models import Invoice, LineItem
from billing.repository import InvoiceRepository

VALID_STATUSES = ("draft", "sent", "paid", "void")
PAYMENT_TERMS_DAYS = 30


@dataclass(frozen=True)
class InvoiceFilter:
    """Filters of the invoice list."""

    status: str | None = None
    customer_id: int | None = None
    search: str | None = None

    def matches(self, invoice: Invoice) -> bool:
        if self.status and invoice.status != self.status:
            return False
        if self.customer_id and invoice.customer.id != self.customer_id:
            return False
        if self.search:
            needle = self.search.lower()
            return needle in invoice.number.lower() or needle in invoice.customer.name.lower()
        return True


@dataclass(frozen=True)
class InvoicePage:
    """One page of the invoice list."""

    items: list[Invoice]
    page: int
    page_size: int
    total_count: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total_count // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [invoice.to_dict() for invoice in self.items],
            "page": self.page,
            "page_size": self.page_size,
            "total_count": self.total_count,
            "page_count": self.page_count,
        }


def filter_invoices(repo: InvoiceRepository, filters: InvoiceFilter) -> list[Invoice]:
    """All invoices matching ``filters``, newest first."""
    invoices = [inv for inv in repo.all_invoices() if filters.matches(inv)]
    return sorted(invoices, key=lambda inv: (inv.issued_on, inv.id), reverse=True)


def list_invoices(
    repo: InvoiceRepository, filters: InvoiceFilter, *, page: int = 1, page_size: int = 25
) -> InvoicePage:
    """One page of the invoice list."""
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size must be positive")
    matching = filter_invoices(repo, filters)
    start = (page - 1) * page_size
    return InvoicePage(matching[start : start + page_size], page, page_size, len(matching))


def get_invoice(repo: InvoiceRepository, invoice_id: int) -> Invoice:
    """One invoice; ``LookupError`` if it does not exist."""
    invoice = repo.get_invoice(invoice_id)
    if invoice is None:
        raise LookupError(f"invoice {invoice_id} not found")
    return invoice


def create_invoice(
    repo: InvoiceRepository,
    *,
    customer_id: int,
    lines: list[dict[str, Any]],
    currency: str,
    today: date | None = None,
) -> Invoice:
    """Create a draft invoice for a customer."""
    if not lines:
        raise ValueError("an invoice needs at least one line")
    issued = today or date.today()
    items = [
        LineItem(str(line["description"]), int(line["quantity"]), Decimal(str(line["unit_price"])))
        for line in lines
    ]
    return repo.insert_invoice(
        customer_id=customer_id,
        status="draft",
        issued_on=issued,
        due_on=issued + timedelta(days=PAYMENT_TERMS_DAYS),
        currency=currency,
        lines=items,
    )


def outstanding_total(repo: InvoiceRepository, customer_id: int) -> Decimal:
    """What a customer still owes (sent, unpaid invoices)."""
    return sum(
        (inv.total for inv in repo.all_invoices()
         if inv.customer.id == customer_id and inv.status == "sent"),
        Decimal("0"),
    )
