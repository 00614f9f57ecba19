"""Tap to select: a director marks several pending reports in a card and approves them with one tap.

Through the webhook (the approvals end-to-end harness: real HTTP into /callback, the fake LINE platform
checking every reply against LINE's spec), plus the payload codec's limits and tampering.
"""

from __future__ import annotations

import json
from typing import Any

import test_approvals_e2e as harness
from approval_office import add_projects, report_status
from browser import artefact_dir

from bot.approval_selection import MAX_MARKED, PAGE_SIZE, Selection, parse
from bot.postback import MAX_DATA_LENGTH, MAX_ID, decode

make_bot = harness.make_bot
office = harness.office
pytestmark = harness.pytestmark
D = harness.D


def _last(bot: Any, user: str) -> dict[str, Any]:
    """The last message of the latest free reply to `user` (pushed approval cards are not it)."""
    return [d for d in bot.fake.deliveries_to(user) if d.kind == "reply"][-1].messages[-1]


def _actions(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node["action"]] if isinstance(node.get("action"), dict) else []
        return own + [a for v in node.values() for a in _actions(v)]
    if isinstance(node, list):
        return [a for v in node for a in _actions(v)]
    return []


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "text" else []
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def _toggles(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's mark buttons, in row order."""
    return [a for a in _actions(card["contents"]["body"]) if a["label"] in ("☐ เลือก", "☑ เลือกแล้ว")]


def _button(card: dict[str, Any], prefix: str) -> str:
    found = [a["data"] for a in _actions(card.get("contents", {})) if a["label"].startswith(prefix)]
    assert len(found) == 1, [a["label"] for a in _actions(card.get("contents", {}))]
    return str(found[0])


def _write_transcript(bot: Any, engine: Any) -> None:
    """What the director read, to var/test-artefacts/transcripts/ (engine named: one file per backend)."""
    lines = []
    for delivery in bot.fake.deliveries_to(D):
        for message in delivery.messages:
            lines.append(f"--- {delivery.kind} ({message.get('type')})")
            lines += (
                _texts(message.get("contents", {})) if message.get("type") == "flex" else [message["text"]]
            )
            labels = [a["label"] for a in _actions(message)]
            if labels:
                lines.append("[" + "] [".join(labels) + "]")
    name = f"approval-selection-{engine.dialect.name}.txt"
    (artefact_dir("transcripts") / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _submitted_several(engine: Any, office: Any, count: int) -> list[int]:
    projects = [*office.projects, *add_projects(engine, office, max(0, count - len(office.projects)))]
    return [harness._submitted(engine, office, project)[0] for project in projects[:count]]


def test_mark_two_of_three_by_tapping_and_approve_them_with_one_tap(engine, office, make_bot) -> None:
    first, second, third = _submitted_several(engine, office, 3)
    bot = make_bot()
    bot.cards(D, 3)
    assert bot.say(D, "รออนุมัติค่ะ")[0].startswith("มีรายงานรออนุมัติ 3 รายการ")
    quick = [i["action"] for i in _last(bot, D)["quickReply"]["items"]]
    assert len(quick) <= 13 and [a["label"] for a in quick][:2] == ["อนุมัติทั้งหมด", "เลือกอนุมัติ"]

    bot.say(D, quick[1]["text"])
    card = _last(bot, D)
    assert card["type"] == "flex" and card["altText"] == "เลือกรายงานที่จะอนุมัติ (เลือกแล้ว 0 จาก 3 รายการ)"
    assert [a["label"] for a in _toggles(card)] == ["☐ เลือก"] * 3
    assert "footer" not in card["contents"]  # nothing marked: nothing to confirm yet
    old_card = card

    bot.tap(D, _toggles(card)[0]["data"])
    bot.tap(D, _toggles(_last(bot, D))[2]["data"])
    card = _last(bot, D)
    codes = [office.projects[0].code, office.projects[1].code]
    assert [a["label"] for a in _toggles(card)] == ["☑ เลือกแล้ว", "☐ เลือก", "☑ เลือกแล้ว"]
    marked_line = next(t for t in _texts(card) if t.startswith("เลือกแล้ว"))
    assert (
        marked_line.startswith("เลือกแล้ว 2 รายการ: ")
        and codes[0] in marked_line
        and codes[1] not in marked_line
    )
    confirm = _button(card, "อนุมัติ 2 รายการ")

    # Unmark and mark again: the same selection; an old card's button carries its own (here: one mark).
    bot.tap(D, _toggles(card)[2]["data"])
    assert [a["label"] for a in _toggles(_last(bot, D))] == ["☑ เลือกแล้ว", "☐ เลือก", "☐ เลือก"]
    bot.tap(D, _toggles(old_card)[1]["data"])
    assert [a["label"] for a in _toggles(_last(bot, D))] == ["☐ เลือก", "☑ เลือกแล้ว", "☐ เลือก"]
    assert (report_status(engine, first), report_status(engine, second)) == ("submitted", "submitted")

    _write_transcript(bot, engine)
    assert bot.tap(D, confirm)[0].startswith("อนุมัติแล้ว 2 รายการ")
    assert [report_status(engine, r) for r in (first, second, third)] == ["approved", "submitted", "approved"]
    # The confirm button again: both marks are decided now; nothing is approved twice, the card says so.
    bot.tap(D, confirm)
    card = _last(bot, D)
    assert any("มี 2 รายการที่เลือกไว้เปลี่ยนไปแล้ว" in t for t in _texts(card))
    assert [a["label"] for a in _toggles(card)] == ["☐ เลือก"]
    assert len(harness.decisions(engine)) == 2
    # Typing numbers keeps working beside the taps.
    bot.say(D, "อนุมัติ 1")
    assert report_status(engine, second) == "approved"
    assert bot.fake.violations == []


def test_a_report_sent_again_while_marked_drops_out_instead_of_being_approved_unseen(
    engine, office, make_bot
) -> None:
    first, second = _submitted_several(engine, office, 2)
    bot = make_bot()
    bot.cards(D, 2)
    assert bot.say(D, "เลือกอนุมัติ ค่ะ") == ["เลือกรายงานที่จะอนุมัติ (เลือกแล้ว 0 จาก 2 รายการ)"]  # typed, too
    bot.tap(D, _toggles(_last(bot, D))[0]["data"])
    bot.tap(D, _toggles(_last(bot, D))[1]["data"])
    confirm = _button(_last(bot, D), "อนุมัติ 2 รายการ")
    harness._submitted(engine, office, office.projects[0], progress="70")  # version 2 of the first report

    bot.tap(D, confirm)
    card = _last(bot, D)
    assert any("มี 1 รายการที่เลือกไว้เปลี่ยนไปแล้ว" in t for t in _texts(card))
    assert (report_status(engine, first), report_status(engine, second)) == ("submitted", "submitted")
    # The unchanged one stays marked; the one sent again (now last in the list) is not.
    assert [a["label"] for a in _toggles(card)] == ["☑ เลือกแล้ว", "☐ เลือก"]
    assert office.projects[1].code in next(t for t in _texts(card) if t.startswith("เลือกแล้ว 1 รายการ"))
    assert bot.tap(D, _button(card, "อนุมัติ 1 รายการ"))[0].startswith("อนุมัติแล้ว 1 รายการ")
    assert (report_status(engine, first), report_status(engine, second)) == ("submitted", "approved")
    assert bot.fake.violations == []


def test_pages_keep_the_marks_and_the_card_stays_inside_lines_limits(engine, office, make_bot) -> None:
    count = PAGE_SIZE + 2
    reports = _submitted_several(engine, office, count)
    bot = make_bot()
    bot.cards(D, count)
    bot.tap(D, Selection().encode())
    card = _last(bot, D)
    assert len(_toggles(card)) == PAGE_SIZE and "หน้า 1/2" in " ".join(_texts(card))
    bot.tap(D, _toggles(card)[0]["data"])
    bot.tap(D, _button(_last(bot, D), "ถัดไป"))
    card = _last(bot, D)
    assert len(_toggles(card)) == 2 and "หน้า 2/2" in " ".join(_texts(card))
    bot.tap(D, _toggles(card)[1]["data"])
    bot.tap(D, _button(_last(bot, D), "◀ ก่อนหน้า"))
    card = _last(bot, D)
    assert _toggles(card)[0]["label"] == "☑ เลือกแล้ว"
    assert next(t for t in _texts(card) if t.startswith("เลือกแล้ว")).startswith("เลือกแล้ว 2 รายการ")
    for action in _actions(card["contents"]):
        assert len(action["label"]) <= 20 and len(action.get("data", "")) <= MAX_DATA_LENGTH
    assert len(json.dumps(card["contents"], ensure_ascii=False).encode()) < 30_000
    assert bot.tap(D, _button(card, "อนุมัติ 2 รายการ"))[0].startswith("อนุมัติแล้ว 2 รายการ")
    statuses = [report_status(engine, r) for r in reports]
    assert statuses.count("approved") == 2 and statuses[0] == statuses[-1] == "approved"
    assert bot.fake.violations == []


def test_the_payload_round_trips_fits_lines_limit_and_refuses_tampering() -> None:
    largest = Selection(tuple((MAX_ID - 40_000_000 * i, 46_655) for i in range(MAX_MARKED))[::-1], 1000, True)
    data = largest.encode()
    assert len(data) <= MAX_DATA_LENGTH
    assert parse(decode(data)) == Selection(tuple(sorted(largest.marked)), 1000, True)  # type: ignore[arg-type]
    assert parse(decode("v1|apsel|m=|p=0")) == Selection()
    assert parse(decode("v1|apsel|m=a.1-2.3|p=1")) == Selection(((10, 1), (12, 3)), 1)
    for tampered in (
        "v1|apsel|m=a.1-0.3|p=0",  # ids must grow
        "v1|apsel|m=a.0|p=0",  # version 0 does not exist
        "v1|apsel|m=a|p=0",  # no version
        "v1|apsel|m=A.1|p=0",  # not our digits
        "v1|apsel|m=a.1|p=1001",  # past the last page we would ever draw
        "v1|apsel|m=a.1|p=0|o=all",  # an unknown operation
        "v1|apsel|m=a.1|p=0|x=1",  # a field we never send
        "v1|apsel|p=0",  # no marks field
        "v1|apsel|m=" + "-".join(["1.1"] * (MAX_MARKED + 1)) + "|p=0",  # more marks than we allow
        "v1|apsel|m=zzzzzzz.1|p=0",  # an id past 32 bits
    ):
        postback = decode(tampered)
        assert postback is None or parse(postback) is None, tampered


def test_a_tampered_selection_button_gets_a_polite_answer(engine, office, make_bot) -> None:
    _submitted_several(engine, office, 2)
    bot = make_bot()
    bot.cards(D, 2)
    answer = bot.tap(D, "v1|apsel|m=a.1-0.3|p=0|o=ok")
    assert answer == [harness.chat.unknown_button().text]
    assert len(harness.decisions(engine)) == 0
