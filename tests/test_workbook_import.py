"""The workbook import: idempotent re-import, update by code, every mistake reported precisely and
nothing written, CSV folders, dry runs, the template round trip and the CLI — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from sqlalchemy.engine import Engine
from typer.testing import CliRunner
from xlsx_parts import repack

import models
from messages import workbook as text
from models import AuditLog, FiscalYear, Indicator, Office, Person, Project, ProjectOwner, ReportingPeriod
from scheduler.clock import FixedClock
from tidtam.cli import app
from tidtam.workbook import import_workbook
from tidtam.workbook.demo import write_demo_xlsx
from tidtam.workbook.template import headers, write_template

START = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)

ENGLISH = {
    "offices": ["code", "name", "kind", "parent_code"],
    "people": ["code", "full_name", "position", "office_code", "roles"],
    "strategies": ["code", "level", "title", "parent_code"],
    "projects": [
        "code",
        "fiscal_year",
        "name",
        "office_code",
        "owner_codes",
        "approver_code",
        "budget",
        "strategy_codes",
        "start_date",
        "end_date",
        "emenscr_id",
    ],
    "indicators": ["project_code", "code", "name", "unit", "target", "kind"],
}


def small_book() -> dict[str, list[list[object]]]:
    """A tiny valid office: area office, one school, three people, two strategies, two projects."""
    return {
        "offices": [["AO1", "สพม.ทดสอบ", "area_office", None], ["S1", "โรงเรียนทดสอบวิทยา", "school", "AO1"]],
        "people": [
            ["P1", "นายสมชาย ใจดี", "ผู้อำนวยการโรงเรียน", "S1", "approver"],
            ["P2", "นางสาวสมใจ ศรีสุข", "ครู", "S1", "reporter"],
            ["P3", "นางมาลัย ทองคำ", "ครู", "S1", "reporter"],
        ],
        "strategies": [
            ["NS3", "national", "ยุทธศาสตร์ชาติด้านทรัพยากรมนุษย์", None],
            ["AREA1", "area", "พัฒนาคุณภาพผู้เรียน", "NS3"],
        ],
        "projects": [
            [
                "PJ1",
                2570,
                "โครงการรักการอ่าน",
                "S1",
                "P2",
                "P1",
                120000,
                "AREA1",
                date(2026, 10, 1),
                date(2027, 9, 30),
                None,
            ],
            [
                "PJ2",
                2570,
                "โครงการคณิตคิดสนุก",
                "S1",
                "P2;P3",
                "P1",
                "50,000.50 บาท",
                "AREA1;NS3",
                "1/11/69",
                "30 ก.ย. 2570",
                "SE-1",
            ],
        ],
        "indicators": [
            ["PJ1", "K1", "ร้อยละนักเรียนที่อ่านคล่อง", "ร้อยละ", 80, "outcome"],
            ["PJ2", "K1", "จำนวนนักเรียนที่เข้าร่วม", "คน", 120, "output"],
        ],
    }


def write_book(path: Path, sheets: dict[str, list[list[object]]], thai: bool = False) -> Path:
    book = Workbook()
    book.remove(book.active)
    for sheet, rows in sheets.items():
        ws = book.create_sheet(sheet)
        ws.append(headers(sheet) if thai else ENGLISH[sheet])
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in models.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    return out


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model.__table__)).scalar_one()


def test_reimporting_a_40_school_workbook_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "demo.xlsx"
    counts = write_demo_xlsx(path, schools=40, seed=7)
    clock = FixedClock(START)
    first = import_workbook(path, engine, clock)
    assert first.ok and first.written, [str(p) for p in first.errors]
    assert count(engine, Project) == counts.rows["projects"] > 400
    assert count(engine, Indicator) == counts.rows["indicators"]
    before = dump(engine)

    clock.advance(timedelta(days=3))
    second = import_workbook(path, engine, clock)
    assert second.ok and not second.written
    assert second.plan is not None
    assert all(c["created"] == c["updated"] == 0 for c in second.plan.counts().values())
    assert second.plan.counts()["projects"]["unchanged"] == counts.rows["projects"]
    assert dump(engine) == before  # not even updated_at or an audit row
    assert count(engine, AuditLog) == 1


def test_a_changed_row_updates_by_code(engine: Engine, tmp_path: Path) -> None:
    sheets = small_book()
    clock = FixedClock(START)
    assert import_workbook(write_book(tmp_path / "a.xlsx", sheets), engine, clock).written
    with engine.connect() as conn:
        before = {r.code: r for r in conn.execute(sa.select(Project.__table__))}

    sheets["projects"][1][6] = "75,000 บาท"  # PJ2: new budget and owners
    sheets["projects"][1][4] = "P3"
    sheets["people"][1][2] = "ครูชำนาญการ"  # P2: new position
    clock.advance(timedelta(hours=1))
    result = import_workbook(write_book(tmp_path / "b.xlsx", sheets), engine, clock)

    assert result.written and result.plan is not None
    assert result.plan.sheets["projects"].updated_codes == ["PJ2"]
    assert result.plan.sheets["people"].updated_codes == ["P2"]
    assert result.plan.counts()["projects"] == {"created": 0, "updated": 1, "unchanged": 1}
    with engine.connect() as conn:
        after = {r.code: r for r in conn.execute(sa.select(Project.__table__))}
        owners = (
            conn.execute(
                sa.select(Person.__table__.c.code)
                .join(ProjectOwner.__table__)
                .where(ProjectOwner.__table__.c.project_id == after["PJ2"].id)
            )
            .scalars()
            .all()
        )
        audit = (
            conn.execute(sa.select(AuditLog.__table__.c.details).order_by(AuditLog.__table__.c.id))
            .scalars()
            .all()
        )
    assert after["PJ2"].budget_satang == 7_500_000
    assert after["PJ2"].id == before["PJ2"].id
    assert after["PJ2"].updated_at == clock.now() and after["PJ2"].created_at == START
    assert after["PJ1"] == before["PJ1"]  # untouched row keeps its updated_at
    assert owners == ["P3"]
    assert len(audit) == 2 and audit[1]["sheets"]["projects"]["updated"] == 1


def test_ten_mistakes_give_ten_precise_messages_and_write_nothing(engine: Engine, tmp_path: Path) -> None:
    sheets = small_book()
    sheets["offices"].append(["S2", "โรงเรียนสอง", "schol", "AO1"])  # row 4: bad kind
    sheets["offices"].append(["S3", "โรงเรียนสาม", "school", "XX9"])  # row 5: unknown parent
    sheets["people"].append(["P2", "ซ้ำ", "ครู", "S1", "reporter"])  # row 5: duplicate code
    sheets["people"].append(["P4", "นายสี่ ใจดี", "ครู", "S1", "reporter, boss"])  # row 6: bad role
    sheets["projects"] += [
        ["PJ3", 2027, "ปีผิด", "S1", "P2", "P1", 1000, None, None, None, None],  # row 4: CE year
        ["PJ4", 2570, "งบผิด", "S1", "P2", "P1", "หนึ่งแสน", None, None, None, None],  # row 5: budget text
        ["PJ5", 2570, "วันผิด", "S1", "P2", "P1", 1000, None, "1/3/70", "1/2/70", None],  # row 6: end < start
        ["PJ6", 2570, "ผู้อนุมัติผิด", "S1", "P2", "P3", 1000, None, None, None, None],  # row 7: no role
        ["PJ7", 2570, None, "S1", "P2", "P1", 1000, None, None, None, None],  # row 8: missing name
    ]
    sheets["indicators"].append(["NOPE", "K1", "ตัวชี้วัด", "คน", 5, "output"])  # row 4: unknown project
    result = import_workbook(write_book(tmp_path / "bad.xlsx", sheets), engine, FixedClock(START))

    found = {(p.sheet, p.row, p.column, p.value) for p in result.errors}
    assert found == {
        ("offices", 4, "kind", "schol"),
        ("offices", 5, "parent_code", "XX9"),
        ("people", 5, "code", "P2"),
        ("people", 6, "roles", "reporter, boss"),
        ("projects", 4, "fiscal_year", 2027),
        ("projects", 5, "budget", "หนึ่งแสน"),
        ("projects", 6, "end_date", "1 ก.พ. 2570"),
        ("projects", 7, "approver_code", "P3"),
        ("projects", 8, "name", None),
        ("indicators", 4, "project_code", "NOPE"),
    }
    assert len(result.errors) == 10
    by_column = {p.column: p for p in result.errors}
    assert "2570" in by_column["fiscal_year"].message  # says which BE year was meant
    assert "แถวที่ 3" in by_column["code"].message  # names the first row with that code
    assert "approver" in by_column["approver_code"].message
    assert str(by_column["budget"]).startswith("ข้อผิดพลาด: ชีต projects (โครงการ) แถว 5 คอลัมน์ งบประมาณ (บาท)")
    assert not result.written
    assert all(rows == [] for rows in dump(engine).values())


def test_more_mistakes_cycles_money_and_headers(engine: Engine, tmp_path: Path) -> None:
    sheets = small_book()
    sheets["strategies"] += [["C1", "area", "วน 1", "C2"], ["C2", "area", "วน 2", "C1"]]  # rows 4-5: a cycle
    sheets["strategies"].append(["N9", "national", "ชาติใต้เขต", "AREA1"])  # row 6: parent at a lower level
    sheets["projects"][0][6] = -5  # row 2: negative budget
    sheets["projects"][1][6] = "100.505"  # row 3: three decimals
    sheets["indicators"].append(["PJ1", "K1", "ซ้ำ", "คน", 5, "output"])  # row 4: duplicate in project
    result = import_workbook(write_book(tmp_path / "bad.xlsx", sheets), engine, FixedClock(START))
    found = {(p.sheet, p.row, p.column): p for p in result.errors}
    assert set(found) == {
        ("strategies", 4, "parent_code"),
        ("strategies", 6, "parent_code"),
        ("projects", 2, "budget"),
        ("projects", 3, "budget"),
        ("indicators", 4, "code"),
    }
    assert "C1 → C2 → C1" in found[("strategies", 4, "parent_code")].message
    assert "ติดลบ" in found[("projects", 2, "budget")].message
    assert "2 ตำแหน่ง" in found[("projects", 3, "budget")].message
    assert count(engine, Office) == 0


def test_missing_required_column_is_one_message(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "cols.xlsx"
    book = Workbook()
    ws = book.active
    ws.title = "offices"
    ws.append(["Code", "ชื่อหน่วยงาน", "สีประจำ"])  # no kind column; an unknown column
    ws.append(["AO1", "สพม.ทดสอบ", "ฟ้า"])
    book.save(path)
    result = import_workbook(path, engine, FixedClock(START))
    assert [(p.sheet, p.row, p.column) for p in result.errors] == [("offices", 1, "kind")]
    assert [(p.row, p.column, p.value) for p in result.warnings] == [(1, "สีประจำ", "สีประจำ")]


def write_csv(path: Path, rows: list[list[str]], bom: bool) -> None:
    body = "\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in rows) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + body.encode("utf-8"))


def test_csv_folder_with_and_without_bom_and_thai_headers(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    write_csv(
        folder / "offices.csv",
        [
            headers("offices"),
            ["AO1", "สพม.ทดสอบ", "สำนักงานเขตพื้นที่", ""],
            ["S1", "โรงเรียนหนึ่ง", "โรงเรียน", "AO1"],
        ],
        bom=True,
    )
    write_csv(
        folder / "people.csv",
        [
            [" Code ", "FULL_NAME", "position", "Office Code", "roles"],
            ["P1", "นายหนึ่ง ใจดี", "ผู้อำนวยการ", "S1", "approver,reporter"],
        ],
        bom=False,
    )
    write_csv(
        folder / "projects.csv",
        [
            headers("projects"),
            [
                "PJ1",
                "๒๕๗๐",
                "โครงการหนึ่ง",
                "S1",
                "P1",
                "P1",
                "120,000 บาท",
                "",
                "1 ต.ค. 2569",
                "๓๐/๙/๒๕๗๐",
                "",
            ],
        ],
        bom=True,
    )
    result = import_workbook(folder, engine, FixedClock(START))
    assert result.ok, [str(p) for p in result.problems]
    with engine.connect() as conn:
        project = conn.execute(sa.select(Project.__table__)).one()
        kinds = {c: k for c, k in conn.execute(sa.select(Office.__table__.c.code, Office.__table__.c.kind))}
        roles = conn.execute(sa.select(Person.__table__.c.roles)).scalar_one()
    assert (project.fiscal_year, project.budget_satang) == (2570, 12_000_000)
    assert (project.starts_on, project.ends_on) == (date(2026, 10, 1), date(2027, 9, 30))
    assert kinds == {"AO1": "area_office", "S1": "school"}
    assert roles == "approver,reporter"


def test_dry_run_reports_counts_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_book(tmp_path / "a.xlsx", small_book(), thai=True)
    result = import_workbook(path, engine, FixedClock(START), dry_run=True)
    assert result.ok and not result.written and result.plan is not None
    assert result.plan.counts()["projects"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert result.plan.sheets["offices"].created_codes == ["AO1", "S1"]
    assert result.plan.fiscal_years == [2570]
    assert all(rows == [] for rows in dump(engine).values())


def test_fiscal_year_and_reporting_periods_are_created(engine: Engine, tmp_path: Path) -> None:
    import_workbook(write_book(tmp_path / "a.xlsx", small_book()), engine, FixedClock(START))
    with engine.connect() as conn:
        year = conn.execute(sa.select(FiscalYear.__table__)).one()
        periods = conn.execute(sa.select(ReportingPeriod.__table__).order_by("quarter")).all()
        target = (
            conn.execute(
                sa.select(Indicator.__table__.c.target)
                .where(Indicator.__table__.c.code == "K1")
                .order_by(Indicator.__table__.c.id)
            )
            .scalars()
            .first()
        )
    assert (year.year, year.starts_on, year.ends_on) == (2570, date(2026, 10, 1), date(2027, 9, 30))
    assert [(p.quarter, p.ends_on, p.due_on) for p in periods] == [
        (1, date(2026, 12, 31), date(2027, 1, 10)),
        (2, date(2027, 3, 31), date(2027, 4, 10)),
        (3, date(2027, 6, 30), date(2027, 7, 10)),
        (4, date(2027, 9, 30), date(2027, 10, 10)),
    ]
    assert target == Decimal(80)


def test_template_round_trip(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = load_workbook(path)
    assert book.sheetnames == [
        text.INSTRUCTIONS_SHEET,
        "offices",
        "people",
        "strategies",
        "projects",
        "indicators",
    ]
    assert [c.value for c in book["projects"][1]] == headers("projects")
    assert "งบประมาณ (บาท)" in headers("projects")
    assert book["projects"].max_row == 1  # blank: no example row to import by accident
    instructions = " ".join(
        str(c.value) for row in book[text.INSTRUCTIONS_SHEET].iter_rows() for c in row if c.value
    )
    assert "reporter (ผู้รายงาน)" in instructions and "2570" in instructions

    for sheet, rows in small_book().items():
        for row in rows:
            book[sheet].append(row)
    book.save(path)
    result = import_workbook(path, engine, FixedClock(START))
    assert result.ok and result.written
    assert count(engine, Project) == 2 and count(engine, Person) == 3


def test_cli_import_summary_and_exit_codes(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"TIDTAM_DATABASE_URL": db_url}
    good = write_book(tmp_path / "good.xlsx", small_book())
    dry = runner.invoke(app, ["import", str(good), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert text.dry_run_heading() in dry.output and "เพิ่มใหม่ 2" in dry.output

    done = runner.invoke(app, ["import", str(good)], env=env)
    assert done.exit_code == 0 and text.import_heading() in done.output
    again = runner.invoke(app, ["import", str(good)], env=env)
    assert again.exit_code == 0 and text.nothing_changed() in again.output

    sheets = small_book()
    sheets["projects"][0][1] = 2027
    bad = runner.invoke(app, ["import", str(write_book(tmp_path / "bad.xlsx", sheets))], env=env)
    assert bad.exit_code == 1
    assert "ข้อผิดพลาด: ชีต projects (โครงการ) แถว 2 คอลัมน์ ปีงบประมาณ ค่า “2027”" in bad.output

    template = tmp_path / "t.xlsx"
    made = runner.invoke(app, ["template", str(template)], env=env)
    assert made.exit_code == 0 and template.exists()


def test_not_a_workbook_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("not a zip")
    result = import_workbook(path, engine, FixedClock(START))
    assert len(result.errors) == 1 and "เปิดไฟล์ไม่ได้" in result.errors[0].message


@pytest.mark.parametrize(
    ("cell", "expected"),
    [(2570, 2570), ("๒๕๗๐", 2570), ("พ.ศ. 2571", 2571), (2570.0, 2570)],
)
def test_fiscal_year_cells(cell: object, expected: int) -> None:
    from tidtam.workbook.cells import as_fiscal_year

    assert as_fiscal_year(cell) == expected


def excel_style_workbook(path: Path) -> Path:
    """A workbook as Excel saves it: shared strings (one with an entity), a formula, a skipped row.

    openpyxl always writes inline strings, so the file is assembled from an openpyxl one by hand.
    """

    base = tmp = path.with_suffix(".base.xlsx")
    book = Workbook()
    book.active.title = "offices"
    book.create_sheet("notes")["A1"] = date(2026, 10, 1)  # an unknown sheet: a warning, not an error
    book.save(tmp)
    shared = [
        "code",
        "name",
        "kind",
        "parent_code",
        "AO1",
        "สพม. &amp; ทดสอบ",
        "area_office",
        "S1",
        "โรงเรียน",
    ]
    s = lambda i, ref: f'<c r="{ref}" t="s"><v>{i}</v></c>'  # noqa: E731
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'<row r="1">{s(0, "A1")}{s(1, "B1")}{s(2, "C1")}{s(3, "D1")}</row>'
        f'<row r="2">{s(4, "A2")}{s(5, "B2")}{s(6, "C2")}</row>'
        f'<row r="4">{s(7, "A4")}<c r="B4" t="str"><f>CONCAT("โรงเรียน","หนึ่ง")</f><v>โรงเรียนหนึ่ง</v></c>'
        f'{s(8, "C4")}<c r="D4" t="inlineStr"><is><t>AO1</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    return repack(base, path, sheet, shared)


def test_excel_shared_strings_formulas_and_gaps(engine: Engine, tmp_path: Path) -> None:
    path = excel_style_workbook(tmp_path / "excel.xlsx")
    result = import_workbook(path, engine, FixedClock(START))
    assert result.ok, [str(p) for p in result.problems]
    with engine.connect() as conn:
        offices = {r.code: r for r in conn.execute(sa.select(Office.__table__))}
    assert offices["AO1"].name == "สพม. & ทดสอบ"
    assert offices["S1"].name == "โรงเรียนหนึ่ง"  # a formula's cached value
    assert offices["S1"].parent_id == offices["AO1"].id
    assert [(p.sheet, p.is_error) for p in result.problems] == [("notes", False)]


def test_row_numbers_count_blank_rows(engine: Engine, tmp_path: Path) -> None:
    path = excel_style_workbook(tmp_path / "excel.xlsx")
    import zipfile

    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode().replace("<v>8</v>", "<v>2</v>")  # kind: "kind"
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w") as out:
        for item in src.infolist():
            out.writestr(
                item, sheet if item.filename == "xl/worksheets/sheet1.xml" else src.read(item.filename)
            )
    result = import_workbook(patched, engine, FixedClock(START))
    assert [(p.sheet, p.row, p.column, p.value) for p in result.errors] == [("offices", 4, "kind", "kind")]
