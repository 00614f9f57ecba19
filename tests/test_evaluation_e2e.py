"""A campaign end to end through the webhook and the LINE emulator: `tidtam campaign start` sends a
questionnaire to 60 teachers of a generated office; some answer (every question kind, invalid answers
corrected, a pause and a revision); the daily tick reminds the rest and closes the campaign on its
date; the results equal a direct computation from the answers given."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from evaluation_chat import Teacher
from openpyxl import load_workbook
from scheduler_office import generate_office, line_user_id
from sqlmodel import Session, col, select
from support import make_settings, running_service
from typer.testing import CliRunner

from bot.delivery import Deliverer
from bot.line_client import LineClient
from messages import evaluation as txt
from models.campaigns import campaign_results
from models.evaluation import Campaign, CampaignAnswer, CampaignRecipient, CampaignStatus
from models.org import Office, Person
from scheduler.clock import FixedClock
from scheduler.dispatch import Dispatcher
from scheduler.service import tick_setup
from scheduler.tick import run_tick

BANGKOK = ZoneInfo("Asia/Bangkok")
CHOICES = ("หนังสือราชการ", "LINE", "เว็บไซต์", "การประชุม")
TOPICS = ("งบประมาณ", "ตัวชี้วัด", "ปฏิทินงาน")
FORM = f"""\
title: แบบประเมินความพึงพอใจต่อการขับเคลื่อนแผนปฏิบัติการ ปีงบประมาณ 2570
intro: ขอความร่วมมือตอบแบบประเมิน ใช้เวลาประมาณ 3 นาทีค่ะ
questions:
  - {{key: clarity, kind: rating, text: ความชัดเจนของแผน}}
  - {{key: channel, kind: choice, text: ช่องทางที่ได้รับข้อมูลมากที่สุด, choices: [{", ".join(CHOICES)}]}}
  - {{key: topics, kind: multi, text: เรื่องที่อยากให้ชี้แจงเพิ่ม, choices: [{", ".join(TOPICS)}], required: false}}
  - {{key: hours, kind: number, text: ชั่วโมงที่ใช้กับงานแผนต่อเดือน, min: 0, max: 100, unit: ชั่วโมง}}
  - {{key: comment, kind: text, text: ข้อเสนอแนะเพิ่มเติม, required: false, when: clarity <= 2}}
