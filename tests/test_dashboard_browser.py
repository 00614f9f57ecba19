"""The dashboard in a real browser (Playwright driving Debian's chromium): a planner logs in through the
link the bot gives for `แดชบอร์ด`, filters, opens a project and its photo, reopens a report and downloads
both exports; a reused or expired link and a visit without a session are refused; a director cannot open
another school's project by URL. Screenshots (desktop and phone width) go to var/test-artefacts/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser import artefact_dir, chromium  # noqa: F401  (the fixture)
from dashboard_office import DIRECTOR, NOW, PLANNER, build_office, login_link
from openpyxl import load_workbook
from sqlmodel import Session
from support import make_settings, running_service

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


def _link(fake_line, service: str, user: str) -> str:  # type: ignore[no-untyped-def]
    return login_link(fake_line, user).replace("http://127.0.0.1:8000", service)


def test_a_planner_works_through_the_dashboard(
    chromium,  # noqa: F811
    fake_line,
    service,
    office,
    engine,
    tmp_path,
) -> None:
    shots = artefact_dir(f"dashboard-{engine.dialect.name}")
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(_link(fake_line, service, PLANNER))
    assert page.url.endswith("/dashboard")
    assert page.locator("h1").inner_text() == "สถานะการรายงาน"
    page.select_option("select[name=q]", "1")
    page.click("form.period button")
    page.wait_for_url("**/dashboard?fy=*&q=1*")
    assert "เลยกำหนด" in page.locator("table.status").inner_text()
    page.screenshot(path=str(shots / "status.png"), full_page=True)

    page.click("text=โรงเรียนทดสอบวิทยา")
    page.select_option("select[name=state]", "approved")
    page.click("form.filters button")
    rows = page.locator("table.projects tbody tr")
    assert rows.count() == 1 and office.seeded.projects[0].name in rows.first.inner_text()
    page.screenshot(path=str(shots / "projects.png"), full_page=True)

    rows.first.locator("a").first.click()
    page.wait_for_selector("table.versions")
    assert "ตัวเลขเบิกจ่ายไม่ตรง" in page.content()
    image = page.locator("td.photos img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=image.element_handle())
    photo = context.request.get(f"{service}{image.get_attribute('src')}")
    assert photo.ok and photo.headers["content-type"] == "image/png"
    page.screenshot(path=str(shots / "project.png"), full_page=True)

    page.fill("form.reopen input[name=reason]", "ตัวเลขไม่ตรงกับระบบบัญชี")
    page.click("form.reopen button")
    page.wait_for_selector(".flash.ok")
    with Session(engine) as s:
        assert s.get(ProgressReport, office.approved_report_id).status == ReportStatus.RETURNED

    page.click("nav >> text=ส่งออก")
    page.select_option("select[name=q]", "1")
    page.click("form.period button")
    with page.expect_download() as xlsx_download:
        page.click("text=ดาวน์โหลด Excel")
    xlsx = tmp_path / "from-browser.xlsx"
    xlsx_download.value.save_as(xlsx)
    sheet = load_workbook(xlsx).worksheets[0]
    assert sheet.max_row == 5  # a header and the four projects
    with page.expect_download() as csv_download:
        page.click("text=ดาวน์โหลด CSV โครงการ")
    csv_file = tmp_path / "from-browser.csv"
    csv_download.value.save_as(csv_file)
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf") and "ชื่อโครงการ" in csv_file.read_text(
        "utf-8-sig"
    )

    page.click("nav >> text=งบประมาณและผล")
    page.wait_for_selector("figure.chart img")
    for chart in page.locator("figure.chart img").all():
        chart.scroll_into_view_if_needed()
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(shots / "budget.png"), full_page=True)

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.add_cookies(context.cookies())
    small = phone.new_page()
    small.goto(f"{service}/dashboard?fy={office.fy}&q=1")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    small.screenshot(path=str(shots / "status-phone.png"), full_page=True)
    phone.close()
    context.close()


def test_refusals_in_the_browser(chromium, fake_line, service, office, clock) -> None:  # noqa: F811
    shots = artefact_dir("dashboard-refused")
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{service}/dashboard")
    assert "กรุณาเข้าสู่ระบบก่อน" in page.content()
    page.screenshot(path=str(shots / "no-session.png"))

    link = _link(fake_line, service, PLANNER)
    page.goto(link)
    assert page.url.endswith("/dashboard")
    other = chromium.new_context().new_page()
    other.goto(link)
    assert "ลิงก์นี้ใช้ไม่ได้แล้ว" in other.content()
    other.screenshot(path=str(shots / "reused.png"))

    expired = _link(fake_line, service, PLANNER)
    clock.advance(timedelta(minutes=16))
    other.goto(expired)
    assert "ลิงก์นี้ใช้ไม่ได้แล้ว" in other.content()
    context.close()


def test_a_director_cannot_open_another_schools_project(chromium, fake_line, service, office) -> None:  # noqa: F811
    context = chromium.new_context()
    page = context.new_page()
    page.goto(_link(fake_line, service, DIRECTOR))
    response = page.goto(f"{service}/dashboard/projects/{office.other_project.id}")
    assert response is not None and response.status == 403
    assert "ไม่มีสิทธิ์ดูหน้านี้" in page.content()
    response = page.goto(f"{service}/dashboard/projects/{office.seeded.projects[0].id}")
    assert response is not None and response.status == 200
    context.close()
