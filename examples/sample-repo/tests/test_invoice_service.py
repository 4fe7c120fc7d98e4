from datetime import date

from billing.invoice_service import InvoiceFilter, create_invoice, list_invoices
from billing.repository import InvoiceRepository


def make_repo(tmp_path):
    repo = InvoiceRepository(f"sqlite:///{tmp_path}/test.db")
    repo._conn.execute("INSERT INTO customers VALUES (1, 'Acme', 'ap@acme.example')")
    return repo


def test_list_invoices_paginates(tmp_path):
    repo = make_repo(tmp_path)
    for _ in range(3):
        create_invoice(
            repo,
            customer_id=1,
            lines=[{"description": "Consulting", "quantity": 2, "unit_price": "150.00"}],
            currency="EUR",
            today=date(2026, 1, 5),
        )
    page = list_invoices(repo, InvoiceFilter(), page=1, page_size=2)
    assert len(page.items) == 2
    assert page.total_count == 3
    assert page.page_count == 2


def test_filter_by_status(tmp_path):
    repo = make_repo(tmp_path)
    create_invoice(repo, customer_id=1, lines=[{"description": "x", "quantity": 1,
                   "unit_price": "1"}], currency="EUR")
    assert list_invoices(repo, InvoiceFilter(status="paid")).total_count == 0
    assert list_invoices(repo, InvoiceFilter(status="draft")).total_count == 1
