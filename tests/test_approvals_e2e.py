"""Approvals end to end: real HTTP into /callback, real HTTP out to the fake LINE platform, both backends.

Every way of deciding (card button, quote-reply, plain text, approve-all), every refusal, a director
with 25 reports waiting, an acting approver on and off their dates, a quote-reply to a card of a report
someone else has approved since, and the optional planning-group verification.

The service, the `tidtam` command and the fake LINE platform all read the system clock, so every test
runs on `office_clock`: the machine clock pinned to an instant whose UTC date is not Bangkok's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import uvicorn
from approval_office import (
    ApprovalOffice,
    add_projects,
    audits,
    decisions,
    link,
    make_office,
    report_status,
    set_acting,
    submit,
)
from office_clock import OfficeClock
from sqlmodel import Session, select
from support import free_port, make_settings
from typer.testing import CliRunner

from bot.approvals import request_decision
from messages import approvals as text
from messages import chat, report_form
from models.messaging import Conversation
from models.types import DecisionChannel, DecisionOutcome
from tidtam.cli import app
from tidtam.service import create_app

# `usefixtures` comes before a test's own arguments: the office is seeded on the pinned clock too.
pytestmark = pytest.mark.usefixtures("office_clock")
T, T2, D, DD, AD, PL = ("U" + c * 32 for c in "123456")
WAIT = 10.0


@dataclass
class Bot:
    """The running service and the fake LINE platform, with a way to ask for an outbox sweep now."""

    fake: Any
    wake: Callable[[], None]

    def _wait(self, predicate: Callable[[], Any]) -> Any:
        def poll() -> Any:
            self.wake()  # pushes are sent by the background sweep: run it now rather than within 1 s
            return predicate()

        return self.fake.wait_for(poll, timeout=WAIT)

    def replies_after(self, user: str, before: int) -> list[str]:
        """Texts of the answer (a free reply) to `user`'s latest event; pushes in between are skipped."""
        replies = self._wait(lambda: [d for d in self.fake.deliveries_to(user)[before:] if d.kind == "reply"])
        return [_text(m) for d in replies for m in d.messages]

    def say(self, user: str, typed: str, *, quoting: str | None = None) -> list[str]:
        before = len(self.fake.deliveries_to(user))
        response = self.fake.send_sync(self.fake.text_event(user, typed, quoted_message_id=quoting))
        assert response.status_code == 200
        return self.replies_after(user, before)

    def tap(self, user: str, data: str) -> list[str]:
        before = len(self.fake.deliveries_to(user))
        assert self.fake.send_sync(self.fake.postback_event(user, data)).status_code == 200
        return self.replies_after(user, before)

    def pushes(self, user: str, count: int) -> list[Any]:
        """Wait for `count` pushes to `user`; returns all pushes so far."""
        return self._wait(
            lambda: (
                (p := [d for d in self.fake.deliveries_to(user) if d.kind == "push"])
                and len(p) >= count
                and p
            )
        )

    def cards(self, user: str, count: int) -> list[Any]:
        """The approval cards pushed to `user`, once there are `count`."""
        return self._wait(
            lambda: (
                (
                    c := [
                        d
                        for d in self.fake.deliveries_to(user)
                        if d.kind == "push" and _is_card(d.messages[0])
                    ]
                )
                and len(c) >= count
                and c
            )
        )


def _text(message: dict[str, Any]) -> str:
    return message.get("text") or message.get("altText", "")


def _is_card(message: dict[str, Any]) -> bool:
    return message.get("type") == "flex" and "footer" in message.get("contents", {})


def _buttons(card_delivery: Any) -> dict[str, str]:
    """{"อนุมัติ": data, "ส่งกลับแก้ไข": data} of an approval card."""
    footer = card_delivery.messages[0]["contents"]["footer"]["contents"]
    return {b["action"]["label"]: b["action"]["data"] for b in footer}


def _card_for(cards: list[Any], code: str) -> Any:
    return next(c for c in cards if code in c.messages[0]["altText"])


def _quick_replies(bot: Bot, user: str) -> list[dict[str, Any]]:
    last = bot.fake.deliveries_to(user)[-1].messages[-1]
    return [item["action"] for item in last.get("quickReply", {}).get("items", [])]


