"""The webhook service end to end: real HTTP into /callback, real HTTP out to the fake LINE platform.

The service and the fake read the system clock, so every test runs on `office_clock`: the machine
clock pinned to an instant whose UTC date is not Bangkok's (and whose UTC fiscal year is the last).
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from support import link_code_for, make_settings, running_service, seed_office

from bot.context import EventContext
from bot.handlers import handle_event
from models import ChatBinding, LinkCode, Person, WebhookEvent
from models.db import make_engine
from models.types import EventStatus, Reachability

# `usefixtures` comes before a test's own arguments: the office is seeded on the pinned clock too.
pytestmark = pytest.mark.usefixtures("office_clock", "fake_line")


@pytest.fixture
def seeded(engine, office_clock):
    return seed_office(engine, today=office_clock.today)


@pytest.fixture
def service(db_url, fake_line, tmp_path):
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        yield base_url


def _texts(fake, user_id, count, timeout=10.0):
    return fake.wait_for(lambda: (t := fake.texts_to(user_id)) and len(t) >= count and t, timeout=timeout)


def test_follow_link_help_and_my_projects(engine, seeded, service, fake_line) -> None:
    user = fake_line.add_user("ครูใจดี") if hasattr(fake_line, "add_user") else None
    user_id = user if isinstance(user, str) else "U" + "1" * 32
    assert fake_line.send_sync(fake_line.follow_event(user_id)).status_code == 200
    greeting = _texts(fake_line, user_id, 1)[0]
    assert "รหัสลงทะเบียน" in greeting

    # before linking: no data, only the linking prompt
    fake_line.send_sync(fake_line.text_event(user_id, "โครงการของฉัน"))
    assert "ยังไม่ได้ลงทะเบียน" in _texts(fake_line, user_id, 2)[1]

    code = link_code_for(engine, person=seeded.teacher)
    fake_line.send_sync(fake_line.text_event(user_id, f"ลงทะเบียน {code.lower()}"))
    assert "ลงทะเบียนสำเร็จ" in _texts(fake_line, user_id, 3)[2]
    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        assert teacher.line_user_id == user_id
        assert teacher.reachability == Reachability.FOLLOWING

    fake_line.send_sync(fake_line.text_event(user_id, "ช่วยเหลอ"))  # a typo still finds help
    assert "โครงการของฉัน" in _texts(fake_line, user_id, 4)[3]

    fake_line.send_sync(fake_line.text_event(user_id, "โครงการของฉัน"))
    listing = _texts(fake_line, user_id, 5)[4]
    for project in seeded.projects:
        assert project.code in listing
    assert "120,000.50 บาท" in listing  # satang-exact budget, Thai formatting

    fake_line.send_sync(fake_line.text_event(user_id, "สถานะ"))
    status = _texts(fake_line, user_id, 6)[5]
    assert "ยังไม่รายงาน" in status and "กำหนดส่ง" in status
    # everything went out as free replies, none as paid pushes
    assert {d.kind for d in fake_line.deliveries_to(user_id)} == {"reply"}


def test_bad_signature_missing_signature_and_verification(engine, service, fake_line) -> None:
    user_id = "U" + "2" * 32
    body = fake_line.payload(fake_line.text_event(user_id, "ช่วยเหลือ"))
    raw = httpx.Request("POST", "http://x", json=body).content
    assert fake_line.send_raw_sync(raw, "bm90LWEtc2lnbmF0dXJl").status_code == 400
    assert fake_line.send_raw_sync(raw, None).status_code == 400
    assert fake_line.verify_request_sync().status_code == 200
    big = b'{"events": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    from fakeline import sign

    assert fake_line.send_raw_sync(big, sign(fake_line.channel_secret, big)).status_code == 413
    with Session(engine) as s:
        assert s.exec(select(sa.func.count()).select_from(WebhookEvent)).one() == 0
    assert fake_line.deliveries == [] or not fake_line.deliveries_to(user_id)


def test_an_event_the_sdk_cannot_model_is_kept_and_the_rest_answered(engine, service, fake_line) -> None:
    """The SDK's models parse events in the processor, not at the door: a signed event of a type
    this SDK does not know is stored and handled as unknown, and its neighbours are answered."""
    import json

    from fakeline import sign

    user_id = "U" + "8" * 32
    novel = {**fake_line.text_event(user_id, "x"), "type": "somethingNewFromLine"}
    novel.pop("message")
    body = json.dumps(
        {"destination": fake_line.bot_user_id, "events": [novel, fake_line.text_event(user_id, "ช่วยเหลือ")]}
    ).encode()
    assert fake_line.send_raw_sync(body, sign(fake_line.channel_secret, body)).status_code == 200
    _texts(fake_line, user_id, 1)
    fake_line.wait_for(lambda: _all_done(engine), timeout=5)
    with Session(engine) as s:
        rows = s.exec(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    assert [r.event_type for r in rows] == ["somethingNewFromLine", "message"]
    assert [r.status for r in rows] == [EventStatus.DONE, EventStatus.DONE]

    for not_a_webhook in (b"[]", b'{"events": "none"}', b'{"events": [1, 2]}', b"not json"):
        response = fake_line.send_raw_sync(not_a_webhook, sign(fake_line.channel_secret, not_a_webhook))
        assert response.status_code == 400
    with Session(engine) as s:
        assert s.exec(select(sa.func.count()).select_from(WebhookEvent)).one() == 2


def test_replay_and_redelivery_are_processed_once(engine, service, fake_line) -> None:
    user_id = "U" + "3" * 32
    event = fake_line.text_event(user_id, "ช่วยเหลือ")
    assert fake_line.send_sync(event).status_code == 200
    assert fake_line.send_sync(event).status_code == 200  # replayed as is
    assert fake_line.redeliver_sync(event).status_code == 200  # redelivered by LINE
    _texts(fake_line, user_id, 1)
    with Session(engine) as s:
        rows = s.exec(select(WebhookEvent)).all()
    assert len(rows) == 1
    fake_line.wait_for(lambda: _all_done(engine), timeout=5)
    assert len(fake_line.deliveries_to(user_id)) == 1


def _all_done(engine) -> bool:
    with Session(engine) as s:
        return s.exec(select(sa.func.count()).where(WebhookEvent.status == EventStatus.PENDING)).one() == 0


def test_burst_of_1000_events_from_50_users_in_order_exactly_once(db_url, fake_line, tmp_path) -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()

    def recording(ctx: EventContext) -> None:
        with lock:
            seen[ctx.user_id or ""].append(ctx.raw["message"]["text"])
        handle_event(ctx)

    users = [f"U{i:032x}" for i in range(50)]
    per_user = 20
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, handler=recording) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"

        async def sender(user_id: str) -> None:
            for n in range(per_user):
                response = await fake_line.send(fake_line.text_event(user_id, f"ช่วยเหลือ {n}"))
                assert response.status_code == 200

        async def burst() -> None:
            await asyncio.gather(*(sender(u) for u in users))

        asyncio.run(burst())
        fake_line.wait_for(lambda: sum(len(v) for v in seen.values()) >= 1000 or None, timeout=60)
        fake_line.wait_for(lambda: len(fake_line.requests_to("reply")) >= 1000 or None, timeout=60)
    for user_id in users:
        assert seen[user_id] == [f"ช่วยเหลือ {n}" for n in range(per_user)]
    assert sum(len(v) for v in seen.values()) == 1000
    engine = make_engine(db_url)
    with Session(engine) as s:
        statuses = s.exec(select(WebhookEvent.status, sa.func.count()).group_by(WebhookEvent.status)).all()
    engine.dispose()
    assert dict(statuses) == {EventStatus.DONE: 1000}
    assert len(fake_line.requests_to("reply")) == 1000


def test_line_429_then_500_then_200_delivers_exactly_one_message(engine, service, fake_line) -> None:
    user_id = "U" + "4" * 32
    fake_line.fail_next("reply", [429, 500])
    fake_line.send_sync(fake_line.text_event(user_id, "ช่วยเหลือ"))
    _texts(fake_line, user_id, 1, timeout=15)
    fake_line.wait_for(lambda: _all_done(engine), timeout=5)
    assert len(fake_line.deliveries_to(user_id)) == 1
    statuses = [r.status for r in fake_line.requests_to("reply")]
    assert statuses == [429, 500, 200]


def test_a_handler_error_is_recorded_and_the_rest_go_on(db_url, fake_line, tmp_path) -> None:
    def flaky(ctx: EventContext) -> None:
        if ctx.raw.get("message", {}).get("text") == "boom":
            raise RuntimeError("simulated failure")
        handle_event(ctx)

    user_id = "U" + "5" * 32
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, handler=flaky) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        fake_line.send_sync([fake_line.text_event(user_id, "boom"), fake_line.text_event(user_id, "ช่วยเหลือ")])
        texts = _texts(fake_line, user_id, 2)
    assert "ขออภัย" in texts[0]  # an apology, and nothing the user typed is lost
    engine = make_engine(db_url)
    with Session(engine) as s:
        rows = s.exec(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    engine.dispose()
    assert [r.status for r in rows] == [EventStatus.FAILED, EventStatus.DONE]
    assert "simulated failure" in rows[0].error


def test_link_code_rules(engine, seeded, service, fake_line, office_clock) -> None:
    user_id, other_id = "U" + "6" * 32, "U" + "7" * 32
    for n in range(5):
        fake_line.send_sync(fake_line.text_event(user_id, f"ABCD-EFG{n + 2}"))
    texts = _texts(fake_line, user_id, 5)
    assert "อีก 4 ครั้ง" in texts[0] and "อีก 1 ครั้ง" in texts[3]
    assert "รอ 15 นาที" in texts[4]
    code = link_code_for(engine, person=seeded.teacher)
    fake_line.send_sync(fake_line.text_event(user_id, code))  # right code, but locked out
    assert "รอ" in _texts(fake_line, user_id, 6)[5]

    fake_line.send_sync(fake_line.text_event(other_id, code))
    assert "ลงทะเบียนสำเร็จ" in _texts(fake_line, other_id, 1)[0]
    fake_line.send_sync(fake_line.text_event(other_id, code))  # single use: already linked here
    assert "ลงทะเบียนเป็น" in _texts(fake_line, other_id, 2)[1]

    # an old code of an already-linked person does not move the link; a fresh admin code does
    third_id = "U" + "8" * 32
    with Session(engine) as s:
        stale = s.exec(select(LinkCode).where(LinkCode.person_id == seeded.teacher.id)).all()
    assert all(c.used_at or c.revoked_at for c in stale)
    fresh = link_code_for(engine, person=seeded.teacher)
    fake_line.send_sync(fake_line.text_event(third_id, fresh))
    assert "ลงทะเบียนสำเร็จ" in _texts(fake_line, third_id, 1)[0]
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == third_id

    # an expired code is refused
    expired = link_code_for(engine, person=seeded.director)
    with Session(engine) as s:
        s.execute(
            sa.update(LinkCode)
            .where(LinkCode.person_id == seeded.director.id)
            .values(expires_at=office_clock.now() - timedelta(seconds=1))
        )
        s.commit()
    fake_line.send_sync(fake_line.text_event("U" + "9" * 32, expired))
    assert "ไม่ถูกต้อง" in _texts(fake_line, "U" + "9" * 32, 1)[0]


def test_group_binding_and_other_events(engine, seeded, service, fake_line) -> None:
    group_id = "C" + "a" * 32
    user_id = "U" + "b" * 32
    fake_line.send_sync(fake_line.join_event(group_id))
    assert "เข้าร่วมกลุ่ม" in _texts(fake_line, group_id, 1)[0]
    fake_line.send_sync(fake_line.group_text_event(group_id, user_id, "สวัสดีทุกคน"))  # chatter: no answer
    code = link_code_for(engine, office=seeded.planning)
    fake_line.send_sync(fake_line.group_text_event(group_id, user_id, code))
    assert "ผูกกลุ่มนี้" in _texts(fake_line, group_id, 2)[1]
    with Session(engine) as s:
        binding = s.exec(select(ChatBinding)).one()
        assert binding.chat_id == group_id and binding.active and binding.office_id == seeded.planning.id

    fake_line.send_sync(fake_line.leave_event(group_id))
    fake_line.wait_for(lambda: _all_done(engine), timeout=5)
    with Session(engine) as s:
        assert s.exec(select(ChatBinding)).one().active is False

    # a linked person: sticker and location get a helpful answer; unfollow marks them unreachable
    person_id = "U" + "c" * 32
    fake_line.send_sync(fake_line.text_event(person_id, link_code_for(engine, person=seeded.director)))
    _texts(fake_line, person_id, 1)
    fake_line.send_sync(fake_line.sticker_event(person_id))
    fake_line.send_sync(fake_line.location_event(person_id))
    texts = _texts(fake_line, person_id, 3)
    assert "สติกเกอร์" in texts[1] and "ตำแหน่งที่ตั้ง" in texts[2]
    fake_line.send_sync(fake_line.unfollow_event(person_id))
    fake_line.wait_for(lambda: _all_done(engine), timeout=5)
    with Session(engine) as s:
        assert s.get(Person, seeded.director.id).reachability == Reachability.BLOCKED


def test_crash_between_acknowledge_and_processing_loses_nothing(db_url, fake_line, tmp_path: Path) -> None:
    """The server process is killed with SIGKILL after acknowledging; a restart processes the events."""
    import os
    import signal
    import subprocess

    from support import start_serve

    user_id = "U" + "d" * 32
    env = {
        **os.environ,
        "TIDTAM_DATABASE_URL": db_url,
        "LINE_CHANNEL_SECRET": fake_line.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": fake_line.access_token,
        "LINE_API_BASE_URL": fake_line.base_url,
        "LINE_DATA_API_BASE_URL": fake_line.base_url,
        "TIDTAM_EVENT_WORKERS": "0",  # acknowledge and store only: the crash window, held open
        "TIDTAM_SCHEDULER_ENABLED": "0",
    }

    def start(extra: dict[str, str]) -> subprocess.Popen[bytes]:
        proc, port = start_serve(
            ["--no-migrate"],
            env={**env, **extra},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        fake_line.webhook_url = f"http://127.0.0.1:{port}/callback"
        return proc

    proc = start({})
    try:
        for n in range(5):
            assert fake_line.send_sync(fake_line.text_event(user_id, f"ช่วยเหลือ {n}")).status_code == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert fake_line.deliveries_to(user_id) == []
    proc = start({"TIDTAM_EVENT_WORKERS": "4"})
    try:
        texts = _texts(fake_line, user_id, 5, timeout=20)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert len(texts) == 5
    assert len(fake_line.deliveries_to(user_id)) == 5
