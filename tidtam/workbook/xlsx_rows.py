"""Fast row reading for one worksheet of an .xlsx file opened by openpyxl in read-only mode.

openpyxl parses every cell through generic descriptor machinery (about 10 µs a cell, far more for
inline strings); a 300,000-project workbook has some eight million cells. Sheets written by Excel,
LibreOffice and openpyxl are regular XML, so the streamed sheet is split at ``</row>`` and each row's
cells are read with one regular expression. openpyxl still supplies everything else: which zip member a
sheet is, the shared strings, which styles are dates, the date epoch. A row the expression does not
fully account for (formulas, rich text, unusual attributes, a namespace prefix such as ``x:row``) is
parsed on its own with ElementTree, with the namespaces the sheet declares.

Nothing in a sheet can make this raise or take unbounded memory (``limits``): a row is never gathered
past ``MAX_ROW_XML_BYTES`` (the rest of it is skipped), a cell that cannot be read becomes a
``BrokenCell``, a row that cannot be read a ``BrokenRow``, and a sheet whose data breaks off (a damaged
zip member) ends with a ``BrokenRow`` marked ``last``.
"""

from __future__ import annotations

import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import unescape
from typing import Any

from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601

from messages import workbook as text
from tidtam.workbook.limits import (
    MAX_CELL_CHARS,
    MAX_ROW_CELLS,
    MAX_ROW_XML_BYTES,
    MAX_ROWS,
    BrokenCell,
    BrokenRow,
)

logger = logging.getLogger(__name__)

_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CHUNK = 4 << 20
_HEAD = 4096  # what is kept of a row too large to read: enough for its start tag
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_ROOT = re.compile(rb"<(?:\w+:)?worksheet\b[^>]*>")
_NAMESPACE = re.compile(rb'\sxmlns(?::\w+)?="[^"]*"')
_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b")
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*'
    rb"(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: [^>]*)?>([^<]*)</t></is>)?</c>)"
)
_COLUMN = re.compile(r"[A-Za-z]{1,3}")
_COLUMN_CACHE: dict[bytes, int] = {}


@dataclass(frozen=True)
class _Tags:
    """The sheet's element names as bytes, with its namespace prefix (``x:`` or none)."""

    row_open: bytes
    row_close: bytes
    data_close: bytes
    cell_open: bytes  # also the start of <color> in rich text (which is read slowly anyway)
    namespaces: bytes  # the declarations of the sheet's root element, for parsing a row on its own
    plain: bool  # no prefix: the fast expression applies

    @classmethod
    def of(cls, prefix: bytes, namespaces: bytes) -> _Tags:
        return cls(
            row_open=b"<" + prefix + b"row",
            row_close=b"</" + prefix + b"row>",
            data_close=b"</" + prefix + b"sheetData>",
            cell_open=b"<" + prefix + b"c",
            namespaces=namespaces,
            plain=not prefix,
        )


class _Oversized:
    """A stretch of sheet XML longer than a row may be; only its start is kept."""

    __slots__ = ("head",)

    def __init__(self, head: bytes) -> None:
        self.head = head


def iter_sheet_rows(worksheet: Any) -> Iterator[Sequence[object] | BrokenRow]:
    """The rows of an openpyxl read-only worksheet as tuples, gaps filled with empty rows."""
    book = worksheet.parent
    reader = _CellReader(worksheet._shared_strings, book._date_formats, book.epoch)
    try:
        with book._archive.open(worksheet._worksheet_path) as stream:
            expected = 1
            for number, row in _sheet_rows(stream, reader):
                if number > MAX_ROWS:
                    yield BrokenRow(text.row_number_too_large(MAX_ROWS), last=True)
                    return
                while expected < number:
                    yield ()
                    expected += 1
                yield row
                expected = number + 1
    except Exception as exc:  # a damaged zip member (bad CRC, corrupt deflate data) or XML past repair
        logger.warning("xlsx sheet stopped being readable: %s", type(exc).__name__)
        yield BrokenRow(text.broken_sheet(), last=True)