@contextmanager
def _service(settings: Any) -> Iterator[Callable[[], None]]:
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "service did not start"
        time.sleep(0.01)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        yield app.state.processor.notify, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def make_bot(db_url, fake_line, tmp_path) -> Iterator[Callable[..., Bot]]:
    with_stack: list[Any] = []

    def start(**overrides: Any) -> Bot:
        settings = make_settings(db_url, fake_line, tmp_path, **overrides)
        cm = _service(settings)
        wake, base = cm.__enter__()
        with_stack.append(cm)
        fake_line.webhook_url = f"{base}/callback"
        return Bot(fake_line, wake)

    yield start
    for cm in reversed(with_stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def office(engine, office_clock) -> ApprovalOffice:
    office = make_office(engine, today=office_clock.today)
    for person, user in (
        (office.teacher, T),
        (office.teacher2, T2),
        (office.director, D),
        (office.deputy, DD),
        (office.area_director, AD),
        (office.planner, PL),
    ):
        link(engine, person, user)
    return office


def _submitted(
    engine, office: ApprovalOffice, project, *, person=None, progress: str = "50"
) -> tuple[int, int]:
    """A report version submitted through `models/`, its card queued as on_submitted does."""
    clock = OfficeClock()  # the system clock, as the service reads it: pinned for every test here
    now = clock.now()
    with Session(engine) as s:
        report, version = submit(
            s, (person or office.teacher).id, project.id, office.period_id, now, progress=progress
        )
        request_decision(s, report, version, 1, now, clock.today)
        s.commit()
        return report.id, version.version


# --- every way of deciding -------------------------------------------------------------------------


def test_form_submission_card_button_approve_and_a_second_tap(
    engine, make_bot, fake_line, office_clock
) -> None:
    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    link(engine, office.director, D)
    bot = make_bot()
    for typed in ["รายงานผล", "2", "50", "1000", "40", "อบรมครู 3 ครั้ง", "ข้าม", "ข้าม", "เสร็จ"]:
        bot.say(T, typed)
    assert "ส่งให้ " + office.director.full_name in bot.say(T, "ยืนยันส่ง")[-1]

    [card] = bot.cards(D, 1)
    assert card.messages[0]["altText"].startswith("ขอความเห็นชอบรายงานผล: " + office.projects[0].code)
    buttons = _buttons(card)
    assert buttons["อนุมัติ"].startswith("v1|ap|r=") and buttons["อนุมัติ"].endswith("|n=1|d=a")
    assert "อบรมครู 3 ครั้ง" in str(card.messages[0]["contents"])

    assert bot.tap(D, buttons["อนุมัติ"])[0].startswith("อนุมัติรายงาน " + office.projects[0].code)
    notice = bot.pushes(T, 1)[-1].messages[0]["text"]
    assert "ได้รับอนุมัติแล้ว" in notice and office.director.full_name in notice

    second = bot.tap(D, buttons["อนุมัติ"])[0]
    assert "ไปแล้วโดย " + office.director.full_name in second
    also_return = bot.tap(D, buttons["ส่งกลับแก้ไข"])[0]
    assert "อนุมัติไปแล้วโดย" in also_return
    [decision] = decisions(engine)
    assert (decision.outcome, decision.channel) == (DecisionOutcome.APPROVED, DecisionChannel.BUTTON)
    [audit] = audits(engine)
    assert audit.details["channel"] == "button" and audit.details["version"] == 1
    assert report_status(engine, decision.report_id) == "approved"
    assert len(bot.pushes(T, 1)) == 1  # the repeats told the reporter nothing more


def test_button_return_asks_for_a_reason_and_the_reporter_revises(engine, office, make_bot) -> None:
    report_id, _ = _submitted(engine, office, office.projects[0])
    bot = make_bot()
    [card] = bot.cards(D, 1)
    asked = bot.tap(D, _buttons(card)["ส่งกลับแก้ไข"])[0]
    assert asked == text.ask_reason(f"{office.projects[0].code} {office.projects[0].name}").text
    assert decisions(engine) == []
    assert "ส่งกลับรายงาน" in bot.say(D, "ขาดรูปหลักฐานการอบรม")[0]
    [decision] = decisions(engine)
    assert decision.reason == "ขาดรูปหลักฐานการอบรม" and decision.channel == DecisionChannel.BUTTON
    assert report_status(engine, report_id) == "returned"

    notice = bot.pushes(T, 1)[-1].messages[0]
    assert "ขาดรูปหลักฐานการอบรม" in notice["text"] and office.director.full_name in notice["text"]
    [edit] = [item["action"] for item in notice["quickReply"]["items"]]
    assert (edit["label"], edit["data"]) == ("แก้ไขรายงาน", f"v1|report|r={report_id}")
    reopened = "\n".join(bot.tap(T, edit["data"]))
    assert "ขาดรูปหลักฐานการอบรม" in reopened  # the form comes back with the reason
    assert bot.say(D, "ขอบคุณ")[0] == chat.not_understood().text  # the reason is not asked twice


def test_a_return_waiting_for_its_reason_does_not_swallow_other_messages(engine, office, make_bot) -> None:
    report_id, _ = _submitted(engine, office, office.projects[0])
    bot = make_bot()
    [card] = bot.cards(D, 1)
    bot.tap(D, _buttons(card)["ส่งกลับแก้ไข"])
    status = bot.say(D, "สถานะ")  # a menu command is not a reason
    assert status[0] == text.return_cancelled().text and status[1].startswith("สถานะการรายงานผล")
    assert report_status(engine, report_id) == "submitted"

    bot.tap(D, _buttons(card)["ส่งกลับแก้ไข"])
    with Session(engine) as s:  # the director walked away for two hours
        conversation = s.exec(select(Conversation).where(Conversation.chat_key == D)).one()
        conversation.data = {
            **conversation.data,
            "asked_at": (OfficeClock().now() - timedelta(hours=2)).isoformat(),
        }
        s.add(conversation)
        s.commit()
    assert bot.say(D, "เดี๋ยวโทรหานะ") == [chat.not_understood().text]
    assert decisions(engine) == [] and report_status(engine, report_id) == "submitted"

    bot.tap(D, _buttons(card)["ส่งกลับแก้ไข"])
    assert bot.say(D, "อนุมัติครับ")[0].startswith("อนุมัติรายงาน")  # changed their mind: not a reason
    [decision] = decisions(engine)
    assert (decision.outcome, decision.reason) == (DecisionOutcome.APPROVED, "")


def test_rich_menu_report_button_while_a_reason_is_awaited(engine, office, make_bot) -> None:
    report_id, _ = _submitted(engine, office, office.projects[0])
    _submitted(engine, office, office.own_project, person=office.director)
    bot = make_bot()
    [card] = bot.cards(D, 1)
    bot.tap(D, _buttons(card)["ส่งกลับแก้ไข"])
    answer = bot.tap(D, "v1|cmd|name=report")  # the director's own report, from the rich menu
    assert answer == [report_form.busy_elsewhere().text]  # not a crash, and the return is not lost
    assert bot.say(D, "ขอรายละเอียดกิจกรรมเพิ่ม")[0].startswith("ส่งกลับรายงาน")
    [decision] = decisions(engine)
    assert (decision.report_id, decision.reason) == (report_id, "ขอรายละเอียดกิจกรรมเพิ่ม")


def test_quote_replies_approve_return_cancel_and_ignore_chatter(engine, office, make_bot) -> None:
    first, _ = _submitted(engine, office, office.projects[0])
    second, _ = _submitted(engine, office, office.projects[1])
    bot = make_bot()
    cards = bot.cards(D, 2)
    quote_first = _card_for(cards, office.projects[0].code).sent_message_ids[0]
    quote_second = _card_for(cards, office.projects[1].code).sent_message_ids[0]

    assert bot.say(D, "ok ครับ", quoting=quote_first)[0].startswith("อนุมัติรายงาน " + office.projects[0].code)
    assert bot.say(D, "ส่งกลับ", quoting=quote_second)[0].startswith(
        "ขอเหตุผลที่ส่งกลับรายงาน " + office.projects[1].code
    )
    assert bot.say(D, "ยกเลิก")[0] == text.return_cancelled().text
    # starts with an approval word but is no approval: nothing is decided
    # (issue 16: a quote-reply that neither approves nor returns is offered both, for that card)
    offered = bot.say(D, "ตกลงว่าต้องแก้ตัวเลขก่อน", quoting=quote_second)[0]
    assert offered.startswith("ต้องการอนุมัติ หรือส่งกลับรายงาน " + office.projects[1].code)
    assert {a["data"] for a in _quick_replies(bot, D)} == {
        text.decision_postback(second, 1, "a"),
        text.decision_postback(second, 1, "r"),
    }
    assert report_status(engine, second) == "submitted"
    assert bot.say(D, "ส่งกลับ: ตัวชี้วัดไม่ตรงเป้า", quoting=quote_second)[0].startswith("ส่งกลับรายงาน")

    by_report = {d.report_id: d for d in decisions(engine)}
    assert (
        by_report[first].outcome == DecisionOutcome.APPROVED
        and by_report[first].channel == DecisionChannel.QUOTE_REPLY
    )
    assert (
        by_report[second].reason == "ตัวชี้วัดไม่ตรงเป้า"
        and by_report[second].channel == DecisionChannel.QUOTE_REPLY
    )
    assert [a.details["channel"] for a in audits(engine)] == ["quote_reply", "quote_reply"]
    notices = [p.messages[0]["text"] for p in bot.pushes(T, 2)]
    assert any("ได้รับอนุมัติแล้ว" in n for n in notices) and any("ตัวชี้วัดไม่ตรงเป้า" in n for n in notices)


def test_plain_text_decisions(engine, office, make_bot) -> None:
    extra = add_projects(engine, office, 2)
    projects = [*office.projects, *extra]
    ids = [_submitted(engine, office, p)[0] for p in projects]
    bot = make_bot()
    bot.cards(D, 4)

    which = bot.say(D, "อนุมัติ")[0]
    assert "4 รายการ" in which and all(p.code in which for p in projects)
    assert {a["text"] for a in _quick_replies(bot, D)} >= {f"อนุมัติ {p.code}" for p in projects}
    assert decisions(engine) == []

    assert bot.say(D, f"อนุมัติ {projects[0].code}")[0].startswith("อนุมัติรายงาน " + projects[0].code)
    assert bot.say(D, f"ส่งกลับ {projects[1].code} งบไม่ตรงกับแผน")[0].startswith(
        "ส่งกลับรายงาน " + projects[1].code
    )
    assert "ส่งกลับรายการไหน" in bot.say(D, "ส่งกลับ ไม่ระบุรหัส")[0]  # two left: which one?
    assert bot.say(D, f"อนุมัติ {projects[2].code}")[0].startswith("อนุมัติรายงาน")
    assert bot.say(D, "ส่งกลับ")[0].startswith("ขอเหตุผล")  # one left, but no reason yet
    assert bot.say(D, "ยังไม่ได้แนบรูป")[0].startswith("ส่งกลับรายงาน " + projects[3].code)
    assert bot.say(D, "อนุมัติ")[0] == text.nothing_pending().text

    by_report = {d.report_id: d for d in decisions(engine)}
    assert [by_report[i].outcome for i in ids] == ["approved", "returned", "approved", "returned"]
    assert by_report[ids[1]].reason == "งบไม่ตรงกับแผน" and by_report[ids[3]].reason == "ยังไม่ได้แนบรูป"
    assert {d.channel for d in by_report.values()} == {DecisionChannel.TEXT}
    assert len(bot.pushes(T, 4)) == 4


def test_two_levels_the_planning_group_verifies_after_the_director(engine, office, make_bot) -> None:
    report_id, _ = _submitted(engine, office, office.projects[0])
    bot = make_bot(TIDTAM_APPROVAL_LEVELS=2)
    [card] = bot.cards(D, 1)
    assert "กลุ่มนโยบายและแผน" in bot.tap(D, _buttons(card)["อนุมัติ"])[0]
    [verify] = bot.cards(PL, 1)
    assert verify.messages[0]["altText"].startswith("ตรวจสอบรายงานผล")
    assert report_status(engine, report_id) == "submitted"
    assert "ไปแล้วโดย " + office.director.full_name in bot.tap(D, _buttons(card)["อนุมัติ"])[0]
    assert bot.say(PL, "ok", quoting=verify.sent_message_ids[0])[0].startswith("อนุมัติรายงาน")
    assert report_status(engine, report_id) == "approved"
    notices = bot.pushes(T, 1)
    assert len(notices) == 1 and office.planner.full_name in notices[0].messages[0]["text"]
    assert [d.level for d in decisions(engine)] == [1, 2]


def test_planning_group_reopens_an_approved_report(
    engine, office, make_bot, db_url, monkeypatch, tmp_path
) -> None:
    report_id, version = _submitted(engine, office, office.projects[0])
    bot = make_bot()
    [card] = bot.cards(D, 1)
    bot.tap(D, _buttons(card)["อนุมัติ"])
    bot.pushes(T, 1)
    assert bot.tap(T, f"v1|report|r={report_id}") == [chat.unknown_button().text]  # approved: final

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["approvals", "--reopen", str(report_id), "--reason", "ตัวเลขเบิกจ่ายผิด"])
    assert result.exit_code == 0, result.output
    notice = bot.pushes(T, 2)[-1].messages[0]
    assert "ตัวเลขเบิกจ่ายผิด" in notice["text"]
    [edit] = [item["action"] for item in notice["quickReply"]["items"]]
    form = "\n".join(bot.tap(T, edit["data"]))
    assert "ฉบับที่ 2" in form  # the form is open again, to make version 2 from the answers
    assert report_status(engine, report_id) == "returned"
    [reopen] = [a for a in audits(engine, report_id) if a.action == "report_reopened"]
    assert reopen.details["version"] == version and reopen.details["channel"] == "cli"


