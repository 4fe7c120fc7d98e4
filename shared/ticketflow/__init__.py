"""ticketflow: durable, human-in-the-loop ticket generation."""

__version__ = "0.1.0"
