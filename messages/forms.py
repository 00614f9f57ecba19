"""Rendering chat-form replies into LINE messages, and every Thai word the form engine needs.

Pure functions: the engine's abstract replies (`Question`, `Problem`, `Summary`…) in, line-bot-sdk
message objects out. Buttons carry typed postback payloads `v1|f|op=…|s=<seq>|…`, so a tap on an old
question's button is recognised by its sequence number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from linebot.v3.messaging import (
    CameraAction,
    CameraRollAction,
    FlexContainer,
    FlexMessage,
    Message,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

from messages.thai_dates import format_date
from messages.thai_numbers import format_baht, format_number, format_percent_words
from messages.wire import construct

if TYPE_CHECKING:  # the engine's reply types; messages/ only reads their attributes
    from bot.forms.engine import ConfirmCancel, ConfirmValue, Notice, Problem, Question, Summary, SummaryRow

LABEL_LIMIT = 20
POSTBACK_ACTION = "f"


# --- errors of typed answers (used by bot/forms/kinds.py) ------------------------------------------

EXAMPLES = {
    "number": "เช่น 120 หรือ ๑๒๐",
    "percent": "เช่น 75 หรือ 75%",
    "money": "เช่น 120,000 หรือ ๑๒๐,๐๐๐ บาท",
    "date": "เช่น 15/1/70 หรือ 15 ม.ค. 2570",
    "text": "พิมพ์ข้อความสั้น ๆ ได้เลยค่ะ",
    "long_text": "พิมพ์ข้อความได้เลยค่ะ",
    "choice": "แตะปุ่มด้านล่าง หรือพิมพ์หมายเลขในรายการค่ะ",
    "multi": "เลือกได้หลายข้อ พิมพ์หมายเลข เช่น 1,3 ค่ะ",
    "photo": 'ส่งรูปภาพ หรือพิมพ์ "เสร็จ" ค่ะ',
}


def example_for(kind: object) -> str:
    return EXAMPLES.get(str(kind), "")


def empty_answer() -> str:
    return "ยังไม่ได้พิมพ์คำตอบค่ะ"


def too_long(limit: int) -> str:
    return f"ข้อความยาวเกินไปค่ะ (ไม่เกิน {limit:,} ตัวอักษร)"


def number_too_big() -> str:
    return "ตัวเลขใหญ่เกินไปค่ะ ตรวจสอบจำนวนหลักอีกครั้งนะคะ"


def too_many_decimals(places: int) -> str:
    return f"ใส่ทศนิยมได้ไม่เกิน {places} ตำแหน่งค่ะ"


def multi_not_understood() -> str:
    return "ยังไม่ทราบว่าเลือกข้อใดค่ะ"


def photo_expected() -> str:
    return "ข้อนี้ต้องส่งเป็นรูปภาพค่ะ"


# --- notices ---------------------------------------------------------------------------------------


def _notice_text(notice: Notice) -> str:
    code = str(notice.code)
    p = notice.params
    if code == "stale_button":
        return "ปุ่มนั้นเป็นของคำถามก่อนหน้าค่ะ ขอถามข้อปัจจุบันอีกครั้งนะคะ"
    if code == "not_optional":
        return "ข้อนี้จำเป็นต้องตอบค่ะ ข้ามไม่ได้"
    if code == "nothing_before":
        return "นี่เป็นคำถามแรกแล้วค่ะ"
    if code == "photo_received":
        return f"ได้รับรูปที่ {p['count']} แล้วค่ะ (ส่งได้อีก {p['max'] - p['count']} รูป)"
    if code == "photo_kept":
        return f"ได้รับรูปแล้วค่ะ (รูปที่ {p['count']}) จะใช้เป็นรูปหลักฐานในข้อท้าย ๆ ตอบข้อนี้ต่อได้เลยค่ะ"
    if code == "photo_removed":
        return f"ลบรูปที่ {p['number']} แล้วค่ะ (เหลือ {p['count']} รูป)"
    if code == "photos_full":
        return f"ได้รับรูปครบ {p['max']} รูปแล้วค่ะ"
    if code == "photo_not_now":
        if p.get("expecting_photo"):
            return 'ข้อนี้รอรูปภาพค่ะ ส่งรูป หรือพิมพ์ "เสร็จ" เมื่อส่งครบแล้วค่ะ'
        return "ตอนนี้ยังไม่ได้ขอรูปภาพค่ะ จะขอรูปหลักฐานในข้อท้าย ๆ นะคะ"
    if code == "no_match":
        hint = " หรือพิมพ์รหัสหรือบางส่วนของชื่อโครงการ" if p.get("searchable") else ""
        end = f"{hint}ค่ะ" if hint else " ค่ะ"  # a space before ค่ะ after a number
        return f'ไม่พบตัวเลือกที่ตรงกับ "{p["typed"]}" ค่ะ\nกรุณาแตะปุ่มด้านล่าง หรือพิมพ์หมายเลขของตัวเลือก เช่น 1{end}'
    if code == "several_matches":
        return f"พบ {p['count']} รายการที่ตรงกันค่ะ กรุณาเลือกหนึ่งรายการ"
    if code == "incomplete":
        return "ยังกรอกไม่ครบค่ะ ขอถามข้อที่เหลือก่อนนะคะ"
    if code == "resumed":
        return "ทำต่อจากที่กรอกไว้ค่ะ"
    if code == "note":
        return str(p.get("text", ""))
    if code == "help":
        return (
            str(p.get("text")) + "\n" if p.get("text") else ""
        ) + "ระหว่างกรอก พิมพ์ได้ทุกเมื่อ: ย้อนกลับ • ข้าม (ข้อที่ไม่บังคับ) • แก้ไข • ยกเลิก (เก็บร่างไว้)"
    if code == "command_word":
        return "คำนี้เป็นคำสั่งของระบบ จึงไม่ได้บันทึกเป็นคำตอบค่ะ กรุณาพิมพ์คำตอบของข้อนี้ หรือแตะปุ่มด้านล่างค่ะ"
    if code == "multi_empty":
        return 'ยังไม่ได้เลือกเลยค่ะ เลือกอย่างน้อย 1 ข้อ แล้วแตะ "เสร็จ"'
    if code == "no_choices":
        return str(p.get("text") or "ไม่มีรายการให้เลือกค่ะ")
    return ""


# --- building blocks -------------------------------------------------------------------------------


def truncate(label: str, limit: int = LABEL_LIMIT) -> str:
    """Cut to `limit` code points (never more user-perceived characters than LINE allows)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def postback(op: str, seq: int, *, value: str = "", item: str = "") -> str:
    parts = ["v1", POSTBACK_ACTION, f"op={op}", f"s={seq}"]
    if value:
        parts.append(f"v={value}")
    if item:
        parts.append(f"i={item}")
    return "|".join(parts)