# --- refusals ----------------------------------------------------------------------------------------


def test_every_refusal_over_http(engine, office, make_bot) -> None:
    report_id, _ = _submitted(engine, office, office.projects[0])
    own_id, _ = _submitted(engine, office, office.own_project, person=office.director)
    bot = make_bot()
    [card] = bot.cards(D, 1)
    approve = _buttons(card)["อนุมัติ"]
    [own_card] = bot.cards(AD, 1)  # the director's own report went one level up
    assert office.own_project.code in own_card.messages[0]["altText"]

    assert bot.tap(T2, approve) == [text.not_allowed().text]
    assert bot.tap(T, approve) == [text.own_report().text]
    assert bot.tap(D, _buttons(own_card)["อนุมัติ"]) == [text.own_report().text]
    assert bot.say(T2, "อนุมัติ") == [text.nothing_pending().text]
    assert bot.tap(D, "v1|ap|r=987654|n=1|d=a") == [text.not_pending().text]
    assert bot.tap(D, f"v1|ap|r={report_id}|n=x|d=a") == [chat.unknown_button().text]
    assert decisions(engine) == []

    # the teacher edits: the old card is refused, with the new version to decide instead
    _submitted(engine, office, office.projects[0], progress="75")
    bot.cards(D, 2)
    stale = bot.tap(D, approve)
    assert stale[0] == text.stale_version(2).text
    new_card = bot.fake.deliveries_to(D)[-1].messages[1]
    assert new_card["altText"].endswith("— แตะอนุมัติ หรือตอบกลับข้อความนี้ค่ะ")
    new_approve = next(b["action"]["data"] for b in new_card["contents"]["footer"]["contents"])
    assert new_approve.endswith("|n=2|d=a")
    assert bot.tap(T2, approve) == [text.not_allowed().text]  # outsiders learn nothing of version 2
    assert decisions(engine) == []
    assert bot.tap(D, new_approve)[0].startswith("อนุมัติรายงาน")
    assert bot.tap(AD, _buttons(own_card)["อนุมัติ"])[0].startswith("อนุมัติรายงาน " + office.own_project.code)
    by_report = {d.report_id: d for d in decisions(engine)}
    assert set(by_report) == {report_id, own_id}
    assert by_report[own_id].decided_by_id == office.area_director.id


