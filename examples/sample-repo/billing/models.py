"""Billing domain objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Invoice:
    id: int
    number: str
    customer: Customer
    status: str  # draft | sent | paid | void
    issued_on: date
    due_on: date
    currency: str
    lines: list[LineItem] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "customer": self.customer.to_dict(),
            "status": self.status,
            "issued_on": self.issued_on.isoformat(),
            "due_on": self.due_on.isoformat(),
            "currency": self.currency,
            "total": str(self.total),
            "lines": [
                {
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                    "amount": str(line.amount),
                }
                for line in self.lines
            ],
        }
