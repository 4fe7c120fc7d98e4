"""Local stand-ins for outside services, used by the unit and contract tests."""

from .fake_messages_api import FakeMessagesAPI, Fault, RecordedRequest

__all__ = ["FakeMessagesAPI", "Fault", "RecordedRequest"]
