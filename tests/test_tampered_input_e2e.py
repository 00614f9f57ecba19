"""Tampered postbacks and LINE ids at the real edges (issue 13, items 8 and 9): signed webhooks into
/callback, the worker, replies out to the fake LINE platform; both backends.

Each tampered input must get a polite answer (never the generic apology of a failed event), leave the
form in progress as it was, and put nothing but a LINE message id into a URL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select
from support import make_settings, running_service, seed_office

from fakeline import sign
from messages import chat as chat_text
from models import Conversation, Person, WebhookEvent
from models.types import EventStatus
from scheduler.clock import FixedClock

pytestmark = pytest.mark.usefixtures("fake_line")

# Fiscal year 2569 BE, its first quarter (10:00 in Bangkok): one open quarter to report on.
T0 = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
TEACHER = "U" + "a" * 32
WAIT = 15.0
APOLOGY = chat_text.something_went_wrong().text
UNKNOWN_BUTTON = chat_text.unknown_button().text
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60  # the stored photo is checked by its signature only


@pytest.fixture
def seeded(engine):
    seeded = seed_office(engine, today=T0.date())
    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        teacher.line_user_id = TEACHER
        s.add(teacher)
        s.commit()
    return seeded


@pytest.fixture
def service(db_url, fake_line, tmp_path, seeded):
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=FixedClock(T0)) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        yield


def _texts_of(messages: list[dict[str, Any]]) -> str:
    parts = []
    for message in messages:
        parts.append(str(message.get("text") or message.get("altText") or ""))
    return "\n".join(parts)


def _send(fake: Any, event: dict[str, Any], *, raw: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Send one event (signed by hand when `raw`, past the fake's own schema check) and wait for the
    answer; returns its text and its messages."""
    before = len(fake.deliveries_to(TEACHER))
    if raw:
        body = json.dumps({"destination": fake.bot_user_id, "events": [event]}).encode()
        assert fake.send_raw_sync(body, sign(fake.channel_secret, body)).status_code == 200
    else:
        assert fake.send_sync(event).status_code == 200
    deliveries = fake.wait_for(
        lambda: (d := fake.deliveries_to(TEACHER)) and len(d) > before and d[before:], timeout=WAIT
    )
    messages = [m for d in deliveries for m in d.messages]
    return _texts_of(messages), messages


