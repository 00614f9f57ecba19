"""`tidtam annual-report`: HTML and PDF (WeasyPrint, Thai font); pdftotext finds the Thai headings, the
totals and the year's problems; the public edition names nobody."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dashboard_office import build_office
from sqlmodel import Session
from typer.testing import CliRunner

from models import Indicator, Project, ProjectOwner, ProjectStrategy
from tidtam.cli import app

NAMES = ("นางสาวใจดี มีสุข", "นายผู้บริหาร ใจกว้าง", "นางวางแผน รอบคอบ", "นางอำนวย การดี", "นายสอนดี ตั้งใจ")


@pytest.fixture
def office(engine, tmp_path):  # type: ignore[no-untyped-def]
    built = build_office(engine, tmp_path / "media")
    now = datetime.now(UTC)
    with Session(engine) as s:  # one project of the area office itself, its owner a named person
        project = Project(
            code="AREA-01", fiscal_year=built.fy, name="โครงการนิเทศติดตามของเขตพื้นที่", office_id=built.seeded.planning.id,
            budget_satang=30_000_000, created_at=now, updated_at=now,
        )  # fmt: skip
        s.add(project)
        s.flush()
        s.add(ProjectOwner(project_id=project.id, person_id=built.seeded.planner.id))
        s.add(ProjectStrategy(project_id=project.id, strategy_id=built.strategies["AREA1"].id))
        s.add(Indicator(project_id=project.id, code="K1", name="โรงเรียนที่ได้รับการนิเทศ", unit="แห่ง", target=60))
        s.commit()
    return built


_THAI_MARKS = dict.fromkeys([0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)])


def _searchable(text: str) -> str:
    """Text as pdftotext can give it back. The page shows Thai right (checked by eye with pdftoppm),
    but a PDF's text layer is glyphs in drawing order: HarfBuzz draws SARA AM (ำ) as two glyphs and
    WeasyPrint maps each glyph to one piece of text, so it reads back as า; a mark drawn over or under
    a letter may come back after the next letter; runs are split by spaces. So both sides of every
    comparison are reduced to their letters and digits in order, without spaces or marks."""
    return "".join(text.split()).replace("ำ", "า").translate(_THAI_MARKS)


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is missing (apt-get install poppler-utils)")
    extracted = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return _searchable(extracted)


def _run(db_url: str, monkeypatch, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    return CliRunner().invoke(app, ["annual-report", *args])


def test_the_annual_report_in_html_and_pdf(office, db_url, monkeypatch, tmp_path, office_clock) -> None:
    out = tmp_path / "report"
    result = _run(db_url, monkeypatch, "--fy", str(office.fy), "--out", str(out))
    assert result.exit_code == 0, result.output
    html = (out / f"annual-report-{office.fy}.html").read_text(encoding="utf-8")
    assert "รายงานผลการดำเนินงานประจำปีงบประมาณ" in html and "นางวางแผน รอบคอบ" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched from elsewhere
    text = _pdf_text(out / f"annual-report-{office.fy}.pdf")
    for heading in (
        f"รายงานผลการดำเนินงานประจำปีงบประมาณ {office.fy}", "ผลการดำเนินงานตามกลยุทธ์",
        "การเบิกจ่ายงบประมาณเทียบเป้าหมาย", "ปัญหาอุปสรรคและข้อเสนอแนะ", "สพม.ทดสอบ",
    ):  # fmt: skip
        assert _searchable(heading) in text, heading
    assert "1,070,003บาท" in text  # the total budget: four school projects and the area's own
    assert "55,000.50บาท" in text  # disbursed, as of Q1 (the latest quarter with reports)
    assert _searchable("งบประมาณมาช้า (P2569-001)") in text and _searchable("=ควรเพิ่มงบ") in text
    assert _searchable("นางวางแผน รอบคอบ") in text  # the internal edition names the responsible people


def test_the_public_edition_names_nobody(office, db_url, monkeypatch, tmp_path, office_clock) -> None:
    out = tmp_path / "public"
    result = _run(db_url, monkeypatch, "--fy", str(office.fy), "--out", str(out), "--public")
    assert result.exit_code == 0, result.output
    text = _pdf_text(out / f"annual-report-{office.fy}.pdf")
    html = (out / f"annual-report-{office.fy}.html").read_text(encoding="utf-8")
    assert _searchable("ฉบับเผยแพร่สาธารณะ") in text and "1,070,003บาท" in text
    for name in NAMES:
        assert _searchable(name) not in text and name not in html
    assert "U" + "a" * 32 not in html


TYPED = (
    "ครูใจดี มีสุขลาคลอด ผอ.ผู้บริหาร ใจกว้างรับทราบ ติดต่อ 081-234-5678 หรือ jaidee@school.ac.th "
    "ไลน์ jaidee99 (U" + "b" * 32 + ")"
)


def _typed_into_the_problems(engine) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from models.reports import ReportVersion

    with Session(engine) as s:  # what a reporter typed: names, a phone, an e-mail, a LINE id
        s.execute(
            sa.update(ReportVersion).where(ReportVersion.problems == "งบประมาณมาช้า").values(problems=TYPED)
        )
        s.commit()


def test_the_public_edition_scrubs_names_and_contacts_from_free_text(
    engine, office, db_url, monkeypatch, tmp_path, office_clock
) -> None:
    _typed_into_the_problems(engine)
    internal = tmp_path / "internal"
    assert _run(db_url, monkeypatch, "--fy", str(office.fy), "--out", str(internal)).exit_code == 0
    kept = (internal / f"annual-report-{office.fy}.html").read_text(encoding="utf-8")
    assert "ใจดี มีสุขลาคลอด" in kept and "081-234-5678" in kept  # the internal edition prints it as typed
    out = tmp_path / "public"
    result = _run(db_url, monkeypatch, "--fy", str(office.fy), "--out", str(out), "--public")
    assert result.exit_code == 0, result.output
    html = (out / f"annual-report-{office.fy}.html").read_text(encoding="utf-8")
    for typed in ("ใจดี", "มีสุข", "ผู้บริหาร ใจกว้าง", "081-234-5678", "jaidee@school.ac.th", "jaidee99", "b" * 32):
        assert typed not in html, typed
    assert "ครู[ชื่อบุคคล]ลาคลอด ผอ.[ชื่อบุคคล]รับทราบ ติดต่อ [ข้อมูลติดต่อ] หรือ [ข้อมูลติดต่อ]" in html
    text = _pdf_text(out / f"annual-report-{office.fy}.pdf")
    assert _searchable("ลาคลอด") in text and _searchable("ใจดี") not in text


def test_an_unknown_year_is_told_in_thai(office, db_url, monkeypatch, tmp_path, office_clock) -> None:
    result = _run(db_url, monkeypatch, "--fy", "2599", "--out", str(tmp_path / "x"))
    assert result.exit_code == 1 and "ไม่พบปีงบประมาณ 2599" in result.output


def test_the_dashboard_offers_both_editions(office, db_url, fake_line, tmp_path) -> None:
    import httpx
    from dashboard_office import DIRECTOR, NOW, PLANNER, login_link
    from support import make_settings, running_service

    from scheduler.clock import FixedClock

    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, clock=FixedClock(NOW)) as url:
        fake_line.webhook_url = f"{url}/callback"
        planner = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
        assert (
            planner.get(login_link(fake_line, PLANNER).replace("http://127.0.0.1:8000", url)).status_code
            == 303
        )
        assert "ฉบับเผยแพร่สาธารณะ" in planner.get(f"/dashboard/exports?fy={office.fy}&q=1").text
        pdf = planner.get(f"/dashboard/annual-report?fy={office.fy}&format=pdf&public=1")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert "public" in pdf.headers["content-disposition"]
        html = planner.get(f"/dashboard/annual-report?fy={office.fy}&format=html").text
        assert "รายงานผลการดำเนินงานประจำปีงบประมาณ" in html and "นางวางแผน รอบคอบ" in html
        director = httpx.Client(base_url=url, follow_redirects=False, timeout=10)
        assert (
            director.get(login_link(fake_line, DIRECTOR).replace("http://127.0.0.1:8000", url)).status_code
            == 303
        )
        assert director.get(f"/dashboard/annual-report?fy={office.fy}").status_code == 403
        assert httpx.get(f"{url}/dashboard/annual-report?fy={office.fy}").status_code == 401
