"""The LINE emulator as the product uses it: each chat's record, refused requests, a person's actions,
the product's clock, mounting it in an ASGI app, sharing it between threads, and its spec files
shipped in the installed package. (What LINE refuses is tested in test_fakeline.py.)"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from starlette.applications import Starlette
from starlette.routing import Mount
from support import make_settings, running_service

from bot.line_client import LineClient, RetryPolicy, SendStatus
from tidtam.emulator import (
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    SPEC_DIR,
    Delivery,
    LineEmulator,
    LoadingShown,
    Quota,
    Refusal,
    UserTurn,
    new_user_id,
)
from tidtam.emulator.server import LoopbackServer

BANGKOK = ZoneInfo("Asia/Bangkok")
ROOT = Path(__file__).resolve().parent.parent


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def bad_flex() -> dict[str, Any]:
    """A Flex message LINE refuses: a box without its layout."""
    return {
        "type": "flex",
        "altText": "การ์ด",
        "contents": {"type": "bubble", "body": {"type": "box", "contents": [{"type": "text", "text": "x"}]}},
    }


class Clock:
    """The product's clock, set by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Receiver:
    """A webhook endpoint that checks LINE's signature with line-bot-sdk and keeps what arrived."""

    def __init__(self, channel_secret: str) -> None:
        parser = WebhookParser(channel_secret)
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    parser.parse(raw.decode("utf-8"), self.headers.get("X-Line-Signature", ""))
                except InvalidSignatureError:
                    self.send_response(400)
                    self.end_headers()
                    return
                bodies.append(json.loads(raw))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver(fake_line: LineEmulator) -> Iterator[Receiver]:
    r = Receiver(fake_line.channel_secret)
    fake_line.webhook_url = r.url
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def http(fake_line: LineEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake_line.access_token}"}
    with httpx.Client(base_url=fake_line.base_url, headers=headers, timeout=5.0, trust_env=False) as client:
        yield client


def push(http: httpx.Client, to: str, *messages: dict[str, Any]) -> httpx.Response:
    return http.post(
        "/v2/bot/message/push",
        json={"to": to, "messages": list(messages)},
        headers={"X-Line-Retry-Key": str(uuid.uuid4())},
    )


def reply(http: httpx.Client, token: str, *messages: dict[str, Any]) -> httpx.Response:
    return http.post("/v2/bot/message/reply", json={"replyToken": token, "messages": list(messages)})


# ----------------------------------------------------------------------------------- a chat's record
def test_a_chat_records_both_sides_in_order_with_reply_or_push_and_the_quota(
    fake_line: LineEmulator, receiver: Receiver, http: httpx.Client
) -> None:
    fake_line.set_quota(300, used=10)
    uid, other = fake_line.add_user("ครูสมศรี"), new_user_id()
    said = fake_line.user_says(uid, "สวัสดีครับ")
    assert said.status == 200 and said.kind == "text" and said.user_id == uid
    assert reply(http, said.event["replyToken"], text("สวัสดีค่ะ")).status_code == 200
    assert push(http, uid, text("เตือนส่งรายงาน"), text("ภายในวันศุกร์")).status_code == 200
    r = http.post("/v2/bot/message/multicast", json={"to": [uid, other], "messages": [text("ประชุม")]})
    assert r.status_code == 200

    turns = fake_line.conversation(uid)
    assert [type(t) for t in turns] == [UserTurn, Delivery, Delivery, Delivery]
    assert [t.seq for t in turns] == sorted({t.seq for t in turns})  # numbered, in order
    first, answered, pushed, multicast = turns
    assert first.event["message"]["text"] == "สวัสดีครับ"
    assert (answered.kind, answered.free, answered.quota_used, answered.quota_limit) == (
        "reply",
        True,
        10,
        300,
    )
    assert (pushed.kind, pushed.free, pushed.quota_used) == ("push", False, 11)
    assert [m["text"] for m in pushed.messages] == ["เตือนส่งรายงาน", "ภายในวันศุกร์"]
    assert len(pushed.sent_message_ids) == 2 and all(pushed.quote_tokens)
    assert (multicast.kind, multicast.quota_used) == ("multicast", 13)  # two recipients
    assert [type(t) for t in fake_line.conversation(other)] == [Delivery]
    assert fake_line.conversation(uid, after=pushed.seq) == [multicast]
    assert set(fake_line.chats()) == {uid, other}
    assert fake_line.quota() == Quota(300, 13, None)
    assert fake_line.quota().remaining == 287
    assert fake_line.last_seq == max(t.seq for t in fake_line.conversation(other))


