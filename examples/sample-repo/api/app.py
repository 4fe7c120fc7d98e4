"""Flask application factory."""

from __future__ import annotations

from flask import Flask, jsonify

from api.routes.customers import customers_bp
from api.routes.invoices import invoices_bp
from api.settings import load_settings
from billing.repository import InvoiceRepository


def create_app() -> Flask:
    """Create the app, wire the repository and register the blueprints."""
    settings = load_settings()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.extensions["invoice_repository"] = InvoiceRepository(settings.database_url)
    app.register_blueprint(invoices_bp)
    app.register_blueprint(customers_bp)

    @app.get("/api/health")
    def health() -> tuple[dict[str, str], int]:
        """Liveness probe."""
        return {"status": "ok"}, 200

    @app.errorhandler(LookupError)
    def not_found(exc: LookupError):  # type: ignore[no-untyped-def]
        return jsonify(error=str(exc)), 404

    return app
