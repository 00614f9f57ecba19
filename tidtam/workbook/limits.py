"""How much the importer takes, and what a source hands out for a cell or row it cannot give.

The limits are far above what an office needs (a 30,000-school workbook is 43 MB, 548 MB unpacked,
its rows a few hundred bytes) and low enough that a hostile or broken file costs neither the memory
nor the time of the machine. The cell limit is Excel's own: a cell holds at most 32,767 characters.

A source never raises for one bad cell or row. It yields a ``BrokenCell`` in place of a cell (the
cell's converter turns it into that row's error) or a ``BrokenRow`` in place of a row (the row's
error; ``last`` when the source cannot go on past it, and says so). Both keep only a short excerpt of
what they stand for, so a 100 MB cell is not carried around to be quoted in an error message.
"""

from __future__ import annotations

from messages.workbook import EXCERPT_CHARS

MAX_FILE_BYTES = 256 << 20  # an .xlsx file, or one CSV file, as stored
MAX_UNPACKED_BYTES = 4 << 30  # every part of an .xlsx file together, unpacked (a sheet is streamed)
MAX_WHOLE_PART_BYTES = 256 << 20  # one unpacked part that openpyxl reads whole (shared strings, styles)
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
MAX_ROW_CELLS = 16_384  # Excel's column count: column XFD
MAX_ROW_XML_BYTES = 1 << 20  # one row of an .xlsx sheet as stored in its XML
MAX_ROW_CHARS = 131_072  # one row of a CSV file (also the csv module's own field limit)
MAX_ROWS = 1_048_576  # Excel's row count


def _excerpt(text: str) -> str:
    """What a marker keeps of the text it stands for: as much as a problem quotes."""
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


class BrokenCell:
    """Stands in for a cell the source could not read; ``message`` is the Thai reason."""

    __slots__ = ("excerpt", "message")

    def __init__(self, message: str, text: str = "") -> None:
        self.message = message
        self.excerpt = _excerpt(text)

    def __str__(self) -> str:
        return self.excerpt

    def __repr__(self) -> str:
        return f"BrokenCell({self.message!r}, {self.excerpt!r})"


class BrokenRow:
    """Stands in for a row the source could not read. ``last``: nothing after it was read."""

    __slots__ = ("last", "message")

    def __init__(self, message: str, *, last: bool = False) -> None:
        self.message = message
        self.last = last

    def __repr__(self) -> str:
        return f"BrokenRow({self.message!r}, last={self.last})"