def test_a_push_to_a_user_who_blocked_the_bot_stays_out_of_their_chat(
    fake_line: LineEmulator, receiver: Receiver, http: httpx.Client
) -> None:
    uid = fake_line.add_user()
    blocked = fake_line.user_blocks(uid)
    assert blocked.kind == "unfollow" and uid in fake_line.blocked and "replyToken" not in blocked.event
    assert push(http, uid, text("ถึงไหม")).status_code == 200
    assert fake_line.conversation(uid) == [blocked]
    assert [d.to for d in fake_line.dropped] == [uid] and fake_line.quota_used == 0


def test_loading_animation_is_part_of_the_chat(fake_line: LineEmulator, http: httpx.Client) -> None:
    uid = new_user_id()
    r = http.post("/v2/bot/chat/loading/start", json={"chatId": uid, "loadingSeconds": 10})
    assert r.status_code == 202
    (shown,) = fake_line.conversation(uid)
    assert isinstance(shown, LoadingShown) and (shown.chat_id, shown.seconds) == (uid, 10)


# ----------------------------------------------------------------------------------- refusals
def test_every_refused_request_is_recorded_with_lines_answer(
    fake_line: LineEmulator, receiver: Receiver, http: httpx.Client
) -> None:
    uid = fake_line.add_user()
    fake_line.expect_violations()
    assert push(http, uid, bad_flex()).status_code == 400  # LINE refuses it in any state
    token = fake_line.user_says(uid, "x").event["replyToken"]
    assert reply(http, token, text("1")).status_code == 200
    assert reply(http, token, text("2")).status_code == 400  # a used token: the state, not a bug
    fake_line.fail_next("push", 503)
    assert push(http, uid, text("x")).status_code == 503
    fake_line.set_quota(0)
    assert push(http, uid, text("x")).status_code == 429
    assert push(http, "C" + "0" * 32, text("x")).status_code == 400  # a group the bot is not in
    fake_line.block(uid)
    assert http.get(f"/v2/bot/profile/{uid}").status_code == 404
    r = http.post("/v2/bot/message/push", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400

    refusals = fake_line.refusals()
    assert [(r.status, r.violation, r.scripted) for r in refusals] == [
        (400, True, False),
        (400, False, False),
        (503, False, True),
        (429, False, False),
        (400, False, False),
        (404, False, False),
        (400, True, False),
    ]
    flex, used, scripted, quota, unknown, profile, garbled = refusals
    assert flex.chat_ids == (uid,) and flex.request_body["to"] == uid
    assert flex.message.startswith("The request body has") and flex.details
    assert all(d["property"].startswith("messages[0].contents") for d in flex.details)
    assert used.chat_ids == (uid,) and used.body == {"message": MSG_INVALID_REPLY_TOKEN}
    assert quota.message == MSG_MONTHLY_LIMIT and unknown.message == MSG_FAILED_TO_SEND
    assert unknown.chat_ids == ("C" + "0" * 32,)
    assert (profile.operation_id, profile.chat_ids) == ("getProfile", ())  # not a message to a chat
    assert (garbled.request_body, garbled.chat_ids) == (None, ())
    assert len(fake_line.violations) == 2  # the two that LINE refuses in any state
    in_chat = [t for t in fake_line.conversation(uid) if isinstance(t, Refusal)]
    assert in_chat == [flex, used, scripted, quota]
    assert fake_line.refusals(after=quota.seq) == [unknown, profile, garbled]


def test_reset_forgets_the_record_but_numbers_keep_rising(
    fake_line: LineEmulator, http: httpx.Client
) -> None:
    uid = new_user_id()
    assert push(http, uid, text("x")).status_code == 200
    before = fake_line.last_seq
    fake_line.reset()
    assert fake_line.conversation(uid) == [] and fake_line.refusals() == [] and fake_line.chats() == []
    assert push(http, uid, text("y")).status_code == 200
    assert fake_line.conversation(uid)[0].seq > before


# ----------------------------------------------------------------------------------- a person's actions
def test_a_persons_actions_go_to_the_product_signed_and_into_the_chat(
    fake_line: LineEmulator, receiver: Receiver, http: httpx.Client
) -> None:
    uid = new_user_id()
    fake_line.block(uid)
    follow = fake_line.user_follows(uid)
    assert follow.kind == "follow" and uid not in fake_line.blocked
    assert push(http, uid, text("การ์ดรายงาน")).status_code == 200
    card = fake_line.conversation(uid)[-1]
    assert isinstance(card, Delivery)
    quoting = fake_line.user_says(uid, "อนุมัติ", quoted_message_id=card.sent_message_ids[0])
    tapped = fake_line.user_taps(uid, "v1|approve|report=1", display_text="อนุมัติแล้ว")
    photo = fake_line.user_sends_image(uid, b"\xff\xd8\xff-photo", "image/jpeg")

    assert quoting.event["message"]["quotedMessageId"] == card.sent_message_ids[0]
    assert quoting.event["message"]["quoteToken"] and quoting.message_id.isdigit()
    assert (tapped.kind, tapped.display_text, tapped.event["postback"]["data"]) == (
        "postback",
        "อนุมัติแล้ว",
        "v1|approve|report=1",
    )
    assert photo.kind == "image"
    content = http.get(f"/v2/bot/message/{photo.message_id}/content")
    assert content.content == b"\xff\xd8\xff-photo" and content.headers["content-type"] == "image/jpeg"
    assert all(t.status == 200 for t in (follow, quoting, tapped, photo))
    assert fake_line.conversation(uid) == [follow, card, quoting, tapped, photo]
    sent = [b["events"][0]["webhookEventId"] for b in receiver.bodies]
    assert sent == [t.event["webhookEventId"] for t in (follow, quoting, tapped, photo)]

    # a redelivery is LINE repeating itself, not the person acting again
    assert fake_line.redeliver_sync(quoting.event).status_code == 200
    assert len(receiver.bodies) == 5 and len(fake_line.conversation(uid)) == 5


async def test_act_async_and_plain_send_are_recorded_too(fake_line: LineEmulator, receiver: Receiver) -> None:
    uid = new_user_id()
    turn = await fake_line.act_async(fake_line.text_event(uid, "จากหน้าเว็บ"))
    assert (turn.status, turn.kind) == (200, "text")
    assert (await fake_line.send(fake_line.sticker_event(uid))).status_code == 200
    assert fake_line.send_sync(fake_line.location_event(uid)).status_code == 200
    kinds = [t.kind for t in fake_line.conversation(uid) if isinstance(t, UserTurn)]
    assert kinds == ["text", "sticker", "location"]
    assert all(t.status == 200 for t in fake_line.conversation(uid))


def test_an_unreachable_product_leaves_the_turn_without_an_answer(fake_line: LineEmulator) -> None:
    closed = socket_closed_port()
    fake_line.webhook_url = f"http://127.0.0.1:{closed}/callback"
    uid = new_user_id()
    with pytest.raises(httpx.ConnectError):
        fake_line.user_says(uid, "ฮัลโหล")
    (turn,) = fake_line.conversation(uid)
    assert isinstance(turn, UserTurn) and turn.status is None


def socket_closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


# ----------------------------------------------------------------------------------- the product's clock
def test_the_product_clock_stamps_events_ages_tokens_and_turns_the_quota_month(receiver: Receiver) -> None:
    # 23:59 on 31 January in Bangkok is still January in UTC, and so is 00:00 on 1 February.
    clock = Clock(datetime(2027, 1, 31, 23, 59, tzinfo=BANGKOK))
    with LineEmulator(clock=clock, quota_limit=1, webhook_url=receiver.url) as line:
        headers = {"Authorization": f"Bearer {line.access_token}"}
        with httpx.Client(base_url=line.base_url, headers=headers, trust_env=False, timeout=5) as http:
            uid = new_user_id()
            event = line.text_event(uid, "x")
            assert event["timestamp"] == int(clock.at.timestamp() * 1000)
            clock.at += timedelta(seconds=59)
            assert reply(http, event["replyToken"], text("ทัน")).status_code == 200
            late = line.text_event(uid, "y")["replyToken"]
            clock.at += timedelta(seconds=61)  # now 00:01 on 1 February in Bangkok
            assert reply(http, late, text("ช้าไป")).json() == {"message": MSG_INVALID_REPLY_TOKEN}

            assert line.quota().month == "2027-02"
            assert push(http, uid, text("กุมภาพันธ์")).status_code == 200
            assert push(http, uid, text("เกินโควตา")).status_code == 429
            clock.at = datetime(2027, 1, 15, 9, 0, tzinfo=BANGKOK)  # back: January's count is its own
            assert (line.quota_used, line.quota().month) == (0, "2027-01")
            assert push(http, uid, text("มกราคม")).status_code == 200
            pushes = [t for t in line.conversation(uid) if isinstance(t, Delivery) and t.kind == "push"]
            assert [(p.quota_used, p.at) for p in pushes] == [
                (1, datetime(2027, 2, 1, 0, 1, tzinfo=BANGKOK)),
                (1, datetime(2027, 1, 15, 9, 0, tzinfo=BANGKOK)),
            ]
            assert line.violations == []


# ----------------------------------------------------------------------------------- mounted in an app
@pytest.fixture
def mounted() -> Iterator[tuple[LineEmulator, str]]:
    """The emulator mounted at /line in an ASGI app served on a loopback port (as a service would)."""
    line = LineEmulator()
    app = Starlette(routes=[Mount("/line", app=line)])
    server = LoopbackServer(app, name="mounted-line-emulator")
    server.start()
    try:
        yield line, f"http://127.0.0.1:{server.port}/line"
    finally:
        server.stop()


def test_the_products_line_client_works_against_the_mounted_emulator(
    mounted: tuple[LineEmulator, str],
) -> None:
    line, base = mounted
    client = LineClient(
        access_token=line.access_token,
        api_base_url=base,
        data_api_base_url=base,
        retry=RetryPolicy(attempts=1, sleep=lambda _: None),
    )
    try:
        uid = line.add_user("ผอ.สมชาย")
        token = line.issue_reply_token(uid)
        assert client.reply(token, [text("รับทราบ")]).status is SendStatus.SENT
        pushed = client.push(uid, [text("แจ้งเตือน")], retry_key=str(uuid.uuid4()))
        assert pushed.status is SendStatus.SENT and pushed.sent_messages[0].quote_token
        assert client.multicast([uid], [text("ทุกคน")], retry_key=str(uuid.uuid4())).delivered
        assert client.get_profile(uid)["displayName"] == "ผอ.สมชาย"
        line.add_content("1234567890", b"photo-bytes", "image/png")
        assert client.get_content("1234567890", max_bytes=1000) == (b"photo-bytes", "image/png")
        assert client.show_loading(uid, 5)
        refused = client.push(uid, [bad_flex()], retry_key=str(uuid.uuid4()))
    finally:
        client.close()
    assert refused.status is SendStatus.PERMANENT and "messages[0].contents" in (refused.error or "")
    line.expect_violations("messages\\[0\\].contents")
    assert [d.kind for d in line.conversation(uid) if isinstance(d, Delivery)] == [
        "reply",
        "push",
        "multicast",
    ]
    (refusal,) = line.refusals()
    assert refusal.violation and refusal.chat_ids == (uid,) and refusal.path == "/v2/bot/message/push"
    assert {r.path for r in line.requests} <= {
        "/v2/bot/message/reply",
        "/v2/bot/message/push",
        "/v2/bot/message/multicast",
        f"/v2/bot/profile/{uid}",
        "/v2/bot/message/1234567890/content",
        "/v2/bot/chat/loading/start",
    }  # the mount point is not part of LINE's paths
    assert line.unexpected_violations() == []


def test_rich_menus_through_the_mounted_emulator(mounted: tuple[LineEmulator, str]) -> None:
    line, base = mounted
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "main",
        "chatBarText": "เมนู",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                "action": {"type": "postback", "label": "งานของฉัน", "data": "v1|menu|tasks"},
            }
        ],
    }
    headers = {"Authorization": f"Bearer {line.access_token}"}
    uid, other = new_user_id(), new_user_id()
    with httpx.Client(base_url=base, headers=headers, trust_env=False, timeout=5) as http:
        main = http.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
        personal = http.post("/v2/bot/richmenu", json={**menu, "name": "director"}).json()["richMenuId"]
        for rid in (main, personal):
            r = http.post(
                f"/v2/bot/richmenu/{rid}/content", content=b"\x89PNG", headers={"Content-Type": "image/png"}
            )
            assert r.status_code == 200
        assert http.post(f"/v2/bot/user/all/richmenu/{main}").status_code == 200
        assert http.post(f"/v2/bot/user/{uid}/richmenu/{personal}").status_code == 200
        assert {m["name"] for m in http.get("/v2/bot/richmenu/list").json()["richmenus"]} == {
            "main",
            "director",
        }
        assert line.rich_menu_of(uid)["name"] == "director"
        assert line.rich_menu_of(other)["name"] == "main"
        assert line.rich_menu_image(personal) == (b"\x89PNG", "image/png")
        third = new_user_id()
        r = http.post("/v2/bot/richmenu/bulk/link", json={"richMenuId": personal, "userIds": [other, third]})
        assert r.status_code == 202 and line.rich_menu_of(third)["name"] == "director"
        r = http.post("/v2/bot/richmenu/bulk/unlink", json={"userIds": [other, third]})
        assert r.status_code == 202 and line.rich_menu_of(third)["name"] == "main"
        assert (
            http.post(
                "/v2/bot/richmenu/alias", json={"richMenuAliasId": "tab-main", "richMenuId": main}
            ).status_code
            == 200
        )
        assert line.rich_menu_by_alias("tab-main")["name"] == "main"
        assert http.get("/v2/bot/richmenu/alias/list").json() == {
            "aliases": [{"richMenuAliasId": "tab-main", "richMenuId": main}]
        }
        assert http.delete(f"/v2/bot/richmenu/{main}").status_code == 200
        assert line.rich_menu_of(other) is None and line.rich_menu_by_alias("tab-main") is None
        assert http.get("/v2/bot/richmenu/alias/tab-main").status_code == 404
        line.expect_violations("size|userIds")
        too_tall = {**menu, "size": {"width": 800, "height": 2000}}
        assert http.post("/v2/bot/richmenu", json=too_tall).status_code == 400
        r = http.post("/v2/bot/richmenu/bulk/link", json={"richMenuId": personal, "userIds": ["Cnot-a-user"]})
        assert r.status_code == 400
    missing_alias, too_tall_menu, group_link = line.refusals()
    assert (missing_alias.status, missing_alias.violation) == (404, False)
    assert too_tall_menu.violation and too_tall_menu.chat_ids == ()
    assert too_tall_menu.operation_id == "createRichMenu"
    assert group_link.violation and group_link.details[0]["property"] == "userIds[0]"


