"""Issue 13 (3): the log is JSON lines and carries no personal data at any level.

The redacting filter is tested on its own, and then the log of a whole quarter of real use (linking by
code, a report with a photo, a return with a reason, a revision, an approval, a planning-group chat,
the day's reminders pushed) at DEBUG is searched for every personal value the quarter used.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from support import make_settings, running_service, seed_office
from test_report_e2e import JPEG, Chat

from bot.delivery import Deliverer
from bot.line_client import LineClient
from models.linking import create_link_code
from scheduler.clock import FixedClock
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, run_tick
from scheduler.workdays import WorkCalendar
from tidtam.logs import configure_logging, redact

TZ = ZoneInfo("Asia/Bangkok")
TEACHER, DIRECTOR, PLANNER = ("U" + c * 32 for c in "abc")
GROUP = "C" + "d" * 32


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("profile of Uabcdefabcdefabcdefabcdefabcdefab fetched", "Uabcdefabcdefabcdefabcdefabcdefab"),
        ("group Cdeadbeefdeadbeefdeadbeefdeadbeef bound", "Cdeadbeefdeadbeefdeadbeefdeadbeef"),
        ("reply token 0f1e2d3c4b5a69788796a5b4c3d2e1f0 used", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ("typed ABCD-2345 as a code", "ABCD-2345"),
        ("typed abcd2345 as a code", "abcd2345"),
        ("typed ABCDEFGH as a code", "ABCDEFGH"),
        ("typed abcd 2345 as a code", "abcd 2345"),
        ("name นางสาวใจดี มีสุข in a message", "ใจดี"),
        ("mail somchai@school.ac.th or call 081-234-5678", "somchai@school.ac.th"),
        ("mail somchai@school.ac.th or call 081-234-5678", "081-234-5678"),
    ],
)
def test_redact_removes_each_kind_of_personal_value(line: str, secret: str) -> None:
    assert secret not in redact(line)


def test_redact_keeps_the_logs_own_words() -> None:
    for line in (
        "event 12 (message) failed on attempt 1 of 3 (RuntimeError); trying again in 1 s",
        'HTTP Request: POST http://127.0.0.1:8000/v2/bot/message/reply "HTTP/1.1 200 OK"',
        "webhook flood began: handling held (1200 events/s arriving, 300 in hand)",
        "storing a webhook request failed: database unreachable",
        "Scheduler has been shut down",
    ):
        assert redact(line) == line


def test_json_lines_keep_an_exceptions_type_and_frames_but_not_its_text() -> None:
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream)
    try:
        try:
            raise ValueError("input_value='นางสาวใจดี มีสุข' userId=U" + "e" * 32)
        except ValueError:
            logging.getLogger("tidtam.test").exception("handling event %s failed for %s", 7, "U" + "f" * 32)
    finally:
        logging.getLogger().removeHandler(handler)
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "tidtam.test" in x]
    assert line["level"] == "ERROR" and line["logger"] == "tidtam.test"
    assert line["msg"] == "handling event 7 failed for [line-id]"
    assert line["exc"]["type"] == "ValueError"
    assert any("test_log_privacy.py" in frame for frame in line["exc"]["where"])
    assert "ใจดี" not in stream.getvalue() and "e" * 32 not in stream.getvalue()


def test_a_quarter_of_use_leaves_no_personal_data_in_the_log(db_url, engine, fake_line, tmp_path) -> None:
    """Everything a quarter involves, logged at DEBUG, then searched for every personal value."""
    now = datetime(2027, 1, 5, 10, 0, tzinfo=TZ)
    clock = FixedClock(now)
    seeded = seed_office(engine, today=now.date(), projects_for_teacher=1)
    with Session(engine) as s:
        codes = {
            who: create_link_code(s, now=now.astimezone(UTC), created_by="test", person=person)
            for who, person in (("teacher", seeded.teacher), ("director", seeded.director))
        }
        codes["group"] = create_link_code(
            s, now=now.astimezone(UTC), created_by="test", office=seeded.planning
        )
        s.commit()
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream)
    reason = "ขาดรูปหลักฐานการอบรมครูครั้งที่สอง"
    typed = ["อบรมครู ๒ ครั้ง", "ควรเพิ่มงบประมาณ", reason]
    try:
        settings = make_settings(db_url, fake_line, tmp_path)
        with running_service(settings, clock=clock) as base_url:
            fake_line.webhook_url = f"{base_url}/callback"
            teacher, director = Chat(fake_line, TEACHER), Chat(fake_line, DIRECTOR)
            teacher._send(fake_line.follow_event(TEACHER))  # waits for the greeting
            assert "ลงทะเบียนสำเร็จ" in teacher.say(f"ลงทะเบียน {codes['teacher'].lower()}")
            assert "ลงทะเบียนสำเร็จ" in director.say(codes["director"])
            fake_line.send_sync(fake_line.join_event(GROUP))
            fake_line.send_sync(fake_line.group_text_event(GROUP, PLANNER, codes["group"]))
            fake_line.wait_for(lambda: fake_line.texts_to(GROUP), timeout=15)

            _open_report(teacher)
            _fill(teacher, typed, photo=True)
            assert "เรียบร้อย" in teacher.tap("ยืนยันส่ง")

            card = _wait_card(fake_line, DIRECTOR, 1)
            director.postback(_button(card, "ส่งกลับแก้ไข"))
            assert "ส่งกลับรายงาน" in director.say(reason)
            notice = fake_line.wait_for(
                lambda: [t for t in fake_line.texts_to(TEACHER) if reason in t], timeout=15
            )
            assert notice
            _open_report(teacher)
            if "ยืนยันส่ง" not in [b.get("label") for b in teacher.buttons()]:
                _fill(teacher, typed, photo=False)
            teacher.tap("ยืนยันส่ง")
            card = _wait_card(fake_line, DIRECTOR, 2)
            assert "อนุมัติ" in director.postback(_button(card, "อนุมัติ"))
            teacher.say("สถานะ")

        # The day's reminders, planned and pushed (the second quarter's report is not in yet).
        day = datetime(2027, 4, 7, 8, 30, tzinfo=TZ)
        setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=0)
        run_tick(engine, FixedClock(day), setup)
        line = LineClient(
            access_token=fake_line.access_token,
            api_base_url=fake_line.base_url,
            data_api_base_url=fake_line.base_url,
        )
        try:
            Deliverer(engine, line, FixedClock(day + timedelta(hours=1)).now, "test:1").deliver_due(limit=500)
        finally:
            line.close()
    finally:
        logging.getLogger().removeHandler(handler)
    log = stream.getvalue()
    lines = [json.loads(x) for x in log.splitlines()]
    assert len(lines) > 50 and any("/v2/bot/message/" in x["msg"] for x in lines)  # the log was written
    secrets = [
        TEACHER,
        DIRECTOR,
        PLANNER,
        GROUP,
        seeded.teacher.full_name,
        seeded.director.full_name,
        seeded.planner.full_name,
        *codes.values(),
        *(f"{c[:4]}-{c[4:]}" for c in codes.values()),
        *typed,
        *fake_line._tokens,  # every reply token LINE issued
        fake_line.access_token,
    ]
    leaked = [s for s in secrets if s and s in log]
    assert leaked == []
    assert not any("\u0e00" <= ch <= "\u0e7f" for ch in log)  # no Thai at all: names, texts, offices


def _open_report(teacher: Chat) -> None:
    """Start the quarterly report of the teacher's one project for the first quarter."""
    teacher.say("รายงานผล")
    first = [b["label"] for b in teacher.buttons() if str(b.get("label", "")).startswith("ไตรมาส 1/2570")]
    if first:
        teacher.tap(first[0])


def _fill(teacher: Chat, typed: list[str], *, photo: bool) -> None:
    """Answer the report form from its first question to its summary."""
    teacher.tap("อยู่ระหว่างดำเนินการ")
    teacher.say("๕๐ %")
    teacher.say("๑๒๐,๐๐๐ บาท")
    teacher.say("๘๐ คน")
    teacher.say(typed[0])
    teacher.say("ไม่มี")
    teacher.say(typed[1])
    if photo:
        teacher.image(JPEG)
    teacher.tap("เสร็จ")


def _wait_card(fake, user: str, count: int):  # type: ignore[no-untyped-def]
    def cards():  # type: ignore[no-untyped-def]
        found = [
            d
            for d in fake.deliveries_to(user)
            if d.kind == "push"
            and d.messages[0].get("type") == "flex"
            and "footer" in d.messages[0]["contents"]
        ]
        return len(found) >= count and found

    return fake.wait_for(cards, timeout=20)[count - 1]


def _button(card, label: str) -> str:  # type: ignore[no-untyped-def]
    footer = card.messages[0]["contents"]["footer"]["contents"]
    return next(b["action"]["data"] for b in footer if b["action"]["label"] == label)
