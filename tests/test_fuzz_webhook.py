"""Issue 13: a seeded fuzz run of signed, malformed-but-plausible webhook bodies against the real service.

A fixed number of bodies (so the run is bounded), built from LINE-shaped events of a linked teacher and
director, strangers and groups, then mutated: keys dropped, values swapped for other types, huge,
empty, NUL or lone-surrogate strings, deep nesting, tampered postbacks, hostile message ids, command
words with odd spacing. Between them a canary asks for help and must be answered within seconds.
Afterwards: nothing was answered 500, every stored event ended (handled or failed, never retried for
ever), the fake LINE saw no request LINE would refuse, and the log holds none of the personal values.
"""

from __future__ import annotations

import io
import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session
from support import make_settings, running_service, seed_office

from bot.processor import MAX_ATTEMPTS
from fakeline import sign
from models import Person, WebhookEvent
from scheduler.clock import FixedClock
from tidtam.logs import configure_logging

TZ = ZoneInfo("Asia/Bangkok")
SEED = 13
BODIES = 700  # about 2,000 events a backend
CANARY_EVERY = 100
TEACHER, DIRECTOR, CANARY = ("U" + c * 32 for c in "123")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

WORDS = [
    "รายงานผล",
    "สถานะ",
    "โครงการของฉัน",
    "ช่วยเหลือ",
    "ยกเลิก",
    "ย้อนกลับ",
    "ข้าม",
    "แก้ไข",
    "เสร็จ",
    "ยืนยันส่ง",
    "อนุมัติ",
    "อนุมัติทั้งหมด",
    "ส่งกลับ",
    "ลงทะเบียน",
    "ABCD-2345",
    "๕๐",
    "๑๒๐,๐๐๐ บาท",
    "50%",
    "-1",
    "1e309",
    "NaN",
    "١٢٣",
    "²",
    "999999999999999999999999",
    "\u200b",
    "  ",
    "",
]
ODD = [
    None, True, False, 0, -1, 2**70, -(2**70), 1.5, float("1e308"), "", " ", "\u0000", "\ud800",
    "x" * 6000, "../../info?x=", "%2e%2e/%2e%2e/info", [], {}, [[[[[[[[1]]]]]]]], {"a": {"b": {"c": {}}}},
    "U" + "0" * 31, "C" + "z" * 32, "²³", "๑๒๓", "1" * 40, "<script>", "=HYPERLINK(\"x\")",
]  # fmt: skip
POSTBACK_ACTIONS = ["form", "report", "ap", "apall", "cmd", "rep", "x"]
POSTBACK_KEYS = ["r", "n", "d", "h", "s", "v", "f", "p", "q", "ts", "c"]
POSTBACK_VALUES = ["1", "2", "0", "-1", "²", "١", "99999999999999999999999999", "9" * 400, "", "a", "approve",
                   "return", "1.5", "1e9", "253402300800000", "-62135596800000"]  # fmt: skip


class Generator:
    def __init__(self, fake: Any, rng: random.Random) -> None:
        self.fake = fake
        self.rng = rng
        self.strangers = ["U" + f"{rng.getrandbits(128):032x}" for _ in range(12)]
        self.groups = ["C" + f"{rng.getrandbits(128):032x}" for _ in range(3)]
        self.markers: list[str] = []  # distinctive texts typed, searched for in the log
        self.serial = 0

    def ulid(self) -> str:
        return "".join(self.rng.choice(_CROCKFORD) for _ in range(26))

    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            word = rng.choice(WORDS)
            return rng.choice(["", " ", "\u200b"]) + word + rng.choice(["", "ค่ะ", " ครับ", "!", "\n"])
        self.serial += 1
        marker = f"ข้อความทดสอบ{self.serial}" if roll < 0.8 else f"zqx{self.serial:05d}private"
        self.markers.append(marker)
        return marker + " " + rng.choice(WORDS)

    def postback_data(self) -> str:
        rng = self.rng
        parts = [
            "v1" if rng.random() < 0.9 else rng.choice(["v0", "v2", "", "v1 "]),
            rng.choice(POSTBACK_ACTIONS),
        ]
        for _ in range(rng.randrange(0, 4)):
            parts.append(f"{rng.choice(POSTBACK_KEYS)}={rng.choice(POSTBACK_VALUES)}")
        return "|".join(parts)[: rng.choice([300, 300, 1000])]

    def event(self) -> dict[str, Any]:
        rng, fake = self.rng, self.fake
        user = rng.choice([TEACHER, TEACHER, DIRECTOR, DIRECTOR, *self.strangers])
        kind = rng.random()
        if kind < 0.45:
            event = fake.text_event(user, self.text())
        elif kind < 0.7:
            event = fake.postback_event(user, self.postback_data())
        elif kind < 0.78:
            event = fake.image_event(user, b"\xff\xd8\xff\xe0" + bytes(64))
            if rng.random() < 0.5:
                event["message"]["id"] = rng.choice(["../../info?x=", "1/../../x", "²", "0" * 30, "-1", ""])
        elif kind < 0.84:
            event = fake.group_text_event(rng.choice(self.groups), user, self.text())
        elif kind < 0.9:
            event = rng.choice([fake.follow_event, fake.unfollow_event])(user)
        elif kind < 0.95:
            event = rng.choice([fake.join_event, fake.leave_event])(rng.choice(self.groups))
        else:
            event = fake.text_event(user, "x")
            event["type"] = rng.choice(
                ["memberJoined", "videoPlayComplete", "beacon", "unsend", "things", "futureType"]
            )
        event["webhookEventId"] = self.ulid()
        if rng.random() < 0.6:
            for _ in range(rng.randrange(1, 4)):
                self.mutate(event)
        return event

    def mutate(self, event: dict[str, Any]) -> None:
        rng = self.rng
        target = event
        for nested in ("message", "source", "postback", "deliveryContext"):
            if nested in event and isinstance(event[nested], dict) and rng.random() < 0.35:
                target = event[nested]
                break
        keys = list(target) or ["type"]
        action = rng.random()
        key = rng.choice(keys)
        if action < 0.25:
            target.pop(key, None)
        elif action < 0.85:
            target[key] = rng.choice(ODD)
        else:
            target[rng.choice(["extra", "emojis", "mention", "__proto__", "type "])] = rng.choice(ODD)

    def body(self) -> bytes:
        events = [self.event() for _ in range(self.rng.choice([1, 1, 2, 3, 5]))]
        return json.dumps({"destination": self.fake.bot_user_id, "events": events}).encode()