# ----------------------------------------------------------------------------------- threads
def test_concurrent_senders_and_readers_see_a_consistent_record(fake_line: LineEmulator) -> None:
    users = [new_user_id() for _ in range(6)]
    shared = new_user_id()
    per_thread = 15
    errors: list[BaseException] = []
    stop = threading.Event()
    seen_lengths: list[list[int]] = [[], []]

    def sender(uid: str) -> None:
        headers = {"Authorization": f"Bearer {fake_line.access_token}"}
        try:
            with httpx.Client(base_url=fake_line.base_url, headers=headers, trust_env=False, timeout=10) as c:
                for i in range(per_thread):
                    assert push(c, uid, text(f"{i}")).status_code == 200
                    assert push(c, shared, text(f"{uid[-4:]}-{i}")).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    def reader(seen: list[int]) -> None:
        while not stop.is_set():
            turns = fake_line.conversation(shared)
            seqs = [t.seq for t in turns]
            if seqs != sorted(set(seqs)):
                errors.append(AssertionError(f"out of order: {seqs}"))
            seen.append(len(turns))
            fake_line.refusals()

    threads = [threading.Thread(target=sender, args=(u,)) for u in users]
    readers = [threading.Thread(target=reader, args=(seen,)) for seen in seen_lengths]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stop.set()
    for t in readers:
        t.join(timeout=10)
    assert errors == []
    assert len(fake_line.conversation(shared)) == len(users) * per_thread
    assert all(len(fake_line.conversation(u)) == per_thread for u in users)
    every = [t.seq for chat in fake_line.chats() for t in fake_line.conversation(chat)]
    assert len(every) == len(set(every)) == 2 * len(users) * per_thread
    assert fake_line.quota_used == 2 * len(users) * per_thread
    assert all(seen == sorted(seen) for seen in seen_lengths)  # a reader never sees the record shrink


