"""The test suite's name for the product's LINE emulator (``tidtam.emulator``).

``FakeLine`` is :class:`tidtam.emulator.LineEmulator`; this package adds only what is for tests:
the ``fake_line`` fixture (``pytest_plugin.py``) and the guard that keeps the suite off LINE's
real hosts (``guard.py``). Every check of what LINE refuses lives in the product module.
"""

from tidtam.emulator import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CHANNEL_SECRET,
    KINDS,
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_ACCEPTED,
    Delivery,
    Fault,
    LineEmulator,
    RecordedRequest,
    WebhookPayloadError,
    messaging_spec,
    new_group_id,
    new_room_id,
    new_user_id,
    sign,
    webhook_errors,
    webhook_spec,
)

from .guard import block_line_hosts

FakeLine = LineEmulator

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_CHANNEL_SECRET",
    "KINDS",
    "MSG_FAILED_TO_SEND",
    "MSG_INVALID_REPLY_TOKEN",
    "MSG_MONTHLY_LIMIT",
    "MSG_RATE_LIMIT",
    "MSG_RETRY_KEY_ACCEPTED",
    "Delivery",
    "FakeLine",
    "Fault",
    "LineEmulator",
    "RecordedRequest",
    "WebhookPayloadError",
    "block_line_hosts",
    "messaging_spec",
    "new_group_id",
    "new_room_id",
    "new_user_id",
    "sign",
    "webhook_errors",
    "webhook_spec",
]
