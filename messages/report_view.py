"""What the bot says when someone reads a submitted report (`ดูรายละเอียด`, `ดูรายงาน`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage

from messages.forms import truncate
from messages.menus import STATE_WORDS
from messages.thai_dates import format_quarter

MAX_LISTED = 30
QUICK_LIMIT = 13


@dataclass(frozen=True)
class ReportLine:
    code: str
    name: str
    quarter: object  # FiscalQuarter
    state: str  # a ReportStatus value


def _details_command(code: str, quarter: object) -> str:
    return f"ดูรายละเอียด {code} ไตรมาส {getattr(quarter, 'quarter', '')}".strip()


def my_reports(lines: Sequence[ReportLine]) -> TextMessage:
    if not lines:
        return TextMessage(text='ยังไม่มีรายงานที่ส่งในปีงบประมาณนี้ค่ะ พิมพ์ "รายงานผล" เพื่อเริ่มรายงานได้เลยค่ะ')
    body = [f"รายงานที่ส่งแล้ว {len(lines)} รายการค่ะ แตะปุ่มเพื่อดูรายละเอียด"]
    body += [
        f"• {line.code} {truncate(line.name, 50)} {format_quarter(line.quarter)} — {STATE_WORDS.get(line.state, line.state)}"  # type: ignore[arg-type]
        for line in lines[:MAX_LISTED]
    ]
    if len(lines) > MAX_LISTED:
        body.append(f"…และอีก {len(lines) - MAX_LISTED} รายการ")
    quick = [
        QuickReplyItem(
            action=MessageAction(
                label=truncate(f"{line.code} ไตรมาส {getattr(line.quarter, 'quarter', '')}"),
                text=_details_command(line.code, line.quarter),
            )
        )
        for line in lines[:QUICK_LIMIT]
    ]
    return TextMessage(text="\n".join(body), quick_reply=QuickReply(items=quick))


def no_report_yet(code: str, name: str) -> TextMessage:
    return TextMessage(text=f"โครงการ {code} {truncate(name, 60)} ยังไม่มีรายงานที่ส่งในไตรมาสนั้นค่ะ")


def report_state_note(state: str) -> TextMessage:
    return TextMessage(text=f"สถานะรายงานนี้: {STATE_WORDS.get(state, state)}ค่ะ")
