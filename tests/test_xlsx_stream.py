"""The exports' streaming .xlsx writer (`dashboard/xlsx_stream.py`): Thai is stored as UTF-8 text, no
text becomes a formula, what XML cannot hold is dropped, and any text survives a round trip through
openpyxl."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from dashboard.xlsx_stream import StreamingWorkbook, sheet_title

HOSTILE = ["=1+1", "-2+3", "\tx", "@SUM(A1)", "+cmd|' /C calc'!A0", '=HYPERLINK("http://x","คลิก")']


def _write(path: Path, rows: list[list[object]], money: tuple[int, ...] = ()) -> None:
    with StreamingWorkbook(path, [("โครงการ", money), ("ตัวชี้วัด", ())]) as book:
        for row in rows:
            book.append(0, row)
        book.append(1, ["ตัวชี้วัด", 3])


def test_thai_is_stored_as_text_not_character_references(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    _write(path, [["โรงเรียนบ้านนาสาร", "ปัญหาอุปสรรค: งบประมาณมาช้า"]])
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
        assert "โรงเรียนบ้านนาสาร".encode() in xml
        assert b"&#" not in xml
        assert z.testzip() is None
    book = load_workbook(path)
    assert book.sheetnames == ["โครงการ", "ตัวชี้วัด"]
    assert [c.value for c in book.worksheets[0][1]] == ["โรงเรียนบ้านนาสาร", "ปัญหาอุปสรรค: งบประมาณมาช้า"]
    assert [c.value for c in book.worksheets[1][1]] == ["ตัวชี้วัด", 3]


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    _write(path, [[*HOSTILE, "ครู"]])
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    cells = re.findall(r"<c [^>]*>", xml)
    assert len(cells) == len(HOSTILE) + 1
    assert all('s="1"' in c and 't="inlineStr"' in c for c in cells[:-1]), cells
    assert 's="' not in cells[-1]
    xfs = re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1])
    assert 'quotePrefix="1"' in xfs[1] and 'numFmtId="49"' in xfs[1]
    sheet = load_workbook(path).worksheets[0]
    for cell, value in zip(sheet[1], HOSTILE, strict=False):
        assert (cell.value, cell.data_type, cell.quotePrefix, cell.number_format) == (value, "s", True, "@")
    assert sheet["G1"].value == "ครู" and not sheet["G1"].quotePrefix


def test_numbers_money_and_what_xml_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "n.xlsx"
    _write(
        path,
        [
            [
                Decimal("120000.50"),
                2570,
                Decimal("62.5"),
                "a<b & c>d ]]>",
                "bell\x07",
                "  two\nlines\r ",
                None,
                "",
            ]
        ],
        money=(0,),
    )
    sheet = load_workbook(path).worksheets[0]
    money = sheet["A1"]
    assert money.data_type == "n" and money.value == pytest.approx(120000.50)
    assert money.number_format == "#,##0.00"
    assert sheet["B1"].value == 2570 and sheet["B1"].number_format == "General"
    assert sheet["C1"].value == pytest.approx(62.5)
    assert sheet["D1"].value == "a<b & c>d ]]>"
    assert sheet["E1"].value == "bell"  # the control character is dropped
    assert sheet["F1"].value == "  two\nlines\r "  # spaces and line breaks are kept
    assert sheet["G1"].value is None and sheet["H1"].value is None


def test_sheet_titles_excel_accepts() -> None:
    taken: set[str] = set()
    assert sheet_title("รายงาน/ไตรมาส:1 [ร่าง]*?", taken) == "รายงาน ไตรมาส 1  ร่าง"
    assert sheet_title("x" * 40, taken) == "x" * 31
    assert sheet_title("x" * 40, taken) == "x" * 29 + " 2"
    assert sheet_title("", taken) == "Sheet"


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with pytest.raises(RuntimeError), StreamingWorkbook(path, [("a", ()), ("b", ())]) as book:
        book.append(0, ["x"])
        raise RuntimeError("the database went away")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # the spooled second sheet is gone too


_XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"), max_size=40
).map(lambda s: re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", s))


@settings(max_examples=40, deadline=None)
@given(values=st.lists(_XML_TEXT, min_size=1, max_size=6))
def test_any_text_survives_the_round_trip(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    path = tmp_path_factory.mktemp("rt") / "rt.xlsx"
    _write(path, [values])
    sheet = load_workbook(path).worksheets[0]
    read = [sheet.cell(row=1, column=i + 1).value for i in range(len(values))]
    assert read == [v if v else None for v in values]
