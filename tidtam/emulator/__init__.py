"""Tidtam's LINE emulator: LINE's platform on this machine, for the demo and the test suite.

    from tidtam.emulator import LineEmulator

    with LineEmulator(webhook_url="http://127.0.0.1:8000/callback") as line:
        ...  # point the product at line.base_url (Messaging API and data API alike)
        line.user_says(user_id, "สวัสดี")  # a signed webhook to the product
        line.conversation(user_id)  # both sides of the chat, refused requests included

Requests are checked against LINE's OpenAPI spec (``spec/``, Apache-2.0, see ``spec/NOTICE``)
and LINE's documented limits (``rules.py``, ``limits.py``); see ``emulator.py`` for the
behaviour and ``records.py`` for what it records.
"""

from .emulator import DEFAULT_ACCESS_TOKEN, DEFAULT_CHANNEL_SECRET, KINDS, Fault, LineEmulator, Quota
from .events import WebhookPayloadError, chat_of, sign
from .ids import new_group_id, new_room_id, new_user_id
from .records import ChatTurn, Delivery, LoadingShown, RecordedRequest, Refusal, UserTurn
from .rules import (
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_ACCEPTED,
    Refused,
)
from .schemas import SPEC_DIR, messaging_spec, webhook_errors, webhook_spec

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_CHANNEL_SECRET",
    "KINDS",
    "MSG_FAILED_TO_SEND",
    "MSG_INVALID_REPLY_TOKEN",
    "MSG_MONTHLY_LIMIT",
    "MSG_RATE_LIMIT",
    "MSG_RETRY_KEY_ACCEPTED",
    "SPEC_DIR",
    "ChatTurn",
    "Delivery",
    "Fault",
    "LineEmulator",
    "LoadingShown",
    "Quota",
    "RecordedRequest",
    "Refusal",
    "Refused",
    "UserTurn",
    "WebhookPayloadError",
    "chat_of",
    "messaging_spec",
    "new_group_id",
    "new_room_id",
    "new_user_id",
    "sign",
    "webhook_errors",
    "webhook_spec",
]
