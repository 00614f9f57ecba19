"""Tap to select: a director marks several pending reports in a card and approves them with one tap.

Nothing is stored while choosing: each button of the card carries the whole selection it leads to
(`v1|apsel|m=<marks>|p=<page>[|o=ok]`), so a tap is idempotent and a second tap of an old card cannot
mark what the director did not see. A mark names the report and the version shown
(`<report id delta, base 36>.<version, base 36>`, sorted by id, `-` between), so a report sent again
or decided by someone else meanwhile drops out of the selection rather than being approved unseen.
The approving itself is `bot.approvals.approve_many`: every report checked by the one set of rules.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from bot import approvals
from bot.context import EventContext
from bot.postback import MAX_ID, Postback
from messages import approvals as text
from messages import chat
from models.approvals import Pending, pending_for

ACTION = "apsel"
PAGE_SIZE = 8  # rows a card shows; more are paged
MAX_MARKED = 20  # marked at once: 20 marks of the largest ids still fit LINE's 300-character postback
MAX_PAGE = 1000
_DIGITS = string.digits + string.ascii_lowercase


@dataclass(frozen=True)
class Selection:
    """What a selection-card button leads to: the marked (report id, version) pairs and the page;
    `confirm`: approve them."""

    marked: tuple[tuple[int, int], ...] = ()
    page: int = 0
    confirm: bool = False

    def encode(self) -> str:
        params = {"m": _encode_marks(self.marked), "p": str(self.page)}
        if self.confirm:
            params["o"] = "ok"
        return Postback(ACTION, params).encode()

    def toggled(self, report_id: int, version: int) -> Selection:
        marks = dict(self.marked)
        if marks.get(report_id) == version:
            del marks[report_id]
        else:
            marks[report_id] = version
        return Selection(tuple(sorted(marks.items())), self.page)


def parse(postback: Postback) -> Selection | None:
    """The selection a tapped button carries; None for anything we did not issue."""
    if set(postback.params) - {"m", "p", "o"} or postback.params.get("o", "ok") != "ok":
        return None
    page = postback.int_param("p", max_value=MAX_PAGE)
    marks = _decode_marks(postback.params.get("m"))
    if page is None or marks is None:
        return None
    return Selection(marks, page, confirm="o" in postback.params)


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if not number:
            return digits


def _encode_marks(marks: tuple[tuple[int, int], ...]) -> str:
    tokens, previous = [], 0
    for report_id, version in sorted(marks):
        tokens.append(f"{_base36(report_id - previous)}.{_base36(version)}")
        previous = report_id
    return "-".join(tokens)


def _decode_marks(value: str | None) -> tuple[tuple[int, int], ...] | None:
    if value is None:
        return None
    if value == "":
        return ()
    tokens = value.split("-")
    if len(tokens) > MAX_MARKED:
        return None
    marks, previous = [], 0
    for token in tokens:
        delta, dot, version = token.partition(".")
        if not dot or not 0 < len(delta) <= 6 or not 0 < len(version) <= 3:
            return None
        if not set(delta + version) <= set(_DIGITS):
            return None
        report_id, number = previous + int(delta, 36), int(version, 36)
        if report_id <= previous or report_id > MAX_ID or number < 1:
            return None  # ids strictly increasing, as we write them
        marks.append((report_id, number))
        previous = report_id
    return tuple(marks)


# --- the flow ----------------------------------------------------------------------------------------


def open_card(ctx: EventContext) -> None:
    """The card with nothing marked yet ("เลือกอนุมัติ", typed or the pending list's quick reply)."""
    on_selection(ctx, Selection())


def on_button(ctx: EventContext, postback: Postback) -> None:
    """A tap on the selection card."""
    selection = parse(postback)
    if ctx.person is None or selection is None:
        ctx.reply(chat.unknown_button())
        return
    on_selection(ctx, selection)


def on_selection(ctx: EventContext, selection: Selection) -> None:
    assert ctx.person is not None
    items = pending_for(ctx.session, ctx.person, approvals.today(ctx), ctx.approval_levels)
    if not items:
        ctx.reply(text.nothing_pending())
        return
    current = {(item.report.id or 0, item.version.version): item for item in items}
    kept = [current[mark] for mark in selection.marked if mark in current]
    dropped = len(selection.marked) - len(kept)
    if selection.confirm and kept and not dropped:
        approvals.approve_many(ctx, kept)
        return
    marks = tuple((item.report.id or 0, item.version.version) for item in kept)
    ctx.reply(text.selection_card(_view(ctx, items, Selection(marks, selection.page), dropped)))


def _view(ctx: EventContext, items: list[Pending], selection: Selection, dropped: int) -> text.SelectView:
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(selection.page, pages - 1)
    selection = Selection(selection.marked, page)
    marked = set(selection.marked)
    full = len(marked) >= MAX_MARKED
    shown = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = []
    for number, (item, line) in enumerate(
        zip(shown, approvals.pending_lines(ctx.session, shown), strict=True), start=page * PAGE_SIZE + 1
    ):
        mark = (item.report.id or 0, item.version.version)
        is_marked = mark in marked
        toggle = selection.toggled(*mark).encode() if is_marked or not full else None
        rows.append(text.SelectRow(number, line, is_marked, toggle))
    codes = [item.project.code for item in items if (item.report.id or 0, item.version.version) in marked]
    return text.SelectView(
        rows=rows,
        total=len(items),
        marked_codes=codes,
        confirm=Selection(selection.marked, page, confirm=True).encode() if marked else None,
        previous=Selection(selection.marked, page - 1).encode() if page > 0 else None,
        next=Selection(selection.marked, page + 1).encode() if page + 1 < pages else None,
        page=page,
        pages=pages,
        limit=MAX_MARKED,
        dropped=dropped,
    )
