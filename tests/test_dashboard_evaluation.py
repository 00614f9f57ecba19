"""Evaluation results in the workspace (issue 19): the dashboard's evaluation page (campaigns with their
status and response rate, year-end figures, strategy success rates), a campaign's per-question results,
and the same figures in the annual report."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from browser import artefact_dir, chromium  # noqa: F401  (the fixture)
from dashboard_office import DIRECTOR, NOW, PLANNER, TODAY, build_office, login_link
from sqlmodel import Session, select
from support import make_settings, running_service

from dashboard import annual
from dashboard import evaluation as workspace
from evaluation.loader import parse_yaml
from models import Indicator
from models.campaigns import record_answer, start_campaign
from models.evaluation import CampaignRecipient, IndicatorJudgement, ProjectEvaluation
from scheduler.clock import FixedClock

pytestmark = pytest.mark.usefixtures("fake_line")

FORM = """
title: แบบประเมินความพึงพอใจต่อแผนปฏิบัติการ
questions:
  - key: clarity
    kind: rating
    text: ความชัดเจนของแผน
  - key: channel
    kind: choice
    text: ช่องทางที่ได้รับข้อมูลมากที่สุด
    choices: [หนังสือราชการ, LINE]
  - key: comment
    kind: text
    text: ข้อเสนอแนะเพิ่มเติม
    required: false
