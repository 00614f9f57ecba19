"""Loading a workbook without openpyxl's sizing pass reads every row and leaves openpyxl as it was."""

from __future__ import annotations

from pathlib import Path

from openpyxl.reader import excel
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from tidtam.workbook.demo import write_demo_xlsx
from tidtam.workbook.reader import open_source


def test_unsized_load_streams_every_row_and_restores_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "demo.xlsx"
    counts = write_demo_xlsx(path, schools=3)
    source = open_source(path)
    try:
        rows = [row for row in source.rows("projects") if any(cell not in (None, "") for cell in row)]
    finally:
        source.close()
    assert len(rows) - 1 == counts.projects  # every project row, after the header
    assert excel.ReadOnlyWorksheet is ReadOnlyWorksheet  # the swap lasted only for the load
