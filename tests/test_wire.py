"""`messages.wire.as_dict` (what `EventContext.reply` sends) is the SDK's own `to_dict()`, byte for byte:
for the builders' messages directly, and for every message the handlers answer with on a tour of the
bot through the webhook (help and menus of each role, status cards, a whole report form, the approval
card and its decision)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import test_approvals_e2e as harness
from approval_office import make_office
from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexText,
    PostbackAction,
    TextMessage,
)
from sqlmodel import Session

import bot.context
from messages import chat, wire
from messages import menus as menu_text
from messages.menus import MenuRole
from messages.rich_menus import ROLE_SETS
from scheduler.fiscal import FiscalQuarter

make_bot = harness.make_bot
office = harness.office
T, D, PL, AD = harness.T, harness.D, harness.PL, harness.AD


def _same(message: Any) -> None:
    expected = json.dumps(message.to_dict(), ensure_ascii=False)
    assert json.dumps(wire.as_dict(message), ensure_ascii=False) == expected
    assert wire.as_dict(message) == message.to_dict()
    # Made without validation (`construct`, messages/chat.py) or not: what the SDK's validation makes
    # of the same JSON is the same message.
    validated = type(message).from_dict(message.to_dict())
    assert json.dumps(validated.to_dict(), ensure_ascii=False) == expected


def _builders() -> list[Any]:
    lines = [
        chat.ProjectLine("P001", "โครงการอ่านออกเขียนได้", 1_250_000, "none"),
        chat.ProjectLine("P002", "โครงการห้องสมุด", 990_050, "submitted", Decimal("62.5")),
    ]
    quarter = FiscalQuarter(2570, 1)
    built: list[Any] = [
        chat.greeting_unlinked(),
        chat.link_prompt(),
        chat.help_unlinked(),
        chat.help_group(),
        chat.nothing_to_cancel(),
        chat.not_understood(),
        chat.unknown_button(),
        chat.something_went_wrong(),
        chat.unsupported_message("sticker"),
        chat.my_projects(2570, lines),
        chat.my_projects(2570, []),
        chat.my_status(quarter, None, lines),
        chat.my_status(quarter, None, []),
        TextMessage(text="ไม่มีปุ่ม"),
        FlexMessage(
            alt_text="การ์ด",
            contents=FlexBubble(
                body=FlexBox(layout="vertical", contents=[FlexText(text="ข้อความ", wrap=True, size="sm")]),
                footer=FlexBox(
                    layout="horizontal",
                    contents=[
                        FlexButton(action=PostbackAction(label="อนุมัติ", data="v1|ap|r=1", display_text="อนุมัติ"))
                    ],
                ),
            ),
        ),
    ]
    for roles in ROLE_SETS:
        built.append(menu_text.help_for(roles, "นางสาวใจดี มีสุข"))
        built.append(chat.not_understood(menu_text.labels(roles)))
    built.append(menu_text.no_own_projects((MenuRole.DIRECTOR,), "ปีงบประมาณ 2570"))
    return built


@pytest.mark.parametrize("index", range(len(_builders())))
def test_the_builders_messages_are_their_own_to_dict(index: int) -> None:
    _same(_builders()[index])


@pytest.fixture
def checked(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Every message a handler replies with, checked against the SDK's `to_dict()`; their types."""
    seen: list[str] = []
    fast = wire.as_dict

    def as_dict(message: Any) -> dict[str, Any]:
        _same(message)
        seen.append(type(message).__name__)
        return fast(message)

    monkeypatch.setattr(bot.context, "as_dict", as_dict)
    return seen


def test_every_answer_on_a_tour_of_the_bot_is_the_sdks_own_json(
    engine, office_clock, make_bot, checked
) -> None:
    from approval_office import link

    from models.plan import Indicator, Project
    from models.types import IndicatorKind

    office = make_office(engine, today=office_clock.today, projects=1)
    link(engine, office.teacher, T)
    link(engine, office.director, D)
    link(engine, office.planner, PL)
    link(engine, office.area_director, AD)
    with Session(engine) as s:
        project = s.get(Project, office.projects[0].id)
        s.add(Indicator(project_id=project.id, code="K9", name="ร้อยละนักเรียนที่ผ่านเกณฑ์", unit="ร้อยละ",
                        target=70, kind=IndicatorKind.OUTCOME, position=9))  # fmt: skip
        s.commit()
    code = office.projects[0].code
    bot = make_bot()
    for user in (T, D, PL, AD):
        for typed in ("ช่วยเหลือ", "สถานะ", "โครงการของฉัน", "ยกเลิก", "อะไรนะ"):
            bot.say(user, typed)
    for typed in ["รายงานผล", "2", "50", "7,000", "40 คน", "62.5%", "อบรมครู 3 ครั้ง", "งบมาช้า", "ควรเพิ่มงบ"]:
        bot.say(T, typed)
    bot.say(T, "เสร็จ")
    bot.say(T, "ยืนยันส่ง")
    bot.cards(D, 1)
    for user, typed in ((D, f"ดูรายละเอียด {code}"), (D, "สถานะโรงเรียน"), (PL, "ภาพรวมเขต"),
                        (PL, "ใครยังไม่ส่ง"), (T, "ติดต่อเจ้าหน้าที่"), (D, "อนุมัติ"), (T, "ดูรายงาน")):  # fmt: skip
        bot.say(user, typed)
    assert len(checked) >= 38  # an answer to every text, at least
    assert {"TextMessage", "FlexMessage"} <= set(checked)


def _message_models() -> list[type]:
    import linebot.v3.messaging as messaging
    from pydantic.v1 import BaseModel

    return [
        cls
        for name in dir(messaging)
        if isinstance(cls := getattr(messaging, name), type) and issubclass(cls, BaseModel)
    ]


def test_construct_is_pydantics_construct() -> None:
    """`wire.construct` makes what the SDK model's own `construct` makes: the same `__dict__` (keys in
    the same order, defaults filled in, mutable ones not shared), the same `__fields_set__`, for every
    model of the SDK's messaging API, given each field, none, or one under its alias."""
    checked = 0
    for cls in _message_models():
        fields = cls.__fields__  # type: ignore[attr-defined]
        given = {name: f"{name}-value" for name in list(fields)[: len(fields) // 2 + 1]}
        aliased = {field.alias: "by-alias" for field in list(fields.values())[:1] if field.alt_alias}
        for values in ({}, given, aliased):
            ours, theirs = wire.construct(cls, **values), cls.construct(**values)  # type: ignore[attr-defined]
            assert list(ours.__dict__.items()) == list(theirs.__dict__.items()), cls
            assert ours.__fields_set__ == theirs.__fields_set__, cls
            for name, value in ours.__dict__.items():
                if isinstance(value, list | dict) and name not in values:
                    assert value is not getattr(wire.construct(cls, **values), name), (cls, name)
            checked += 1
    assert checked > 300  # the SDK has a few hundred models
