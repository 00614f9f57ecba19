"""The emulator's fast validity check (tidtam/emulator/schemas.py, `Spec.fast_valid`) against jsonschema.

`Spec.errors` trusts the fast check's "valid" and leaves everything else to the jsonschema walk, so the
fast check must never accept what jsonschema rejects. Here its verdict is compared with jsonschema's
(`not Spec.jsonschema_errors(...)`) on the messages the product builds (messages/, the emulator tests'
bodies, the rich menus, the emulator's own webhook events), on every request a tour of the bot sends,
on hypothesis' mutations of all of these, and on a table of JSON Schema's corner cases (1.0 is an
integer, a bool is not a number, enum equality, keywords that apply to one type only). Keywords the
compiler does not implement fall back to jsonschema (a synthetic spec), and so does an instance that
is not plain JSON.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import test_approvals_e2e as harness
from approval_office import link, make_office
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fakeline import bubble, flex, quick_reply

from bot.rich_menus import body as rich_menu_body
from messages import approvals, chat, dashboard, evaluation, wire
from messages import menus as menu_text
from messages.menus import MenuRole
from messages.reminders import Item, ItemKind, Line, daily_message_dict
from messages.rich_menus import ROLE_SETS, spec_for
from scheduler.fiscal import FiscalQuarter
from tidtam.emulator import LineEmulator, new_group_id, new_user_id
from tidtam.emulator.schemas import Spec, messaging_spec, webhook_spec

REPLY_TOKEN = "b60d432864f44d079f6d8efe86cf404b"
make_bot = harness.make_bot
T, D, PL = harness.T, harness.D, harness.PL


# ----------------------------------------------------------------------------------- the verdicts
def verdicts(spec: Spec, schema: str, body: Any) -> tuple[bool | None, bool | None]:
    """(fast verdict, jsonschema's: True valid, False invalid, None when jsonschema itself raises)."""
    fast = spec.fast_valid(schema, body)
    try:
        slow = not spec.jsonschema_errors(schema, body)
    except TypeError:
        # `_dispatch` looks a list or object discriminator up in its mapping and raises (a known
        # limitation of the jsonschema path, kept as it is); the fast check must then defer or reject.
        slow = None
    return fast, slow


def assert_same_verdict(spec: Spec, schema: str, body: Any) -> bool | None:
    fast, slow = verdicts(spec, schema, body)
    if slow is None:
        assert fast is not True, json.dumps(body, ensure_ascii=False)[:2000]
    else:
        assert fast is slow, (fast, slow, json.dumps(body, ensure_ascii=False)[:2000])
        assert spec.errors(schema, body) == spec.jsonschema_errors(schema, body)
    return slow


# ----------------------------------------------------------------------------------- real bodies
def _quarter() -> FiscalQuarter:
    return FiscalQuarter(2570, 1)


def _card(**overrides: Any) -> approvals.CardData:
    fields: dict[str, Any] = {
        "report_id": 41,
        "version": 2,
        "project_code": "P001",
        "project_name": "โครงการพัฒนาทักษะการอ่านออกเขียนได้ของนักเรียนชั้นประถมศึกษา",
        "quarter": _quarter(),
        "reporter": "นางสาวใจดี มีสุข",
        "implementation_status": "in_progress",
        "status_reason": "",
        "progress_pct": Decimal("62.5"),
        "disbursed_satang": 700_000,
        "budget_satang": 1_250_000_00,
        "indicators": (
            approvals.IndicatorLine("ร้อยละนักเรียนที่อ่านออก", "ร้อยละ", Decimal(80), Decimal("72.5")),
            approvals.IndicatorLine("จำนวนครูที่ผ่านการอบรม", "คน", Decimal(40), None),
        ),
        "activities": "อบรมครู 3 ครั้ง จัดกิจกรรมค่ายการอ่าน",
        "problems": "งบประมาณมาช้า",
        "photos": 3,
        "suggestions": "ควรเพิ่มงบ",
        "photos_url": "https://tidtam.example.go.th/photos/41?sig=abc",
    }
    fields.update(overrides)
    return approvals.CardData(**fields)


def _selection_view() -> approvals.SelectView:
    rows = [
        approvals.SelectRow(
            n,
            approvals.PendingLine(f"P00{n}", f"โครงการที่ {n} ของโรงเรียน", _quarter(), "ครูสมศรี"),
            marked=n % 2 == 0,
            toggle=None if n == 5 else f"v1|sel|r={n}",
        )
        for n in range(1, 6)
    ]
    return approvals.SelectView(
        rows=rows, total=12, marked_codes=["P002", "P004"], confirm="v1|sel|go", next="v1|sel|p=1", pages=3
    )


def _reminder_items() -> list[Item]:
    projects = tuple(Line(f"P00{i}", f"โครงการที่ {i}") for i in range(1, 13))
    return [
        Item(ItemKind.REPORT_OVERDUE, "2569Q4", (2569, 4), date(2026, 10, 12), 2, 12, projects),
        Item(ItemKind.REPORT_DUE, "2570Q1", (2570, 1), date(2027, 1, 11), 3, 2, projects[:2]),
        Item(ItemKind.APPROVAL_PENDING, "x", None, None, 2, 1, (Line("P001", "โครงการอ่าน", "2570Q1"),)),
        Item(
            ItemKind.STEP_OPEN, "A1", on=date(2027, 1, 4), total=1, lines=(Line("A1", "ศึกษา วิเคราะห์นโยบาย"),)
        ),
        Item(ItemKind.REMINDER_SUMMARY, "s", figures=(("ส่งแล้ว", 5), ("ยังไม่ส่ง", 7))),
    ]


def product_messages() -> list[dict[str, Any]]:
    """Messages as the product sends them (`wire.as_dict`, what `EventContext.reply` sends)."""
    lines = [
        chat.ProjectLine("P001", "โครงการอ่านออกเขียนได้", 1_250_000, "none"),
        chat.ProjectLine("P002", "โครงการห้องสมุด", 990_050, "submitted", Decimal("62.5")),
    ]
    built: list[Any] = [
        chat.greeting_unlinked(),
        chat.link_prompt(),
        chat.help_unlinked(),
        chat.help_group(),
        chat.not_understood(),
        chat.something_went_wrong(),
        chat.my_projects(2570, lines),
        chat.my_status(_quarter(), date(2027, 1, 11), lines),
        approvals.approval_card(_card()),
        approvals.approval_card(_card(decidable=False, photos_url=None, level=2, indicators=())),
        approvals.selection_card(_selection_view()),
        approvals.pending_list(
            [approvals.PendingLine(f"P00{n}", "โครงการ", _quarter(), "ครู") for n in range(3)], select=True
        ),
        approvals.approve_or_return("โครงการห้องสมุด", 41, 2),
        evaluation.invitation(7, "แบบประเมินความพึงพอใจ", "ขอความร่วมมือตอบแบบประเมิน", date(2027, 3, 31), 12),
        evaluation.reminder(7, "แบบประเมินความพึงพอใจ", date(2027, 3, 31)),
        evaluation.offer_yearend("P001 โครงการอ่านออกเขียนได้", 41),
        dashboard.dashboard_link("https://tidtam.example.go.th/dashboard/open?t=abc", 10),
    ]
    for roles in ROLE_SETS:
        built.append(menu_text.help_for(roles, "นางสาวใจดี มีสุข"))
        built.append(chat.not_understood(menu_text.labels(roles)))
    built.append(menu_text.no_own_projects((MenuRole.DIRECTOR,), "ปีงบประมาณ 2570"))
    out = [wire.as_dict(m) for m in built]
    out.append(daily_message_dict(_reminder_items(), date(2027, 1, 4)))
    out.append(daily_message_dict(_reminder_items()[:2], date(2027, 1, 4), personal=False))
    # The emulator tests' own bodies.
    out.append(flex(bubble()))
    out.append(
        flex({"type": "carousel", "contents": [bubble(f"งาน {i}") for i in range(12)]}, "งาน 12 รายการ")
    )
    out.append({"type": "text", "text": "เลือกเลย", "quickReply": quick_reply(13)})
    return out


def request_bodies() -> list[tuple[str, dict[str, Any]]]:
    """(schema, body): the messages above in reply, push and multicast requests, and rich menus."""
    messages = product_messages()
    out: list[tuple[str, dict[str, Any]]] = []
    for i, m in enumerate(messages):
        out.append(("ReplyMessageRequest", {"replyToken": REPLY_TOKEN, "messages": [m]}))
        if i % 3 == 0:
            out.append(("PushMessageRequest", {"to": new_user_id(), "messages": [m, messages[-1]]}))
    out.append(("MulticastRequest", {"to": [new_user_id() for _ in range(3)], "messages": messages[:5]}))
    out.extend(("RichMenuRequest", rich_menu_body(spec_for(roles))) for roles in ROLE_SETS)
    return [(schema, json.loads(json.dumps(body))) for schema, body in out]  # plain JSON, as parsed


def webhook_bodies() -> list[dict[str, Any]]:
    line = LineEmulator()  # not started: only its event builders
    uid, gid = new_user_id(), new_group_id()
    events = [
        line.text_event(uid, "ส่งงานแล้ว"),
        line.text_event(uid, "อันนี้", quoted_message_id="123456789"),
        line.postback_event(uid, "action=done&id=7", {"date": "2026-07-01"}),
        line.follow_event(uid),
        line.unfollow_event(uid),
        line.image_event(uid, b"\xff\xd8\xff"),
        line.sticker_event(uid),
        line.location_event(uid, 13.75, 100.5, title="สพม.", address="กรุงเทพฯ"),
        line.join_event(gid),
        line.group_text_event(gid, uid, "@bot"),
    ]
    return [json.loads(json.dumps({"destination": line.bot_user_id, "events": [e]})) for e in events]


REQUESTS = request_bodies()
WEBHOOKS = webhook_bodies()


def test_the_products_bodies_are_valid_by_both_checks() -> None:
    spec = messaging_spec()
    assert len(REQUESTS) > 40
    for schema, body in REQUESTS:
        assert spec.fast_valid(schema, body) is True, (schema, body)
        assert spec.jsonschema_errors(schema, body) == []
    for body in WEBHOOKS:
        assert webhook_spec().fast_valid("CallbackRequest", body) is True, body
        assert webhook_spec().jsonschema_errors("CallbackRequest", body) == []


def test_every_component_of_lines_specs_compiles_without_falling_back() -> None:
    """Each keyword LINE's specs use is implemented: a fallback here would quietly cost the speed."""
    for spec in (messaging_spec(), webhook_spec()):
        spec.compile_fast_checks()
        assert spec.fast_fallbacks == []


# ----------------------------------------------------------------------------------- mutations
def _enum_values(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "enum" and isinstance(v, list):
                out.update(x for x in v if isinstance(x, str))
            else:
                _enum_values(v, out)
    elif isinstance(node, list):
        for v in node:
            _enum_values(v, out)
    return out


def _property_names(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                out.update(v)
            _property_names(v, out)
    elif isinstance(node, list):
        for v in node:
            _property_names(v, out)
    return out


ENUMS = sorted(_enum_values(messaging_spec().doc, set()) | _enum_values(webhook_spec().doc, set()))
NAMES = sorted(_property_names(messaging_spec().doc, set()) | _property_names(webhook_spec().doc, set()))
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 5, 13, 99, 1.0, 2.0, 1.5, -0.5, 2**31, 10**6, 1e300,
    "", "x", "1", "1.0", "true", "null", "box", "https://example.com/a.png", "not a uri", "#FF00AA",
    [], {}, [None], {"type": "text"},
]  # fmt: skip


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*path, i)))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _replacements(old: Any, doc: Any) -> st.SearchStrategy[Any]:
    """Values to put where `old` was: other types, numbers as strings, bool for int, overlong
    strings, another enum value, an empty or overfull array, extra nesting, a piece of the body."""
    options: list[st.SearchStrategy[Any]] = [
        # A copy: the shared [] and {} must not be changed by a later mutation of this body (that
        # changed what the next examples drew: hypothesis' FlakyStrategyDefinition).
        st.sampled_from(ODD_VALUES).map(copy.deepcopy),
        st.sampled_from(ENUMS),
        st.sampled_from([_at(doc, p) for p in _paths(doc)]).map(copy.deepcopy),
        st.just([old]),
        st.just({"type": "box", "layout": "vertical", "contents": [old]}),
    ]
    if isinstance(old, bool):
        options.append(st.sampled_from([int(old), float(old), str(old).lower()]))
    elif isinstance(old, int | float):
        options.append(st.sampled_from([str(old), float(old), old + 1, -old, bool(old), old * 1000]))
    elif isinstance(old, str):
        options.append(
            st.tuples(st.sampled_from(["ก", "a", "🍎", old or "x"]), st.integers(0, 6000)).map(
                lambda t: t[0] * t[1]
            )
        )
        options.append(st.sampled_from([old.upper(), old + " ", " " + old, old[:1], old * 2]))
        if old.isascii() and old.lstrip("-").isdigit() and len(old) <= 4000:  # what int() reads
            options.append(st.just(int(old)))
    elif isinstance(old, list):
        options.append(st.sampled_from([[], old[:1], old * 7, old * 14, [*old, *old]]))
    elif isinstance(old, dict):
        options.append(st.just({k: v for k, v in old.items() if k != "type"}))
    return st.one_of(options)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        target = _at(doc, path)
        kind = draw(st.sampled_from(["drop", "replace", "add", "replace"]))
        if kind == "add" and isinstance(target, dict):
            key = draw(st.sampled_from([*NAMES, "foo"]))
            target[key] = draw(_replacements(target.get(key), doc))
        elif kind == "drop" and path:
            parent = _at(doc, path[:-1])
            del parent[path[-1]]
        elif path:
            _at(doc, path[:-1])[path[-1]] = draw(_replacements(target, doc))
        else:
            doc = draw(_replacements(doc, doc))
    return json.loads(json.dumps(doc))  # plain JSON, as parsed from a request


FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.data())
def test_mutated_requests_get_jsonschemas_verdict(data: st.DataObject) -> None:
    spec = messaging_spec()
    schema = data.draw(st.sampled_from(sorted({s for s, _ in REQUESTS})))
    seeds = [b for s, b in REQUESTS if s == schema]
    assert_same_verdict(spec, schema, data.draw(mutated(seeds)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_webhooks_get_jsonschemas_verdict(data: st.DataObject) -> None:
    assert_same_verdict(webhook_spec(), "CallbackRequest", data.draw(mutated(WEBHOOKS)))


def test_the_mutations_reach_both_verdicts() -> None:
    """The fuzzing above is not only of valid (or only of invalid) bodies."""
    seen: set[bool | None] = set()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated([b for s, b in REQUESTS if s == "ReplyMessageRequest"]))
    def count(body: Any) -> None:
        seen.add(assert_same_verdict(messaging_spec(), "ReplyMessageRequest", body))

    count()
    assert {True, False} <= seen


HAND_MUTATIONS: dict[str, Any] = {
    "box without layout": lambda m: m["contents"]["body"].pop("layout"),
    "unknown component type": lambda m: m["contents"]["body"]["contents"][0].update(type="txt"),
    "bad enum value": lambda m: m["contents"]["body"]["contents"][0].update(weight="heavy"),
    "button without action": lambda m: m["contents"]["footer"]["contents"][0].pop("action"),
    "postback data 301": lambda m: m["contents"]["footer"]["contents"][0]["action"].update(data="d" * 301),
    "flex as number": lambda m: m["contents"]["body"]["contents"][0].update(flex="1"),
    "flex as float": lambda m: m["contents"]["body"]["contents"][0].update(flex=1.0),
    "flex as bool": lambda m: m["contents"]["body"]["contents"][0].update(flex=True),
    "wrap as int": lambda m: m["contents"]["body"]["contents"][0].update(wrap=1),
    "empty contents": lambda m: m["contents"]["body"].update(contents=[]),
    "text as list": lambda m: m["contents"]["body"]["contents"][0].update(text=["x"]),
    "type as list": lambda m: m["contents"]["body"]["contents"][0].update(type=["text"]),
    "bad uri": lambda m: m["contents"].update(hero={"type": "image", "url": "no-scheme"}),
    "good uri": lambda m: m["contents"].update(hero={"type": "image", "url": "https://example.com/a.png"}),
    "deep boxes": lambda m: m["contents"].update(body=_nest({"type": "text", "text": "ลึก"}, 12)),
}


def _nest(component: dict[str, Any], depth: int) -> dict[str, Any]:
    for _ in range(depth):
        component = {"type": "box", "layout": "vertical", "contents": [component]}
    return component


# What jsonschema says of each (None: it raises, see `verdicts`).
HAND_VERDICTS = {
    "good uri": True,
    "deep boxes": True,
    "flex as float": True,  # 1.0 is an integer
    "empty contents": True,  # the spec allows it (a limit of rules.py may not)
}


@pytest.mark.parametrize("case", sorted(HAND_MUTATIONS))
def test_hand_made_mutations_of_a_flex_bubble(case: str) -> None:
    message = flex(bubble())
    HAND_MUTATIONS[case](message)
    body = {"to": new_user_id(), "messages": [json.loads(json.dumps(message))]}
    verdict = assert_same_verdict(messaging_spec(), "PushMessageRequest", body)
    assert verdict is HAND_VERDICTS.get(case, False)


# ----------------------------------------------------------------------------------- the tour
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the bodies do not depend on the backend
def test_every_request_of_a_tour_of_the_bot_gets_jsonschemas_verdict(
    engine, office_clock, make_bot, fake_line
) -> None:
    """What the product really sends (test_wire.py's tour: menus, status, a report form and its
    summary card, the approval card, the planners' views), then mutations of it."""
    office = make_office(engine, today=office_clock.today, projects=1)
    for person, user in ((office.teacher, T), (office.director, D), (office.planner, PL)):
        link(engine, person, user)
    bot = make_bot()
    for user in (T, D, PL):
        for typed in ("ช่วยเหลือ", "สถานะ", "โครงการของฉัน", "ยกเลิก"):
            bot.say(user, typed)
    for typed in ["รายงานผล", "2", "50", "7,000", "40 คน", "62.5%", "อบรมครู 3 ครั้ง", "งบมาช้า", "ควรเพิ่มงบ"]:
        bot.say(T, typed)
    bot.say(T, "เสร็จ")
    bot.say(T, "ยืนยันส่ง")
    bot.cards(D, 1)
    code = office.projects[0].code
    for user, typed in ((D, f"ดูรายละเอียด {code}"), (D, "รออนุมัติ"), (PL, "ภาพรวมเขต"), (PL, "ใครยังไม่ส่ง")):
        bot.say(user, typed)
    spec = messaging_spec()
    sent: list[tuple[str, Any]] = []
    for req in fake_line.requests:
        op, _, _ = spec.match(req.method, req.path)
        if op is not None and op.body_schema and isinstance(req.body, dict) and req.status == 200:
            sent.append((op.body_schema, req.body))
    kinds = {m.get("type") for _, b in sent for m in b.get("messages", [])}
    assert len(sent) >= 20 and {"text", "flex"} <= kinds, kinds
    for schema, body in sent:
        assert spec.fast_valid(schema, body) is True, (schema, body)

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def mutate(data: st.DataObject) -> None:
        schema = data.draw(st.sampled_from(sorted({s for s, _ in sent})))
        assert_same_verdict(spec, schema, data.draw(mutated([b for s, b in sent if s == schema])))

    mutate()


# ----------------------------------------------------------------------------------- semantics
def _spec(tmp_path: Path, schemas: dict[str, Any], name: str = "s.yml") -> Spec:
    path = tmp_path / name
    path.write_text(json.dumps({"openapi": "3.0.0", "paths": {}, "components": {"schemas": schemas}}))
    return Spec(path, f"urn:test:{name}")  # type: ignore[arg-type]


CORNERS: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": "integer"}, [1, 1.0, 1.5, True, False, "1", None, 2**70, 1e300, float("inf"), float("nan")]),
    ({"type": "number"}, [0, 0.5, True, "0", None, [], float("nan")]),
    ({"type": "boolean"}, [True, False, 0, 1, "true", None]),
    ({"type": ["string", "null"]}, ["", None, 0, []]),
    ({"type": ["integer", "string"]}, [1, 1.0, 1.5, "a", None]),
    ({"enum": [1, "a", None, True]}, [1, 1.0, True, False, 0, "a", "A", None, [1], 2]),
    ({"enum": [0, False]}, [0, 0.0, False, True, None, ""]),
    ({"enum": []}, [0, "", None]),
    ({"const": 2.0}, [2, 2.0, True, "2"]),
    ({"const": False}, [False, 0, None]),
    ({"minimum": 1, "maximum": 3}, [0, 1, 3, 3.5, True, False, "0", None, float("nan")]),
    ({"minLength": 2, "maxLength": 3}, ["a", "ab", "abcd", "ก" * 3, "🍎🍎", 12345, ["a"], None]),
    ({"minItems": 1, "maxItems": 2}, [[], [1], [1, 2, 3], "ab", {}, None]),
    ({"pattern": "^U[0-9a-f]{4}$"}, ["Uabcd", "Uabcd\n", "xUabcd", "UABCD", 5, None]),
    ({"format": "uri"}, ["https://a.b/c", "https://", "tel:123", "nope", 5]),
    ({"format": "date-time"}, ["2026-07-01T00:00:00Z", "2026-07-01", 5]),
    ({"format": "int32"}, [2**40, "x"]),  # jsonschema has no checker for it: not checked
    ({"required": ["a"], "properties": {"a": {"type": "string"}}}, [{"a": "x"}, {"a": 1}, {}, [], "a", None]),
    ({"properties": {"a": False}}, [{}, {"a": None}, {"b": 1}]),
    ({"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
     [{"a": 1, "b": "x"}, {"a": 1, "b": 2}, {"b": None}, [1]]),
    ({"additionalProperties": False, "properties": {"a": True}}, [{"a": 1}, {"a": 1, "b": 1}, {}, 3]),
    ({"items": {"type": "integer"}}, [[1, 2], [1, "2"], [], {"0": "x"}, "12"]),
    ({"items": False}, [[], [1], "x"]),
    ({"allOf": [{"type": "string"}, {"maxLength": 1}]}, ["a", "ab", 1]),
]  # fmt: skip


@pytest.mark.parametrize("index", range(len(CORNERS)))
def test_json_schema_corner_cases_get_jsonschemas_verdict(tmp_path: Path, index: int) -> None:
    schema, instances = CORNERS[index]
    spec = _spec(tmp_path, {"Root": schema})
    spec.compile_fast_checks()
    assert spec.fast_fallbacks == [], "every keyword in this table is implemented"
    for instance in instances:
        fast = spec.fast_valid("Root", instance)
        assert fast is not None and fast is spec.validator("Root").is_valid(instance), instance


FALLBACK_SCHEMAS: dict[str, Any] = {
    "Root": {
        "type": "object",
        "required": ["n"],
        "properties": {
            "n": {"type": "integer", "multipleOf": 3},
            "a/b~c d%": {"type": "string", "not": {"const": "x"}},
            "child": {"$ref": "#/components/schemas/Child"},
            "list": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"const": "z"}]}},
        },
    },
    "Child": {"type": "object", "properties": {"m": {"type": "number", "exclusiveMinimum": 0}}},
}


