"""SQLite persistence for invoices and customers."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal

from billing.models import Customer, Invoice, LineItem

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY, number TEXT UNIQUE NOT NULL, customer_id INTEGER NOT NULL,
    status TEXT NOT NULL, issued_on TEXT NOT NULL, due_on TEXT NOT NULL, currency TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_id INTEGER NOT NULL, description TEXT NOT NULL, quantity INTEGER NOT NULL,
    unit_price TEXT NOT NULL);
"""


class InvoiceRepository:
    """Invoices and customers in one SQLite database."""

    def __init__(self, database_url: str) -> None:
        path = database_url.removeprefix("sqlite:///")
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._conn.executescript(SCHEMA)

    def list_customers(self) -> list[Customer]:
        rows = self._conn.execute("SELECT id, name, email FROM customers ORDER BY name")
        return [Customer(*row) for row in rows]

    def get_customer(self, customer_id: int) -> Customer:
        row = self._conn.execute(
            "SELECT id, name, email FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"customer {customer_id} not found")
        return Customer(*row)

    def all_invoices(self) -> list[Invoice]:
        ids = [r[0] for r in self._conn.execute("SELECT id FROM invoices")]
        return [inv for i in ids if (inv := self.get_invoice(i)) is not None]

    def get_invoice(self, invoice_id: int) -> Invoice | None:
        row = self._conn.execute(
            "SELECT id, number, customer_id, status, issued_on, due_on, currency "
            "FROM invoices WHERE id = ?",
            (invoice_id,),
        ).fetchone()
        if row is None:
            return None
        lines = [
            LineItem(d, q, Decimal(p))
            for d, q, p in self._conn.execute(
                "SELECT description, quantity, unit_price FROM invoice_lines WHERE invoice_id = ?",
                (invoice_id,),
            )
        ]
        return Invoice(
            id=row[0],
            number=row[1],
            customer=self.get_customer(row[2]),
            status=row[3],
            issued_on=date.fromisoformat(row[4]),
            due_on=date.fromisoformat(row[5]),
            currency=row[6],
            lines=lines,
        )

    def insert_invoice(
        self,
        *,
        customer_id: int,
        status: str,
        issued_on: date,
        due_on: date,
        currency: str,
        lines: list[LineItem],
    ) -> Invoice:
        with self._conn:
            count = self._conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0]
            number = f"INV-{issued_on.year}-{count + 1:05d}"
            cur = self._conn.execute(
                "INSERT INTO invoices(number, customer_id, status, issued_on, due_on, currency) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (number, customer_id, status, issued_on.isoformat(), due_on.isoformat(), currency),
            )
            invoice_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO invoice_lines VALUES (?, ?, ?, ?)",
                [(invoice_id, li.description, li.quantity, str(li.unit_price)) for li in lines],
            )
        invoice = self.get_invoice(invoice_id)
        assert invoice is not None
        return invoice
