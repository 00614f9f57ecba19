"""What directors and reporters read about approvals: the approval card, outcomes, lists, refusals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from linebot.v3.messaging import (
    FlexContainer,
    FlexMessage,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

from messages.forms import truncate
from messages.report_form import STATUS_LABELS
from messages.thai_dates import format_date, format_datetime, format_quarter
from messages.thai_numbers import format_baht, format_measure, format_percent_words


@dataclass(frozen=True)
class IndicatorLine:
    name: str
    unit: str
    target: Decimal | None
    value: Decimal | None


@dataclass(frozen=True)
class CardData:
    report_id: int
    version: int
    project_code: str
    project_name: str
    quarter: object
    reporter: str
    implementation_status: str
    status_reason: str
    progress_pct: Decimal
    disbursed_satang: int
    budget_satang: int
    indicators: tuple[IndicatorLine, ...]
    activities: str
    problems: str
    photos: int
    level: int = 1
    suggestions: str = ""
    photos_url: str | None = None  # a signed link to the photos (bot/media_links.py)
    decidable: bool = True  # False: shown for reading (ดูรายละเอียด), without decision buttons


def decision_postback(report_id: int, version: int, decision: str) -> str:
    return f"v1|ap|r={report_id}|n={version}|d={decision}"


def _row(label: str, value: str) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "baseline",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": label, "size": "xs", "color": "#6B7280", "flex": 3, "wrap": True},
            {"type": "text", "text": value or "-", "size": "sm", "flex": 5, "wrap": True},
        ],
    }


def indicator_text(indicator: IndicatorLine) -> str:
    """`ร้อยละ 62.5 / เป้าหมาย ร้อยละ 70`, `80 คน / เป้าหมาย 100 คน`."""
    result = format_measure(indicator.value, indicator.unit)
    if indicator.target is None:
        return result
    return f"{result} / เป้าหมาย {format_measure(indicator.target, indicator.unit)}"


def report_rows(card: CardData) -> list[dict[str, Any]]:
    """Every field the reporter filled in, as label/value rows (the card, and ดูรายละเอียด)."""
    share = ""
    if card.budget_satang:
        share = (
            f" ({format_percent_words(Decimal(card.disbursed_satang * 100) / Decimal(card.budget_satang))})"
        )
    status = STATUS_LABELS.get(card.implementation_status, card.implementation_status)
    rows = [
        _row("ผู้รายงาน", card.reporter),
        _row("สถานะ", status),
    ]
    if card.status_reason:
        rows.append(_row("เหตุผล", truncate(card.status_reason, 500)))
    rows += [
        _row("ความก้าวหน้า", format_percent_words(card.progress_pct, places=2)),
        _row(
            "เบิกจ่ายสะสม", f"{format_baht(card.disbursed_satang)} จาก {format_baht(card.budget_satang)}{share}"
        ),
    ]
    for indicator in card.indicators[:MAX_INDICATORS]:
        rows.append(_row(truncate(indicator.name, 60), indicator_text(indicator)))
    if len(card.indicators) > MAX_INDICATORS:
        rows.append(_row("ตัวชี้วัดอื่น", f"อีก {len(card.indicators) - MAX_INDICATORS} ตัว"))
    rows.append(_row("กิจกรรม", truncate(card.activities, 1000)))
    rows.append(_row("ปัญหาอุปสรรค", truncate(card.problems, 1000) or "ไม่มี"))
    rows.append(_row("ข้อเสนอแนะ", truncate(card.suggestions, 1000) or "ไม่มี"))
    rows.append(_row("รูปหลักฐาน", f"{card.photos} รูป" if card.photos else "ไม่มี"))
    if card.photos and card.photos_url:
        rows.append(
            {
                "type": "button",
                "style": "link",
                "height": "sm",
                "action": {
                    "type": "uri",
                    "label": truncate(f"ดูรูปหลักฐาน {card.photos} รูป"),
                    "uri": card.photos_url,
                },
            }
        )
    return rows


MAX_INDICATORS = 12


def approval_card(card: CardData) -> FlexMessage:
    rows = report_rows(card)
    if not card.decidable:
        heading = "รายละเอียดรายงานผล"
    elif card.level == 1:
        heading = "ขอความเห็นชอบรายงานผล"
    else:
        heading = "ตรวจสอบรายงานผล (กลุ่มนโยบายและแผน)"
    version = f" ฉบับที่ {card.version}" if card.version > 1 else ""
    bubble = {
        "type": "bubble",
        "size": "giga",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": "#1E3A8A",
            "contents": [
                {"type": "text", "text": heading, "color": "#FFFFFF", "weight": "bold"},
                {
                    "type": "text",
                    "text": truncate(f"{card.project_code} {card.project_name}", 120),
                    "color": "#DBEAFE",
                    "size": "sm",
                    "wrap": True,
                },
                {
                    "type": "text",
                    "text": f"{format_quarter(card.quarter)}{version}",  # type: ignore[arg-type]
                    "color": "#DBEAFE",
                    "size": "xs",
                },
            ],
        },
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": rows},
        "footer": {
            "type": "box",
            "layout": "horizontal",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": "#15803D",
                    "action": {
                        "type": "postback",
                        "label": "อนุมัติ",
                        "data": decision_postback(card.report_id, card.version, "a"),
                        "displayText": "อนุมัติ",
                    },
                },
                {
                    "type": "button",
                    "style": "secondary",
                    "action": {
                        "type": "postback",
                        "label": "ส่งกลับแก้ไข",
                        "data": decision_postback(card.report_id, card.version, "r"),
                        "displayText": "ส่งกลับแก้ไข",
                    },
                },
            ],
        },
    }
    if not card.decidable:
        del bubble["footer"]
    tail = " — แตะอนุมัติ หรือตอบกลับข้อความนี้ค่ะ" if card.decidable else ""
    alt = f"{heading}: {card.project_code} {card.project_name} {format_quarter(card.quarter)}{tail}"  # type: ignore[arg-type]
    return FlexMessage(alt_text=truncate(alt, 1500), contents=FlexContainer.from_dict(bubble))


def _menu() -> QuickReply:
    return QuickReply(
        items=[QuickReplyItem(action=MessageAction(label=x, text=x)) for x in ("รออนุมัติ", "ช่วยเหลือ")]
    )


def approved_ok(project: str, quarter: object, final: bool) -> TextMessage:
    tail = "" if final else "\nส่งต่อให้กลุ่มนโยบายและแผนตรวจสอบแล้วค่ะ"
    return TextMessage(
        text=f"อนุมัติรายงาน {project} {format_quarter(quarter)} แล้วค่ะ{tail}", quick_reply=_menu()
    )  # type: ignore[arg-type]


def returned_ok(project: str, quarter: object) -> TextMessage:
    return TextMessage(
        text=f"ส่งกลับรายงาน {project} {format_quarter(quarter)} ให้ผู้รายงานแก้ไขแล้วค่ะ",  # type: ignore[arg-type]
        quick_reply=_menu(),
    )


def ask_reason(project: str) -> TextMessage:
    return TextMessage(
        text=f'ขอเหตุผลที่ส่งกลับรายงาน {project} สั้น ๆ ค่ะ\nผู้รายงานจะเห็นเหตุผลนี้ (พิมพ์ "ยกเลิก" หากไม่ส่งกลับ)',
    )


def return_cancelled() -> TextMessage:
    return TextMessage(text="ยกเลิกการส่งกลับแล้วค่ะ รายงานยังรอการพิจารณาอยู่ค่ะ", quick_reply=_menu())


def already_decided(who: str, outcome: str, at: datetime, tz: ZoneInfo) -> TextMessage:
    verb = "อนุมัติ" if outcome == "approved" else "ส่งกลับ"
    return TextMessage(
        text=f"รายงานฉบับนี้{verb}ไปแล้วโดย {who} เมื่อ {format_datetime(at, tz)} ค่ะ", quick_reply=_menu()
    )


def stale_version(current: int) -> TextMessage:
    return TextMessage(
        text=f"รายงานนี้มีฉบับแก้ไขใหม่แล้ว (ฉบับที่ {current}) กรุณาพิจารณาฉบับล่าสุดจากการ์ดด้านล่างค่ะ",
    )


def not_allowed() -> TextMessage:
    return TextMessage(text="ท่านไม่ได้เป็นผู้อนุมัติรายงานนี้ในวันนี้ค่ะ", quick_reply=_menu())


def own_report() -> TextMessage:
    return TextMessage(
        text="ไม่สามารถอนุมัติรายงานของตนเองได้ค่ะ ระบบส่งให้ผู้บังคับบัญชาระดับถัดไปแล้วค่ะ", quick_reply=_menu()
    )


def not_pending() -> TextMessage:
    return TextMessage(text="รายงานนี้ไม่ได้รอการพิจารณาแล้วค่ะ", quick_reply=_menu())


def nothing_pending() -> TextMessage:
    return TextMessage(text="ตอนนี้ไม่มีรายงานที่รอการอนุมัติจากท่านค่ะ", quick_reply=_menu())


@dataclass(frozen=True)
class PendingLine:
    project_code: str
    project_name: str
    quarter: object
    reporter: str


def pending_list(items: Sequence[PendingLine], *, asked: str = "", select: bool = False) -> TextMessage:
    """The pending reports, numbered; `select`: offer the tap-to-select card (when there are several)."""
    head = f"มีรายงานรออนุมัติ {len(items)} รายการค่ะ"
    if asked == "return":
        head += ' ต้องการส่งกลับรายการไหนคะ พิมพ์ "ส่งกลับ <รหัสโครงการ> <เหตุผล>" ค่ะ'
    elif asked:
        head += " ต้องการอนุมัติรายการไหนคะ"
    lines = [head]
    for index, item in enumerate(items[:25], start=1):
        lines.append(
            f"{index}. {item.project_code} {truncate(item.project_name, 60)} ({format_quarter(item.quarter)})"
        )  # type: ignore[arg-type]
    if len(items) > 25:
        lines.append(f"…และอีก {len(items) - 25} รายการ")
    lines.append('ตอบกลับ (Reply) การ์ดของรายงาน หรือพิมพ์ "อนุมัติ <รหัสโครงการ>" หรือ "อนุมัติทั้งหมด" ค่ะ')
    if len(items) > 1:
        first, second = items[0].project_code, items[1].project_code
        lines.append(f'เลือกอนุมัติหลายรายการพร้อมกัน: พิมพ์ "อนุมัติ {first} {second}" หรือ "อนุมัติ 1 2" ค่ะ')
        if select:
            lines.append(f'หรือแตะ "{SELECT_LABEL}" แล้วแตะเลือกรายงานทีละรายการค่ะ')
        lines.append(f'ดูรายงานฉบับเต็มก่อน: พิมพ์ "ดูรายละเอียด {first}" ค่ะ')
    quick = [QuickReplyItem(action=MessageAction(label="อนุมัติทั้งหมด", text="อนุมัติทั้งหมด"))]
    if select and len(items) > 1:
        quick.append(select_entry())
    quick += [
        QuickReplyItem(
            action=MessageAction(label=truncate(f"อนุมัติ {i.project_code}"), text=f"อนุมัติ {i.project_code}")
        )
        for i in items[:12]
    ]
    return TextMessage(text="\n".join(lines)[:5000], quick_reply=QuickReply(items=quick[:13]))


def confirm_approve_all(count: int, data: str) -> TextMessage:
    items = [
        QuickReplyItem(
            action=PostbackAction(
                label=f"ยืนยันอนุมัติ {count}", data=data, display_text=f"ยืนยันอนุมัติทั้งหมด {count} รายการ"
            )
        ),
        QuickReplyItem(action=MessageAction(label="ยังไม่อนุมัติ", text="รออนุมัติ")),
    ]
    return TextMessage(
        text=f"ยืนยันอนุมัติรายงานที่รออยู่ทั้งหมด {count} รายการไหมคะ", quick_reply=QuickReply(items=items)
    )


def approved_all(count: int, skipped: int) -> TextMessage:
    tail = f" (ข้าม {skipped} รายการที่เปลี่ยนไปแล้ว)" if skipped else ""
    return TextMessage(text=f"อนุมัติแล้ว {count} รายการค่ะ{tail}", quick_reply=_menu())


def pending_changed() -> TextMessage:
    return TextMessage(text="รายการที่รออนุมัติเปลี่ยนไประหว่างนี้ค่ะ กรุณาตรวจสอบรายการล่าสุดอีกครั้งนะคะ")


# --- to the reporter -------------------------------------------------------------------------------


def report_approved(project: str, quarter: object, approver: str) -> TextMessage:
    return TextMessage(text=f"รายงาน {project} {format_quarter(quarter)} ได้รับอนุมัติแล้วค่ะ โดย {approver}")  # type: ignore[arg-type]


def reports_approved(reports: Sequence[tuple[str, object]], approver: str) -> TextMessage:
    lines = [f"รายงาน {len(reports)} รายการได้รับอนุมัติแล้วค่ะ โดย {approver}"]
    lines += [
        f"{i}. {project} {format_quarter(quarter)}" for i, (project, quarter) in enumerate(reports, start=1)
    ]  # type: ignore[arg-type]
    text = "\n".join(lines)
    return TextMessage(text=text if len(text) <= 5000 else text[:4999] + "…")


def report_returned(project: str, quarter: object, approver: str, reason: str, report_id: int) -> TextMessage:
    return TextMessage(
        text=(
            f"รายงาน {project} {format_quarter(quarter)} ถูกส่งกลับให้แก้ไขค่ะ\n"  # type: ignore[arg-type]
            f"โดย {approver}\nเหตุผล: {reason}"
        )[:5000],
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(
                    action=PostbackAction(
                        label="แก้ไขรายงาน", data=f"v1|report|r={report_id}", display_text="แก้ไขรายงาน"
                    )
                )
            ]
        ),
    )


def report_reopened(project: str, quarter: object, reason: str, report_id: int) -> TextMessage:
    return TextMessage(
        text=f"กลุ่มนโยบายและแผนเปิดรายงาน {project} {format_quarter(quarter)} ให้แก้ไขอีกครั้งค่ะ\nเหตุผล: {reason}",  # type: ignore[arg-type]
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(
                    action=PostbackAction(
                        label="แก้ไขรายงาน", data=f"v1|report|r={report_id}", display_text="แก้ไขรายงาน"
                    )
                )
            ]
        ),
    )


# --- the `tidtam approvals` command (read by the planning group) ----------------------------------------


def pending_header(count: int) -> str:
    return f"รายงานที่รอการพิจารณา {count} รายการ"


def nobody() -> str:
    return "ไม่มีผู้อนุมัติ (ตรวจสอบผู้อนุมัติของโครงการ)"


def not_on_line() -> str:
    return " (ยังไม่ลงทะเบียน LINE)"


def not_a_planner(code: str) -> str:
    return f"ไม่พบบุคลากรรหัส {code} ในกลุ่มนโยบายและแผนค่ะ"


def pending_line(
    *,
    report_id: int,
    project: str,
    quarter: object,
    version: int,
    level: int,
    submitted_on: object,
    approvers: str,
) -> str:
    step = "ผู้อำนวยการ" if level == 1 else "กลุ่มนโยบายและแผน"
    when = format_date(submitted_on) if submitted_on else "-"  # type: ignore[arg-type]
    q = format_quarter(quarter) if quarter else "-"  # type: ignore[arg-type]
    return f"[{report_id}] {project} {q} ฉบับที่ {version} ส่งเมื่อ {when} รอ{step}: {approvers}"


def reopen_needs_reason() -> str:
    return 'กรุณาระบุเหตุผลด้วย --reason "..." ค่ะ'


def reopen_refused(report_id: int) -> str:
    return f"เปิดรายงาน {report_id} ไม่ได้ค่ะ (ไม่พบรายงาน หรือรายงานยังไม่ได้รับอนุมัติ)"


def reopened(report_id: int) -> str:
    return f"เปิดรายงาน {report_id} ให้แก้ไขแล้ว และแจ้งผู้รายงานแล้วค่ะ"


# --- reading a report, and quote-replies that decide nothing --------------------------------------------


def photos_page_title(code: str, name: str, version: int) -> str:
    return f"รูปหลักฐาน {code} {name} (ฉบับที่ {version})"


def photo_caption(n: int, of: int) -> str:
    return f"รูปที่ {n} จาก {of}"


def no_photos() -> str:
    return "รายงานฉบับนี้ไม่มีรูปหลักฐานค่ะ"


def details_which(codes: Sequence[str]) -> TextMessage:
    """`ดูรายละเอียด` without a project (or an unknown one): which projects can be shown."""
    if not codes:
        return TextMessage(text="ยังไม่มีรายงานที่เปิดดูได้ค่ะ", quick_reply=_menu())
    listed = ", ".join(codes[:10]) + (f" และอีก {len(codes) - 10} โครงการ" if len(codes) > 10 else "")
    return TextMessage(
        text=f'พิมพ์ "ดูรายละเอียด" ตามด้วยรหัสโครงการค่ะ เช่น "ดูรายละเอียด {codes[0]}"\nโครงการที่มีรายงาน: {listed}',
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(action=MessageAction(label=truncate(f"ดู {c}"), text=f"ดูรายละเอียด {c}"))
                for c in codes[:13]
            ]
        ),
    )


def approve_or_return(project: str, report_id: int, version: int) -> TextMessage:
    """A quote-reply to a card that neither approves nor returns: offer both."""
    return TextMessage(
        text=f'ต้องการอนุมัติ หรือส่งกลับรายงาน {project} คะ\nแตะปุ่มด้านล่าง หรือตอบกลับการ์ดด้วยคำว่า "อนุมัติ" หรือ "ส่งกลับ ตามด้วยเหตุผล" ค่ะ',
        quick_reply=QuickReply(
            items=[
                QuickReplyItem(
                    action=PostbackAction(
                        label="อนุมัติ", data=decision_postback(report_id, version, "a"), display_text="อนุมัติ"
                    )
                ),
                QuickReplyItem(
                    action=PostbackAction(
                        label="ส่งกลับแก้ไข",
                        data=decision_postback(report_id, version, "r"),
                        display_text="ส่งกลับแก้ไข",
                    )
                ),
            ]
        ),
    )


def report_stuck(project: str, quarter: object, reporter: str) -> TextMessage:
    """To the planning group: a submitted report that nobody in the system can approve."""
    return TextMessage(
        text=(
            f"รายงาน {project} {format_quarter(quarter)} ของ {reporter} ส่งแล้ว แต่ไม่มีผู้อนุมัติค่ะ\n"  # type: ignore[arg-type]
            "ผู้รายงานเป็นผู้อนุมัติโครงการเอง และไม่มีผู้บังคับบัญชาระดับถัดไปในระบบ "
            "กรุณากำหนดผู้อนุมัติในข้อมูลหน่วยงาน (escalation_approver ของหน่วยงาน หรือ approver ของหน่วยงานระดับบน) "
            'เมื่อกำหนดแล้ว ผู้อนุมัติจะเห็นรายงานนี้ในเมนู "รออนุมัติ" ค่ะ'
        )
    )


# --- tap to select: several chosen reports approved with one tap ---------------------------------------

SELECT_LABEL = "เลือกอนุมัติ"


@dataclass(frozen=True)
class SelectRow:
    """One pending report in the selection card; `toggle` is the postback that marks or unmarks it
    (None: nothing more can be marked until these are approved)."""

    number: int
    line: PendingLine
    marked: bool
    toggle: str | None


@dataclass(frozen=True)
class SelectView:
    rows: Sequence[SelectRow]  # this page's reports
    total: int  # reports pending
    marked_codes: Sequence[str]  # every marked report's project code, this page's and others'
    confirm: str | None  # the postback that approves what is marked (None: nothing is)
    previous: str | None = None
    next: str | None = None
    page: int = 0
    pages: int = 1
    limit: int = 20  # at most this many marked at once
    dropped: int = 0  # marks left out because their report changed or was decided meanwhile


def select_entry() -> QuickReplyItem:
    """The pending list's quick reply that opens the selection card (the word, so typing it works too)."""
    return QuickReplyItem(action=MessageAction(label=SELECT_LABEL, text=SELECT_LABEL))


