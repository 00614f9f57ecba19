"""`tidtam export`: the workbook opens with openpyxl and holds what was reported; CSV is UTF-8 with BOM;
no text becomes a formula; a column mapping reorders and renames columns; bad input is told in Thai."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from dashboard_office import build_office
from openpyxl import load_workbook
from typer.testing import CliRunner

from tidtam.cli import app


@pytest.fixture
def office(engine, tmp_path):  # type: ignore[no-untyped-def]
    return build_office(engine, tmp_path / "media")


@pytest.fixture
def run(db_url, monkeypatch, office_clock):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    monkeypatch.delenv("TIDTAM_EXPORT_COLUMNS_FILE", raising=False)

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args))

    return invoke


def _rows(path: Path, sheet: int = 0) -> list[dict[str, object]]:
    workbook = load_workbook(path)
    rows = list(workbook.worksheets[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_the_workbook_holds_what_was_reported(office, run, tmp_path) -> None:
    out = tmp_path / "q1.xlsx"
    result = run("export", "--fy", str(office.fy), "--quarter", "1", str(out))
    assert result.exit_code == 0, result.output
    assert "4 โครงการ" in result.output
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["รายงานผลโครงการ", "ตัวชี้วัด"]
    rows = {r["รหัสโครงการ"]: r for r in _rows(out)}
    first = rows[office.seeded.projects[0].code]
    assert first["ชื่อโครงการ"] == office.seeded.projects[0].name
    assert first["หน่วยงานเจ้าของโครงการ"] == "โรงเรียนทดสอบวิทยา"
    assert first["งบประมาณที่ได้รับจัดสรร (บาท)"] == pytest.approx(120000.50)
    assert first["ผลการเบิกจ่ายสะสม (บาท)"] == pytest.approx(45000.50)  # version 2's figure, not version 1's
    assert first["ความก้าวหน้าของโครงการ (ร้อยละ)"] == pytest.approx(40)
    assert first["สถานะการดำเนินงาน"] == "อยู่ระหว่างดำเนินการ"
    assert first["สถานะรายงาน"] == "อนุมัติแล้ว"
    assert first["ผู้อนุมัติ"] == "นายผู้บริหาร ใจกว้าง"
    assert first["วันที่อนุมัติ"].endswith("2568")  # 24 Dec 2025 in BE
    assert first["กลยุทธ์ สพม."].startswith("AREA1 ")
    assert first["ยุทธศาสตร์ชาติ"].startswith("NS3 ") and first["แผนแม่บทภายใต้ยุทธศาสตร์ชาติ"].startswith("MP12 ")
    assert "จำนวนนักเรียนที่เข้าร่วม: เป้าหมาย 100 คน ผล 80 คน" in first["ตัวชี้วัด (ชื่อ หน่วย ค่าเป้าหมาย ผล)"]
    assert first["ปัญหาอุปสรรค"] == "งบประมาณมาช้า"
    # Money is a number shown with two decimals.
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    money = sheet.cell(row=2, column=header.index("งบประมาณที่ได้รับจัดสรร (บาท)") + 1)
    assert money.data_type == "n" and money.number_format == "#,##0.00"
    # A text that starts like a formula stays text.
    suggestion = sheet.cell(row=2, column=header.index("ข้อเสนอแนะ") + 1)
    assert suggestion.value == "=ควรเพิ่มงบ" and suggestion.data_type == "s" and suggestion.quotePrefix
    assert rows[office.seeded.projects[2].code]["สถานะรายงาน"] == "เลยกำหนด"
    assert rows[office.seeded.projects[1].code]["สถานะรายงาน"] == "รออนุมัติ"
    indicators = _rows(out, 1)
    mine = next(r for r in indicators if r["รหัสโครงการ"] == office.seeded.projects[0].code)
    assert mine["ตัวชี้วัด"] == "จำนวนนักเรียนที่เข้าร่วม" and mine["หน่วยนับ"] == "คน"
    assert Decimal(str(mine["ค่าเป้าหมาย"])) == 100 and Decimal(str(mine["ผลการดำเนินงาน"])) == 80
    assert Decimal(str(mine["ร้อยละของค่าเป้าหมาย"])) == 80
    assert len(indicators) == 4


def test_csv_is_utf8_with_bom_and_guards_formulas(office, run, tmp_path) -> None:
    out = tmp_path / "q1.csv"
    result = run("export", "--fy", str(office.fy), "--quarter", "1", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    first = next(r for r in rows if r["รหัสโครงการ"] == office.seeded.projects[0].code)
    assert first["งบประมาณที่ได้รับจัดสรร (บาท)"] == "120000.50"
    assert first["ผลการเบิกจ่ายสะสม (บาท)"] == "45000.50"
    assert first["ข้อเสนอแนะ"] == "'=ควรเพิ่มงบ"
    indicators = (tmp_path / "q1-indicators.csv").read_bytes()
    assert indicators.startswith(b"\xef\xbb\xbf") and "จำนวนหนังสือใหม่".encode() in indicators


def test_a_column_mapping_chooses_order_and_headers(office, run, tmp_path) -> None:
    mapping = tmp_path / "columns.toml"
    mapping.write_text(
        """
[projects]
sheet = "แบบ M6"
columns = [
  { field = "progress_pct", header = "ร้อยละความก้าวหน้า" },
  { field = "code", header = "รหัส" },
]
[indicators]
columns = [{ field = "indicator", header = "ตัวชี้วัด" }]
""",
        encoding="utf-8",
    )
    out = tmp_path / "m6.xlsx"
    result = run("export", "--fy", str(office.fy), "--quarter", "1", "--columns", str(mapping), str(out))
    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    assert workbook.sheetnames[0] == "แบบ M6"
    assert [c.value for c in workbook.worksheets[0][1]] == ["ร้อยละความก้าวหน้า", "รหัส"]


def test_bad_input_is_told_in_thai(office, run, tmp_path) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[projects]\ncolumns = [{ field = "budjet", header = "x" }]\n', encoding="utf-8")
    result = run(
        "export",
        "--fy",
        str(office.fy),
        "--quarter",
        "1",
        "--columns",
        str(mapping),
        str(tmp_path / "x.xlsx"),
    )
    assert result.exit_code == 1 and "budjet" in result.output and "ไม่รู้จัก" in result.output
    result = run("export", "--fy", "2599", "--quarter", "1", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 1 and "ไม่พบไตรมาส 1 ของปีงบประมาณ 2599" in result.output
    result = run("export", "--fy", str(office.fy), "--quarter", "1", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1 and ".xlsx หรือ .csv" in result.output
    assert not (tmp_path / "x.xlsx").exists()
