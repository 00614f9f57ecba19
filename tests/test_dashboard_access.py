"""Getting into the dashboard: a link from chatting `แดชบอร์ด`, used once within 15 minutes, opens an
8-hour session; scopes by role; every page, photo and form refused without a session or CSRF token.

Real HTTP throughout: the service on a loopback port, the fake LINE platform sending the chat.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from dashboard_office import (
    DIRECTOR,
    NOW,
    OTHER_DIRECTOR,
    PLANNER,
    TEACHER,
    build_office,
    login_link,
    reply_text,
)
from sqlmodel import Session, col, select
from support import make_settings, running_service

from models import AuditLog
from models.dashboard import DashboardLogin, DashboardSession
from models.reports import ProgressReport
from models.types import ReportStatus
from scheduler.clock import FixedClock

pytestmark = pytest.mark.usefixtures("fake_line")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def office(engine, tmp_path):  # type: ignore[no-untyped-def]
    return build_office(engine, tmp_path / "media")


@pytest.fixture
def service(db_url, fake_line, tmp_path, clock, office):  # type: ignore[no-untyped-def]
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=clock) as url:
        fake_line.webhook_url = f"{url}/callback"
        yield url


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, timeout=10)


def _login(fake_line, service: str, user: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    link = login_link(fake_line, user)
    client = _client(service)
    response = client.get(link.replace("http://127.0.0.1:8000", service))
    assert response.status_code == 303, response.text
    return client


def test_planner_gets_a_link_in_chat_and_it_opens_a_session(engine, fake_line, service, office) -> None:
    link = login_link(fake_line, PLANNER)
    assert link.startswith("http://127.0.0.1:8000/dashboard/login?t=")
    token = link.split("t=", 1)[1]
    with Session(engine) as s:
        stored = s.exec(select(DashboardLogin)).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64  # only a hash is kept
        assert stored.expires_at - stored.created_at == timedelta(minutes=15)
    client = _client(service)
    response = client.get(f"/dashboard/login?t={token}")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie  # http public URL: no Secure flag
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "สถานะการรายงาน" in page.text and "นางวางแผน รอบคอบ" in page.text
    assert "โรงเรียนทดสอบวิทยา" in page.text and "โรงเรียนอีกแห่งวิทยา" in page.text  # the whole area
    assert "ไตรมาส 2/2569" in page.text and "10 เม.ย. 2569" in page.text  # today's quarter, due in BE
    assert "10 ม.ค. 2569" in client.get("/dashboard?fy=2569&q=1").text
    with Session(engine) as s:
        actions = [a.action for a in s.exec(select(AuditLog).where(col(AuditLog.actor) == "dashboard"))]
        assert {"dashboard_link_issued", "dashboard_login"} <= set(actions)
        assert s.exec(select(DashboardSession)).one().ended_at is None


def test_a_reused_link_is_refused_with_a_thai_page(fake_line, service, office) -> None:
    link = login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", service)
    assert _client(service).get(link).status_code == 303
    again = _client(service).get(link)
    assert again.status_code == 403
    assert "ลิงก์นี้ใช้ไม่ได้แล้ว" in again.text and "แดชบอร์ด" in again.text
    assert "set-cookie" not in again.headers


def test_an_expired_link_is_refused(engine, fake_line, service, office, clock) -> None:
    link = login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", service)
    clock.advance(timedelta(minutes=15, seconds=1))
    refused = _client(service).get(link)
    assert refused.status_code == 403 and "ลิงก์นี้ใช้ไม่ได้แล้ว" in refused.text
    with Session(engine) as s:
        refusal = s.exec(select(AuditLog).where(AuditLog.action == "dashboard_login_refused")).one()
        assert refusal.details == {"reason": "expired"}


def test_the_session_ends_after_eight_hours(fake_line, service, office, clock) -> None:
    client = _login(fake_line, service, PLANNER)
    clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/dashboard").status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get("/dashboard").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard",
        "/dashboard/projects",
        "/dashboard/projects/1",
        "/dashboard/photos/1",
        "/dashboard/exports",
        "/dashboard/exports/download?format=xlsx",
        "/dashboard/budget",
        "/dashboard/charts/disbursement.svg",
        "/dashboard/messages",
        "/dashboard/actions/remind?office=SCH1",
        "/dashboard/annual-report?fy=2569",
        "/dashboard/stuck",
    ],
)
def test_every_page_needs_a_session(service, office, path: str) -> None:
    response = _client(service).get(path)
    assert response.status_code == 401
    assert "กรุณาเข้าสู่ระบบก่อน" in response.text and "แดชบอร์ด" in response.text
    forged = _client(service)
    forged.cookies.set("tidtam_dashboard", "not-a-session", path="/dashboard")
    assert forged.get(path).status_code == 401


def test_a_reporter_is_told_politely_it_is_for_the_planning_group(engine, fake_line, service, office) -> None:
    assert fake_line.send_sync(fake_line.text_event(TEACHER, "แดชบอร์ด")).status_code == 200
    fake_line.wait_for(lambda: fake_line.messages_to(TEACHER), timeout=15)
    answer = reply_text(fake_line, TEACHER)
    assert "กลุ่มนโยบายและแผนและผู้อำนวยการ" in answer and "ค่ะ" in answer
    with Session(engine) as s:
        assert s.exec(select(DashboardLogin)).first() is None


def test_a_director_sees_only_their_school_and_not_another_by_url(fake_line, service, office) -> None:
    client = _login(fake_line, service, DIRECTOR)
    status = client.get("/dashboard").text
    assert "โรงเรียนทดสอบวิทยา" in status and "โรงเรียนอีกแห่งวิทยา" not in status
    listing = client.get("/dashboard/projects?q=1").text
    assert office.seeded.projects[0].name in listing and "โครงการห้องสมุดมีชีวิต" not in listing
    own = client.get(f"/dashboard/projects/{office.seeded.projects[0].id}")
    assert own.status_code == 200
    other = client.get(f"/dashboard/projects/{office.other_project.id}")
    assert other.status_code == 403 and "ไม่มีสิทธิ์ดูหน้านี้" in other.text
    assert client.get(f"/dashboard/projects?office={office.other_school.id}").status_code == 403
    # The other school's director cannot see the first school's photo either.
    other_director = _login(fake_line, service, OTHER_DIRECTOR)
    assert other_director.get(f"/dashboard/photos/{office.photo_id}").status_code == 403
    assert client.get(f"/dashboard/photos/{office.photo_id}").status_code == 200


def test_forms_need_the_sessions_csrf_token(engine, fake_line, service, office) -> None:
    client = _login(fake_line, service, PLANNER)
    url = f"/dashboard/reports/{office.approved_report_id}/reopen"
    refused = client.post(url, data={"reason": "ตรวจสอบใหม่", "csrf": "wrong"})
    assert refused.status_code == 403 and "ส่งแบบฟอร์มไม่สำเร็จ" in refused.text
    refused = client.post(url, data={"reason": "ตรวจสอบใหม่"})
    assert refused.status_code == 403
    with Session(engine) as s:
        assert s.get(ProgressReport, office.approved_report_id).status == ReportStatus.APPROVED
    assert _client(service).post(url, data={"reason": "x", "csrf": "x"}).status_code == 401


def test_logging_out_ends_the_session(engine, fake_line, service, office) -> None:
    client = _login(fake_line, service, PLANNER)
    page = client.get("/dashboard").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.post("/dashboard/logout", data={"csrf": csrf}).status_code == 200
    assert client.get("/dashboard").status_code == 401
    with Session(engine) as s:
        assert s.exec(select(DashboardSession)).one().ended_at is not None