def test_wait_for_activity_wakes_on_the_next_turn(fake_line: LineEmulator, http: httpx.Client) -> None:
    start = fake_line.last_seq
    assert fake_line.wait_for_activity(start, timeout=0) == start  # nothing new: returns at once
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(fake_line.wait_for_activity(start, timeout=30)))
    waiter.start()
    uid = new_user_id()
    assert push(http, uid, text("มาแล้ว")).status_code == 200
    waiter.join(timeout=30)
    (delivery,) = fake_line.conversation(uid)
    assert woke == [delivery.seq] and delivery.seq > start


# ----------------------------------------------------------------------------------- the real product
@pytest.mark.usefixtures("office_clock")
def test_the_product_answers_a_person_through_the_emulator(
    db_url: str, fake_line: LineEmulator, tmp_path: Path
) -> None:
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        uid = fake_line.add_user("ครูใจดี")
        follow = fake_line.user_follows(uid)
        greeting = fake_line.wait_for(
            lambda: [t for t in fake_line.conversation(uid) if isinstance(t, Delivery)], timeout=10
        )[0]
        said = fake_line.user_says(uid, "โครงการของฉัน")
        answers = fake_line.wait_for(
            lambda: (
                (d := [t for t in fake_line.conversation(uid) if isinstance(t, Delivery)])
                and len(d) >= 2
                and d
            ),
            timeout=10,
        )
    assert follow.status == 200 and said.status == 200
    assert greeting.kind == "reply" and greeting.seq > follow.seq
    assert "รหัสลงทะเบียน" in greeting.messages[0]["text"]
    assert answers[1].kind == "reply" and answers[1].seq > said.seq
    assert "ยังไม่ได้ลงทะเบียน" in answers[1].messages[0]["text"]
    assert fake_line.refusals() == [] and fake_line.quota_used == 0


