"""The demo simulator's people and endpoints (issue 14), on each database backend: the demo office's
people linked to simulated LINE users once; the page served with its Thai labels; a person's actions
reaching the service as signed webhooks and the answers read back, free or paid; a request LINE
refuses shown in the chat it was meant for; the clock panel's moves and its Thai answer to a date it
cannot read; and what the endpoints refuse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select
from support import make_settings, seed_office, serving

from models.ops import AuditLog
from tidtam.emulator import LineEmulator
from tidtam.simulator.app import mount_simulator
from tidtam.simulator.people import NEWCOMER_ID, PersonaKind, demo_user_id, link_demo_people, personas

START = "2026-11-16T10:00:00+07:00"  # a Monday in quarter 1 of FY 2570 (the service's TIDTAM_NOW)
TODAY = date(2026, 11, 16)
LINKED_AT = datetime(2026, 11, 16, 3, tzinfo=UTC)


def test_the_demo_links_every_unlinked_person_once_and_lists_them_by_role(engine) -> None:
    seeded = seed_office(engine, today=TODAY)
    now = LINKED_AT
    assert link_demo_people(engine, now) == 3
    assert link_demo_people(engine, now) == 0  # a restart links nobody twice
    found = personas(engine)
    kinds = {p.person_code: p.kind for p in found}
    assert kinds == {
        seeded.teacher.code: PersonaKind.TEACHER,
        seeded.director.code: PersonaKind.SCHOOL_DIRECTOR,
        seeded.planner.code: PersonaKind.PLANNER,
        None: PersonaKind.NEWCOMER,
    }
    assert [p.kind for p in found] == [
        PersonaKind.TEACHER,
        PersonaKind.SCHOOL_DIRECTOR,
        PersonaKind.PLANNER,
        PersonaKind.NEWCOMER,
    ]
    teacher = found[0]
    assert teacher.user_id == demo_user_id(seeded.teacher.code) and teacher.projects == 2
    assert found[-1].user_id == NEWCOMER_ID
    with Session(engine) as session:
        audit = session.exec(select(AuditLog).where(col(AuditLog.actor) == "demo")).all()
    assert {a.action for a in audit} == {"linked"} and len(audit) == 3


@pytest.fixture
def simulator(engine, db_url: str, fake_line: LineEmulator, tmp_path: Path):  # type: ignore[no-untyped-def]
    seeded = seed_office(engine, today=TODAY)
    link_demo_people(engine, LINKED_AT)
    settings = make_settings(db_url, fake_line, tmp_path, TIDTAM_NOW=START)
    mounted = {}

    def extend(app) -> None:  # type: ignore[no-untyped-def]
        fake_line.clock = app.state.clock.now
        mounted["sim"] = mount_simulator(app, fake_line)
        mounted["sim"].refresh_people()

    with serving(settings, extend=extend) as served:
        fake_line.webhook_url = f"{served.url}/callback"
        with httpx.Client(base_url=served.url, timeout=30) as client:
            yield client, seeded, mounted["sim"]


def chat(client: httpx.Client, user_id: str, after: int = 0, *, until: int = 1) -> list[dict]:
    """The chat's turns after ``after``, long-polling until at least ``until`` bot turns arrived."""
    turns: list[dict] = []
    for _ in range(20):
        answer = client.get(f"/simulator/api/chats/{user_id}", params={"after": after, "wait": 5}).json()
        turns += answer["turns"]
        after = answer["last"]
        if sum(t["side"] == "bot" and t["kind"] != "loading" for t in turns) >= until:
            break
    return turns


def test_the_page_and_a_conversation_through_the_emulator(simulator) -> None:
    client, seeded, _sim = simulator
    page = client.get("/simulator")
    assert page.status_code == 200 and "ลองใช้" in page.text and "__TIDTAM_TEXTS__" not in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/simulator"
    people = client.get("/simulator/api/people").json()
    teacher = next(p for p in people if p["code"] == seeded.teacher.code)
    assert teacher["kind"] == "teacher" and teacher["office"] == "โรงเรียนทดสอบวิทยา"

    assert (
        client.post(f"/simulator/api/chats/{teacher['user_id']}/say", json={"text": "สถานะ"}).json()[
            "answered"
        ]
        == 200
    )
    turns = chat(client, teacher["user_id"])
    said = next(t for t in turns if t["side"] == "user")
    assert said["text"] == "สถานะ" and said["at"]["label"] == "16 พ.ย. 2569"
    answer = next(t for t in turns if t["side"] == "bot" and t["kind"] != "loading")
    assert answer["kind"] == "reply" and answer["free"] is True and answer["quota_used"] == 0
    assert answer["messages"][0]["_id"]  # a message id the page can quote

    photo = client.post(
        f"/simulator/api/chats/{teacher['user_id']}/photo",
        content=b"not a photo",
        headers={"content-type": "text/plain"},
    )
    assert photo.status_code == 415
    assert client.post(f"/simulator/api/chats/U{'0' * 32}/say", json={"text": "สวัสดี"}).status_code == 404
    assert client.post(f"/simulator/api/chats/{teacher['user_id']}/say", json={"text": ""}).status_code == 422


