"""The terminal front door: ``ticketflow`` (entry point :data:`ticketflow.cli.main.app`)."""
