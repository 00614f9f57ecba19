"""A reply's messages are JSON-encoded once: the outbox row's JSON (PostgreSQL's batch INSERT,
models/outbox.py `insert_replies`) is spliced into LINE's request (bot/line_client.py `reply_call`),
and the bytes are exactly those the request would have had otherwise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.delivery import Deliverer
from bot.line_client import _json_bytes, reply_call
from messages.reminders import Item, ItemKind, Line
from messages.stored import daily_stored_json
from models.outbox import QueuedRow, _messages_json, _rows_json, _rows_json_with, reply_values
from models.types import OutboxKind

NOW = datetime(2027, 1, 5, 3, 0, tzinfo=UTC)
TOKEN = "0123456789abcdef0123456789abcdef"

MESSAGE_LISTS: list[list[dict[str, Any]]] = [
    [{"type": "text", "text": "สถานะโครงการ"}],
    [{"type": "text", "text": 'ไม่พบ "ชื่อ" \\ ค่ะ\n\t\x00\x01 /'}],
    [
        {
            "type": "text",
            "text": "a",
            "quickReply": {
                "items": [
                    {"type": "action", "action": {"type": "message", "label": "ยกเลิก", "text": "ยกเลิก"}}
                ]
            },
        },
        {
            "type": "flex",
            "altText": "สรุป",
            "contents": {
                "type": "bubble",
                "body": {"type": "box", "layout": "vertical", "contents": [], "spacing": None},
            },
        },
    ],
    [{"type": "text", "text": "emoji 😀 and a lone surrogate-free text", "n": 10**20, "f": 1.5, "t": True}],
]


@pytest.mark.parametrize("messages", MESSAGE_LISTS, ids=range(len(MESSAGE_LISTS)))
def test_a_reply_spliced_from_the_rows_json_is_the_request_encoded_anew(
    messages: list[dict[str, Any]],
) -> None:
    spliced = reply_call(TOKEN, messages, messages_json=_messages_json(messages))
    plain = reply_call(TOKEN, messages)
    assert plain.encoded is None
    assert spliced.body == plain.body
    assert (
        spliced.body_bytes() == plain.body_bytes() == _json_bytes({"replyToken": TOKEN, "messages": messages})
    )


def test_a_reply_token_is_encoded_as_json_in_the_spliced_body() -> None:
    odd = 'to"ken\\'  # not LINE's format, but the body must stay JSON whatever the token
    call = reply_call(odd, [{"type": "text", "text": "x"}], messages_json='[{"type":"text","text":"x"}]')
    assert json.loads(call.body_bytes()) == {"replyToken": odd, "messages": [{"type": "text", "text": "x"}]}


def test_the_batch_document_with_spliced_messages_reads_as_the_encoded_rows() -> None:
    rows = [
        reply_values(
            event_id=index + 1,
            webhook_event_id=f"e-{index}",
            reply_token=f"token-{index}" if index else None,
            event_time=NOW,
            to=f"U{index:032x}",
            messages=messages,
            now=NOW,
            person_ids=[index],
            claim_for="host:1" if index % 2 else None,
        )
        for index, messages in enumerate(MESSAGE_LISTS)
    ]
    texts = [_messages_json(row["messages"]) for row in rows]
    assert json.loads(_rows_json_with(rows, texts)) == json.loads(_rows_json(rows))


def _row(messages: list[Any], messages_json: str | None) -> QueuedRow:
    return QueuedRow(
        id=1,
        kind=OutboxKind.REPLY,
        recipients=["U" + "0" * 32],
        messages=messages,
        reply_token=TOKEN,
        reply_deadline=NOW + timedelta(minutes=1),
        attempts=1,
        retry_key="k",
        purpose="reply",
        ref_type=None,
        ref_id=None,
        messages_json=messages_json,
    )


def _deliverer() -> Deliverer:
    engine: Any = SimpleNamespace(dialect=SimpleNamespace(name="sqlite"))
    return Deliverer(engine, None, lambda: NOW, "host:1")  # type: ignore[arg-type]


def test_the_deliverer_sends_a_just_written_rows_json_and_not_when_a_stored_entry_was_rendered() -> None:
    messages = MESSAGE_LISTS[1]
    call, is_reply = _deliverer()._call(_row(messages, _messages_json(messages)))
    assert is_reply and call.encoded is not None
    assert call.body_bytes() == _json_bytes({"replyToken": TOKEN, "messages": messages})
    # A stored day's message is rendered to Flex for LINE: the row's own JSON (here a wrong one, to
    # tell) is not what goes out.
    items = (
        Item(
            ItemKind.REPORT_DUE,
            "2570Q1",
            (2570, 1),
            date(2027, 1, 11),
            3,
            1,
            (Line("P1", "โครงการ", "2570Q1"),),
        ),
    )
    stored = json.loads(daily_stored_json(items, date(2027, 1, 8)))
    call, _ = _deliverer()._call(_row([stored], '["not this"]'))
    assert call.encoded is None
    assert json.loads(call.body_bytes())["messages"][0]["type"] == "flex"
