"""Structured logs and the step scope every log line and model call is attributed to."""