# --- many reports, acting approvers, cards overtaken by someone else -----------------------------------


def test_director_with_25_pending_reports(engine, office, make_bot) -> None:
    projects = [*office.projects, *add_projects(engine, office, 23)]
    for project in projects:
        _submitted(engine, office, project)
    bot = make_bot()
    bot.cards(D, 25)

    listing = bot.say(D, "รออนุมัติ")[0]
    assert "25 รายการ" in listing and all(p.code in listing for p in projects)
    assert len(_quick_replies(bot, D)) <= 13

    confirm = bot.say(D, "อนุมัติทั้งหมด")[0]
    assert "25 รายการ" in confirm
    stale_all = next(a["data"] for a in _quick_replies(bot, D) if a["type"] == "postback")
    assert stale_all.startswith("v1|apall|h=")
    _submitted(engine, office, projects[0], progress="80")  # the list changes before the tap
    changed = bot.tap(D, stale_all)
    assert changed[0] == text.pending_changed().text and "25 รายการ" in changed[1]
    assert decisions(engine) == []

    bot.say(D, "อนุมัติทั้งหมด")
    fresh = next(a["data"] for a in _quick_replies(bot, D) if a["type"] == "postback")
    assert fresh != stale_all
    assert bot.tap(D, fresh) == [text.approved_all(25, 0).text]
    assert len(decisions(engine)) == 25 and {d.channel for d in decisions(engine)} == {DecisionChannel.BULK}
    assert len(audits(engine)) == 25
    [notice] = bot.pushes(T, 1)  # one push for all 25, not 25 pushes
    assert "25 รายการ" in notice.messages[0]["text"] and projects[24].code in notice.messages[0]["text"]
    assert bot.say(D, "อนุมัติทั้งหมด") == [text.nothing_pending().text]
    assert bot.tap(D, fresh)[0] == text.pending_changed().text
    assert len(decisions(engine)) == 25