def test_a_request_line_refuses_is_shown_in_its_chat(simulator, fake_line: LineEmulator) -> None:
    client, seeded, _sim = simulator
    fake_line.expect_violations()
    teacher = demo_user_id(seeded.teacher.code)
    refused = httpx.post(
        f"{fake_line.base_url}/v2/bot/message/push",
        headers={"Authorization": f"Bearer {fake_line.access_token}"},
        json={"to": teacher, "messages": [{"type": "text", "text": "ก" * 5001}]},
    )
    assert refused.status_code == 400
    turns = client.get(f"/simulator/api/chats/{teacher}").json()["turns"]
    refusal = next(t for t in turns if t["kind"] == "refusal")
    assert refusal["side"] == "system" and refusal["status"] == 400 and refusal["violation"] is True
    listed = client.get("/simulator/api/refusals").json()
    assert [r["seq"] for r in listed] == [refusal["seq"]]


def test_the_clock_panel_moves_the_service_clock_and_explains_a_date_it_cannot_read(simulator) -> None:
    client, seeded, _sim = simulator
    shown = client.get("/simulator/api/clock").json()
    assert shown["face"]["date"] == "จ. 16 พ.ย. 2569" and shown["simulated"] is True
    bad = client.post("/simulator/api/clock", json={"action": "set", "at": "วันพรุ่งนี้ตอนเช้า"}).json()
    assert bad["ok"] is False and "เช่น" in bad["lines"][0]
    assert client.get("/simulator/api/clock").json()["iso"].startswith("2026-11-16T10:00")
    moved = client.post("/simulator/api/clock", json={"action": "set", "at": "2026-11-18T09:00"}).json()
    assert moved["ok"] is True and moved["face"]["date"] == "พ. 18 พ.ย. 2569"
    assert moved["lines"][0].startswith("เลื่อนนาฬิกาจาก 16 พ.ย. 2569 10:00 น. เป็น 18 พ.ย. 2569 09:00 น.")
    nxt = client.post("/simulator/api/clock", json={"action": "next_day"}).json()
    assert nxt["face"]["date"] == "พฤ. 19 พ.ย. 2569"
    # Each reading is numbered in the order the server read the clock, whichever endpoint gave it: the
    # page shows the highest number it has, so an answer that reaches it late cannot undo a move.
    later = client.get("/simulator/api/clock").json()
    assert shown["seq"] < bad["seq"] < moved["seq"] < nxt["seq"] < later["seq"]
    # Events carry the service's (moved) time, so an answer is still a free reply, not a late push.
    teacher = demo_user_id(seeded.teacher.code)
    client.post(f"/simulator/api/chats/{teacher}/say", json={"text": "สถานะ"})
    answer = next(t for t in chat(client, teacher) if t["side"] == "bot" and t["kind"] != "loading")
    assert answer["kind"] == "reply" and answer["at"]["label"] == "19 พ.ย. 2569"
    back = client.post("/simulator/api/clock", json={"action": "reset"}).json()
    assert back["ok"] is True and back["iso"].startswith("2026-11-16")
    assert client.post("/simulator/api/clock", json={"action": "sideways"}).status_code == 422


def test_a_persons_rich_menu_and_its_image_reach_the_page(simulator, fake_line: LineEmulator) -> None:
    from test_simulator_tour import png

    client, seeded, _sim = simulator
    teacher = demo_user_id(seeded.teacher.code)
    line = httpx.Client(
        base_url=fake_line.base_url, headers={"Authorization": f"Bearer {fake_line.access_token}"}
    )
    assert client.get(f"/simulator/api/richmenu/{teacher}").json() is None
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "reporter",
        "chatBarText": "เมนู",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                "action": {"type": "message", "text": "รายงานผล"},
            },
            {
                "bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},
                "action": {"type": "message", "text": "สถานะ"},
            },
        ],
    }
    created = line.post("/v2/bot/richmenu", json=menu)
    assert created.status_code == 200, created.text
    rich_menu_id = created.json()["richMenuId"]
    image = png(2500, 843)
    uploaded = line.post(
        f"/v2/bot/richmenu/{rich_menu_id}/content", content=image, headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert line.post(f"/v2/bot/user/{teacher}/richmenu/{rich_menu_id}").status_code == 200
    shown = client.get(f"/simulator/api/richmenu/{teacher}").json()
    assert shown["richMenuId"] == rich_menu_id and [a["action"]["text"] for a in shown["areas"]] == [
        "รายงานผล",
        "สถานะ",
    ]
    drawn = client.get(f"/simulator/api/richmenu-image/{rich_menu_id}")
    assert (
        drawn.status_code == 200 and drawn.content == image and drawn.headers["content-type"] == "image/png"
    )
    assert client.get(f"/simulator/api/richmenu/{demo_user_id(seeded.director.code)}").json() is None