def _button(label: str, data: str, display: str | None = None) -> QuickReplyItem:
    return construct(
        QuickReplyItem,
        action=construct(
            PostbackAction, label=truncate(label), data=data, display_text=truncate(display or label, 300)
        ),
    )


def _kind(kind: object) -> str:
    return str(getattr(kind, "value", kind))


def format_value(kind: object, value: Any, *, choice_label: str | None = None, unit: str = "") -> str:
    """How an answer is shown back to people."""
    k = _kind(kind)
    if value is None:
        return "-"
    if k == "choice":
        return choice_label or str(value)
    if k == "multi":
        return choice_label or (", ".join(str(v) for v in value) if isinstance(value, list) else str(value))
    if k == "percent":
        return format_percent_words(Decimal(str(value)), places=2)  # Thai order: ร้อยละ 45
    if k == "money":
        return format_baht(int(value))
    if k == "number":
        number = format_number(Decimal(str(value)))
        return f"{number} {unit}".strip()
    if k == "date":
        return format_date(date.fromisoformat(str(value)))
    if k == "photo":
        count = len(value) if isinstance(value, list) else 0
        return f"{count} รูป" if count else "ไม่มีรูป"
    return str(value)


# --- replies ---------------------------------------------------------------------------------------


def render_question(q: Question) -> TextMessage:
    kind = _kind(q.kind)
    lines: list[str] = []
    if q.position is not None and q.position[1] > 1:
        lines.append(f"({q.position[0]}/{q.position[1]})")
    lines.append(q.text)
    if q.item is not None and q.item.detail:
        lines.append(q.item.detail)
    if kind == "choice" and q.options:
        offset = q.page * len(q.options) if q.pages > 1 else 0
        lines.extend(f"{offset + i}. {c.label}" for i, c in enumerate(q.options, start=1))
        if q.pages > 1:
            lines.append(f"(หน้า {q.page + 1}/{q.pages})")
    if q.default is not None and kind != "photo":
        shown = q.default_label or format_value(q.kind, q.default, unit=q.item.unit if q.item else "")
        lines.append(f"ค่าเดิม: {shown}")
    if kind == "photo":
        lines.append(f"ส่งแล้ว {q.photos}/{q.max_photos} รูป")
    hint = _hint(q)
    if hint:
        lines.append(hint)

    items: list[QuickReplyItem] = []
    if kind == "choice":
        items += [
            _button(c.button or c.label, postback("ans", q.seq, value=c.value), c.button or c.label)
            for c in q.options
        ]
        if q.pages > 1 and q.page > 0:
            items.append(_button("◀ ก่อนหน้า", postback("pg", q.seq, value=str(q.page - 1))))
        if q.pages > 1 and q.page < q.pages - 1:
            items.append(_button("ถัดไป ▶", postback("pg", q.seq, value=str(q.page + 1))))
    if kind == "photo":
        items.append(construct(QuickReplyItem, action=construct(CameraAction, label="ถ่ายรูป")))
        items.append(construct(QuickReplyItem, action=construct(CameraRollAction, label="เลือกรูป")))
        items.append(_button("เสร็จ", postback("done", q.seq), "ส่งรูปครบแล้ว"))
        items += [
            _button(f"ลบรูปที่ {n}", postback("rm", q.seq, value=str(n)), f"ลบรูปที่ {n}")
            for n in range(1, q.photos + 1)
        ]
    if q.default is not None and kind not in ("photo",):
        items.append(_button("ใช้ค่าเดิม", postback("keep", q.seq)))
    if q.optional and kind != "photo":
        items.append(_button("ข้าม", postback("skip", q.seq)))
    if q.can_go_back:
        items.append(_button("ย้อนกลับ", postback("back", q.seq)))
    items.append(_button("ยกเลิก", postback("cancel", q.seq)))
    return construct(
        TextMessage, text="\n".join(lines)[:5000], quick_reply=construct(QuickReply, items=items[:13])
    )