def _sheet_rows(stream: Any, reader: _CellReader) -> Iterator[tuple[int, tuple[object, ...] | BrokenRow]]:
    """(row number, row) for each row the sheet's data holds, from the start of the part."""
    buffer = stream.read(_CHUNK)
    root = _ROOT.search(buffer)
    namespaces = b" ".join(m.group(0).strip() for m in _NAMESPACE.finditer(root.group(0))) if root else b""
    if b'xmlns="' not in namespaces:
        namespaces += b' xmlns="' + _MAIN_NS + b'"'
    found = _SHEET_DATA.search(buffer)
    while found is None:  # the data starts further on (after very many column settings), or never
        more = stream.read(_CHUNK)
        if not more:
            return iter(())
        buffer = buffer[-64:] + more
        found = _SHEET_DATA.search(buffer)
    tag_end = buffer.find(b">", found.end())
    while tag_end < 0:
        more = stream.read(_CHUNK)
        if not more:
            return iter(())
        buffer += more
        tag_end = buffer.find(b">", found.end())
    if buffer[tag_end - 1 : tag_end] == b"/":  # <sheetData/>: no rows
        return iter(())
    tags = _Tags.of(found.group(1) or b"", namespaces)
    reader.tags = tags
    return _rows(_pieces(stream, buffer[tag_end + 1 :], tags), reader, tags)


def _pieces(stream: Any, buffer: bytes, tags: _Tags) -> Iterator[bytes | _Oversized]:
    """The sheet data cut at each ``</row>`` (a C-level split; a lazy regex over long rows was the
    slowest part). A piece holds one row's start tag and cells, after any self-closed empty rows
    (``<row r="5"/>``). A row still unfinished when longer than a row may be comes as ``_Oversized``,
    and the rest of it is skipped without being gathered; ``_rows`` checks the length of the others."""
    close = tags.row_close
    while True:
        stop = buffer.find(tags.data_close)
        if stop >= 0:
            buffer, more = buffer[:stop], b""
        else:
            more = stream.read(_CHUNK)
        if not more:
            yield from buffer.split(close)
            return
        end = buffer.rfind(close)
        if end > 0:
            yield from buffer[:end].split(close)
            buffer = buffer[end:]
        if len(buffer) > MAX_ROW_XML_BYTES:  # the unfinished row is already longer than a row may be
            yield _Oversized(buffer[:_HEAD])
            buffer = _skip_past_row(stream, buffer[-len(close) :] + more, close)
            continue
        buffer += more


def _skip_past_row(stream: Any, data: bytes, close: bytes) -> bytes:
    """Read on to the end of the current row; return what follows it (from its ``</row>``)."""
    while True:
        at = data.find(close)
        if at >= 0:
            return data[at:]
        more = stream.read(_CHUNK)
        if not more:
            return b""
        data = data[-len(close) :] + more


def _rows(
    pieces: Iterator[bytes | _Oversized], reader: _CellReader, tags: _Tags
) -> Iterator[tuple[int, tuple[object, ...] | BrokenRow]]:
    number = 0
    row_open = tags.row_open
    for piece in pieces:
        if piece.__class__ is bytes and len(piece) <= MAX_ROW_XML_BYTES:  # type: ignore[arg-type]
            data: bytes = piece  # type: ignore[assignment]
            oversized = False
        else:
            data = piece.head if piece.__class__ is _Oversized else piece[:_HEAD]  # type: ignore[union-attr,index]
            oversized = True
        start = data.find(row_open)
        while start >= 0:
            close = data.find(b">", start)
            found = _ROW_NUMBER.search(data, start, close) if close >= 0 else None
            number = int(found.group(1)) if found else number + 1
            if oversized and (close < 0 or data[close - 1 : close] != b"/"):
                yield number, BrokenRow(text.row_too_large(MAX_ROW_XML_BYTES))
                break
            if close < 0:
                yield number, BrokenRow(text.broken_row())
                break
            following = data.find(row_open, close)
            if data[close - 1 : close] != b"/":
                inner = data[close + 1 : following if following >= 0 else len(data)]
                yield number, reader.row(inner)
            start = following


