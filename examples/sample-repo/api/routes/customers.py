"""Customer endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

customers_bp = Blueprint("customers", __name__, url_prefix="/api/customers")


@customers_bp.get("")
def list_customers():  # type: ignore[no-untyped-def]
    """List customers by name."""
    repo = current_app.extensions["invoice_repository"]
    return jsonify([c.to_dict() for c in repo.list_customers()])


@customers_bp.get("/<int:customer_id>")
def get_customer(customer_id: int):  # type: ignore[no-untyped-def]
    """Get one customer."""
    repo = current_app.extensions["invoice_repository"]
    return jsonify(repo.get_customer(customer_id).to_dict())