def _hint(q: Question) -> str:
    kind = _kind(q.kind)
    if kind == "choice":
        return "พิมพ์รหัสหรือบางส่วนของชื่อเพื่อค้นหาได้ค่ะ" if q.pages > 1 or q.searching else ""
    if kind == "photo":
        return 'ส่งรูปได้ทีละรูป แล้วแตะ "เสร็จ" ค่ะ (ไม่มีรูป แตะ "เสร็จ" ได้เลย)'
    if q.optional:
        return 'ไม่มี แตะ "ข้าม" ได้ค่ะ'
    return ""


def render_problem(problem: Problem) -> TextMessage:
    body = problem.message if not problem.example else f"{problem.message}\n{problem.example}"
    return construct(TextMessage, text=body)


def render_notice(notice: Notice) -> TextMessage:
    return construct(TextMessage, text=_notice_text(notice) or "-")


def render_confirm_value(confirm: ConfirmValue) -> TextMessage:
    items = [
        _button("ยืนยัน", postback("ok", confirm.seq), "ยืนยัน"),
        _button("แก้ไขคำตอบ", postback("no", confirm.seq), "แก้ไขคำตอบ"),
    ]
    return construct(TextMessage, text=confirm.message, quick_reply=construct(QuickReply, items=items))


def render_confirm_cancel(confirm: ConfirmCancel) -> TextMessage:
    items = [
        _button("ยืนยันยกเลิก", postback("ok", confirm.seq), "ยืนยันยกเลิก"),
        _button("ทำต่อ", postback("no", confirm.seq), "ทำต่อ"),
    ]
    return construct(
        TextMessage,
        text="ต้องการยกเลิกใช่ไหมคะ ข้อมูลที่กรอกไว้จะเก็บเป็นร่าง กลับมาทำต่อได้ค่ะ",
        quick_reply=construct(QuickReply, items=items),
    )


ROWS_PER_BUBBLE = 12


def _row(row: SummaryRow, seq: int) -> dict[str, Any]:
    unit = row.item.unit if row.item is not None else ""
    if row.skipped:
        shown = "— (ข้าม)"
    elif not row.answered:
        shown = "ยังไม่ได้กรอก"
    else:
        shown = format_value(row.kind, row.value, choice_label=row.choice_label, unit=unit)
    label = row.label if row.item is None else f"{row.label}: {row.item.title}"
    return {
        "type": "box",
        "layout": "horizontal",
        "spacing": "sm",
        "margin": "md",
        "contents": [
            {
                "type": "box",
                "layout": "vertical",
                "flex": 5,
                "contents": [
                    {
                        "type": "text",
                        "text": truncate(label, 120),
                        "size": "xs",
                        "color": "#6B7280",
                        "wrap": True,
                    },
                    {
                        "type": "text",
                        "text": truncate(shown, 400),
                        "size": "sm",
                        "wrap": True,
                        "color": "#111827",
                    },
                ],
            },
            {
                "type": "button",
                "flex": 2,
                "height": "sm",
                "style": "link",
                "gravity": "center",
                "action": {
                    "type": "postback",
                    "label": "แก้ไข",
                    "data": postback("edit", seq, value=row.field, item=row.item.key if row.item else ""),
                    "displayText": truncate(f"แก้ไข {label}", 300),
                },
            },
        ],
    }