def test_acting_approver_off_then_on_their_dates(engine, office, make_bot, office_clock) -> None:
    today = office_clock.today  # in Bangkok: in UTC it is still yesterday
    set_acting(engine, office, today - timedelta(days=5), today - timedelta(days=1))  # ended yesterday
    set_acting(engine, office, today + timedelta(days=1), today + timedelta(days=3))  # starts tomorrow
    off_id, _ = _submitted(engine, office, office.projects[0])
    bot = make_bot()
    [card] = bot.cards(D, 1)
    assert bot.say(DD, "อนุมัติ") == [text.nothing_pending().text]
    assert bot.tap(DD, _buttons(card)["อนุมัติ"]) == [text.not_allowed().text]
    assert decisions(engine) == [] and bot.fake.deliveries_to(DD)[0].kind == "reply"

    set_acting(engine, office, today, today)
    on_id, _ = _submitted(engine, office, office.projects[1])
    [deputy_card] = bot.cards(DD, 1)
    assert office.projects[1].code in deputy_card.messages[0]["altText"]
    # acting today, the deputy may decide everything waiting for the director, older reports too
    listing = bot.say(DD, "รออนุมัติ")[0]
    assert "2 รายการ" in listing and office.projects[0].code in listing
    code = office.projects[1].code
    assert bot.say(DD, f"อนุมัติ {code}")[0].startswith("อนุมัติรายงาน " + code)
    [decision] = decisions(engine)
    assert (decision.report_id, decision.decided_by_id, decision.on_behalf_of_id) == (
        on_id,
        office.deputy.id,
        office.director.id,
    )
    assert office.deputy.full_name in bot.pushes(T, 1)[-1].messages[0]["text"]
    assert report_status(engine, off_id) == "submitted"


def test_quote_reply_to_a_card_approved_since_by_someone_else(engine, office, make_bot, office_clock) -> None:
    set_acting(engine, office, office_clock.today, office_clock.today)
    report_id, _ = _submitted(engine, office, office.projects[0])
    bot = make_bot()
    [director_card] = bot.cards(D, 1)
    [deputy_card] = bot.cards(DD, 1)
    assert bot.tap(DD, _buttons(deputy_card)["อนุมัติ"])[0].startswith("อนุมัติรายงาน")

    answer = bot.say(D, "อนุมัติครับ", quoting=director_card.sent_message_ids[0])
    assert len(answer) == 1 and "อนุมัติไปแล้วโดย " + office.deputy.full_name in answer[0]
    answer = bot.say(D, "ส่งกลับ ขอแก้ตัวเลข", quoting=director_card.sent_message_ids[0])
    assert "อนุมัติไปแล้วโดย " + office.deputy.full_name in answer[0]
    [decision] = decisions(engine)
    assert decision.decided_by_id == office.deputy.id and report_status(engine, report_id) == "approved"
    assert len(bot.pushes(T, 1)) == 1
