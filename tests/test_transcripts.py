"""A full quarter in chat, as a teacher, a director and a planner live it, written out for people to read.

The conversations go through the webhook and the fake LINE like every end-to-end test, and each step
asserts what must hold; the transcripts (what each person typed or tapped, and everything the bot sent
them, replies and pushes alike, with the buttons offered) are written to
var/test-artefacts/transcripts/ for review (not committed).
"""

from __future__ import annotations

from typing import Any

import test_approvals_e2e as harness
from browser import ARTEFACTS
from sqlmodel import Session, select
from test_report_e2e import JPEG
from test_thai_chat_e2e import _flex_texts

from models.reports import ProgressReport

make_bot = harness.make_bot
office = harness.office
pytestmark = harness.pytestmark
T, D, PL = harness.T, harness.D, harness.PL


def _labels(message: dict[str, Any]) -> list[str]:
    labels = [i["action"].get("label", "") for i in (message.get("quickReply") or {}).get("items", [])]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button" and isinstance(node.get("action"), dict):
                labels.append(node["action"].get("label", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("contents"))
    return labels


class Transcript:
    """One person's side of the chat: what they sent, then everything the bot delivered to them."""

    def __init__(self, bot: Any, user: str, who: str) -> None:
        self.bot, self.user, self.who = bot, user, who
        self.lines: list[str] = []
        self.seen = 0

    def _collect(self) -> list[str]:
        deliveries = self.bot.fake.deliveries_to(self.user)
        new, self.seen = deliveries[self.seen :], len(deliveries)
        said: list[str] = []
        for delivery in new:
            for message in delivery.messages:
                body = (
                    message["text"]
                    if message.get("type") == "text"
                    else "\n".join(_flex_texts(message.get("contents")))
                )
                kind = "ตอบ" if delivery.kind == "reply" else "แจ้ง (push)"
                self.lines.append(f"บอท [{kind}]: " + body.replace("\n", "\n    "))
                if _labels(message):
                    self.lines.append("    ปุ่ม: " + " | ".join(_labels(message)))
                said.append(body)
        return said

    def say(self, typed: str, *, quoting: str | None = None) -> str:
        self._collect()  # pushes that arrived since the last step come first
        self.lines.append(f"\n{self.who}: {typed}" + (" (ตอบกลับการ์ด)" if quoting else ""))
        self.bot.say(self.user, typed, quoting=quoting)
        return "\n".join(self._collect())

    def tap(self, label: str, data: str) -> str:
        self._collect()
        self.lines.append(f"\n{self.who}: [แตะ {label}]")
        self.bot.tap(self.user, data)
        return "\n".join(self._collect())

    def photo(self) -> str:
        self._collect()
        self.lines.append(f"\n{self.who}: [ส่งรูป]")
        before = len(self.bot.fake.deliveries_to(self.user))
        assert (
            self.bot.fake.send_sync(self.bot.fake.image_event(self.user, JPEG, "image/jpeg")).status_code
            == 200
        )
        self.bot.replies_after(self.user, before)
        return "\n".join(self._collect())

    def write(self, name: str) -> None:
        self._collect()
        folder = ARTEFACTS / "transcripts"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.txt").write_text("\n".join(self.lines).strip() + "\n", encoding="utf-8")


def _reopen_button(bot: Any) -> str:
    pushes = [d for d in bot.pushes(T, 1) if "แก้ไขรายงาน" in str(d.messages)]
    return next(
        i["action"]["data"]
        for d in pushes
        for m in d.messages
        for i in (m.get("quickReply") or {}).get("items", [])
        if i["action"].get("label") == "แก้ไขรายงาน"
    )


def test_a_full_quarter_for_a_teacher_a_director_and_a_planner(engine, office, make_bot) -> None:
    bot = make_bot()
    teacher, director, planner = (
        Transcript(bot, T, "ครู"),
        Transcript(bot, D, "ผู้อำนวยการ"),
        Transcript(bot, PL, "กลุ่มนโยบายและแผน"),
    )
    first, second = office.projects[0], office.projects[1]

    assert "ไม่เข้าใจ" in teacher.say("สวัสดีค่ะ วันนี้อากาศดีนะคะ")  # chatter: a polite way back to the menu
    assert "เมนูสำหรับคุณใจดี" in teacher.say("ช่วยเหลือค่ะ")
    assert "กำหนดส่ง" in teacher.say("สถานะค่ะ")
    assert "รายงานผลโครงการไหน" in teacher.say("รายงานผลค่ะ")
    assert "สถานะการดำเนินงาน" in teacher.say("1")
    teacher.say("2")
    teacher.say("๔๕ %")
    teacher.say("30,000 บาท")
    teacher.photo()  # early: kept for the photo question
    teacher.say("40 คน")
    assert "ยกเลิกใช่ไหม" in teacher.say("ยกเลิกค่ะ")  # something entered: asked first
    assert "กิจกรรม" in teacher.say("ไม่ค่ะ")
    teacher.say("อบรมครูแกนนำ 2 ครั้ง ประชุมผู้ปกครอง 1 ครั้ง")
    teacher.say("งบประมาณโอนล่าช้า")
    teacher.say("ข้ามค่ะ")
    teacher.say("เสร็จแล้วค่ะ")
    assert "ส่งให้" in teacher.say("ยืนยันส่งค่ะ")

    [card] = bot.cards(D, 1)
    quoted = card.sent_message_ids[0]
    assert "รออนุมัติ" in director.say("เมนูครับ")
    assert "มีรายงานรออนุมัติ 1 รายการ" in director.say("รออนุมัติครับ")
    assert "ขอความเห็นชอบ" in director.say(f"ดูรายละเอียด {first.code}")
    assert "สถานะการรายงานผลของ" in director.say("สถานะโรงเรียนครับ")
    assert "ต้องการอนุมัติ หรือส่งกลับ" in director.say("ขอดูก่อนนะ", quoting=quoted)
    assert "ส่งกลับรายงาน" in director.say("ส่งกลับครับ ขอรูปกิจกรรมเพิ่ม", quoting=quoted)

    assert "ขอรูปกิจกรรมเพิ่ม" in teacher.tap("แก้ไขรายงาน", _reopen_button(bot))
    added = teacher.photo()  # at the summary: one more photo, as the director asked
    assert "ได้รับรูปที่ 2" in added and "2 รูป" in added
    assert "ส่งให้" in teacher.say("ยืนยันส่ง")
    cards = bot.cards(D, 2)
    assert "อนุมัติรายงาน" in director.say("อนุมัติครับ", quoting=cards[-1].sent_message_ids[0])

    assert "ภาพรวมการรายงานผล" in planner.say("ภาพรวมเขตค่ะ")
    assert second.code in planner.say("ใครยังไม่ส่งคะ")
    planner.say("แดชบอร์ดค่ะ")
    assert first.code in teacher.say("ดูรายงานค่ะ")
    assert "อนุมัติแล้ว" in teacher.say(f"ดูรายละเอียด {first.code} ไตรมาส 1")

    with Session(engine) as s:
        statuses = {r.project_id: str(r.status) for r in s.exec(select(ProgressReport))}
    assert statuses[first.id] == "approved"
    for transcript, name in ((teacher, "teacher"), (director, "director"), (planner, "planner")):
        transcript.write(name)
        assert (ARTEFACTS / "transcripts" / f"{name}.txt").read_text(encoding="utf-8").count("บอท") >= 3
