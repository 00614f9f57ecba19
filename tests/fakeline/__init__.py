"""A fake LINE platform for Tidtam's tests, demo and benchmarks.

    from fakeline import FakeLine

    with FakeLine(webhook_url="http://127.0.0.1:8000/callback") as fake:
        ...  # point the product at fake.base_url (Messaging API and data API alike)

Requests are checked against LINE's OpenAPI spec (``spec/``, Apache-2.0, see ``spec/NOTICE``)
and LINE's documented limits; see ``fake.py`` for the behaviour and ``pytest_plugin.py`` for the
``fake_line`` fixture.
"""

from .events import WebhookPayloadError, sign
from .fake import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CHANNEL_SECRET,
    KINDS,
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_ACCEPTED,
    Delivery,
    FakeLine,
    Fault,
    RecordedRequest,
)
from .guard import block_line_hosts
from .ids import new_group_id, new_room_id, new_user_id
from .schemas import messaging_spec, webhook_errors, webhook_spec

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