def _buttons(messages: list[dict[str, Any]]) -> dict[str, str]:
    """label → postback data of every postback button in `messages`."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "postback" and "data" in node:
                found[str(node.get("label", ""))] = str(node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


def _button(messages: list[dict[str, Any]], starts: str) -> str:
    return next(data for label, data in _buttons(messages).items() if label.startswith(starts))


def _conversation(engine) -> tuple[str, dict[str, Any]]:
    with Session(engine) as s:
        row = s.exec(select(Conversation).where(Conversation.chat_key == TEACHER)).one()
        return row.step, dict(row.data.get("answers", {}))


def _statuses(engine) -> list[EventStatus]:
    with Session(engine) as s:
        return [r.status for r in s.exec(select(WebhookEvent).order_by(WebhookEvent.id))]


def _to_status_question(fake: Any, seeded: Any) -> list[dict[str, Any]]:
    _, messages = _send(fake, fake.text_event(TEACHER, "รายงานผล"))
    text, messages = _send(fake, fake.postback_event(TEACHER, _button(messages, seeded.projects[0].code)))
    assert "สถานะการดำเนินงาน" in text
    return messages


# --- item 8: tampered postbacks ---------------------------------------------------------------------


def test_tampered_postbacks_get_a_polite_refusal_and_lose_nothing(engine, seeded, service, fake_line) -> None:
    question = _to_status_question(fake_line, seeded)
    seq = _button(question, "อยู่ระหว่าง").split("|s=")[1].split("|")[0]
    step, answers = _conversation(engine)
    assert answers  # the project is chosen: something to lose

    refused = [
        "v1|report|r=²",  # "²".isdigit() is true; int("²") raises
        "v1|report|r=" + "9" * 25,  # too large for any id column
        "v1|report|r=2147483648",  # one past a 32-bit id
        "v1|ap|r=¹|n=1|d=a",
        "v1|ap|r=9223372036854775808|n=1|d=a",  # past a 64-bit integer
        "v1|ap|r=1|n=" + "9" * 20 + "|d=a",
        "v1|f|op=ans|s=²|v=x",
        "v1|f|op=ans|s=" + "9" * 30 + "|v=x",
        "v1|cmd|name=²",
        "v1|f|op=ans|s=1|s=2",  # a field given twice
        "v1|" + "x" * 400,  # longer than LINE lets a postback be
        "v2|report|r=1",
        "",
    ]
    for data in refused:
        text, _ = _send(fake_line, fake_line.postback_event(TEACHER, data))
        assert text == UNKNOWN_BUTTON, data
    # A page number in superscript digits: the question is simply asked again, from its first page.
    text, _ = _send(fake_line, fake_line.postback_event(TEACHER, f"v1|f|op=pg|s={seq}|v=²"))
    assert "สถานะการดำเนินงาน" in text and APOLOGY not in text
    # A choice typed as its number in superscript digits is no number: "not found", asked again.
    text, asked_again = _send(fake_line, fake_line.text_event(TEACHER, "²"))
    assert "ไม่พบตัวเลือก" in text and "สถานะการดำเนินงาน" in text

    assert set(_statuses(engine)) == {EventStatus.DONE}  # not one event failed
    assert _conversation(engine) == (step, answers)  # the form is where it was
    text, _ = _send(fake_line, fake_line.postback_event(TEACHER, _button(asked_again, "อยู่ระหว่าง")))
    assert "กี่เปอร์เซ็นต์" in text  # and goes on from there
    assert fake_line.violations == []


@pytest.mark.parametrize(
    "timestamp",
    [10**20, 2**63 - 1, 253_402_300_800_000, -1, 0, "1764039600000", 1.5e12],
    ids=["past-int64", "int64-max", "year-10000", "negative", "zero", "string", "float"],
)
def test_a_postback_with_an_absurd_timestamp_is_answered(
    engine, seeded, service, fake_line, timestamp
) -> None:
    event = fake_line.postback_event(TEACHER, "v1|cmd|name=status")
    event["timestamp"] = timestamp
    text, _ = _send(fake_line, event, raw=True)
    assert APOLOGY not in text
    assert "สถานะการรายงานผล" in text or "ไม่พบโครงการ" in text  # the status, as for a real tap
    assert set(_statuses(engine)) == {EventStatus.DONE}
    assert [d.kind for d in fake_line.deliveries_to(TEACHER)] == ["reply"]  # a free reply, not a push
    assert fake_line.violations == []


# --- item 9: a message id that is not one ------------------------------------------------------------


def _to_photo_question(fake: Any, seeded: Any) -> None:
    question = _to_status_question(fake, seeded)
    _send(fake, fake.postback_event(TEACHER, _button(question, "อยู่ระหว่าง")))
    for typed in ("10", "10 บาท", "1", "อบรมครู", "ข้าม"):
        _send(fake, fake.text_event(TEACHER, typed))
    text, _ = _send(fake, fake.text_event(TEACHER, "ข้าม"))
    assert "0/5" in text  # the photo question


@pytest.mark.parametrize(
    "message_id",
    [
        "../../../v2/bot/info?x=",
        "../../info?x=",
        "1/../../../v2/bot/info",
        "12345?x=1",
        "1" * 21,
        "",
        "１２３",
    ],
)
def test_an_image_whose_message_id_is_not_one_is_refused_before_any_request(
    engine, seeded, service, fake_line, message_id
) -> None:
    _to_photo_question(fake_line, seeded)
    step, answers = _conversation(engine)
    requests_before = len(fake_line.requests)
    event = fake_line.image_event(TEACHER, JPEG)
    event["message"]["id"] = message_id
    text, _ = _send(fake_line, event, raw=True)
    assert "อ่านรูปนี้ไม่ได้" in text and "0/5" in text  # refused politely, and asked again
    paths = [r.path for r in fake_line.requests[requests_before:]]
    assert not [p for p in paths if "/content" in p or "info" in p], (
        paths
    )  # nothing fetched, nothing else hit
    assert _conversation(engine) == (step, answers)
    assert set(_statuses(engine)) == {EventStatus.DONE}
    text, _ = _send(fake_line, fake_line.image_event(TEACHER, JPEG))  # a real photo still goes in
    assert "รูปที่ 1" in text
    assert fake_line.violations == []
