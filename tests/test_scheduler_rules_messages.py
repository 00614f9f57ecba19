"""Pure parts of the scheduler: the rules file and overrides, quiet hours, and the Thai Flex builders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from linebot.v3.messaging import FlexMessage

from messages.reminders import (
    ALT_TEXT_LIMIT,
    BUBBLE_LIMIT_BYTES,
    Item,
    ItemKind,
    Line,
    daily_message,
    daily_message_dict,
    daily_message_json,
    item_text,
)
from scheduler.rules import Delivery, Rules, RulesError, load_rules
from scheduler.tick import release_time
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
DAY = date(2027, 1, 8)


def test_defaults_match_the_issue() -> None:
    rules = load_rules()
    assert rules.report_due.days_after_quarter_end == 10
    # Issue 17 thinned the reminders (chosen with `tidtam simulate`): a week before, the day before and
    # the due day; after it the approver hears, not the reporter again; two pushes a quarter per reporter.
    assert rules.reminders.working_days_before == (5, 1) and rules.reminders.on_due_day
    assert (rules.overdue.notify_after_working_days, rules.overdue.escalate_after_working_days) == (1, 3)
    assert not rules.overdue.notify_reporter and rules.riding.pushes_per_reporter_per_quarter == 2
    assert (rules.approvals.remind_after_working_days, rules.approvals.escalate_after_working_days) == (2, 5)
    assert rules.drafts.idle_days == 3 and rules.budget.digest_only_at == 0.8
    assert (rules.delivery.tick_time, rules.delivery.quiet_start, rules.delivery.quiet_end) == (
        "08:30",
        "20:00",
        "07:00",
    )
    assert rules == Rules(), "the packaged file and the dataclass defaults agree"


def test_a_rules_file_and_office_overrides_patch_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "[drafts]\nenabled = false\n[reminders]\nworking_days_before = [1, 5]\n", encoding="utf-8"
    )
    rules = load_rules(path)
    assert not rules.drafts.enabled and rules.drafts.idle_days == 3
    assert rules.reminders.working_days_before == (5, 1)
    office = rules.patched({"report_due": {"days_after_quarter_end": 15}})
    assert office.report_due.days_after_quarter_end == 15 and office.reminders == rules.reminders


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nonsense": {}}, "unknown section"),
        ({"drafts": {"idle": 3}}, "unknown key"),
        ({"drafts": {"idle_days": "3"}}, "whole number"),
        ({"budget": {"digest_only_at": 1.5}}, "from 0 to 1"),
        ({"delivery": {"quiet_start": "8pm"}}, "HH:MM"),
        ({"digest": {"weekday": 9}}, "Monday"),
        ({"reminders": {"working_days_before": [0]}}, "≥ 1"),
    ],
)
def test_bad_rules_are_refused_with_where_they_came_from(overrides: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(RulesError, match=message) as caught:
        Rules().patched(overrides, "office S00001 rules")
    assert "office S00001 rules" in str(caught.value)


def test_quiet_hours_wrap_midnight_and_hold_until_the_next_working_morning() -> None:
    delivery = Delivery()
    assert (
        delivery.is_quiet(time(20, 0)) and delivery.is_quiet(time(3, 0)) and not delivery.is_quiet(time(7, 0))
    )
    assert not Delivery(quiet_start="00:00", quiet_end="00:00").is_quiet(time(3, 0))
    cal = WorkCalendar()
    morning = datetime(2027, 1, 8, 8, 30, tzinfo=TZ)
    assert release_time(morning, TZ, delivery, cal) == morning
    assert release_time(datetime(2027, 1, 7, 21, 0, tzinfo=TZ), TZ, delivery, cal) == datetime(
        2027, 1, 8, 7, 0, tzinfo=TZ
    )
    assert release_time(datetime(2027, 1, 8, 5, 0, tzinfo=TZ), TZ, delivery, cal) == datetime(
        2027, 1, 8, 7, 0, tzinfo=TZ
    )
    friday_night = datetime(2027, 1, 8, 22, 0, tzinfo=TZ)
    assert release_time(friday_night, TZ, delivery, cal) == datetime(2027, 1, 11, 7, 0, tzinfo=TZ)
    assert release_time(friday_night, TZ, delivery).astimezone(UTC) == datetime(2027, 1, 9, 0, 0, tzinfo=UTC)


def _projects(n: int) -> tuple[Line, ...]:
    return tuple(
        Line(f"P2570-{i:05d}", f"โครงการพัฒนาคุณภาพผู้เรียนด้านการอ่าน การเขียน และการคิดวิเคราะห์ {i}")
        for i in range(n)
    )


def _everything(lines: int) -> list[Item]:
    return [
        Item(kind, f"s{kind.rank}", (2570, 1), date(2027, 1, 11), 3, lines, _projects(lines), (("ส่งแล้ว", 5),))
        for kind in ItemKind
    ]


def test_items_are_ordered_most_urgent_first_and_worded_politely() -> None:
    items = [
        Item(ItemKind.STEP_OPEN, "A1", on=DAY, total=1, lines=(Line("A1", "ศึกษา วิเคราะห์นโยบาย"),)),
        Item(ItemKind.REPORT_DUE, "2570Q1", (2570, 1), date(2027, 1, 11), 1, 2, _projects(2)),
        Item(ItemKind.REPORT_OVERDUE, "2569Q4", (2569, 4), date(2026, 10, 12), 1, 1, _projects(1)),
    ]
    message = daily_message_dict(items, DAY)
    texts = [c["text"] for c in message["contents"]["body"]["contents"] if c["type"] == "text"]
    assert texts[0] == "ติดตาม · แจ้งเตือน 8 ม.ค. 2570"
    assert texts[1].startswith("รายงานไตรมาส 4/2569 เลยกำหนดส่ง (12 ต.ค. 2569)")
    assert texts[3].startswith("อีก 1 วันทำการ ครบกำหนดส่งรายงานไตรมาส 1/2570 (11 ม.ค. 2570)")
    assert texts[5].startswith("เริ่มช่วงเวลาของขั้นตอนตามคู่มือ")
    for item in _everything(1):
        headline = item_text(item)[0]
        assert headline.endswith(("ค่ะ", "นะคะ")), headline
    assert message["altText"].startswith("ติดตาม: รายงานไตรมาส 4/2569")
    # A reporter's reminder carries the button of what they do next (issue 16: not "my projects").
    assert message["contents"]["footer"]["contents"][0]["action"]["text"] == "รายงานผล"
    assert "footer" not in daily_message_dict(items, DAY, personal=False)["contents"]


@pytest.mark.parametrize("lines", [0, 1, 3, 10, 11, 60])
def test_the_fast_json_is_the_dict_and_the_sdk_accepts_it(lines: int) -> None:
    items = _everything(lines)[:3] if lines < 60 else _everything(lines)
    for personal in (True, False):
        text = daily_message_json(items, DAY, personal=personal)
        assert json.loads(text) == daily_message_dict(items, DAY, personal=personal)
        assert isinstance(FlexMessage.from_dict(json.loads(text)), FlexMessage)


def test_long_lists_are_cut_and_stay_within_lines_limits() -> None:
    items = _everything(400)
    message = daily_message(items, DAY)
    payload = message.to_dict()
    assert len(json.dumps(payload["contents"], ensure_ascii=False).encode()) <= BUBBLE_LIMIT_BYTES
    assert len(payload["altText"].encode("utf-16-le")) // 2 <= ALT_TEXT_LIMIT
    assert "และอีก" in json.dumps(payload, ensure_ascii=False)
    many = [
        Item(i.kind, f"{i.subject}-{n}", i.quarter, i.on, i.days, i.total) for n in range(4) for i in items
    ]
    alt = daily_message_dict(many, DAY)["altText"]
    assert alt.endswith("…") and len(alt.encode("utf-16-le")) // 2 == ALT_TEXT_LIMIT
    shown = item_text(Item(ItemKind.REPORT_DUE, "q", (2570, 1), DAY, 1, 25, _projects(10)), max_lines=10)
    assert shown[-1] == "และอีก 15 รายการค่ะ" and len(shown) == 12
    with pytest.raises(ValueError):
        daily_message_dict([], DAY)


@pytest.mark.parametrize(
    ("kinds", "buttons"),
    [
        ((ItemKind.REPORT_DUE,), ["รายงานผล"]),
        ((ItemKind.APPROVAL_PENDING,), ["รออนุมัติ"]),
        ((ItemKind.APPROVAL_PENDING, ItemKind.REPORT_DUE), ["รายงานผล", "รออนุมัติ"]),
        ((ItemKind.APPROVER_OVERDUE,), ["สถานะโรงเรียน"]),
        ((ItemKind.STEP_OPEN,), ["ช่วยเหลือ"]),
    ],
)
def test_a_reminder_carries_the_buttons_that_fit_its_recipient(kinds, buttons) -> None:  # type: ignore[no-untyped-def]
    items = [Item(kind, "2570Q1", (2570, 1), date(2027, 1, 11), 1, 1, _projects(1)) for kind in kinds]
    for message in (daily_message_dict(items, DAY), json.loads(daily_message_json(items, DAY))):
        footer = message["contents"]["footer"]["contents"]
        assert [b["action"]["text"] for b in footer] == buttons


def test_a_period_code_is_never_shown() -> None:
    item = Item(ItemKind.APPROVAL_PENDING, "x", None, None, 2, 1, (Line("P001", "โครงการอ่าน", "2570Q1"),))
    lines = item_text(item)
    assert lines[1] == "• P001 โครงการอ่าน — ไตรมาส 1/2570"
    assert "2570Q1" not in json.dumps(daily_message_dict([item], DAY), ensure_ascii=False)


def test_a_long_list_of_late_projects_counts_the_rest_with_its_classifier() -> None:
    from messages.scheduler_text import late_projects_detail

    line = late_projects_detail([f"P{n:03d}" for n in range(8)])
    assert line == "8 โครงการ: P000, P001, P002, P003, P004 และอีก 3 โครงการ"
