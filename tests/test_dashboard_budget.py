"""Budget and results: disbursement against the year's quarterly targets and indicator achievement, per
strategy and per office, as the figures under the charts; targets set by a planner, audited."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from dashboard_office import NOW, PLANNER, TODAY, build_office, login_link
from sqlmodel import Session, select
from support import make_settings, running_service

from dashboard import budget
from dashboard.queries import choose_period, periods_of
from dashboard.scope import Scope
from models import AuditLog
from scheduler.clock import FixedClock

pytestmark = pytest.mark.usefixtures("fake_line")


@pytest.fixture
def office(engine, tmp_path):  # type: ignore[no-untyped-def]
    return build_office(engine, tmp_path / "media")


def test_figures_add_up_from_the_reports(engine, office) -> None:
    with Session(engine) as s:
        q1 = choose_period(s, TODAY, office.fy, 1)
        overall = budget.overall(s, q1, Scope(None))
        assert overall.projects == 4
        assert overall.budget_satang == 12_000_050 + 24_000_100 + 36_000_150 + 5_000_000
        assert overall.disbursed_satang == 4_500_050 + 1_000_000  # each project's current version
        assert overall.disbursed_pct == Decimal("7.14")
        assert (overall.indicators, overall.indicators_met) == (4, 0)
        assert overall.achievement_pct == Decimal("40.00")  # 80 % twice, nothing reported twice
        strategies = {f.label: f for f in budget.by_strategy(s, q1, Scope(None), unlinked="none")}
        assert strategies["AREA1 กลยุทธ์ที่ 1 พัฒนาคุณภาพผู้เรียน"].projects == 3
        assert strategies["none"].projects == 1 and strategies["none"].disbursed_satang == 0
        offices = budget.by_office(s, q1, Scope(None))
        assert [f.label for f in offices] == ["โรงเรียนทดสอบวิทยา", "โรงเรียนอีกแห่งวิทยา"]  # largest budget first
        director = budget.overall(s, q1, Scope(office.seeded.school.id))
        assert director.projects == 3
        series = budget.quarter_series(s, periods_of(s, office.fy, TODAY), Scope(None), TODAY)
        assert [p.target_pct for p in series] == [32, 54, 77, 100]  # the defaults until set
        assert series[0].disbursed_pct == Decimal("7.14") and series[1].disbursed_pct == 0
        assert series[2].disbursed_pct is None  # not started yet


def test_the_budget_page_charts_and_targets(engine, db_url, fake_line, tmp_path, office) -> None:
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=FixedClock(NOW)) as url:
        fake_line.webhook_url = f"{url}/callback"
        client = httpx.Client(base_url=url, follow_redirects=False, timeout=10)
        assert (
            client.get(login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", url)).status_code
            == 303
        )
        page = client.get(f"/dashboard/budget?fy={office.fy}&q=1").text
        assert "ร้อยละเบิกจ่าย" in page and "7.14%" in page and "55,000.50 บาท" in page
        assert "ต่ำกว่าเป้าหมาย 24.86 จุด" in page
        svg = client.get(f"/dashboard/charts/strategies.svg?fy={office.fy}&q=1")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "ผลสัมฤทธิ์ตัวชี้วัด" in svg.text and "AREA1" in svg.text
        assert "<script src" not in svg.text and "cdn" not in svg.text.lower()
        assert httpx.get(f"{url}/dashboard/charts/strategies.svg").status_code == 401
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        bad = client.post(
            "/dashboard/budget/targets",
            data={"csrf": csrf, "fy": office.fy, "q1": "60", "q2": "50", "q3": "77", "q4": "100"},
        )
        assert "saved=invalid" in bad.headers["location"]
        assert "ไม่ลดลงจากไตรมาสก่อน" in client.get(bad.headers["location"]).text
        good = client.post(
            "/dashboard/budget/targets",
            data={"csrf": csrf, "fy": office.fy, "q1": "๓๐", "q2": "55.5", "q3": "80%", "q4": "100"},
        )
        assert "saved=targets" in good.headers["location"]
        assert "55.5%" in client.get(f"/dashboard/budget?fy={office.fy}&q=1").text
    with Session(engine) as s:
        assert budget.targets_of(s, office.fy) == {1: 30, 2: Decimal("55.5"), 3: 80, 4: 100}
        audit = s.exec(select(AuditLog).where(AuditLog.action == "dashboard_targets_set")).one()
        assert audit.actor_person_id == office.seeded.planner.id
