"""The quarterly report form end to end: whole conversations over HTTP through the fake LINE platform.

Each test is one focused conversation: webhook events in (text, postback taps, images), replies out to
the fake, which checks every request against LINE's spec (Flex included) and fails the test on any
violation. The service runs on a fixed clock in a past fiscal year, so reply tokens stay fresh and the
quarters are known.
"""

from __future__ import annotations

import struct
import threading
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, col, select
from support import make_settings, running_service, seed_office

from models import FiscalYear, Person, Project, ProjectOwner, ReportingPeriod
from models.reporting import submit_report
from models.reports import ApprovalDecision, EvidencePhoto, IndicatorResult, ProgressReport, ReportVersion
from models.types import DecisionChannel, DecisionOutcome, ReportStatus
from scheduler.clock import FixedClock

pytestmark = pytest.mark.usefixtures("fake_line")

# Fiscal year 2569 BE (Oct 2025 – Sep 2026): a time in its first and in its second quarter, 10:00 Bangkok.
Q1_TIME = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
Q2_TIME = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
TEACHER = "U" + "a" * 32
OTHER = "U" + "b" * 32

# --- tiny real images -------------------------------------------------------------------------------


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


# A 1×1 baseline JPEG (the smallest well-formed one, as produced by common encoders).
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a"
    "1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc400"
    "1f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01"
    "020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738"
    "393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3"
    "a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9"
    "faffda0008010100003f00fbd3ffd9"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# --- a person chatting with the bot ------------------------------------------------------------------