# ----------------------------------------------------------------------------------- the installed package
def test_spec_files_are_package_data_of_the_emulator() -> None:
    assert Path(str(SPEC_DIR)) == ROOT / "tidtam" / "emulator" / "spec"
    for name in ("messaging-api.yml", "webhook.yml", "LICENSE", "NOTICE", "SOURCE"):
        assert (SPEC_DIR / name).is_file(), name
    assert (SPEC_DIR / "SOURCE").read_text().split()[0] in (SPEC_DIR / "NOTICE").read_text()


_INSTALLED_CHECK = """
import json, sys
import httpx
import tidtam.emulator as emulator
from tidtam.emulator import LineEmulator, messaging_spec
with LineEmulator() as line:
    headers = {"Authorization": f"Bearer {line.access_token}"}
    bad = {"to": "U" + "0" * 32, "messages": [{"type": "text", "text": ""}]}
    r = httpx.post(f"{line.base_url}/v2/bot/message/push", json=bad, headers=headers, trust_env=False)
    print(json.dumps({
        "module": emulator.__file__,
        "spec": str(messaging_spec().path),
        "status": r.status_code,
        "violations": line.violations,
        "refused": [x.violation for x in line.refusals()],
    }))
"""


@pytest.mark.slow
def test_an_installed_wheel_finds_its_spec_files_without_the_checkout(tmp_path: Path) -> None:
    """Build the wheel from a copy of the sources (no ../shared beside it), unpack it, and run the
    emulator from there with nothing else of the checkout on the path."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("bot", "scheduler", "models", "messages", "tidtam", "migrations"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("tidtam-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    spec_files = ("messaging-api.yml", "webhook.yml", "LICENSE", "NOTICE", "SOURCE")
    assert {f"tidtam/emulator/spec/{name}" for name in spec_files} <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)

    # -S: no site-packages .pth files, so the editable install of this checkout is not on the path;
    # the dependencies come from this interpreter's site-packages, Tidtam only from the unpacked wheel.
    deps = sysconfig.get_paths()["purelib"]
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _INSTALLED_CHECK],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{site}:{deps}", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["module"]).is_relative_to(site)
    assert Path(result["spec"]).is_relative_to(site / "tidtam" / "emulator" / "spec")
    assert result["status"] == 400 and len(result["violations"]) == 1 and result["refused"] == [True]


async def test_the_emulator_answers_the_asgi_lifespan_protocol() -> None:
    """So it can also be run under any ASGI server with lifespan on."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await LineEmulator()({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_the_chats_record_and_the_quota_survive_a_restart(tmp_path: Path) -> None:
    from tidtam.emulator import LineEmulator
    from tidtam.emulator.records import Delivery, LoadingShown, Refusal, UserTurn

    clock = lambda: datetime(2027, 1, 11, 2, 0, tzinfo=ZoneInfo("UTC"))  # noqa: E731
    with LineEmulator(clock=clock) as first:
        first.expect_violations()
        uid = first.add_user("ครูใจดี")
        first.log.add([uid], UserTurn(0, clock(), uid, uid, first.text_event(uid, "สถานะ"), 200))
        line = httpx.Client(
            base_url=first.base_url, headers={"Authorization": f"Bearer {first.access_token}"}
        )
        assert (
            line.post("/v2/bot/chat/loading/start", json={"chatId": uid, "loadingSeconds": 5}).status_code
            == 202
        )
        pushed = line.post(
            "/v2/bot/message/push", json={"to": uid, "messages": [{"type": "text", "text": "แจ้งเตือนค่ะ"}]}
        )
        assert pushed.status_code == 200
        too_long = {"to": uid, "messages": [{"type": "text", "text": "ก" * 5001}]}
        assert line.post("/v2/bot/message/push", json=too_long).status_code == 400
        menu = {
            "size": {"width": 2500, "height": 843},
            "selected": False,
            "name": "m",
            "chatBarText": "เมนู",
            "areas": [
                {
                    "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                    "action": {"type": "message", "text": "สถานะ"},
                }
            ],
        }
        rich_menu_id = line.post("/v2/bot/richmenu", json=menu).json()["richMenuId"]
        jpeg = bytes.fromhex("ffd8ffe000104a464946000101") + b"\x00" * 64 + bytes.fromhex("ffd9")
        first.rich_menu_images[rich_menu_id] = (jpeg, "image/jpeg")
        first.user_rich_menus[uid] = rich_menu_id
        before = first.conversation(uid)
        path = tmp_path / "chats.json"
        first.save_record(path)
    assert [type(t) for t in before] == [UserTurn, LoadingShown, Delivery, Refusal]

    with LineEmulator(clock=clock) as second:
        assert second.load_record(path) == 4
        assert second.conversation(uid) == before
        assert second.quota().used == 1 and second.last_seq == before[-1].seq
        assert [r.seq for r in second.refusals()] == [before[-1].seq]
        message_id = before[2].sent_message_ids[0]
        assert second.sent_message(message_id) is not None
        assert second.rich_menu_of(uid)["richMenuId"] == rich_menu_id
        assert second.rich_menu_image(rich_menu_id) == (jpeg, "image/jpeg")
        assert second.load_record(tmp_path / "missing.json") == 0
