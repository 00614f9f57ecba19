"""The Messages page (counts of what was sent, failures, who cannot be reached, the month's quota and
its forecast) and the planners' actions: remind one school now after seeing its cost, print link codes."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
import pytest
from dashboard_office import DIRECTOR, NOW, PLANNER, TEACHER, TODAY, build_office, login_link
from openpyxl import load_workbook
from sqlmodel import Session, select
from support import make_settings, running_service

from dashboard import activity
from dashboard.scope import Scope
from models import AuditLog, OutboxMessage, Person
from models.outbox import queue_push
from models.types import OutboxKind, OutboxStatus, Reachability
from scheduler.clock import FixedClock
from tidtam.settings import Settings

pytestmark = pytest.mark.usefixtures("fake_line")


@pytest.fixture
def office(engine, tmp_path):  # type: ignore[no-untyped-def]
    built = build_office(engine, tmp_path / "media")
    with Session(engine) as s:
        for n, (to, status, error) in enumerate(
            [
                (["U1", "U2"], OutboxStatus.SENT, None),
                (["U3"], OutboxStatus.FAILED, "403 not a friend"),
                (["U4"], OutboxStatus.PENDING, None),
            ]
        ):
            row = queue_push(
                s,
                to=to,
                messages=[{"type": "text", "text": "x"}],
                dedupe_key=f"t{n}",
                rule="daily",
                subject="",
                now=NOW - timedelta(days=1),
                purpose="reminder",
            )
            row.status, row.last_error = status, error
            row.not_before = row.next_attempt_at = NOW + timedelta(
                days=1
            )  # the service's dispatcher leaves it
            s.add(row)
        last_month = queue_push(
            s,
            to=["U9"],
            messages=[{"type": "text", "text": "x"}],
            dedupe_key="old",
            rule="daily",
            subject="",
            now=NOW - timedelta(days=40),
        )
        assert last_month is not None
        reply = queue_push(
            s,
            to=["U5"],
            messages=[{"type": "text", "text": "x"}],
            dedupe_key="r",
            rule="reply",
            subject="",
            now=NOW,
        )
        reply.kind, reply.status = OutboxKind.REPLY, OutboxStatus.SENT
        s.add(reply)
        blocked = s.exec(select(Person).where(Person.code == "D2")).one()
        blocked.reachability = Reachability.BLOCKED
        s.add(blocked)
        s.commit()
    return built


def test_activity_counts_this_month_only(engine, office) -> None:
    with Session(engine) as s:
        found = activity.activity(s, Scope(None), TODAY, Settings(_env_file=None).tz, 300)
    assert found.used == 3  # U1, U2 and the pending U4; not the failure, not the reply, not last month
    assert found.left == 297
    assert [f.reason for f in found.failures] == ["403 not a friend"]
    assert found.reachability["blocked"] == 1
    assert {u.code for u in found.unreachable} >= {"D2", "T2"}


def test_the_messages_page_and_the_actions(engine, db_url, fake_line, tmp_path, office) -> None:
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=FixedClock(NOW)) as url:
        fake_line.webhook_url = f"{url}/callback"
        client = httpx.Client(base_url=url, follow_redirects=False, timeout=20)
        assert (
            client.get(login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", url)).status_code
            == 303
        )
        page = client.get("/dashboard/messages").text
        assert "ใช้ไปแล้ว" in page and "297</span> เหลือ จาก 300" in page
        assert "403 not a friend" in page and "บล็อกบัญชีแล้ว" in page and "นายสอนดี ตั้งใจ" in page
        assert "ข้อความ" in page and '"x"' not in page  # counts, never texts
        with_forecast = client.get("/dashboard/messages?forecast=1").text
        assert "ประมาณการถึง 31 ม.ค. 2569" in with_forecast

        preview = client.get("/dashboard/actions/remind?office=SCH1")
        assert preview.status_code == 200
        with Session(engine) as s:
            from scheduler.service import tick_setup

            expected = activity.school_reminders(
                s, office.seeded.school.id, TODAY, tick_setup(settings).calendar
            )
        assert expected, "the seeded school has reminders due today"
        assert f"ใช้โควตา <strong>{len(expected)} ข้อความ" in preview.text
        csrf = preview.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        sent = client.post("/dashboard/actions/remind", data={"csrf": csrf, "office": "SCH1"})
        assert sent.status_code == 303 and f"n={len(expected)}" in sent.headers["location"]
        assert f"ส่งการแจ้งเตือนแล้ว {len(expected)} ข้อความ" in client.get(sent.headers["location"]).text
        # The teacher gets one push listing the late Q1 report (project 3) and Q2's three reports.
        fake_line.wait_for(lambda: any("เลยกำหนดส่ง" in t for t in fake_line.texts_to(TEACHER)), timeout=15)
        unknown = client.get("/dashboard/actions/remind?office=NOPE")
        assert unknown.status_code == 404 and "ไม่พบหน่วยงานรหัส NOPE" in unknown.text

        codes = client.post("/dashboard/actions/link-codes", data={"csrf": csrf, "office": "SCH2"})
        assert codes.status_code == 200
        rows = list(load_workbook(io.BytesIO(codes.content)).worksheets[0].iter_rows(values_only=True))
        assert any("T2" in r for r in rows) and not any("D2" in r for r in rows if r)  # D2 is linked

        director = httpx.Client(base_url=url, follow_redirects=False, timeout=10)
        assert (
            director.get(login_link(fake_line, DIRECTOR).replace("http://127.0.0.1:8000", url)).status_code
            == 303
        )
        assert director.get("/dashboard/actions/remind?office=SCH1").status_code == 403
    with Session(engine) as s:
        queued = s.exec(select(OutboxMessage).where(OutboxMessage.rule == "remind_now")).all()
        assert len(queued) == len(expected) and all(q.kind == OutboxKind.PUSH for q in queued)
        actions = {a.action for a in s.exec(select(AuditLog).where(AuditLog.actor == "dashboard"))}
        assert {"dashboard_remind_now", "dashboard_link_codes"} <= actions


def test_messages_are_counted_by_the_office_and_role_of_whom_they_reached(engine, office) -> None:
    seeded = office.seeded
    with Session(engine) as s:
        for n, (people, kind, status) in enumerate(
            [
                ([seeded.teacher.id], OutboxKind.PUSH, OutboxStatus.SENT),
                ([seeded.teacher.id], OutboxKind.REPLY, OutboxStatus.SENT),
                ([seeded.teacher.id, seeded.director.id], OutboxKind.MULTICAST, OutboxStatus.SENT),
                ([office.other_director.id], OutboxKind.PUSH, OutboxStatus.SENT),
                ([office.other_director.id], OutboxKind.PUSH, OutboxStatus.FAILED),  # not delivered
                ([seeded.planner.id], OutboxKind.PUSH, OutboxStatus.PENDING),  # not yet delivered
                ([], OutboxKind.PUSH, OutboxStatus.SENT),  # a bound LINE group
            ]
        ):
            row = queue_push(
                s,
                to=[f"U{n}"] * max(1, len(people)),
                messages=[{"type": "text", "text": "x"}],
                dedupe_key=f"whom{n}",
                rule="daily",
                subject="",
                now=NOW - timedelta(hours=1),
                purpose="reminder",
                person_ids=people,
            )
            row.kind, row.status = kind, status
            row.not_before = row.next_attempt_at = NOW + timedelta(days=1)
            s.add(row)
        s.commit()
        tz = Settings(_env_file=None).tz  # type: ignore[call-arg]
        found = activity.activity(s, Scope(None), TODAY, tz, 300)
        mine = activity.activity(s, Scope(office.other_school.id), TODAY, tz, 300)
    offices = {o.key: (o.people, o.paid, o.replies) for o in found.by_office}
    assert offices == {seeded.school.code: (2, 3, 1), office.other_school.code: (1, 1, 0)}
    assert found.offices_reached == 2
    roles = {r.key: (r.people, r.paid, r.replies) for r in found.by_role}
    assert roles["reporter"] == (1, 2, 1)  # the teacher: a push and the multicast paid, one reply free
    assert roles["approver"] == (2, 2, 0)  # both directors
    assert "planner" not in roles  # the planner's push is still pending
    assert found.unnamed == 3  # the bound group's push, and the fixture's sent push and reply (no person)
    # A director's scope counts only its own school's people, and no group.
    assert [(o.key, o.paid) for o in mine.by_office] == [(office.other_school.code, 1)]
    assert mine.unnamed == 0


def test_the_messages_page_shows_to_whom(engine, db_url, fake_line, tmp_path, office) -> None:
    with Session(engine) as s:
        row = queue_push(
            s,
            to=["U1"],
            messages=[{"type": "text", "text": "x"}],
            dedupe_key="whom",
            rule="daily",
            subject="",
            now=NOW - timedelta(hours=1),
            purpose="reminder",
            person_ids=[office.seeded.teacher.id],
        )
        row.status = OutboxStatus.SENT
        row.not_before = row.next_attempt_at = NOW + timedelta(days=1)
        s.add(row)
        s.commit()
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=FixedClock(NOW)) as url:
        fake_line.webhook_url = f"{url}/callback"
        client = httpx.Client(base_url=url, follow_redirects=False, timeout=20)
        link = login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", url)
        assert client.get(link).status_code == 303
        page = client.get("/dashboard/messages").text
    assert "<td>reply</td>" not in page and "ตอบกลับในแชต" in page  # the bot's replies are named
    by_role = page.split("ส่งถึงใคร: ตามบทบาท", 1)[1].split("</table>", 1)[0]
    assert "ผู้รายงาน" in by_role
    by_office = page.split("ส่งถึงใคร: ตามหน่วยงาน", 1)[1].split("</table>", 1)[0]
    assert "โรงเรียนทดสอบวิทยา" in by_office and office.seeded.school.code in by_office
