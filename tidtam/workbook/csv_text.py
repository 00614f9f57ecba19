"""Reading one CSV file: which encoding it is in, which separator it uses, and its rows within limits.

Thai users save CSV from Excel as "CSV UTF-8" (UTF-8 with a byte-order mark), as plain "CSV" (the
Windows code page: cp874, a superset of TIS-620), or as "Unicode Text" (UTF-16, tab-separated).
The encoding is decided before any row is read, over the whole file:

- a byte-order mark says UTF-8 or UTF-16;
- NUL bytes on one side of every pair say UTF-16 without a mark; other NUL bytes, not text at all;
- text that is valid UTF-8 is UTF-8 (plain ASCII included);
- otherwise cp874, if it decodes and reads as Thai: Thai vowel and tone marks follow a Thai letter.
  Latin-1 text decodes as cp874 too, but its accented letters land on marks after Latin letters.

Anything else is refused with ``UnknownEncoding`` (the sheet's error says how to save as CSV UTF-8).
Rows come as lists of str; a cell past the cell limit or holding control characters (which no
workbook can hold) becomes a ``BrokenCell``, a row past the row limits a ``BrokenRow``.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from messages import workbook as text
from tidtam.workbook.limits import (
    MAX_CELL_CHARS,
    MAX_FILE_BYTES,
    MAX_ROW_CELLS,
    MAX_ROW_CHARS,
    BrokenCell,
    BrokenRow,
)

_CHUNK = 1 << 20
_SAMPLE = 4096
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_THAI_MARK = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]")
_ORPHAN_MARK = re.compile("(?<![\u0e01-\u0e4e])[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]")
_ORPHANS_ALLOWED = 0.01  # a mark typed at the start of a cell happens; Latin-1 read as Thai is all orphans
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XML, and so no workbook, can hold
_SEPARATORS = (",", "\t", ";")


class UnknownEncoding(Exception):
    """The file is in none of the encodings we read."""


def detect_encoding(path: Path) -> str:
    """The codec to read ``path`` with; raises ``UnknownEncoding``."""
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
    for bom, codec in _BOMS:
        if sample.startswith(bom):
            _decodes(path, codec)
            return codec
    if b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if even and odd:
            raise UnknownEncoding("NUL bytes on both sides: not text")
        codec = "utf-16-le" if odd else "utf-16-be"
        _decodes(path, codec)
        return codec
    try:
        _decodes(path, "utf-8")
        return "utf-8"
    except UnknownEncoding:
        pass
    marks, orphans = _decodes(path, "cp874", count_marks=True)
    if orphans > max(2, marks * _ORPHANS_ALLOWED):
        raise UnknownEncoding("not Thai text")
    return "cp874"


def _decodes(path: Path, codec: str, *, count_marks: bool = False) -> tuple[int, int]:
    """Decode the whole file (without keeping it); (Thai marks, orphan marks) when asked."""
    decoder = codecs.getincrementaldecoder(codec)()
    marks = orphans = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            try:
                decoded = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise UnknownEncoding(f"not {codec}") from exc
            if count_marks:
                marks += len(_THAI_MARK.findall(decoded))
                orphans += len(_ORPHAN_MARK.findall(decoded))
            if not chunk:
                return marks, orphans


def read_csv(path: Path) -> Iterator[Sequence[object] | BrokenRow]:
    """Every row of one CSV file, the header first; what cannot be read as a ``BrokenRow``."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield BrokenRow(text.file_too_large(size, MAX_FILE_BYTES), last=True)
            return
        try:
            codec = detect_encoding(path)
        except UnknownEncoding:
            yield BrokenRow(text.unknown_encoding(), last=True)
            return
        with path.open(encoding=codec, newline="") as handle:
            yield from read_rows(handle)
    except (OSError, UnicodeDecodeError):  # the file went away or changed under us
        yield BrokenRow(text.broken_sheet(), last=True)


class _RowTooLong(Exception):
    pass


class _Lines:
    """The file's lines for ``csv.reader``, never more than a row may hold since the row began."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.taken = 0
        self.first: str | None = self._read()

    def _read(self) -> str:
        line = self.handle.readline(MAX_ROW_CHARS + 1)
        self.taken += len(line)
        if self.taken > MAX_ROW_CHARS:
            raise _RowTooLong
        return line

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.first is not None:
            line, self.first = self.first, None
        else:
            line = self._read()
        if not line:
            raise StopIteration
        return line


def separator(header_line: str) -> str:
    """``,`` unless the header row has none and has tabs (Excel's "Unicode Text") or semicolons."""
    if "," in header_line:
        return ","
    return next((s for s in _SEPARATORS if s in header_line), ",")


def read_rows(handle: TextIO) -> Iterator[Sequence[object] | BrokenRow]:
    try:
        lines = _Lines(handle)
    except _RowTooLong:
        yield BrokenRow(text.row_too_long(MAX_ROW_CHARS), last=True)
        return
    reader = csv.reader(lines, delimiter=separator(lines.first or ""))
    while True:
        lines.taken = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RowTooLong:  # the rest of the row is not read, so where the next one starts is unknown
            yield BrokenRow(text.row_too_long(MAX_ROW_CHARS), last=True)
            return
        except csv.Error:
            yield BrokenRow(text.broken_row(), last=True)
            return
        yield _checked(row)


def _checked(row: list[str]) -> list[object] | BrokenRow:
    if len(row) > MAX_ROW_CELLS:
        return BrokenRow(text.row_too_many_cells(MAX_ROW_CELLS))
    joined = "".join(row)
    if len(joined) <= MAX_CELL_CHARS and not _CONTROL.search(joined):
        return row  # type: ignore[return-value]
    return [_checked_cell(cell) for cell in row]


def _checked_cell(cell: str) -> object:
    if len(cell) > MAX_CELL_CHARS:
        return BrokenCell(text.cell_too_long(len(cell), MAX_CELL_CHARS), cell)
    if _CONTROL.search(cell):
        return BrokenCell(text.control_character(), cell)
    return cell
