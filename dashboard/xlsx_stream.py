"""A minimal streaming .xlsx writer for the exports: rows go straight into the zip as sheet XML.

openpyxl's write-only mode builds a cell object per value and serialises it through an XML library;
for a 300,000-project export that alone took minutes. This writer emits the few SpreadsheetML parts
a workbook needs (content types, relationships, workbook, styles, one XML per sheet) and writes each
row as a string: text as an inline string in UTF-8 (Thai stays text, never character references),
numbers as numbers, money with the `#,##0.00` format. It keeps the product's guard against formulas
(`tidtam/workbook/text_cells.py`): a text that starts with `=`, `+`, `-`, `@`, tab or carriage return
is a string cell with `quotePrefix` and the Text format, exactly what openpyxl's guarded cells carry;
characters XML cannot hold are dropped. No formula cell is ever written.

Sheets after the first are spooled to a temporary file beside the target and copied into the zip at
the end, so rows of every sheet can be appended in any order with memory flat.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from openpyxl.utils import get_column_letter

from tidtam.workbook.text_cells import FORMULA_TRIGGERS

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# XML 1.0 cannot carry these (openpyxl's ILLEGAL_CHARACTERS_RE, plus the non-characters FFFE/FFFF).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_SPECIAL = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # one search for the common case
_BAD_TITLE = re.compile(r"[\\/*?:\[\]]")
FLUSH_ROWS = 500

# Cell styles (the index is the `s` attribute): 0 plain, 1 guarded text, 2 money.
PLAIN, GUARDED, MONEY = 0, 1, 2
_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_START = _HEAD + f'<worksheet xmlns="{_MAIN}"><sheetData>'
_SHEET_END = "</sheetData></worksheet>"


def sheet_title(title: str, taken: set[str]) -> str:
    """A title Excel accepts: no \\ / * ? : [ ], at most 31 characters, unique in the workbook."""
    base = _BAD_TITLE.sub(" ", title).strip().strip("'")[:31] or "Sheet"
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base[: 31 - len(str(n)) - 1]} {n}"
    taken.add(name.lower())
    return name


def _text(value: str) -> str:
    if _SPECIAL.search(value) is None:
        return value
    return _ILLEGAL.sub("", value).translate(_ESCAPES)


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    return repr(value) if isinstance(value, float) else str(value)


class _Sheet:
    def __init__(self, title: str, stream: IO[bytes], money: frozenset[int]) -> None:
        self.title, self.stream, self.money = title, stream, money
        self.rows = 0
        self.letters: list[str] = []
        self.pending: list[str] = []

    def append(self, values: Sequence[Any]) -> None:
        self.rows += 1
        r = str(self.rows)
        letters = self.letters
        while len(letters) < len(values):
            letters.append(get_column_letter(len(letters) + 1))
        cells = []
        for i, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = letters[i] + r
            if isinstance(value, str):
                shown = _text(value)
                if not shown:
                    continue
                style = ' s="1"' if shown[0] in FORMULA_TRIGGERS else ""
                cells.append(
                    f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{shown}</t></is></c>'
                )
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float | Decimal):
                style = ' s="2"' if i in self.money else ""
                cells.append(f'<c r="{ref}"{style}><v>{_number(value)}</v></c>')
            else:
                shown = _text(str(value))
                style = ' s="1"' if shown and shown[0] in FORMULA_TRIGGERS else ""
                cells.append(
                    f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{shown}</t></is></c>'
                )
        self.pending.append(f'<row r="{r}">{"".join(cells)}</row>')
        if len(self.pending) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.stream.write("".join(self.pending).encode("utf-8"))
            self.pending.clear()


class StreamingWorkbook:
    """`with StreamingWorkbook(path, [(title, money_columns), …]) as book: book.append(0, row)`."""

    def __init__(self, path: Path, sheets: Iterable[tuple[str, Iterable[int]]]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        taken: set[str] = set()
        self.sheets: list[_Sheet] = []
        self.spools: list[IO[bytes]] = []
        for n, (title, money) in enumerate(sheets):
            if n == 0:
                stream: IO[bytes] = self.zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
            else:
                stream = tempfile.TemporaryFile(dir=path.parent)  # noqa: SIM115 (closed in close())
                self.spools.append(stream)
            stream.write(_SHEET_START.encode())
            self.sheets.append(_Sheet(sheet_title(title, taken), stream, frozenset(money)))

    def append(self, sheet: int, values: Sequence[Any]) -> None:
        self.sheets[sheet].append(values)

    def close(self) -> None:
        for n, sheet in enumerate(self.sheets):
            sheet.flush()
            sheet.stream.write(_SHEET_END.encode())
            if n == 0:
                sheet.stream.close()
        for n, spool in enumerate(self.spools, start=2):
            spool.seek(0)
            with self.zip.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as target:
                while chunk := spool.read(1 << 20):
                    target.write(chunk)
            spool.close()
        self._package()
        self.zip.close()

    def _package(self) -> None:
        count = len(self.sheets)
        sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{sheet_type}"/>'
            for n in range(1, count + 1)
        )
        self.zip.writestr(
            "[Content_Types].xml",
            _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        self.zip.writestr(
            "_rels/.rels",
            _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        sheets = "".join(
            f'<sheet name="{_text(s.title).replace(chr(34), "&quot;")}" sheetId="{n}" r:id="rId{n}"/>'
            for n, s in enumerate(self.sheets, start=1)
        )
        self.zip.writestr(
            "xl/workbook.xml",
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, count + 1)
        )
        self.zip.writestr(
            "xl/_rels/workbook.xml.rels",
            _HEAD + f'<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        self.zip.writestr("xl/styles.xml", _STYLES)

    def __enter__(self) -> StreamingWorkbook:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
            return
        if self.sheets and not self.sheets[0].stream.closed:
            self.sheets[0].stream.close()
        for spool in self.spools:
            spool.close()
        self.zip.close()
        self.path.unlink(missing_ok=True)