def _actions(node: Any) -> list[dict[str, Any]]:
    """Every action object in a message (quick reply items, Flex buttons), in document order."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") in ("postback", "message", "camera", "cameraRoll", "uri") and "label" in node:
            found.append(node)
        for value in node.values():
            found += _actions(value)
    elif isinstance(node, list):
        for value in node:
            found += _actions(value)
    return found


def _text_of(message: dict[str, Any]) -> str:
    if message.get("type") == "text":
        return str(message["text"])
    parts = [str(message.get("altText", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and "text" in node:
                parts.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("contents"))
    return "\n".join(parts)


class Chat:
    """One LINE user talking to the product: every call sends one event and waits for its reply."""

    def __init__(self, fake: Any, user: str) -> None:
        self.fake = fake
        self.user = user
        self.last: list[dict[str, Any]] = []

    def _send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        before = len(self.fake.deliveries_to(self.user))
        assert self.fake.send_sync(event).status_code == 200
        deliveries = self.fake.wait_for(
            lambda: (d := self.fake.deliveries_to(self.user)) and len(d) > before and d, timeout=15
        )
        self.last = [m for d in deliveries[before:] for m in d.messages]
        return self.last

    def say(self, text: str) -> str:
        self._send(self.fake.text_event(self.user, text))
        return self.text

    def postback(self, data: str) -> str:
        self._send(self.fake.postback_event(self.user, data))
        return self.text

    def image(self, content: bytes, content_type: str = "image/jpeg") -> str:
        self._send(self.fake.image_event(self.user, content, content_type))
        return self.text

    @property
    def text(self) -> str:
        return "\n".join(_text_of(m) for m in self.last)

    def buttons(self) -> list[dict[str, Any]]:
        return _actions(self.last)

    def button(self, label: str, *, value: str | None = None) -> str:
        """The postback data of the button labelled `label` (and carrying `v=value`) in the last reply."""
        for action in self.buttons():
            data = action.get("data", "")
            if action.get("label") == label and (value is None or f"|v={value}" in data):
                return str(data)
        raise AssertionError(f"no button {label!r} in {[a.get('label') for a in self.buttons()]}")

    def tap(self, label: str, *, value: str | None = None) -> str:
        return self.postback(self.button(label, value=value))

    def quick_reply_count(self) -> int:
        return max((len((m.get("quickReply") or {}).get("items", [])) for m in self.last), default=0)


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(Q1_TIME)


@pytest.fixture
def settings(db_url, fake_line, tmp_path):
    return make_settings(db_url, fake_line, tmp_path, TIDTAM_SCHEDULER_ENABLED=False)


@pytest.fixture
def start_service(settings, fake_line, clock):
    def start():  # type: ignore[no-untyped-def]
        service = running_service(settings, clock=clock)
        base_url = service.__enter__()
        fake_line.webhook_url = f"{base_url}/callback"
        return service

    return start


@pytest.fixture
def service(start_service):
    service = start_service()
    yield service
    service.__exit__(None, None, None)


def _seed(engine, today: date, projects: int = 2):  # type: ignore[no-untyped-def]
    seeded = seed_office(engine, today=today, projects_for_teacher=projects)
    _link(engine, seeded.teacher.id, TEACHER)
    return seeded


def _link(engine, person_id: int, user: str) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        person = s.get(Person, person_id)
        person.line_user_id = user
        s.add(person)
        s.commit()


@pytest.fixture
def seeded(engine):
    return _seed(engine, Q1_TIME.date())


@pytest.fixture
def chat(fake_line) -> Chat:
    return Chat(fake_line, TEACHER)


def _versions(engine, project_id: int) -> list[ReportVersion]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        statement = (
            select(ReportVersion)
            .join(ProgressReport, col(ProgressReport.id) == col(ReportVersion.report_id))
            .where(ProgressReport.project_id == project_id)
            .order_by(col(ReportVersion.version))
        )
        return list(s.exec(statement))


def _report(engine, project_id: int) -> ProgressReport | None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(ProgressReport).where(ProgressReport.project_id == project_id)).first()


def _answer_rest(chat: Chat) -> str:
    """From the status question of a one-indicator project to the summary, with Thai digits throughout."""
    assert "กี่เปอร์เซ็นต์" in chat.tap("อยู่ระหว่างดำเนินการ")
    assert "เบิกจ่าย" in chat.say("๕๐ %")
    assert "ค่าเป้าหมาย 100 คน" in chat.say("๑๒๐,๐๐๐ บาท")
    assert "กิจกรรม" in chat.say("๘๐ คน")
    assert "ปัญหาอุปสรรค" in chat.say("อบรมครู ๒ ครั้ง")
    assert "ข้อเสนอแนะ" in chat.say("ข้าม")
    assert "รูปหลักฐาน" in chat.say("ควรเพิ่มงบประมาณ")
    return chat.say("เสร็จ")


# --- the happy path, with photos and Thai digits -----------------------------------------------------


def test_happy_path_with_photos_thai_digits_and_what_happens_next(
    engine, seeded, service, chat, fake_line, settings
):
    first = chat.say("รายงานผล")
    assert "โครงการไหน" in first
    assert chat.quick_reply_count() <= 13
    for project in seeded.projects:
        assert project.code in first
    assert "สถานะการดำเนินงาน" in chat.tap(
        f"{seeded.projects[0].code} โครงการพั…"
    )  # one open quarter: no question
    chat.tap("อยู่ระหว่างดำเนินการ")
    chat.say("๕๐ %")
    chat.say("๑๒๐,๐๐๐ บาท")
    indicator = chat.text
    assert "จำนวนนักเรียนที่เข้าร่วม" in indicator and "ค่าเป้าหมาย 100 คน" in indicator
    chat.say("๘๐ คน")
    chat.say("อบรมครู ๒ ครั้ง")
    chat.say("ไม่มี")
    photos = chat.say("ควรเพิ่มงบประมาณ")
    assert "สูงสุด 5 รูป" in photos and "0/5" in photos
    assert "รูปที่ 1" in chat.image(JPEG)
    assert "รูปที่ 2" in chat.image(png_bytes(), "image/png")
    summary = chat.tap("เสร็จ")
    assert chat.last[0]["type"] == "flex"
    for shown in ("ร้อยละ 50", "120,000 บาท", "80 คน", "อบรมครู ๒ ครั้ง", "ควรเพิ่มงบประมาณ", "2 รูป", "— (ข้าม)"):
        assert shown in summary, shown
    done = chat.tap("ยืนยันส่ง")
    assert "เรียบร้อย" in done and "นายผู้บริหาร ใจกว้าง" in done and "แจ้งผล" in done  # what happens next

    [version] = _versions(engine, seeded.projects[0].id)
    assert version.version == 1
    assert version.progress_pct == Decimal(50)
    assert version.budget_disbursed_satang == 12_000_000
    assert (
        version.activities == "อบรมครู ๒ ครั้ง"
        and version.problems == ""
        and version.suggestions == "ควรเพิ่มงบประมาณ"
    )
    with Session(engine) as s:
        [result] = s.exec(select(IndicatorResult).where(IndicatorResult.version_id == version.id)).all()
        assert result.value == Decimal(80)
        photos = s.exec(select(EvidencePhoto).where(EvidencePhoto.version_id == version.id)).all()
    assert sorted(p.content_type for p in photos) == ["image/jpeg", "image/png"]
    for photo in photos:
        stored = settings.media_dir / photo.path
        assert stored.is_file() and stored.stat().st_size == photo.size_bytes
    assert _report(engine, seeded.projects[0].id).status == ReportStatus.SUBMITTED

    # a second submission for the same quarter starts from the first and becomes version 2
    chat.say("รายงานผล")
    again = chat.tap(f"{seeded.projects[0].code} โครงการพั…")
    assert "ฉบับที่ 1" in again and "ร้อยละ 50" in again and "2 รูป" in again
    chat.tap("แก้ไข", value="progress")
    assert "ร้อยละ 60" in chat.say("๖๐")
    assert "ฉบับที่ 2" in chat.tap("ยืนยันส่ง")
    first, second = _versions(engine, seeded.projects[0].id)
    assert (first.version, first.progress_pct, second.version, second.progress_pct) == (1, 50, 2, 60)
    assert second.activities == first.activities
    with Session(engine) as s:
        copied = s.exec(select(EvidencePhoto).where(EvidencePhoto.version_id == second.id)).all()
    assert sorted(p.path for p in copied) == sorted(p.path for p in photos)  # same files, new references
    assert {d.kind for d in fake_line.deliveries_to(TEACHER)} == {"reply"}  # all free replies
    assert fake_line.violations == []


# --- every validation error, each followed by a correct answer ----------------------------------------


def test_every_validation_error_then_a_correct_answer(engine, seeded, service, chat, fake_line):
    chat.say("รายงานผล")
    assert "ไม่พบตัวเลือก" in chat.say("โครงการที่ไม่มีจริง")  # choice: no match
    assert "ไม่พบตัวเลือก" in chat.say("๗๗")  # choice: a number outside the list
    assert "สถานะการดำเนินงาน" in chat.say("๒")  # choice: its number, in Thai digits
    assert "ไม่พบตัวเลือก" in chat.say("กำลังคิดอยู่")
    assert "ขอเหตุผล" in chat.say("ยกเลิก/เลื่อน")  # cancelled/postponed asks a reason
    assert "ยังไม่ได้พิมพ์" in chat.say("   ")  # long text: empty
    assert "ยาวเกินไป" in chat.say("ก" * 3001)  # long text: too long
    assert "กี่เปอร์เซ็นต์" in chat.say("ผู้รับเหมาทิ้งงาน")
    assert "ระหว่าง 0 ถึง 100" in chat.say("๑๕๐")  # percent: out of range
    assert "อ่านตัวเลขนี้ไม่ออก" in chat.say("ครึ่งหนึ่ง")  # percent: not a number
    assert "ไม่เกิน 2 ตำแหน่ง" in chat.say("๓๓.๓๓๓")  # percent: finer than stored
    assert "ระหว่าง 0 ถึง 100" in chat.say("-5%")
    assert "เบิกจ่าย" in chat.say("ร้อยละ ๑๐")
    assert "ไม่ติดลบ" in chat.say("-๕๐๐ บาท")  # money: negative
    assert "ทศนิยม" in chat.say("10.505 บาท")  # money: fractions of a satang
    assert "จุลภาค" in chat.say("1,20,000 บาท")  # money: misplaced comma
    assert "อ่านตัวเลขนี้ไม่ออก" in chat.say("หนึ่งแสน")  # money: words only
    assert "ใหญ่เกินไป" in chat.say("๙๙,๙๙๙,๙๙๙,๙๙๙,๙๙๙ บาท")  # money: beyond any budget
    assert "ค่าเป้าหมาย 100 คน" in chat.say("๑๒๐,๐๐๐ บาท")
    assert "อ่านตัวเลขนี้ไม่ออก" in chat.say("หลายคน")  # number: not a number
    assert "ยังไม่ได้พิมพ์ตัวเลข" in chat.say("-")  # number: "-" is not "skip" here
    assert "จุลภาค" in chat.say("1,0000 คน")
    assert "ใหญ่เกินไป" in chat.say("๑๒๓๔๕๖๗๘๙๐๑๒๓๔๕๖๗ คน")  # number: more digits than stored
    assert "ไม่เกิน 4 ตำแหน่ง" in chat.say("1.23456")  # number: finer than stored
    assert "ไม่ติดลบ" in chat.say("-3 คน")  # an indicator result below zero
    assert "กิจกรรม" in chat.say("๙๕ คน")
    assert "จำเป็นต้องตอบ" in chat.say("ข้าม")  # a required field cannot be skipped
    assert "ปัญหาอุปสรรค" in chat.say("ประชุมผู้ปกครอง")
    assert "ข้อเสนอแนะ" in chat.say("งบมาช้า")
    assert "รูปหลักฐาน" in chat.say("ข้าม")
    assert "รอรูปภาพ" in chat.say("รูปอยู่ในเครื่อง")  # photo: text instead of a photo
    assert "JPEG หรือ PNG" in chat.image(PDF, "image/jpeg")  # photo: not an image, refused politely
    assert "รูปที่ 1" in chat.image(JPEG)
    summary = chat.say("เสร็จ")
    # nothing answered before a wrong answer was lost
    for shown in (
        "ยุติ/เลื่อนโครงการ",
        "ผู้รับเหมาทิ้งงาน",
        "ร้อยละ 10",
        "120,000 บาท",
        "95 คน",
        "ประชุมผู้ปกครอง",
        "งบมาช้า",
        "1 รูป",
    ):
        assert shown in summary, shown
    assert "ส่งรายงาน" in chat.say("ยืนยันส่ง")
    [version] = _versions(engine, seeded.projects[1].id)
    assert version.status_reason == "ผู้รับเหมาทิ้งงาน" and version.implementation_status == "cancelled"
    assert fake_line.violations == []


# --- cancel, back, skip, edit from the summary; the draft is resumed ---------------------------------


def test_cancel_keeps_a_draft_back_skip_and_edit_from_the_summary(engine, seeded, service, chat, fake_line):
    chat.say("รายงานผล")
    chat.tap(f"{seeded.projects[0].code} โครงการพั…")
    assert "กี่เปอร์เซ็นต์" in chat.tap("อยู่ระหว่างดำเนินการ")
    assert "สถานะการดำเนินงาน" in chat.tap("ย้อนกลับ")  # back to the previous question…
    assert "ค่าเดิม: อยู่ระหว่างดำเนินการ" in chat.text  # …which shows the answer given
    assert "กี่เปอร์เซ็นต์" in chat.tap("ใช้ค่าเดิม")
    assert "เบิกจ่าย" in chat.say("40")
    assert "ยกเลิกใช่ไหม" in chat.say("ยกเลิก")
    assert "เบิกจ่าย" in chat.tap("ทำต่อ")  # not cancelled after all
    chat.say("ยกเลิก")
    assert "เก็บเป็นร่าง" in chat.tap("ยืนยันยกเลิก")
    report = _report(engine, seeded.projects[0].id)
    assert report.draft["progress"] == "40" and report.status == ReportStatus.DRAFT

    status = chat.say("สถานะ")  # not in a form any more: the status command answers
    assert "กำลังกรอก" in status and "ยังไม่รายงาน" in status

    offered = chat.say("รายงานผล")
    assert "มีร่างที่กรอกค้างไว้ 1 โครงการ" in offered  # the waiting draft is offered first (issue 16)
    assert chat.buttons()[0]["label"] == f"✎ {seeded.projects[0].code} โครงการ…"
    resumed = chat.tap(f"✎ {seeded.projects[0].code} โครงการ…")
    assert "พบร่าง" in resumed and "เบิกจ่าย" in resumed  # the draft is picked up where it stopped
    chat.say("1,000 บาท")
    chat.say("90")
    chat.say("ทำแผน")
    assert "ข้อเสนอแนะ" in chat.tap("ข้าม")
    chat.tap("ข้าม")
    summary = chat.tap("เสร็จ")
    assert "ร้อยละ 40" in summary and "1,000 บาท" in summary and "ไม่มีรูป" in summary
    old_submit = chat.button("ยืนยันส่ง")
    assert "กี่เปอร์เซ็นต์" in chat.tap("แก้ไข", value="progress")
    assert "ค่าเดิม: ร้อยละ 40" in chat.text
    summary = chat.say("๖๕")
    assert (
        "ร้อยละ 65" in summary and "ร้อยละ 40" not in summary and "1,000 บาท" in summary
    )  # back to the summary
    assert "ปุ่มนั้นเป็นของคำถามก่อนหน้า" in chat.postback(old_submit)  # the old summary's submit is stale
    assert _versions(engine, seeded.projects[0].id) == []
    chat.tap("ยืนยันส่ง")
    [version] = _versions(engine, seeded.projects[0].id)
    assert version.progress_pct == Decimal(65)
    assert _report(engine, seeded.projects[0].id).draft is None
    assert fake_line.violations == []


def test_a_stale_button_changes_nothing(engine, seeded, service, chat, fake_line):
    chat.say("รายงานผล")
    first_project = chat.button(f"{seeded.projects[0].code} โครงการพั…")
    second_project = chat.button(f"{seeded.projects[1].code} โครงการพั…")
    chat.postback(first_project)
    status_button = chat.button("ดำเนินการแล้วเสร็จ")
    chat.tap("อยู่ระหว่างดำเนินการ")
    stale = chat.postback(second_project)
    assert "ปุ่มนั้นเป็นของคำถามก่อนหน้า" in stale and "กี่เปอร์เซ็นต์" in stale  # asked the current question again
    assert "ปุ่มนั้นเป็นของคำถามก่อนหน้า" in chat.postback(status_button)
    assert "ปุ่มที่ใช้ไม่ได้" not in chat.text
    chat.say("30")
    chat.say("0 บาท")
    chat.say("0")
    chat.say("เตรียมการ")
    chat.say("ข้าม")
    chat.say("ข้าม")
    summary = chat.say("เสร็จ")
    assert seeded.projects[0].code in summary and seeded.projects[1].code not in summary
    assert "อยู่ระหว่างดำเนินการ" in summary and "ร้อยละ 30" in summary
    assert fake_line.violations == []


# --- a restart of the server in the middle of a form --------------------------------------------------


def test_restart_in_the_middle_of_a_form(engine, seeded, start_service, chat, fake_line):
    first = start_service()
    try:
        chat.say("รายงานผล")
        chat.tap(f"{seeded.projects[1].code} โครงการพั…")
        chat.tap("ดำเนินการแล้วเสร็จ")
        assert "เบิกจ่าย" in chat.say("100")
        before_restart = chat.button("ยกเลิก")
    finally:
        first.__exit__(None, None, None)
    second = start_service()
    try:
        assert "ค่าเป้าหมาย 100 คน" in chat.say(
            "๒๔๐,๐๐๑ บาท"
        )  # the new process carries on at the same question
        assert "ปุ่มนั้นเป็นของคำถามก่อนหน้า" in chat.postback(before_restart)  # buttons keep their sequence
        assert "ยกเลิกใช่ไหม" in chat.tap("ยกเลิก")
        assert "ค่าเป้าหมาย 100 คน" in chat.tap("ทำต่อ")
        chat.say("100")
        chat.say("สรุปผลแล้ว")
        chat.say("ข้าม")
        chat.say("ข้าม")
        summary = chat.say("เสร็จ")
        assert "ดำเนินการแล้วเสร็จ" in summary and "ร้อยละ 100" in summary and "240,001 บาท" in summary
        assert "240,001 บาท" in summary and "เกินงบ" not in summary
        chat.say("ยืนยันส่ง")
    finally:
        second.__exit__(None, None, None)
    [version] = _versions(engine, seeded.projects[1].id)
    assert version.budget_disbursed_satang == 24_000_100
    assert fake_line.violations == []


# --- two people reporting at once ---------------------------------------------------------------------


def test_two_people_report_at_once(engine, seeded, service, fake_line):
    with Session(engine) as s:
        other = Person(
            code="T2",
            full_name="นายสอง ขยัน",
            office_id=seeded.school.id,
            roles="reporter",
            created_at=Q1_TIME,
            updated_at=Q1_TIME,
            line_user_id=OTHER,
        )
        s.add(other)
        s.flush()
        s.add(ProjectOwner(project_id=seeded.projects[1].id, person_id=other.id))
        s.delete(
            s.exec(
                select(ProjectOwner).where(
                    ProjectOwner.project_id == seeded.projects[1].id,
                    ProjectOwner.person_id == seeded.teacher.id,
                )
            ).one()
        )
        s.commit()
    a, b = Chat(fake_line, TEACHER), Chat(fake_line, OTHER)

    def both(step_a, step_b):  # type: ignore[no-untyped-def]
        """Send one message for each person at the same moment; each gets their own answer."""
        results: dict[str, str] = {}
        threads = [
            threading.Thread(target=lambda: results.__setitem__("a", step_a())),
            threading.Thread(target=lambda: results.__setitem__("b", step_b())),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        return results["a"], results["b"]

    ra, rb = both(lambda: a.say("รายงานผล"), lambda: b.say("รายงานผล"))
    assert "สถานะการดำเนินงาน" in ra and "สถานะการดำเนินงาน" in rb  # one project each: straight on
    both(lambda: a.say("2"), lambda: b.say("3"))
    both(lambda: a.say("๓๓"), lambda: b.say("๑๐๐"))
    both(lambda: a.say("๑,๐๐๐ บาท"), lambda: b.say("๒,๐๐๐ บาท"))
    both(lambda: a.say("11"), lambda: b.say("22"))
    both(lambda: a.say("กิจกรรม ก"), lambda: b.say("กิจกรรม ข"))
    both(lambda: a.say("ข้าม"), lambda: b.say("ข้าม"))
    both(lambda: a.say("ข้าม"), lambda: b.say("ข้าม"))
    sa_, sb = both(lambda: a.say("เสร็จ"), lambda: b.say("เสร็จ"))
    assert "ร้อยละ 33" in sa_ and "1,000 บาท" in sa_ and "กิจกรรม ก" in sa_
    assert "ร้อยละ 100" in sb and "2,000 บาท" in sb and "กิจกรรม ข" in sb
    both(lambda: a.say("ยืนยันส่ง"), lambda: b.say("ยืนยันส่ง"))
    [va] = _versions(engine, seeded.projects[0].id)
    [vb] = _versions(engine, seeded.projects[1].id)
    assert (va.progress_pct, va.budget_disbursed_satang, va.activities) == (Decimal(33), 100_000, "กิจกรรม ก")
    assert (vb.progress_pct, vb.budget_disbursed_satang, vb.activities) == (Decimal(100), 200_000, "กิจกรรม ข")
    assert fake_line.violations == []


# --- a person with 40 projects: pages, search by code or part of the name -----------------------------


def test_forty_projects_paged_and_searchable_only_this_years_own(engine, service, chat, fake_line):
    seeded = _seed(engine, Q1_TIME.date(), projects=40)
    with Session(engine) as s:  # a project of last fiscal year and one of someone else: never listed
        s.add(FiscalYear(year=seeded.fiscal_year - 1, starts_on=date(2024, 10, 1), ends_on=date(2025, 9, 30)))
        for code, owner in (("OLD-001", seeded.teacher.id), ("ELSE-001", seeded.director.id)):
            project = Project(
                code=code,
                fiscal_year=seeded.fiscal_year - (1 if code == "OLD-001" else 0),
                name=f"โครงการ {code}",
                office_id=seeded.school.id,
                budget_satang=100,
                created_at=Q1_TIME,
                updated_at=Q1_TIME,
            )
            s.add(project)
            s.flush()
            s.add(ProjectOwner(project_id=project.id, person_id=owner))
        s.commit()
    codes = [p.code for p in seeded.projects]
    first = chat.say("รายงานผล")
    assert "มี 40 โครงการ" in first and "(หน้า 1/5)" in first
    assert chat.quick_reply_count() <= 13
    seen = [c for c in codes if c in first]
    for page in range(2, 6):
        text = chat.tap("ถัดไป ▶")
        assert f"(หน้า {page}/5)" in text
        assert chat.quick_reply_count() <= 13
        seen += [c for c in codes if c in text]
    assert seen == codes  # every project exactly once, in order, none of the others
    assert "OLD-001" not in chat.text and "ELSE-001" not in chat.text
    assert "(หน้า 4/5)" in chat.tap("◀ ก่อนหน้า")
    narrowed = chat.say("ผู้เรียน 3")  # part of the name: 3 and 30–39
    assert "พบ 11 รายการ" in narrowed and codes[2] in narrowed and codes[19] not in narrowed
    assert chat.quick_reply_count() <= 13
    assert "สถานะการดำเนินงาน" in chat.say(codes[36].lower())  # by code, case-insensitively
    chat.tap("ยังไม่ดำเนินการ")
    chat.say("0")
    chat.say("0")
    chat.say("ยังไม่เริ่ม")
    chat.say("ข้าม")
    chat.say("ข้าม")
    summary = chat.say("เสร็จ")
    assert codes[36] in summary and "ความก้าวหน้า" not in summary  # not started: no progress question
    chat.say("ยืนยันส่ง")
    assert len(_versions(engine, seeded.projects[36].id)) == 1
    assert fake_line.violations == []


# --- quarter two: the open period by default, last quarter's answers offered, confirmations ----------


def test_next_quarter_defaults_and_confirmations(engine, service, chat, fake_line, clock):
    seeded = _seed(engine, Q2_TIME.date())
    project = seeded.projects[0]
    with Session(engine) as s:
        periods = {p.quarter: p.id for p in s.exec(select(ReportingPeriod))}
        submit_report(
            s,
            seeded.teacher.id,
            {
                "project": str(project.id),
                "period": str(periods[1]),
                "status": "in_progress",
                "progress": "40",
                "budget": 5_000_000,
                "indicators": {str(_indicator_id(s, project.id)): "30"},
                "activities": "ไตรมาสแรก",
                "problems": {"skipped": True},
                "suggestions": "เดิม",
            },
            Q1_TIME,
        )
        approved = ProgressReport(
            project_id=seeded.projects[1].id,
            period_id=periods[1],
            status=ReportStatus.APPROVED,
            current_version=1,
            created_at=Q1_TIME,
            updated_at=Q1_TIME,
        )
        s.add(approved)
        s.commit()
    clock.set(Q2_TIME)
    chat.say("รายงานผล")
    period_question = chat.tap(f"{project.code} โครงการพั…")
    assert "ไตรมาสไหน" in period_question
    assert (
        "ไตรมาส 1/2569" in period_question and "ไตรมาส 2/2569" in period_question
    )  # Q1 undecided: still open
    assert "ค่าเดิม: ไตรมาส 2/2569" in period_question  # the open period is the default
    status = chat.tap("ใช้ค่าเดิม")
    assert "ค่าเดิม: อยู่ระหว่างดำเนินการ" in status  # last quarter's answer offered
    progress = chat.tap("ใช้ค่าเดิม")
    assert "ไตรมาสก่อน ร้อยละ 40" in progress
    assert "ต่ำกว่าไตรมาสก่อน" in chat.say("๓๐")  # lower than last quarter: confirm
    assert "กี่เปอร์เซ็นต์" in chat.tap("แก้ไขคำตอบ")
    assert "ต่ำกว่าไตรมาสก่อน" in chat.say("35")
    budget = chat.tap("ยืนยัน")
    assert "ค่าเดิม: 50,000 บาท" in budget and "120,000.50 บาท" in budget
    assert "เกินงบที่ได้รับ" in chat.say("๑๒๐,๐๐๑ บาท")  # above the allocation: confirm
    indicator = chat.say("ใช่")
    assert "ค่าเดิม: 30 คน" in indicator
    assert "กิจกรรม" in chat.tap("ใช้ค่าเดิม")
    chat.say("ไตรมาสสอง")
    chat.say("ข้าม")
    assert "ค่าเดิม: เดิม" in chat.text
    chat.tap("ใช้ค่าเดิม")
    summary = chat.say("เสร็จ")
    assert (
        "ไตรมาส 2/2569" in summary
        and "ร้อยละ 35" in summary
        and "120,001 บาท" in summary
        and "30 คน" in summary
    )
    chat.say("ยืนยันส่ง")
    with Session(engine) as s:
        q2 = s.exec(
            select(ReportVersion)
            .join(ProgressReport, col(ProgressReport.id) == col(ReportVersion.report_id))
            .where(ProgressReport.period_id == periods[2])
        ).one()
        assert (q2.progress_pct, q2.budget_disbursed_satang, q2.suggestions) == (
            Decimal(35),
            12_000_100,
            "เดิม",
        )

    # the other project's first quarter is approved: only the open quarter is left, asked without a question
    chat.say("รายงานผล")
    assert "สถานะการดำเนินงาน" in chat.tap(f"{seeded.projects[1].code} โครงการพั…")
    chat.say("ยกเลิก")
    chat.tap("ยืนยันยกเลิก")
    with Session(engine) as s:
        drafts = s.exec(
            select(ProgressReport).where(ProgressReport.project_id == seeded.projects[1].id)
        ).all()
    assert {(r.period_id, r.status) for r in drafts} == {
        (periods[1], ReportStatus.APPROVED),
        (periods[2], ReportStatus.DRAFT),
    }
    assert fake_line.violations == []


def _indicator_id(session: Session, project_id: int) -> int:
    from models import Indicator

    return session.exec(select(Indicator.id).where(Indicator.project_id == project_id)).one()


# --- a returned report reopens with its answers and the reason; the next submission is version 2 ------


def test_returned_report_reopens_and_becomes_version_two(engine, seeded, service, chat, fake_line):
    chat.say("รายงานผล")
    chat.tap(f"{seeded.projects[0].code} โครงการพั…")
    _answer_rest(chat)
    chat.tap("ยืนยันส่ง")
    [v1] = _versions(engine, seeded.projects[0].id)
    with Session(engine) as s:
        report = s.get(ProgressReport, v1.report_id)
        report.status = ReportStatus.RETURNED
        s.add(report)
        s.add(
            ApprovalDecision(
                report_id=report.id,
                version_id=v1.id,
                outcome=DecisionOutcome.RETURNED,
                decided_by_id=seeded.director.id,
                channel=DecisionChannel.BUTTON,
                reason="ตัวเลขเบิกจ่ายไม่ตรงกับระบบ",
                decided_at=Q1_TIME + timedelta(hours=1),
            )
        )
        s.commit()
        report_id = report.id
    assert "สถานะ" in chat.say("สถานะ") and "ส่งกลับให้แก้ไข" in chat.text

    reopened = chat.postback(f"v1|report|r={report_id}")
    assert "ตัวเลขเบิกจ่ายไม่ตรงกับระบบ" in reopened and "นายผู้บริหาร ใจกว้าง" in reopened  # the reason, by whom
    assert (
        "120,000 บาท" in reopened and "ร้อยละ 50" in reopened and "1 รูป" not in reopened
    )  # its answers, as a summary
    assert "เบิกจ่าย" in chat.tap("แก้ไข", value="budget")
    summary = chat.say("๑๑๐,๐๐๐ บาท")
    assert "110,000 บาท" in summary and "อบรมครู ๒ ครั้ง" in summary
    done = chat.tap("ยืนยันส่ง")
    assert "ฉบับที่ 2" in done
    v1_again, v2 = _versions(engine, seeded.projects[0].id)
    assert (v1_again.version, v2.version) == (1, 2)
    assert (v1_again.budget_disbursed_satang, v2.budget_disbursed_satang) == (12_000_000, 11_000_000)
    assert v2.activities == v1.activities  # the answers came back with the report
    assert "ส่งแล้ว รออนุมัติ" in chat.say("สถานะ")
    assert "ปุ่มนี้ใช้ไม่ได้แล้ว" in chat.postback(f"v1|report|r={report_id}")  # no longer returned
    assert fake_line.violations == []


def test_a_returned_report_opens_only_for_its_owner(engine, seeded, service, fake_line):
    with Session(engine) as s:
        period_id = s.exec(select(ReportingPeriod.id).where(ReportingPeriod.quarter == 1)).one()
        draft = {"project": str(seeded.projects[0].id), "period": str(period_id), "activities": "ความลับ"}
        report = ProgressReport(
            project_id=seeded.projects[0].id,
            period_id=period_id,
            status=ReportStatus.RETURNED,
            current_version=0,
            draft=draft,
            created_at=Q1_TIME,
            updated_at=Q1_TIME,
        )
        s.add(report)
        s.commit()
        report_id = report.id
    _link(engine, seeded.planner.id, OTHER)  # not an owner of the project
    stranger = Chat(fake_line, OTHER)
    answer = stranger.postback(f"v1|report|r={report_id}")
    assert "ปุ่มนี้ใช้ไม่ได้แล้ว" in answer and "ความลับ" not in answer
    assert "ไม่มีสิ่งที่ต้องยกเลิก" in stranger.say("ยกเลิก")  # no form was opened for them
    owner = Chat(fake_line, TEACHER)
    assert "พบร่าง" in owner.postback(f"v1|report|r={report_id}")  # the owner gets the report back…
    assert "สถานะการดำเนินงาน" in owner.text  # …at its first unanswered question
    assert fake_line.violations == []


def test_a_project_with_nothing_left_to_report(engine, seeded, service, chat, fake_line):
    with Session(engine) as s:
        s.add(
            ProgressReport(
                project_id=seeded.projects[0].id,
                period_id=s.exec(select(ReportingPeriod.id)).first(),
                status=ReportStatus.APPROVED,
                current_version=1,
                created_at=Q1_TIME,
                updated_at=Q1_TIME,
            )
        )
        s.commit()
    chat.say("รายงานผล")
    answer = chat.tap(f"{seeded.projects[0].code} โครงการพั…")
    assert "ไม่มีไตรมาสที่เปิดให้รายงาน" in answer and "โครงการไหน" in answer  # said, and asked again
    assert "สถานะการดำเนินงาน" in chat.tap(f"{seeded.projects[1].code} โครงการพั…")
    assert fake_line.violations == []


# --- photos: up to five, stored with size and type; a non-image refused ------------------------------


def test_photos_up_to_five_and_a_photo_out_of_turn(engine, seeded, service, chat, fake_line, settings):
    chat.say("รายงานผล")
    chat.tap(f"{seeded.projects[0].code} โครงการพั…")
    # a photo before the photo question is kept for it (issue 16), and the question is asked again
    assert "จะใช้เป็นรูปหลักฐาน" in chat.image(JPEG)
    assert "สถานะการดำเนินงาน" in chat.text
    chat.tap("อยู่ระหว่างดำเนินการ")
    chat.say("10")
    chat.say("10 บาท")
    chat.say("1")
    chat.say("ก")
    chat.say("ข้าม")
    chat.say("ข้าม")
    assert "รับเฉพาะรูปภาพ" in chat.image(b"GIF89a" + b"\x00" * 20, "image/gif")
    assert "1/5" in chat.text  # the early photo
    for n in range(2, 5):
        assert f"รูปที่ {n}" in chat.image(JPEG if n % 2 else png_bytes())
    summary = chat.image(JPEG)  # the fifth: the form goes on by itself
    assert "ครบ 5 รูป" in summary and "5 รูป" in summary and chat.last[-1]["type"] == "flex"
    chat.tap("ยืนยันส่ง")
    [version] = _versions(engine, seeded.projects[0].id)
    with Session(engine) as s:
        photos = s.exec(select(EvidencePhoto).where(EvidencePhoto.version_id == version.id)).all()
    assert len(photos) == 5
    assert all((settings.media_dir / p.path).is_file() and p.size_bytes > 0 for p in photos)
    assert fake_line.violations == []
