"""Workbooks written the way Excel and other tools write them, part by part (openpyxl never writes
shared strings, formulas with cached values or other tools' namespaces)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def repack(base: Path, path: Path, sheet_xml: str, shared: Sequence[str]) -> Path:
    """`base`, a workbook openpyxl saved, written to `path` with its first sheet's XML replaced by
    `sheet_xml` and a shared-strings part holding `shared` (XML-escaped already)."""
    strings = "".join(f"<si><t>{s}</t></si>" for s in shared)
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            elif item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            out.writestr(item.filename, data, zipfile.ZIP_DEFLATED)
        out.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{strings}</sst>', zipfile.ZIP_DEFLATED)
    return path