def test_keywords_it_does_not_implement_fall_back_to_jsonschema(tmp_path: Path) -> None:
    spec = _spec(tmp_path, FALLBACK_SCHEMAS)
    cases = {
        '{"n": 3}': True,
        '{"n": 4}': False,  # multipleOf is not ignored
        '{"n": 3.0}': True,
        '{"n": "3"}': False,
        '{"n": 3, "a/b~c d%": "y"}': True,
        '{"n": 3, "a/b~c d%": "x"}': False,  # not, under a name that needs escaping in a pointer
        '{"n": 3, "child": {"m": 0.1}}': True,
        '{"n": 3, "child": {"m": 0}}': False,  # exclusiveMinimum, through a $ref
        '{"n": 3, "list": [1, "z"]}': True,
        '{"n": 3, "list": [1, "y"]}': False,  # anyOf
    }
    for text, valid in cases.items():
        instance = json.loads(text)
        assert spec.fast_valid("Root", instance) is valid, text
        assert spec.validator("Root").is_valid(instance) is valid, text
        assert (spec.errors("Root", instance) == []) is valid
    assert sorted(spec.fast_fallbacks or []) == [
        "/components/schemas/Child/properties/m",
        "/components/schemas/Root/properties/a~1b~0c%20d%25",
        "/components/schemas/Root/properties/list/items",
        "/components/schemas/Root/properties/n",
    ]