"""


@pytest.fixture
def office(engine, tmp_path):  # type: ignore[no-untyped-def]
    built = build_office(engine, tmp_path / "media")
    with Session(engine, expire_on_commit=False) as s:
        campaign, _people = start_campaign(
            s,
            questionnaire=parse_yaml(FORM, "satisfaction"),
            target="SCH1",
            office_code=None,
            opens_on=TODAY - timedelta(days=2),
            closes_on=TODAY + timedelta(days=10),
            remind_on=None,
            today=TODAY,
            now=NOW,
        )
        recipients = list(
            s.exec(select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id))
        )
        assert len(recipients) >= 2
        for recipient, (rating, channel) in zip(recipients, [(5, "LINE"), (4, "LINE")], strict=False):
            record_answer(
                s, campaign, recipient, {"clarity": rating, "channel": channel, "comment": "ดีมากค่ะ"}, NOW
            )
        project = built.seeded.projects[0]  # the year-end evaluation of one project: achieved
        indicator = s.exec(select(Indicator).where(Indicator.project_id == project.id)).first()
        assert indicator is not None
        done = ProjectEvaluation(project_id=project.id, all_achieved=True, evaluated_at=NOW)
        s.add(done)
        s.flush()
        s.add(
            IndicatorJudgement(
                evaluation_id=done.id,
                indicator_id=indicator.id,
                achieved=True,
                computed=False,
                corrected=True,
            )
        )
        s.commit()
        built.campaign_id = campaign.id  # type: ignore[attr-defined]
        built.recipients = len(recipients)  # type: ignore[attr-defined]
    return built


@pytest.fixture
def service(db_url, fake_line, tmp_path, office):  # type: ignore[no-untyped-def]
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=FixedClock(NOW)) as url:
        fake_line.webhook_url = f"{url}/callback"
        yield url


def _login(fake_line, url: str, user: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=20)
    assert client.get(login_link(fake_line, user).replace("http://127.0.0.1:8000", url)).status_code == 303
    return client


def test_the_evaluation_page_and_a_campaigns_results(engine, fake_line, service, office) -> None:
    planner = _login(fake_line, service, PLANNER)
    page = planner.get(f"/dashboard/evaluation?fy={office.fy}")
    assert page.status_code == 200
    html = page.text
    row = html.split("แบบประเมินความพึงพอใจต่อแผนปฏิบัติการ", 1)[1].split("</tr>", 1)[0]
    rate = f"{200 / office.recipients:.2f}".rstrip("0").rstrip(".")
    assert "เปิดรับคำตอบ" in row and f">{office.recipients}<" in row and ">2<" in row and rate in row
    with Session(engine) as s:
        yearend = workspace.yearend(s, office.fy)
        rates = {r.code: r for r in workspace.strategy_rates(s, office.fy)}
    assert (yearend.evaluated, yearend.all_achieved, yearend.indicators_achieved, yearend.corrected) == (
        1,
        1,
        1,
        1,
    )
    assert f"ประเมินสิ้นปีแล้ว จาก {yearend.projects} โครงการ" in html
    assert rates and any(r.achieved == 1 for r in rates.values())
    for code in rates:
        assert code in html
    assert 'action="/dashboard/evaluation/start"' in html  # issue 19: started from the dashboard now
    assert "tidtam campaign start" not in html

    results = planner.get(f"/dashboard/evaluation/{office.campaign_id}").text
    assert "ความชัดเจนของแผน" in results and "ค่าเฉลี่ย 4.5" in results and "มัธยฐาน 4.5" in results
    channel = results.split("ช่องทางที่ได้รับข้อมูลมากที่สุด", 1)[1].split("</table>", 1)[0]
    assert "LINE" in channel and ">2<" in channel and "100" in channel
    assert "ดีมากค่ะ" in results  # the text answers
    assert planner.get("/dashboard/evaluation/99999").status_code == 404
    # The evaluation is the whole area's, as the annual report: a director is refused.
    director = _login(fake_line, service, DIRECTOR)
    assert director.get("/dashboard/evaluation").status_code == 403
    assert 'href="/dashboard/evaluation"' not in director.get("/dashboard").text


def test_the_annual_report_shows_the_years_evaluation(engine, office) -> None:
    with Session(engine) as s:
        report = annual.build(s, office.fy, TODAY, public=True)
    assert report is not None and report.evaluation is not None
    html = annual.render_html(report)
    part = html.split("<h2>ผลการประเมิน</h2>", 1)[1].split("<h2>", 1)[0]
    assert "ประเมินแล้ว 1 จาก" in part and "บรรลุตัวชี้วัดทุกตัว 1 โครงการ" in part
    assert "แบบประเมินความพึงพอใจต่อแผนปฏิบัติการ" in part and f"ตอบ 2 จาก {office.recipients} คน" in part
    assert "ความชัดเจนของแผน" in part and "4.5" in part
    assert "ดีมากค่ะ" not in part  # the report gives figures, not people's comments
    written = annual.write(report, artefact_dir(f"annual-evaluation-{engine.dialect.name}"))
    assert written.pdf.stat().st_size > 10_000  # drawn (pdftoppm a page of it to look at)


def test_the_new_pages_in_a_browser_at_desktop_and_phone_width(
    chromium,  # noqa: F811
    fake_line,
    service,
    office,
    engine,
) -> None:
    """Screenshots of the evaluation pages, the stuck reports and the Messages page (to look at): Thai
    renders, tables fit a phone."""
    from models import Project

    with Session(engine) as s:  # one report nobody can approve, for the stuck list
        project = s.get(Project, office.seeded.projects[1].id)
        assert project is not None
        project.approver_id = None
        s.add(project)
        s.commit()
    shots = artefact_dir(f"dashboard-workspace-{engine.dialect.name}")
    for width, suffix in ((1280, ""), (390, "-phone")):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", service))
        assert page.url.endswith("/dashboard")
        page.click("text=มีรายงาน 1 รายการที่ไม่มีผู้อนุมัติ")
        page.wait_for_url("**/dashboard/stuck")
        assert office.seeded.projects[1].code in page.locator("table").inner_text()
        page.screenshot(path=str(shots / f"stuck{suffix}.png"), full_page=True)
        page.click("nav >> text=ผลการประเมิน")
        page.wait_for_url("**/dashboard/evaluation")
        assert "เปิดรับคำตอบ" in page.locator("table").first.inner_text()
        page.screenshot(path=str(shots / f"evaluation{suffix}.png"), full_page=True)
        page.click("text=แบบประเมินความพึงพอใจต่อแผนปฏิบัติการ")
        page.wait_for_url(f"**/dashboard/evaluation/{office.campaign_id}")
        assert "ค่าเฉลี่ย 4.5" in page.content()
        page.screenshot(path=str(shots / f"campaign{suffix}.png"), full_page=True)
        page.goto(f"{service}/dashboard/messages")
        assert "ส่งถึงใคร: ตามบทบาท" in page.content()
        page.screenshot(path=str(shots / f"messages{suffix}.png"), full_page=True)
        context.close()


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _preview(client: httpx.Client, csrf: str, form: str, target: str = "SCH1", name: str = "f.yaml"):  # type: ignore[no-untyped-def]
    data = {"csrf": csrf, "target": target, "office": "", "opens": TODAY.isoformat(), "closes": ""}
    return client.post(
        "/dashboard/evaluation/start", data=data, files={"form": (name, form.encode(), "application/yaml")}
    )


def test_a_campaign_started_from_the_dashboard_after_its_preview(engine, fake_line, service, office) -> None:
    from models.campaigns import resolve_target
    from models.evaluation import Campaign
    from models.ops import AuditLog

    planner = _login(fake_line, service, PLANNER)
    csrf = _csrf(planner.get("/dashboard/evaluation").text)
    form = FORM.replace("แบบประเมินความพึงพอใจต่อแผนปฏิบัติการ", "แบบประเมินจากแดชบอร์ด")
    preview = _preview(planner, csrf, form)
    assert preview.status_code == 200, preview.text
    with Session(engine) as s:
        expected = resolve_target(s, "SCH1", office_code=None, on=TODAY)  # what the CLI's start resolves
        linked = [p for p in expected if p.line_user_id]
        assert s.exec(select(Campaign).where(Campaign.title == "แบบประเมินจากแดชบอร์ด")).first() is None
    assert f'<span class="n">{len(expected)}</span> ผู้รับ' in preview.text
    assert f'<span class="n">{len(linked)}</span> เชื่อม LINE แล้ว' in preview.text
    assert f'<span class="n">{len(linked)}</span> ข้อความจากโควตาเดือนนี้' in preview.text
    fields = {
        name: preview.text.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]
        for name in ("questionnaire_json", "target", "office", "opens", "closes")
    }
    import html as html_lib

    data = {k: html_lib.unescape(v) for k, v in fields.items()} | {"csrf": csrf}
    done = planner.post("/dashboard/evaluation/start/confirm", data=data)
    assert done.status_code == 303
    with Session(engine) as s:
        campaign = s.exec(select(Campaign).where(Campaign.title == "แบบประเมินจากแดชบอร์ด")).one()
        recipients = s.exec(select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id))
        assert sorted(r.person_id for r in recipients) == sorted(p.id for p in expected)
        assert campaign.created_by == "dashboard" and campaign.status == "open"
        audit = s.exec(select(AuditLog).where(AuditLog.action == "dashboard_campaign_start")).one()
        assert audit.entity_id == str(campaign.id) and audit.details["recipients"] == len(expected)
        campaign_id = campaign.id
    page = planner.get(done.headers["location"])
    assert "เริ่มแบบประเมินแล้วค่ะ" in page.text
    # Stop it from its page: closed, audited.
    closed = planner.post(f"/dashboard/evaluation/{campaign_id}/close", data={"csrf": csrf})
    assert closed.status_code == 303
    with Session(engine) as s:
        assert s.get(Campaign, campaign_id).status == "closed"  # type: ignore[union-attr]
        assert s.exec(select(AuditLog).where(AuditLog.action == "dashboard_campaign_close")).one()


def test_a_malformed_questionnaire_is_refused_line_by_line(engine, fake_line, service, office) -> None:
    from models.evaluation import Campaign

    planner = _login(fake_line, service, PLANNER)
    csrf = _csrf(planner.get("/dashboard/evaluation").text)
    with Session(engine) as s:
        before = len(s.exec(select(Campaign)).all())
    bad = FORM.replace("kind: choice", "kind: guess")
    refused = _preview(planner, csrf, bad)
    assert refused.status_code == 400
    assert "บรรทัด" in refused.text and "ยังไม่ได้เริ่มแบบประเมิน" in refused.text
    assert 'name="target" value="SCH1"' in refused.text  # nothing entered is lost
    unknown = _preview(planner, csrf, FORM, target="NOPE")
    assert unknown.status_code == 400 and "NOPE" in unknown.text
    with Session(engine) as s:
        assert len(s.exec(select(Campaign)).all()) == before


def test_starting_needs_the_csrf_token_and_a_planner(engine, fake_line, service, office) -> None:
    from models.evaluation import Campaign

    planner = _login(fake_line, service, PLANNER)
    assert _preview(planner, "wrong", FORM).status_code == 403
    assert (
        planner.post(f"/dashboard/evaluation/{office.campaign_id}/close", data={"csrf": "x"}).status_code
        == 403
    )
    director = _login(fake_line, service, DIRECTOR)
    csrf = _csrf(director.get("/dashboard").text)
    assert _preview(director, csrf, FORM).status_code == 403
    confirm = {"csrf": csrf, "questionnaire_json": "{}", "target": "SCH1", "opens": "", "closes": ""}
    assert director.post("/dashboard/evaluation/start/confirm", data=confirm).status_code == 403
    assert (
        director.post(f"/dashboard/evaluation/{office.campaign_id}/close", data={"csrf": csrf}).status_code
        == 403
    )
    with Session(engine) as s:
        assert s.get(Campaign, office.campaign_id).status == "open"  # type: ignore[union-attr]


def test_the_start_form_in_a_browser(chromium, fake_line, service, office, engine) -> None:  # noqa: F811
    shots = artefact_dir(f"dashboard-campaign-start-{engine.dialect.name}")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", service))
    page.goto(f"{service}/dashboard/evaluation")
    assert page.locator("form.start").is_visible()
    page.locator("form.start").screenshot(path=str(shots / "start-form.png"))
    page.screenshot(path=str(shots / "evaluation-with-form.png"), full_page=True)
    context.close()


def test_the_start_form_shows_and_reads_buddhist_era_dates(engine, fake_line, service, office) -> None:
    """The dates are text in the Buddhist Era (a browser's date picker would show the browser's own
    calendar, Gregorian in most), default to the manual's window, and are read as people type them."""
    import re

    from messages.thai_dates import format_date

    planner = _login(fake_line, service, PLANNER)
    page = planner.get("/dashboard/evaluation").text
    assert 'type="date"' not in page
    opens = re.search(r'name="opens" value="([^"]*)"', page)
    assert opens is not None and (not opens[1] or re.fullmatch(r"\d{1,2} \S+ 25\d\d", opens[1])), opens
    csrf = _csrf(page)
    later = TODAY + timedelta(days=3)
    typed = f"{later.day}/{later.month}/{(later.year + 543) % 100}"  # e.g. 4/12/69
    data = {
        "csrf": csrf,
        "target": "SCH1",
        "office": "",
        "opens": typed,
        "closes": format_date(later + timedelta(days=7)),
    }
    files = {"form": ("f.yaml", FORM.encode(), "application/yaml")}
    preview = planner.post("/dashboard/evaluation/start", data=data, files=files)
    assert preview.status_code == 200, preview.text
    assert f"เปิดรับ {format_date(later)} ถึง {format_date(later + timedelta(days=7))}" in preview.text
    data["opens"] = "2027-13-45x"
    refused = planner.post("/dashboard/evaluation/start", data=data, files=files)
    assert refused.status_code == 400
    assert "อ่านวันที่ 2027-13-45x ไม่ออก" in refused.text and "1 ก.ย. 2570" in refused.text
    assert 'name="opens" value="2027-13-45x"' in refused.text  # what was typed is kept
