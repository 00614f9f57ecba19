"""Reading a workbook: an .xlsx file (openpyxl read-only, streamed) or a folder of CSV files.

A source hands out each sheet's rows as plain tuples, header first, so row N of the iteration is row N
as the user sees it in Excel. Nothing here interprets values; that is ``cells`` and ``validate``.
What a source cannot read it hands out as a ``BrokenCell`` or ``BrokenRow`` (``limits``), never as an
exception; a file it cannot open at all is a ``SourceError`` with the Thai reason.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from messages import workbook as text
from tidtam.workbook import csv_text
from tidtam.workbook.columns import sheet_key
from tidtam.workbook.limits import MAX_FILE_BYTES, MAX_UNPACKED_BYTES, MAX_WHOLE_PART_BYTES, BrokenRow
from tidtam.workbook.xlsx_rows import iter_sheet_rows


class SourceError(Exception):
    """The file could not be opened as a workbook at all; ``message`` is the Thai reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Source(Protocol):
    def titles(self) -> list[str]:
        """Sheet titles (or CSV file stems) in the source, as written."""
        ...

    def rows(self, title: str) -> Iterator[Sequence[object] | BrokenRow]:
        """Every row of one sheet, the header row first, blank rows included."""
        ...

    def close(self) -> None: ...


_LOAD_LOCK = threading.Lock()


def _load_without_sizing(path: Path) -> Any:
    """openpyxl's read-only load, minus its sizing pass.

    Opening a read-only sheet, openpyxl reads the sheet's XML until it finds a `<dimension>` element;
    a file written in openpyxl's write-only mode (our own `demo-data --out`, many exporters) has none,
    so every sheet is parsed in full once just to learn a size we never use — a third of a large
    import. The sheets are created with that step skipped (a subclass swapped in for the load only).
    """
    from openpyxl import load_workbook
    from openpyxl.reader import excel
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class _Unsized(ReadOnlyWorksheet):  # type: ignore[misc]
        def _get_size(self) -> None:
            return None  # rows are streamed to their end; no size is needed up front

    with _LOAD_LOCK:
        original = excel.ReadOnlyWorksheet
        excel.ReadOnlyWorksheet = _Unsized
        try:
            return load_workbook(path, read_only=True, data_only=True)
        finally:
            excel.ReadOnlyWorksheet = original


class XlsxSource:
    """An .xlsx workbook opened in openpyxl's read-only mode; rows stream from the zip (``xlsx_rows``)."""

    def __init__(self, path: Path) -> None:
        _check_archive(path)
        try:
            self._book = _load_without_sizing(path)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise SourceError(text.unreadable_file(f"{type(exc).__name__}: {exc}")) from exc

    def titles(self) -> list[str]:
        return list(self._book.sheetnames)

    def rows(self, title: str) -> Iterator[Sequence[object] | BrokenRow]:
        return iter_sheet_rows(self._book[title])

    def close(self) -> None:
        self._book.close()


def _check_archive(path: Path) -> None:
    """Refuse, before openpyxl reads anything, a file over the size limits (``limits``)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SourceError(text.file_too_large(size, MAX_FILE_BYTES))
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except Exception as exc:  # not a zip file at all: say so as openpyxl would
        raise SourceError(text.unreadable_file(f"{type(exc).__name__}: {exc}")) from exc
    if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES:
        raise SourceError(text.unpacked_too_large(MAX_UNPACKED_BYTES))
    for part in parts:  # a zip member is never unpacked past its stated size, so the sizes are a bound
        streamed = part.filename.startswith("xl/worksheets/") and "/_rels/" not in part.filename
        if not streamed and part.file_size > MAX_WHOLE_PART_BYTES:
            raise SourceError(text.unpacked_too_large(MAX_WHOLE_PART_BYTES))


class CsvFolderSource:
    """A folder of ``offices.csv``, ``people.csv``…: UTF-8 with or without a byte-order mark, UTF-16, or
    TIS-620/cp874 (what Thai Excel saves as plain "CSV"); comma-, tab- or semicolon-separated."""

    def __init__(self, folder: Path) -> None:
        self._files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() == ".csv"}

    def titles(self) -> list[str]:
        return list(self._files)

    def rows(self, title: str) -> Iterator[Sequence[object] | BrokenRow]:
        return csv_text.read_csv(self._files[title])

    def close(self) -> None:
        pass


class MemorySource:
    """Rows already in memory (the demo generator's ``--import``, and tests)."""

    def __init__(self, sheets: Mapping[str, Sequence[Sequence[object]]]) -> None:
        self._sheets = sheets

    def titles(self) -> list[str]:
        return list(self._sheets)

    def rows(self, title: str) -> Iterator[Sequence[object] | BrokenRow]:
        return iter(self._sheets[title])

    def close(self) -> None:
        pass


def open_source(path: Path) -> Source:
    """An .xlsx file or a folder of CSV files; raises ``SourceError`` for anything else."""
    if path.is_dir():
        return CsvFolderSource(path)
    if not path.exists():
        raise SourceError(text.unreadable_file(f"not found: {path.name}"))
    if path.suffix.lower() == ".csv":
        return CsvFolderSource(path.parent)  # one CSV file: read its folder
    return XlsxSource(path)


def known_titles(source: Source) -> tuple[dict[str, str], list[str]]:
    """({sheet key: title in the source}, [titles that are no known sheet])."""
    known: dict[str, str] = {}
    unknown: list[str] = []
    for title in source.titles():
        key = sheet_key(title)
        if key is None or key in known:
            unknown.append(title)
        else:
            known[key] = title
    return known, unknown