"""
OPENS, REMIND, CLOSES = date(2027, 9, 6), date(2027, 9, 14), date(2027, 9, 17)
ANSWERING = 20


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BANGKOK).astimezone(UTC)


def expected_answers(i: int) -> dict[str, Any]:
    answers: dict[str, Any] = {"clarity": 1 + i % 5, "channel": CHOICES[i % 4]}
    if i % 3 == 1:
        answers["topics"] = [TOPICS[0], TOPICS[2]]
    elif i % 3 == 2:
        answers["topics"] = [TOPICS[1]]
    answers["hours"] = str(i + 1)
    if answers["clarity"] <= 2:
        answers["comment"] = f"ควรชี้แจงแผนให้ชัดขึ้น ข้อ {i}"
    return answers


def answer_by_typing(teacher: Teacher, i: int) -> None:
    answers = expected_answers(i)
    assert "(1/" in teacher.say("แบบประเมิน")
    if i == 5:
        assert "(1/" in teacher.say("แบบประเมิน")  # again: the same question, nothing answered
    if i == 4:  # another menu word in the middle: the questionnaire keeps the chat, and says so
        busy = teacher.say("รายงานผล")
        assert "กำลังตอบแบบประเมินอยู่" in busy and "ความชัดเจนของแผน" in busy
    if i == 3:  # a photo in the middle: not taken, and the question is asked again
        again = teacher._send(teacher.fake.image_event(teacher.user, b"\x89PNG\r\n\x1a\n", "image/png"))
        assert "ความชัดเจนของแผน" in again
    teacher.say(str(answers["clarity"]))
    teacher.say(str(CHOICES.index(answers["channel"]) + 1))
    topics = answers.get("topics")
    teacher.say(",".join(str(TOPICS.index(t) + 1) for t in topics) if topics else "ข้าม")
    reply = teacher.say(f"{answers['hours']} ชั่วโมง")
    if "comment" in answers:
        reply = teacher.say(answers["comment"])
    assert "ทบทวนคำตอบ" in reply
    assert "ส่งคำตอบแล้ว" in teacher.say("ส่ง")


@pytest.fixture
def office(engine):  # type: ignore[no-untyped-def]
    return generate_office(engine, schools=15, teachers_per_school=4, projects_per_school=1)


def dispatch(engine, settings, clock) -> None:  # type: ignore[no-untyped-def]
    client = LineClient(
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        timeout=5,
    )
    try:
        Dispatcher(engine, Deliverer(engine, client, clock.now, "test"), clock, settings.tz).drain()
    finally:
        client.close()


def cli_env(monkeypatch, settings, now: str) -> None:  # type: ignore[no-untyped-def]
    for name, value in {
        "TIDTAM_DATABASE_URL": settings.database_url,
        "LINE_CHANNEL_SECRET": settings.line_channel_secret.get_secret_value(),
        "LINE_CHANNEL_ACCESS_TOKEN": settings.line_channel_access_token.get_secret_value(),
        "LINE_API_BASE_URL": settings.line_api_base_url,
        "LINE_DATA_API_BASE_URL": settings.line_data_api_base_url,
        "TIDTAM_MONTHLY_MESSAGE_QUOTA": "1000",
        "TIDTAM_NOW": now,
    }.items():
        monkeypatch.setenv(name, value)


def test_a_campaign_to_sixty_teachers_from_start_to_results(
    engine, db_url, office, fake_line, tmp_path, monkeypatch
):
    from tidtam.cli import app

    settings = make_settings(db_url, fake_line, tmp_path, TIDTAM_MONTHLY_MESSAGE_QUOTA=1000)
    with Session(engine) as s:
        teachers = list(
            s.exec(select(Person).where(col(Person.roles) == "reporter").order_by(col(Person.id)))
        )
    assert len(teachers) == 60
    for t in teachers:
        fake_line.add_user(t.full_name, user_id=line_user_id(t.id or 0))
    form = tmp_path / "satisfaction.yaml"
    form.write_text(FORM, encoding="utf-8")

    # --- start: the command's last line is the id; invitations are queued at once ------------------
    cli_env(monkeypatch, settings, "2027-09-06T10:00")
    started = CliRunner().invoke(
        app,
        [
            "campaign",
            "start",
            str(form),
            "--to",
            "reporter",
            "--opens",
            "2027-09-06",
            "--closes",
            "2027-09-17",
            "--remind",
            "2027-09-14",
        ],
    )
    assert started.exit_code == 0, started.output
    campaign_id = int(started.output.strip().splitlines()[-1])
    assert "ถึงผู้รับ 60 คน" in started.output and "ส่งคำเชิญแล้ว 60 คน" in started.output

    clock = FixedClock(at(OPENS) + timedelta(minutes=5))  # the command ran on a clock started at 10:00
    fake_line.clock = clock.now  # events carry the service's time, so reply tokens are fresh
    dispatch(engine, settings, clock)
    invitations = [fake_line.messages_to(line_user_id(t.id or 0)) for t in teachers]
    assert all(len(m) == 1 and "แบบประเมิน" in m[0]["altText"] for m in invitations)

    chats = [Teacher(fake_line, line_user_id(t.id or 0)) for t in teachers]
    expected: dict[int, dict[str, Any]] = {}
    with running_service(settings, clock=clock) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"

        # Teacher 0 taps the invitation and gets every kind of wrong answer corrected.
        first = chats[0]
        assert "(1/4) ความชัดเจนของแผน" in first.tap("เริ่มตอบแบบประเมิน", invitations[0])
        assert "กรุณาตอบเป็นคะแนน 1 ถึง 5" in first.say("6")
        assert "ช่องทางที่ได้รับข้อมูลมากที่สุด" in first.say("๑")
        assert "ไม่พบตัวเลือกนี้ค่ะ" in first.say("โทรศัพท์")
        assert "เรื่องที่อยากให้ชี้แจงเพิ่ม" in first.tap("หนังสือราชการ")
        assert "ชั่วโมงที่ใช้กับงานแผนต่อเดือน" in first.tap("ข้าม")
        assert "อ่านตัวเลขนี้ไม่ออก" in first.say("สิบสอง")
        assert "ตัวเลขต้องไม่เกิน 100 ค่ะ" in first.say("150")
        assert "ข้อเสนอแนะเพิ่มเติม" in first.say("1 ชั่วโมง")
        review = first.say(expected_answers(0)["comment"])
        assert "ทบทวนคำตอบ" in review and "1 (น้อยที่สุด)" in review
        assert "ส่งคำตอบแล้ว" in first.tap("ส่งคำตอบ")
        expected[0] = expected_answers(0)

        # Teacher 1 pauses after one answer; nothing is lost when they come back.
        second = chats[1]
        second.say("แบบประเมิน")
        second.say("2")
        assert "พักแบบประเมินไว้ก่อนแล้ว" in second.say("ยกเลิก")
        assert "ช่องทางที่ได้รับข้อมูลมากที่สุด" in second.say("แบบประเมิน")
        answers = expected_answers(1)
        second.say(str(CHOICES.index(answers["channel"]) + 1))
        second.say("1 3")
        second.say(answers["hours"])
        assert "ทบทวนคำตอบ" in second.say(answers["comment"])
        second.say("ส่ง")
        expected[1] = answers

        for i in range(2, ANSWERING):
            answer_by_typing(chats[i], i)
            expected[i] = expected_answers(i)

        # Teacher 2 revises: the review comes first, then the edited question.
        third = chats[2]
        assert "ส่งคำตอบไว้แล้วเมื่อ" in third.say("แบบประเมิน")
        assert "แก้ไขข้อไหน" in third.say("แก้ไข")
        assert "ความชัดเจนของแผน" in third.say("1")
        assert "ทบทวนคำตอบ" in third.say("5")
        assert "บันทึกคำตอบที่แก้ไขแล้ว" in third.say("ส่ง")
        expected[2] = {**expected_answers(2), "clarity": 5}

        # --- the reminder: the tick on its day reminds only those who have not answered ----------
        setup = tick_setup(settings)
        clock.set(at(REMIND, 8))
        assert run_tick(engine, FixedClock(at(REMIND, 8)), setup, day=REMIND).ran
        dispatch(engine, settings, clock)
        reminded = [
            i
            for i, t in enumerate(teachers)
            if any(
                "เตือน: แบบประเมิน" in m.get("altText", "")
                for m in fake_line.messages_to(line_user_id(t.id or 0))
            )
        ]
        assert reminded == list(range(ANSWERING, 60))

        # --- the close: the first tick after the last day closes it; old buttons say so ------------
        closing_day = date(2027, 9, 20)
        clock.set(at(closing_day, 8))
        assert run_tick(engine, FixedClock(at(closing_day, 8)), setup, day=closing_day).ran
        with Session(engine) as s:
            assert s.get(Campaign, campaign_id).status == CampaignStatus.CLOSED
        late = chats[50]
        clock.set(at(closing_day, 10))
        assert "ปิดรับคำตอบแล้ว" in late.tap("เริ่มตอบแบบประเมิน", invitations[50])
        assert txt.nothing_open().text in late.say("แบบประเมิน")

    # --- results equal a direct computation -------------------------------------------------------
    with Session(engine) as s:
        stored = {
            a.person_id: a.answers
            for a in s.exec(select(CampaignAnswer).where(CampaignAnswer.campaign_id == campaign_id))
        }
        assert stored == {teachers[i].id: answers for i, answers in expected.items()}
        assert (
            s.exec(select(CampaignRecipient).where(col(CampaignRecipient.answered_at).is_not(None)))
            .all()
            .__len__()
            == ANSWERING
        )
        results = campaign_results(s, campaign_id)
        codes = {o.id: o.code for o in s.exec(select(Office))}
    assert results is not None and (results.recipients, results.answered) == (60, ANSWERING)
    assert results.rate == Decimal("33.33")
    answered_schools = Counter(codes[teachers[i].office_id] for i in expected)
    assert [(o.code, o.recipients, o.answered) for o in results.by_office] == [
        (codes[school], 4, answered_schools.get(codes[school], 0)) for school in office.school_ids
    ]
    by_key = {r.question.key: r for r in results.questions}
    ratings = [a["clarity"] for a in expected.values()]
    assert dict(by_key["clarity"].distribution) == {str(v): ratings.count(v) for v in range(1, 6)}
    assert by_key["clarity"].mean == (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"))
    assert by_key["clarity"].median == Decimal(str(statistics.median(ratings))).quantize(Decimal("0.01"))
    assert dict(by_key["channel"].distribution) == {
        c: sum(a["channel"] == c for a in expected.values()) for c in CHOICES
    }
    assert dict(by_key["topics"].distribution) == {
        t: sum(t in a.get("topics", []) for a in expected.values()) for t in TOPICS
    }
    hours = [Decimal(a["hours"]) for a in expected.values()]
    assert by_key["hours"].mean == (sum(hours) / len(hours)).quantize(Decimal("0.01"))
    assert sorted(by_key["comment"].texts) == sorted(
        a["comment"] for a in expected.values() if "comment" in a
    )

    out = tmp_path / "ผล.xlsx"
    written = CliRunner().invoke(app, ["campaign", "results", str(campaign_id), "--out", str(out)])
    assert written.exit_code == 0, written.output
    summary = list(load_workbook(out)[txt.RESULTS_SUMMARY_SHEET].iter_rows(values_only=True))
    assert summary[-1][1:] == (txt.ALL_OFFICES, 60, ANSWERING, 33.33)
    listing = list(load_workbook(out)[txt.RESULTS_ANSWERS_SHEET].iter_rows(values_only=True))
    assert listing[0][:3] == txt.ANSWER_IDENTITY_HEADERS and len(listing) == ANSWERING + 1
    hidden = tmp_path / "ผล-ไม่ระบุชื่อ.xlsx"
    assert (
        CliRunner()
        .invoke(app, ["campaign", "results", str(campaign_id), "--out", str(hidden), "--anonymous"])
        .exit_code
        == 0
    )
    header = next(load_workbook(hidden)[txt.RESULTS_ANSWERS_SHEET].iter_rows(values_only=True))
    assert txt.ANSWER_IDENTITY_HEADERS[0] not in header