def _select_row(row: SelectRow) -> dict[str, Any]:
    item = row.line
    words = f"{row.number}. {item.project_code} {truncate(item.project_name, 50)}"
    detail = format_quarter(item.quarter)  # type: ignore[arg-type]
    if item.reporter:
        detail += f" · {item.reporter}"
    texts: dict[str, Any] = {
        "type": "box",
        "layout": "vertical",
        "flex": 5,
        "contents": [
            {
                "type": "text",
                "text": words,
                "size": "sm",
                "wrap": True,
                "weight": "bold" if row.marked else "regular",
            },
            {"type": "text", "text": detail, "size": "xs", "color": "#6B7280", "wrap": True},
        ],
    }
    if row.toggle is None:
        mark: dict[str, Any] = {
            "type": "text",
            "text": "ครบแล้ว",
            "size": "xs",
            "color": "#9CA3AF",
            "flex": 2,
            "align": "center",
            "gravity": "center",
        }
    else:
        mark = {
            "type": "button",
            "flex": 2,
            "height": "sm",
            "gravity": "center",
            "style": "primary" if row.marked else "secondary",
            "color": "#15803D" if row.marked else "#E5E7EB",
            "action": {
                "type": "postback",
                "label": "☑ เลือกแล้ว" if row.marked else "☐ เลือก",
                "data": row.toggle,
            },
        }
    return {"type": "box", "layout": "horizontal", "spacing": "sm", "contents": [texts, mark]}