def _pending(engine: Any) -> int:
    with engine.connect() as conn:
        table = WebhookEvent.__table__  # type: ignore[attr-defined]
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.status == "pending")
            ).scalar_one()
        )


def test_signed_malformed_bodies_never_500_never_wedge_and_never_leak(
    db_url, engine, fake_line, tmp_path
) -> None:
    now = datetime(2027, 1, 5, 10, 0, tzinfo=TZ)
    seeded = seed_office(engine, today=now.date())
    with Session(engine) as s:
        for person, user in ((seeded.teacher, TEACHER), (seeded.director, DIRECTOR)):
            row = s.get(Person, person.id)
            row.line_user_id = user
            s.add(row)
        s.commit()
    rng = random.Random(SEED)
    gen = Generator(fake_line, rng)
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    statuses: list[int] = []
    canary_waits: list[float] = []
    try:
        settings = make_settings(db_url, fake_line, tmp_path)
        with running_service(settings, clock=FixedClock(now)) as base_url:
            fake_line.webhook_url = f"{base_url}/callback"

            def post(body: bytes) -> int:
                return int(fake_line.send_raw_sync(body, sign(fake_line.channel_secret, body)).status_code)

            with ThreadPoolExecutor(max_workers=4) as pool:
                for start in range(0, BODIES, CANARY_EVERY):
                    bodies = [gen.body() for _ in range(min(CANARY_EVERY, BODIES - start))]
                    statuses.extend(pool.map(post, bodies))
                    # The canary, a stranger asking for help, is answered within seconds.
                    before = len(fake_line.texts_to(CANARY))
                    asked = time.monotonic()
                    assert fake_line.send_sync(fake_line.text_event(CANARY, "ช่วยเหลือ")).status_code == 200
                    fake_line.wait_for(lambda b=before: len(fake_line.texts_to(CANARY)) > b, timeout=20)
                    canary_waits.append(time.monotonic() - asked)
            # Every stored event ends: handled, or failed after at most MAX_ATTEMPTS tries (seconds).
            fake_line.wait_for(lambda: _pending(engine) == 0, timeout=60, interval=0.2)
    finally:
        logging.getLogger().removeHandler(handler)

    assert len(statuses) == BODIES
    assert 500 not in statuses and set(statuses) <= {200, 400}
    with engine.connect() as conn:
        table = WebhookEvent.__table__  # type: ignore[attr-defined]
        stored = conn.execute(sa.select(table.c.status, table.c.attempts)).all()
    assert len(stored) > BODIES  # thousands of events were stored and judged
    assert {status for status, _ in stored} <= {"done", "failed"}
    assert max(attempts for _, attempts in stored) <= MAX_ATTEMPTS
    assert sum(1 for status, _ in stored if status == "done") > len(stored) / 3  # most still handled
    # Whatever the input, the product never sent LINE a request LINE would refuse for its shape.
    assert fake_line.unexpected_violations() == []
    log = stream.getvalue()
    for line in log.splitlines():
        json.loads(line)  # JSON lines, one event each
    personal = [TEACHER, DIRECTOR, CANARY, *gen.strangers, *gen.groups, *gen.markers, *fake_line._tokens]
    personal += [seeded.teacher.full_name, seeded.director.full_name]
    assert [value for value in personal if value in log] == []
    assert len(canary_waits) == BODIES // CANARY_EVERY  # each canary was answered (wait_for bounds it)
    # A summary for whoever reads the test output (not an assertion on speed).
    print(
        f"fuzz: {len(stored)} events in {BODIES} bodies; canary answered in at most {max(canary_waits):.2f} s; "
        f"{sum(1 for s, _ in stored if s == 'failed')} failed; log {len(log.splitlines())} lines"
    )
