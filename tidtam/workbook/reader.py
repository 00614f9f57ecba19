"""Reading a workbook: an .xlsx file (openpyxl read-only, streamed) or a folder of CSV files.

A source hands out each sheet's rows as plain tuples, header first, so row N of the iteration is row N
as the user sees it in Excel. Nothing here interprets values; that is ``cells`` and ``validate``.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from tidtam.workbook.columns import sheet_key
from tidtam.workbook.xlsx_rows import iter_sheet_rows


class SourceError(Exception):
    """The file could not be opened as a workbook at all."""


class Source(Protocol):
    def titles(self) -> list[str]:
        """Sheet titles (or CSV file stems) in the source, as written."""
        ...

    def rows(self, title: str) -> Iterator[Sequence[object]]:
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
        try:
            self._book = _load_without_sizing(path)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise SourceError(f"{type(exc).__name__}: {exc}") from exc

    def titles(self) -> list[str]:
        return list(self._book.sheetnames)

    def rows(self, title: str) -> Iterator[Sequence[object]]:
        return iter_sheet_rows(self._book[title])

    def close(self) -> None:
        self._book.close()


class CsvFolderSource:
    """A folder of ``offices.csv``, ``people.csv``… in UTF-8, with or without a byte-order mark."""

    def __init__(self, folder: Path) -> None:
        self._files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() == ".csv"}

    def titles(self) -> list[str]:
        return list(self._files)

    def rows(self, title: str) -> Iterator[Sequence[object]]:
        with self._files[title].open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.reader(handle)

    def close(self) -> None:
        pass


class MemorySource:
    """Rows already in memory (the demo generator's ``--import``, and tests)."""

    def __init__(self, sheets: Mapping[str, Sequence[Sequence[object]]]) -> None:
        self._sheets = sheets

    def titles(self) -> list[str]:
        return list(self._sheets)

    def rows(self, title: str) -> Iterator[Sequence[object]]:
        return iter(self._sheets[title])

    def close(self) -> None:
        pass


def open_source(path: Path) -> Source:
    """An .xlsx file or a folder of CSV files; raises ``SourceError`` for anything else."""
    if path.is_dir():
        return CsvFolderSource(path)
    if not path.exists():
        raise SourceError(f"not found: {path}")
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
