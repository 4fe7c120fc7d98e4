"""Composition roots: the engine wired to the adapters of one deployment
(:mod:`~ticketflow.compose.embedded`, :mod:`~ticketflow.compose.cloud`), and the
preflight pipeline (steps 1-3 and 5 alone)."""