class _CellReader:
    def __init__(self, shared: Sequence[object], date_styles: set[int], epoch: Any) -> None:
        self.shared = _checked_shared(shared)
        self.date_styles = {str(s).encode() for s in date_styles}
        self.epoch = epoch
        self.tags = _Tags.of(b"", b'xmlns="' + _MAIN_NS + b'"')

    def row(self, inner: bytes) -> tuple[object, ...] | BrokenRow:
        count = inner.count(self.tags.cell_open)  # cells, and any rich-text <color>: then read slowly
        if count > MAX_ROW_CELLS:
            return BrokenRow(text.row_too_many_cells(MAX_ROW_CELLS))
        if not self.tags.plain:
            return self._row_slowly(inner)
        cells = _CELL.findall(inner)
        if count != len(cells):  # a cell the expression could not read in full
            return self._row_slowly(inner)
        values: list[object] = []
        try:
            for column, style, kind, number, inline in cells:
                index = _COLUMN_CACHE.get(column)
                if index is None:
                    index = _COLUMN_CACHE[column] = column_index_from_string(column.decode())
                while len(values) < index - 1:
                    values.append(None)
                values.append(self.value(style, kind, number, inline))
        except Exception:  # a value that does not convert: find which, cell by cell
            return self._row_slowly(inner)
        return tuple(values) if len(inner) <= MAX_CELL_CHARS else _limit_lengths(tuple(values))

    def value(self, style: bytes, kind: bytes, number: bytes, inline: bytes) -> object:
        if kind == b"s":
            return self.shared[int(number)]
        if kind == b"inlineStr":
            return _text(inline)
        if not number:
            return None
        if kind in (b"", b"n"):
            value: object
            if number.isdigit():
                value = int(number)
            else:
                value = float(number)
                if not math.isfinite(value):  # Excel stores no NaN or infinity
                    raise ValueError("not a finite number")
            if style and style in self.date_styles:
                return from_excel(value, self.epoch)
            return value
        if kind == b"b":
            return number == b"1"
        if kind == b"d":
            return from_ISO8601(number.decode())
        if kind == b"e":  # an error such as #N/A where a formula failed
            return BrokenCell(text.formula_error_value(_text(number)), _text(number))
        return _text(number)  # "str": a formula's text

    def _row_slowly(self, inner: bytes) -> tuple[object, ...] | BrokenRow:
        try:
            root = ET.fromstring(b"<w " + self.tags.namespaces + b">" + inner + b"</w>")
        except ET.ParseError:
            return BrokenRow(text.broken_row())
        values: list[object] = []
        for cell in root:
            if _local(cell.tag) != "c":
                continue
            index = _column_index(cell.get("r"), len(values) + 1)
            while len(values) < index - 1:
                values.append(None)
            try:
                values.append(self._element_value(cell))
            except Exception:  # one unreadable cell is that cell's error, not the import's
                values.append(BrokenCell(text.broken_cell(), _element_text(cell)))
        return _limit_lengths(tuple(values))

    def _element_value(self, cell: ET.Element) -> object:
        kind = (cell.get("t") or "").encode()
        v = inline = None
        for child in cell:
            name = _local(child.tag)
            if name == "v":
                v = child
            elif name == "is":
                inline = child
        if inline is not None:
            return _inline_text(inline)
        if kind == b"str":
            return v.text if v is not None else None
        number = (v.text or "").encode() if v is not None else b""
        return self.value((cell.get("s") or "").encode(), kind, number, b"")


def _checked_shared(shared: Sequence[object]) -> Sequence[object]:
    """The shared strings, with any too long for a cell replaced by a ``BrokenCell``."""
    too_long = [i for i, s in enumerate(shared) if isinstance(s, str) and len(s) > MAX_CELL_CHARS]
    if not too_long:
        return shared
    checked = list(shared)
    for i in too_long:
        checked[i] = _too_long(checked[i])  # type: ignore[arg-type]
    return checked


def _too_long(value: str) -> BrokenCell:
    return BrokenCell(text.cell_too_long(len(value), MAX_CELL_CHARS), value)


def _limit_lengths(values: tuple[object, ...]) -> tuple[object, ...]:
    """Cells longer than Excel allows become ``BrokenCell`` (only rows long enough are looked at)."""
    if not any(isinstance(v, str) and len(v) > MAX_CELL_CHARS for v in values):
        return values
    return tuple(_too_long(v) if isinstance(v, str) and len(v) > MAX_CELL_CHARS else v for v in values)


def _local(tag: object) -> str:
    name = str(tag)
    return name[name.rfind("}") + 1 :]


def _column_index(reference: str | None, default: int) -> int:
    found = _COLUMN.match(reference or "")
    if found is None:
        return default
    try:
        return column_index_from_string(found.group(0).upper())
    except ValueError:
        return default


def _inline_text(inline: ET.Element) -> str:
    """An inline string's text: plain ``<t>``, or the runs of rich text (not phonetic guides)."""
    parts = []
    for child in inline:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _element_text(cell: ET.Element) -> str:
    return "".join(cell.itertext())


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return unescape(text) if "&" in text else text
