"""Fast row reading for one worksheet of an .xlsx file opened by openpyxl in read-only mode.

openpyxl parses every cell through generic descriptor machinery (about 10 µs a cell, far more for
inline strings); a 300,000-project workbook has some eight million cells. Sheets written by Excel,
LibreOffice and openpyxl are regular XML, so the streamed sheet is split at ``</row>`` and each row's
cells are read with one regular expression. openpyxl still supplies everything else: which zip member a
sheet is, the shared strings, which styles are dates, the date epoch. A row the expressions do not
fully account for (formulas, rich text, unusual attributes) is parsed with ElementTree instead, and a
sheet that does not look like plain SpreadsheetML falls back to openpyxl altogether.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from html import unescape
from typing import Any

from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CHUNK = 4 << 20
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*'
    rb"(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: [^>]*)?>([^<]*)</t></is>)?</c>)"
)
_COLUMN_CACHE: dict[bytes, int] = {}


def iter_sheet_rows(worksheet: Any) -> Iterator[Sequence[object]]:
    """The rows of an openpyxl read-only worksheet as tuples, gaps filled with empty rows."""
    book = worksheet.parent
    reader = _CellReader(worksheet._shared_strings, book._date_formats, book.epoch)
    with book._archive.open(worksheet._worksheet_path) as stream:
        head = stream.read(_CHUNK)
        if b"<sheetData" not in head or b":sheetData" in head:
            yield from worksheet.iter_rows(values_only=True)  # not plain SpreadsheetML: the slow, sure way
            return
        expected = 1
        for number, row in _rows(stream, head, reader):
            while expected < number:
                yield ()
                expected += 1
            yield row
            expected = number + 1


def _rows(stream: Any, buffer: bytes, reader: _CellReader) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Cut rows at ``</row>`` (a C-level split; a lazy regex over long rows was the slowest part)."""
    number = 0
    while True:
        more = stream.read(_CHUNK)
        end = len(buffer) if not more else buffer.rfind(b"</row>")
        if end < 0:
            buffer += more
            continue
        for piece in buffer[:end].split(b"</row>"):
            start = piece.find(b"<row")
            while start >= 0:  # a piece holds one row, after any empty self-closed ones (<row r="5"/>)
                close = piece.find(b">", start)
                found = _ROW_NUMBER.search(piece, start, close)
                number = int(found.group(1)) if found else number + 1
                following = piece.find(b"<row", close)
                if piece[close - 1 : close] != b"/":
                    inner = piece[close + 1 : following if following >= 0 else len(piece)]
                    yield number, reader.row(inner, piece, start)
                start = following
        if not more:
            return
        buffer = buffer[end:] + more


class _CellReader:
    def __init__(self, shared: Sequence[object], date_styles: set[int], epoch: Any) -> None:
        self.shared = shared
        self.date_styles = {str(s).encode() for s in date_styles}
        self.epoch = epoch

    def row(self, inner: bytes, piece: bytes, start: int) -> tuple[object, ...]:
        cells = _CELL.findall(inner)
        if inner.count(b"<c ") != len(cells):  # a cell the expression could not read in full
            return self._row_slowly(piece[start:] + b"</row>")  # something the expression missed
        values: list[object] = []
        for column, style, kind, number, inline in cells:
            index = _COLUMN_CACHE.get(column)
            if index is None:
                index = _COLUMN_CACHE[column] = column_index_from_string(column.decode())
            while len(values) < index - 1:
                values.append(None)
            values.append(self.value(style, kind, number, inline))
        return tuple(values)

    def value(self, style: bytes, kind: bytes, number: bytes, inline: bytes) -> object:
        if kind == b"s":
            return self.shared[int(number)]
        if kind == b"inlineStr":
            return _text(inline)
        if not number:
            return None
        if kind in (b"", b"n"):
            value: object = int(number) if number.isdigit() else float(number)
            if style and style in self.date_styles:
                return from_excel(value, self.epoch)
            return value
        if kind == b"b":
            return number == b"1"
        if kind == b"d":
            return from_ISO8601(number.decode())
        return _text(number)  # "str" (a formula's text) and "e" (an error such as #N/A)

    def _row_slowly(self, whole: bytes) -> tuple[object, ...]:
        root = ET.fromstring(b'<w xmlns="' + _MAIN_NS.encode() + b'">' + whole + b"</w>")
        values: list[object] = []
        for cell in root.iter(f"{{{_MAIN_NS}}}c"):
            column = re.match(r"[A-Z]+", cell.get("r", "")) if cell.get("r") else None
            index = column_index_from_string(column.group(0)) if column else len(values) + 1
            while len(values) < index - 1:
                values.append(None)
            kind = (cell.get("t") or "").encode()
            v = cell.find(f"{{{_MAIN_NS}}}v")
            inline = cell.find(f"{{{_MAIN_NS}}}is")
            number = (v.text or "").encode() if v is not None else b""
            if inline is not None:
                values.append("".join(t.text or "" for t in inline.iter(f"{{{_MAIN_NS}}}t")))
            elif kind in (b"str", b"e"):
                values.append(v.text if v is not None else None)
            else:
                values.append(self.value((cell.get("s") or "").encode(), kind, number, b""))
        return tuple(values)


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return unescape(text) if "&" in text else text