def render_summary(summary: Summary) -> FlexMessage:
    rows = list(summary.rows)
    chunks = [rows[i : i + ROWS_PER_BUBBLE] for i in range(0, len(rows), ROWS_PER_BUBBLE)] or [[]]
    bubbles = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        bubble: dict[str, Any] = {
            "type": "bubble",
            "size": "giga",
            "header": {
                "type": "box",
                "layout": "vertical",
                "backgroundColor": "#0F766E",
                "contents": [
                    {
                        "type": "text",
                        "text": truncate(summary.title, 80),
                        "color": "#FFFFFF",
                        "weight": "bold",
                        "wrap": True,
                    },
                    {
                        "type": "text",
                        "text": "ตรวจสอบคำตอบ แล้วแตะยืนยันส่ง"
                        if len(chunks) == 1
                        else f"ตรวจสอบคำตอบ ({index + 1}/{len(chunks)})",
                        "color": "#CCFBF1",
                        "size": "xs",
                    },
                ],
            },
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [_row(r, summary.seq) for r in chunk] or [{"type": "text", "text": "-"}],
            },
        }
        if last:
            footer_button = (
                {
                    "type": "postback",
                    "label": "ยืนยันส่ง",
                    "data": postback("submit", summary.seq),
                    "displayText": "ยืนยันส่ง",
                }
                if summary.complete
                else {
                    "type": "postback",
                    "label": "กรอกต่อ",
                    "data": postback("submit", summary.seq),
                    "displayText": "กรอกต่อ",
                }
            )
            bubble["footer"] = {
                "type": "box",
                "layout": "vertical",
                "spacing": "sm",
                "contents": [
                    {"type": "button", "style": "primary", "color": "#0F766E", "action": footer_button},
                    {
                        "type": "button",
                        "style": "secondary",
                        "action": {
                            "type": "postback",
                            "label": "ยกเลิก (เก็บร่าง)",
                            "data": postback("cancel", summary.seq),
                            "displayText": "ยกเลิก",
                        },
                    },
                ],
            }
        bubbles.append(bubble)
    contents: dict[str, Any] = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
    alt = f'{summary.title}: ตรวจสอบคำตอบแล้วแตะ "ยืนยันส่ง" หรือพิมพ์ "ยืนยันส่ง" ค่ะ'
    return FlexMessage(alt_text=truncate(alt, 1500), contents=FlexContainer.from_dict(contents))


def render(replies: Sequence[object]) -> list[Message]:
    """Every reply of one step, in order, as LINE messages (at most five are sent per request)."""
    out: list[Message] = []
    for reply in replies:
        name = type(reply).__name__
        if name == "Question":
            out.append(render_question(reply))  # type: ignore[arg-type]
        elif name == "Problem":
            out.append(render_problem(reply))  # type: ignore[arg-type]
        elif name == "Notice":
            out.append(render_notice(reply))  # type: ignore[arg-type]
        elif name == "ConfirmValue":
            out.append(render_confirm_value(reply))  # type: ignore[arg-type]
        elif name == "ConfirmCancel":
            out.append(render_confirm_cancel(reply))  # type: ignore[arg-type]
        elif name == "Summary":
            out.append(render_summary(reply))  # type: ignore[arg-type]
    return _merge_texts(out)


def _merge_texts(messages: list[Message]) -> list[Message]:
    """Fold plain notices into the next text message, so one step stays within LINE's five messages."""
    merged: list[Message] = []
    carry: list[str] = []
    for message in messages:
        if isinstance(message, TextMessage) and message.quick_reply is None:
            carry.append(message.text)
            continue
        if carry and isinstance(message, TextMessage):
            message = construct(
                TextMessage, text="\n\n".join([*carry, message.text])[:5000], quick_reply=message.quick_reply
            )
            carry = []
        elif carry:
            merged.append(construct(TextMessage, text="\n\n".join(carry)[:5000]))
            carry = []
        merged.append(message)
    if carry:
        merged.append(construct(TextMessage, text="\n\n".join(carry)[:5000]))
    return merged[:5]
