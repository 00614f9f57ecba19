"""The workbook's layout: which sheets exist, their columns in order, and how headers are recognised.

Each sheet is keyed by its English name (also the CSV file name). A header cell is recognised by its
English key or its Thai header from ``messages.workbook``, ignoring case, spaces and a ``*`` marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from messages import workbook as text


@dataclass(frozen=True)
class Column:
    key: str
    required: bool


SHEETS: dict[str, tuple[Column, ...]] = {
    "offices": (
        Column("code", True),
        Column("name", True),
        Column("kind", True),
        Column("parent_code", False),
    ),
    "people": (
        Column("code", True),
        Column("full_name", True),
        Column("position", False),
        Column("office_code", True),
        Column("roles", False),
    ),
    "strategies": (
        Column("code", True),
        Column("level", True),
        Column("title", True),
        Column("parent_code", False),
    ),
    "projects": (
        Column("code", True),
        Column("fiscal_year", True),
        Column("name", True),
        Column("office_code", True),
        Column("owner_codes", True),
        Column("approver_code", False),
        Column("budget", True),
        Column("strategy_codes", False),
        Column("start_date", False),
        Column("end_date", False),
        Column("emenscr_id", False),
    ),
    "indicators": (
        Column("project_code", True),
        Column("code", True),
        Column("name", True),
        Column("unit", False),
        Column("target", False),
        Column("kind", False),
    ),
}

SHEET_ORDER: tuple[str, ...] = tuple(SHEETS)

_NOISE = re.compile(r"[\s*]+")


def normalize_header(value: object) -> str:
    """Lower-case, without whitespace or ``*``: ``" Fiscal_Year *"`` → ``fiscal_year``."""
    return _NOISE.sub("", str(value or "")).lower()


def _aliases(sheet: str, key: str) -> set[str]:
    thai = text.COLUMN_HEADERS[(sheet, key)]
    names = {key, thai, key.replace("_", " ")}
    if "(" in thai:  # "งบประมาณ (บาท)" is also recognised as "งบประมาณ"
        names.add(thai.split("(", 1)[0])
    return {normalize_header(n) for n in names}


HEADER_ALIASES: dict[str, dict[str, str]] = {
    sheet: {alias: column.key for column in columns for alias in _aliases(sheet, column.key)}
    for sheet, columns in SHEETS.items()
}

SHEET_ALIASES: dict[str, str] = {
    **{normalize_header(sheet): sheet for sheet in SHEETS},
    **{normalize_header(thai): sheet for sheet, thai in text.SHEET_LABELS.items()},
}


def sheet_key(name: str) -> str | None:
    """The sheet a sheet or CSV file name stands for (``Projects``, ``โครงการ``), or None."""
    return SHEET_ALIASES.get(normalize_header(name))
