"""Configuration, read once from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    smtp_host: str
    smtp_port: int
    smtp_sender: str
    invoice_page_size: int
    currency: str


def load_settings() -> Settings:
    """Build the settings from the environment (see `.env.example`)."""
    return Settings(
        database_url=os.environ.get("DATABASE_URL", "sqlite:///ledgerly.db"),
        smtp_host=os.getenv("SMTP_HOST", "localhost"),
        smtp_port=int(os.getenv("SMTP_PORT", "25")),
        smtp_sender=os.environ.get("SMTP_SENDER", "billing@ledgerly.example"),
        invoice_page_size=int(os.environ.get("INVOICE_PAGE_SIZE", "25")),
        currency=os.environ.get("CURRENCY", "EUR"),
    )
