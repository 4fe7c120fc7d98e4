"""Invoice endpoints: list, get, create, and PDF download."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from billing.invoice_service import InvoiceFilter, create_invoice, get_invoice, list_invoices
from billing.pdf import render_invoice_pdf

invoices_bp = Blueprint("invoices", __name__, url_prefix="/api/invoices")


def _repo():  # type: ignore[no-untyped-def]
    return current_app.extensions["invoice_repository"]


@invoices_bp.get("")
def list_invoices_route():  # type: ignore[no-untyped-def]
    """List invoices, filtered and paginated."""
    settings = current_app.config["SETTINGS"]
    filters = InvoiceFilter(
        status=request.args.get("status"),
        customer_id=request.args.get("customer_id", type=int),
        search=request.args.get("q"),
    )
    page = request.args.get("page", default=1, type=int)
    page_size = request.args.get("page_size", default=settings.invoice_page_size, type=int)
    result = list_invoices(_repo(), filters, page=page, page_size=page_size)
    return jsonify(result.to_dict())


@invoices_bp.get("/<int:invoice_id>")
def get_invoice_route(invoice_id: int):  # type: ignore[no-untyped-def]
    """Get one invoice with its line items."""
    return jsonify(get_invoice(_repo(), invoice_id).to_dict())


@invoices_bp.route("", methods=["POST"])
def create_invoice_route():  # type: ignore[no-untyped-def]
    """Create a draft invoice."""
    payload = request.get_json(force=True)
    invoice = create_invoice(
        _repo(),
        customer_id=int(payload["customer_id"]),
        lines=payload.get("lines", []),
        currency=current_app.config["SETTINGS"].currency,
    )
    return jsonify(invoice.to_dict()), 201


@invoices_bp.get("/<int:invoice_id>/pdf")
def invoice_pdf_route(invoice_id: int) -> Response:
    """Download an invoice as a PDF."""
    invoice = get_invoice(_repo(), invoice_id)
    return Response(
        render_invoice_pdf(invoice),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'},
    )