def selection_card(view: SelectView) -> FlexMessage:
    """The pending reports with a tap to mark each, what is marked, and one button to approve them."""
    count = len(view.marked_codes)
    if count:
        shown = ", ".join(view.marked_codes[:10]) + (f" และอีก {count - 10} รายการ" if count > 10 else "")
        chosen = f"เลือกแล้ว {count} รายการ: {shown}"
    else:
        chosen = "ยังไม่ได้เลือกรายการค่ะ"
    heading = [
        {"type": "text", "text": "เลือกรายงานที่จะอนุมัติ", "color": "#FFFFFF", "weight": "bold"},
        {
            "type": "text",
            "text": f"รออนุมัติ {view.total} รายการ"
            + (f" · หน้า {view.page + 1}/{view.pages}" if view.pages > 1 else ""),
            "color": "#DBEAFE",
            "size": "xs",
        },
    ]
    body: list[dict[str, Any]] = []
    if view.dropped:
        body.append(
            {
                "type": "text",
                "text": f"มี {view.dropped} รายการที่เลือกไว้เปลี่ยนไปแล้ว (ส่งฉบับใหม่หรือมีผู้พิจารณาแล้ว) จึงเอาออกค่ะ",
                "size": "xs",
                "color": "#B45309",
                "wrap": True,
            }
        )
    body.append(
        {
            "type": "text",
            "text": "แตะ ☐ เลือก ที่รายงาน แล้วแตะปุ่มอนุมัติด้านล่างค่ะ",
            "size": "xs",
            "color": "#6B7280",
            "wrap": True,
        }
    )
    for index, row in enumerate(view.rows):
        if index:
            body.append({"type": "separator"})
        body.append(_select_row(row))
    body.append({"type": "separator"})
    body.append({"type": "text", "text": chosen, "size": "sm", "wrap": True, "weight": "bold"})
    if count >= view.limit:
        body.append(
            {
                "type": "text",
                "text": f"เลือกได้ครั้งละ {view.limit} รายการค่ะ อนุมัติชุดนี้ก่อน แล้วเลือกต่อได้ค่ะ",
                "size": "xs",
                "color": "#B45309",
                "wrap": True,
            }
        )
    footer: list[dict[str, Any]] = []
    paging = []
    if view.previous:
        paging.append(
            {
                "type": "button",
                "height": "sm",
                "style": "link",
                "action": {"type": "postback", "label": "◀ ก่อนหน้า", "data": view.previous},
            }
        )
    if view.next:
        paging.append(
            {
                "type": "button",
                "height": "sm",
                "style": "link",
                "action": {"type": "postback", "label": "ถัดไป ▶", "data": view.next},
            }
        )
    if paging:
        footer.append({"type": "box", "layout": "horizontal", "contents": paging})
    if view.confirm:
        footer.append(
            {
                "type": "button",
                "style": "primary",
                "color": "#15803D",
                "action": {
                    "type": "postback",
                    "label": f"อนุมัติ {count} รายการ",
                    "data": view.confirm,
                    "displayText": f"อนุมัติที่เลือก {count} รายการ",
                },
            }
        )
    bubble: dict[str, Any] = {
        "type": "bubble",
        "size": "giga",
        "header": {"type": "box", "layout": "vertical", "backgroundColor": "#1E3A8A", "contents": heading},
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
    }
    if footer:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": footer}
    alt = f"เลือกรายงานที่จะอนุมัติ (เลือกแล้ว {count} จาก {view.total} รายการ)"
    return FlexMessage(alt_text=alt, contents=FlexContainer.from_dict(bubble), quick_reply=_menu())