def test_keywords_that_move_references_turn_the_fast_check_off(tmp_path: Path) -> None:
    schemas = copy.deepcopy(FALLBACK_SCHEMAS)
    schemas["Child"]["$id"] = "urn:elsewhere"
    spec = _spec(tmp_path, schemas)
    assert spec.fast_fallbacks is None
    assert spec.fast_valid("Root", {"n": 3}) is None
    assert spec.errors("Root", {"n": 3}) == [] and spec.errors("Root", {"n": 4})


def test_an_instance_that_is_not_plain_json_is_left_to_jsonschema() -> None:
    spec = messaging_spec()
    body = {"replyToken": REPLY_TOKEN, "messages": ({"type": "text", "text": "x"},)}  # a tuple
    assert spec.fast_valid("ReplyMessageRequest", body) is None
    assert (
        spec.errors("ReplyMessageRequest", body) == spec.jsonschema_errors("ReplyMessageRequest", body) != []
    )
    rich = rich_menu_body(spec_for(ROLE_SETS[1]))
    rich["size"]["width"] = Decimal(2500)
    assert spec.fast_valid("RichMenuRequest", rich) is None
    assert spec.errors("RichMenuRequest", rich) == spec.jsonschema_errors("RichMenuRequest", rich)
    assert spec.fast_valid("NoSuchSchema", {}) is None
