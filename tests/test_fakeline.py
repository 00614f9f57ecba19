"""Tests of the LINE emulator (tidtam/emulator, the suite's `fake_line`): real HTTP on 127.0.0.1 only."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    FlexContainer,
    FlexMessage,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    FollowEvent,
    ImageMessageContent,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from fakeline import (
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_ACCEPTED,
    FakeLine,
    Fault,
    block_line_hosts,
    messaging_spec,
    new_group_id,
    new_user_id,
    webhook_errors,
)
from fakeline.guard import LineHostBlockedError
from tidtam.emulator import SPEC_DIR
from tidtam.emulator.limits import grapheme_len, utf16_len


# ----------------------------------------------------------------------------------- helpers
def bubble(text: str = "สวัสดีครับ", label: str = "รับทราบ", data: str = "action=ack&id=1") -> dict[str, Any]:
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": text, "weight": "bold", "size": "xl", "wrap": True},
                {"type": "separator"},
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "action": {"type": "postback", "label": label, "data": data},
                }
            ],
        },
    }


def flex(contents: dict[str, Any], alt_text: str = "การ์ดแจ้งเตือน") -> dict[str, Any]:
    """A flex message dict built through line-bot-sdk's models, as the product does."""
    return FlexMessage(alt_text=alt_text, contents=FlexContainer.from_dict(contents)).to_dict()


def text(t: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **extra}


def quick_reply(n: int, label: str = "ตกลง") -> dict[str, Any]:
    return {
        "items": [
            {"type": "action", "action": {"type": "message", "label": label, "text": f"q{i}"}}
            for i in range(n)
        ]
    }


@pytest.fixture
def http(fake_line: FakeLine) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake_line.access_token}"}
    with httpx.Client(base_url=fake_line.base_url, headers=headers, timeout=5.0, trust_env=False) as client:
        yield client


def push(
    http: httpx.Client, to: str, *messages: dict[str, Any], retry_key: str | None = None
) -> httpx.Response:
    headers = {"X-Line-Retry-Key": retry_key} if retry_key else {}
    return http.post("/v2/bot/message/push", json={"to": to, "messages": list(messages)}, headers=headers)


class Receiver:
    """A product-like webhook endpoint: verifies the signature with line-bot-sdk's WebhookParser."""

    def __init__(self, channel_secret: str) -> None:
        self.parser = WebhookParser(channel_secret)
        self.bodies: list[dict[str, Any]] = []
        self.events: list[Any] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    events = receiver.parser.parse(
                        raw.decode("utf-8"), self.headers.get("X-Line-Signature", "")
                    )
                except InvalidSignatureError:
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(raw))
                receiver.events.extend(events)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver(fake_line: FakeLine) -> Iterator[Receiver]:
    r = Receiver(fake_line.channel_secret)
    fake_line.webhook_url = r.url
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
async def sdk(fake_line: FakeLine):  # type: ignore[no-untyped-def]
    config = Configuration(host=fake_line.base_url, access_token=fake_line.access_token)
    async with AsyncApiClient(config) as client:
        yield AsyncMessagingApi(client), AsyncMessagingApiBlob(client)


# ----------------------------------------------------------------------------------- spec files
def test_spec_files_and_licence_are_copied() -> None:
    for name in ("messaging-api.yml", "webhook.yml", "LICENSE", "NOTICE"):
        assert (SPEC_DIR / name).is_file(), name
    assert "Apache License" in (SPEC_DIR / "LICENSE").read_text()
    assert "line/line-openapi" in (SPEC_DIR / "NOTICE").read_text()
    spec = messaging_spec()
    assert spec is messaging_spec()  # loaded once
    op, params, _ = spec.match("GET", "/v2/bot/message/123/content")
    assert op is not None and op.data_api and params == {"messageId": "123"}
    assert (
        spec.match("GET", "/v2/bot/richmenu/list")[0].operation_id == "getRichMenuList"
    )  # literal beats {id}


# ----------------------------------------------------------------------------------- sending
def test_push_text_over_http(fake_line: FakeLine, http: httpx.Client) -> None:
    uid = new_user_id()
    r = push(http, uid, text("แจ้งเตือน: ส่งรายงานภายในวันศุกร์"))
    assert r.status_code == 200
    assert uuid.UUID(r.headers["x-line-request-id"])
    sent = r.json()["sentMessages"]
    assert len(sent) == 1 and sent[0]["id"].isdigit() and sent[0]["quoteToken"]
    assert fake_line.texts_to(uid) == ["แจ้งเตือน: ส่งรายงานภายในวันศุกร์"]
    (delivery,) = fake_line.deliveries
    assert (delivery.kind, delivery.to, delivery.sent_message_ids) == ("push", uid, [sent[0]["id"]])
    assert fake_line.sent_message(sent[0]["id"])[1]["text"].startswith("แจ้งเตือน")
    assert fake_line.quota_used == 1
    last = fake_line.requests[-1]
    assert (last.method, last.path, last.status, last.operation_id) == (
        "POST",
        "/v2/bot/message/push",
        200,
        "pushMessage",
    )
    assert last.body["to"] == uid and last.headers["authorization"].startswith("Bearer ")


async def test_sdk_reply_push_multicast_with_quick_reply_bubble_and_carousel(
    fake_line: FakeLine, sdk: Any
) -> None:
    api, _blob = sdk
    uid, others = new_user_id(), [new_user_id() for _ in range(3)]
    event = fake_line.text_event(uid, "เมนู")
    qr = QuickReply(
        items=[QuickReplyItem(action=PostbackAction(label="ส่งแล้ว", data="done=1", display_text="ส่งแล้ว"))]
    )
    reply = await api.reply_message(
        ReplyMessageRequest(
            reply_token=event["replyToken"], messages=[TextMessage(text="เลือกเลย", quick_reply=qr)]
        )
    )
    assert reply.sent_messages[0].id.isdigit()
    carousel = {"type": "carousel", "contents": [bubble(f"งาน {i}") for i in range(12)]}
    pushed = await api.push_message(
        PushMessageRequest.from_dict(
            {"to": uid, "messages": [flex(bubble()), flex(carousel, "งาน 12 รายการ")]}
        ),
        x_line_retry_key=str(uuid.uuid4()),
    )
    assert len(pushed.sent_messages) == 2
    assert (
        await api.multicast(MulticastRequest(to=others, messages=[TextMessage(text="ประชุม 9 โมง")]))
        is not None
    )
    assert fake_line.texts_to(uid) == ["เลือกเลย", "การ์ดแจ้งเตือน", "งาน 12 รายการ"]
    assert [d.kind for d in fake_line.deliveries_to(uid)] == ["reply", "push"]
    for other in others:
        assert fake_line.texts_to(other) == ["ประชุม 9 โมง"]
    assert fake_line.quota_used == 1 + 3  # the reply is free
    multicast_req = fake_line.requests_to("multicast")[0]
    assert multicast_req.response == {}  # the spec's MulticastResponse is an empty object
    assert fake_line.violations == []


async def test_sdk_errors_surface_as_api_exceptions(fake_line: FakeLine, sdk: Any) -> None:
    api, _ = sdk
    with pytest.raises(ApiException) as exc:
        await api.reply_message(
            ReplyMessageRequest(reply_token="not-issued-by-fake", messages=[TextMessage(text="x")])
        )
    assert exc.value.status == 400 and json.loads(exc.value.body) == {"message": MSG_INVALID_REPLY_TOKEN}


BAD_FLEX = {
    "box without layout": lambda b: b["body"].pop("layout"),
    "unknown component type": lambda b: b["body"]["contents"][0].update(type="txt"),
    "bad enum value": lambda b: b["body"]["contents"][0].update(weight="heavy"),
    "button without action": lambda b: b["footer"]["contents"][0].pop("action"),
    "unknown action type": lambda b: b["footer"]["contents"][0]["action"].update(type="postbak"),
    "hero of unknown type": lambda b: b.update(hero={"type": "picture", "url": "https://example.com/a.png"}),
}


@pytest.mark.parametrize("case", sorted(BAD_FLEX))
def test_invalid_flex_is_refused_and_recorded(fake_line: FakeLine, http: httpx.Client, case: str) -> None:
    good = flex(bubble())
    assert push(http, new_user_id(), good).status_code == 200
    bad = copy.deepcopy(good)
    BAD_FLEX[case](bad["contents"])
    fake_line.expect_violations()
    r = push(http, new_user_id(), bad)
    assert r.status_code == 400
    body = r.json()
    assert body["message"].startswith("The request body has") and body["details"]
    assert all(d["property"].startswith("messages[0].contents") for d in body["details"]), body
    assert len(fake_line.violations) == 1 and "messages[0].contents" in fake_line.violations[0]
    assert len(fake_line.deliveries) == 1


# ----------------------------------------------------------------------------------- limits
def _big_bubble() -> dict[str, Any]:
    b = bubble()
    b["body"]["contents"] = [{"type": "text", "text": "ก" * 1000, "wrap": True} for _ in range(11)]
    return b


LIMIT_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    # name: (endpoint, body, property named in the error details)
    "6 messages": ("push", {"messages": [text("x")] * 6}, "messages"),
    "text 5001": ("push", {"messages": [text("ก" * 5001)]}, "messages[0].text"),
    "emoji text over 5000 UTF-16 units": ("push", {"messages": [text("🍎" * 2501)]}, "messages[0].text"),
    "empty text": ("push", {"messages": [text("")]}, "messages[0].text"),
    "14 quick replies": (
        "push",
        {"messages": [text("x", quickReply=quick_reply(14))]},
        "messages[0].quickReply.items",
    ),
    "label 21": (
        "push",
        {"messages": [text("x", quickReply=quick_reply(1, label="a" * 21))]},
        "messages[0].quickReply.items[0].action.label",
    ),
    "postback data 301": (  # raw dict: line-bot-sdk's own models refuse to build this one
        "push",
        {"messages": [{"type": "flex", "altText": "x", "contents": bubble(data="d" * 301)}]},
        "messages[0].contents.footer",
    ),
    "altText 1501": ("push", {"messages": [flex(bubble(), alt_text="a" * 1501)]}, "messages[0].altText"),
    "bubble over 30 KB": ("push", {"messages": [flex(_big_bubble())]}, "messages[0].contents"),
    "carousel of 13": (
        "push",
        {"messages": [flex({"type": "carousel", "contents": [bubble()] * 13})]},
        "messages[0].contents.contents",
    ),
    "multicast 501": (
        "multicast",
        {"to": [new_user_id() for _ in range(501)], "messages": [text("x")]},
        "to",
    ),
    "multicast to a group": ("multicast", {"to": [new_group_id()], "messages": [text("x")]}, "to[0]"),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_line_limits_are_enforced(fake_line: FakeLine, http: httpx.Client, case: str) -> None:
    endpoint, body, prop = LIMIT_CASES[case]
    body = {"to": new_user_id(), **body} if endpoint == "push" else body
    fake_line.expect_violations()
    r = http.post(f"/v2/bot/message/{endpoint}", json=body)
    assert r.status_code == 400, r.text
    assert any(d["property"].startswith(prop) for d in r.json()["details"]), r.json()
    assert fake_line.deliveries == [] and fake_line.quota_used == 0
    assert len(fake_line.violations) == 1


def test_limits_at_the_boundary_pass(fake_line: FakeLine, http: httpx.Client) -> None:
    uid = new_user_id()
    thai_label = "ที่นี่ที่นั่นที่โน่นที่ไหน"  # 15 grapheme clusters, more than 20 code points
    assert grapheme_len(thai_label) <= 20 < len(thai_label)
    messages = [
        text("ก" * 5000),
        text("🍎" * 2500),  # 5000 UTF-16 code units
        text("x", quickReply=quick_reply(13, label=thai_label)),
        flex(bubble(data="d" * 300), alt_text="a" * 1500),
        flex({"type": "carousel", "contents": [bubble()] * 12}),
    ]
    assert push(http, uid, *messages).status_code == 200
    r = http.post(
        "/v2/bot/message/multicast", json={"to": [new_user_id() for _ in range(500)], "messages": [text("x")]}
    )
    assert r.status_code == 200 and r.json() == {}
    assert fake_line.quota_used == 501


def test_character_counting() -> None:
    assert utf16_len("🍎") == 2 and utf16_len("ก") == 1 and utf16_len("\r\n") == 2
    assert grapheme_len("ที่") == 1 and grapheme_len("กำ") == 1 and grapheme_len("🇹🇭") == 1
    assert grapheme_len("👍🏽") == 1 and grapheme_len("abc") == 3 and grapheme_len("") == 0


# ----------------------------------------------------------------------------------- reply tokens
def test_reply_token_is_single_use_and_expires(fake_line: FakeLine, http: httpx.Client) -> None:
    uid = new_user_id()

    def reply(token: str) -> httpx.Response:
        return http.post("/v2/bot/message/reply", json={"replyToken": token, "messages": [text("ok")]})

    token = fake_line.text_event(uid, "hi")["replyToken"]
    assert reply(token).status_code == 200
    again = reply(token)
    assert again.status_code == 400 and again.json() == {"message": MSG_INVALID_REPLY_TOKEN}

    late = fake_line.postback_event(uid, "a=1")["replyToken"]
    fake_line.advance_time(61)
    assert reply(late).json() == {"message": MSG_INVALID_REPLY_TOKEN}

    assert reply("0" * 32).status_code == 400  # not issued by the fake
    assert fake_line.texts_to(uid) == ["ok"]
    assert fake_line.violations == []  # an invalid token is a runtime condition, not a contract breach


def test_reply_token_ttl_is_configurable_and_group_replies_go_to_the_group(
    fake_line: FakeLine, http: httpx.Client
) -> None:
    fake_line.reply_token_ttl = 5
    gid = new_group_id()
    token = fake_line.group_text_event(gid, new_user_id(), "@bot สรุป")["replyToken"]
    fake_line.advance_time(4)
    r = http.post("/v2/bot/message/reply", json={"replyToken": token, "messages": [text("สรุปแล้ว")]})
    assert r.status_code == 200
    assert fake_line.texts_to(gid) == ["สรุปแล้ว"]
    token2 = fake_line.join_event(gid)["replyToken"]
    fake_line.advance_time(6)
    r = http.post("/v2/bot/message/reply", json={"replyToken": token2, "messages": [text("x")]})
    assert r.status_code == 400


# ----------------------------------------------------------------------------------- retry keys
def test_retry_key_dedupes_with_409(fake_line: FakeLine, http: httpx.Client) -> None:
    uid, key = new_user_id(), str(uuid.uuid4())
    first = push(http, uid, text("ครั้งเดียว"), retry_key=key)
    assert first.status_code == 200
    second = push(http, uid, text("ครั้งเดียว"), retry_key=key)
    assert second.status_code == 409
    assert second.json()["message"] == MSG_RETRY_KEY_ACCEPTED
    assert second.json()["sentMessages"] == first.json()["sentMessages"]
    assert second.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert second.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    assert fake_line.texts_to(uid) == ["ครั้งเดียว"] and fake_line.quota_used == 1
    fake_line.advance_time(24 * 3600 + 1)  # the key is honoured for 24 hours
    assert push(http, uid, text("ครั้งเดียว"), retry_key=key).status_code == 200

    mkey = str(uuid.uuid4())
    body = {"to": [new_user_id(), new_user_id()], "messages": [text("m")]}
    assert (
        http.post("/v2/bot/message/multicast", json=body, headers={"X-Line-Retry-Key": mkey}).status_code
        == 200
    )
    dup = http.post("/v2/bot/message/multicast", json=body, headers={"X-Line-Retry-Key": mkey})
    assert dup.status_code == 409 and "x-line-accepted-request-id" in dup.headers
    assert len(fake_line.deliveries_to(body["to"][0])) == 1
    assert fake_line.violations == []


@pytest.mark.parametrize("key", ["not-a-uuid", "123e4567e89b12d3a456426614174000", "123"])
def test_retry_key_must_be_a_uuid(fake_line: FakeLine, http: httpx.Client, key: str) -> None:
    fake_line.expect_violations()
    r = push(http, new_user_id(), text("x"), retry_key=key)
    assert r.status_code == 400 and "UUID" in r.json()["message"]
    assert fake_line.deliveries == [] and len(fake_line.violations) == 1


def test_retry_key_on_reply_is_refused(fake_line: FakeLine, http: httpx.Client) -> None:
    token = fake_line.text_event(new_user_id(), "x")["replyToken"]
    fake_line.expect_violations("X-Line-Retry-Key")
    body = {"replyToken": token, "messages": [text("x")]}
    r = http.post("/v2/bot/message/reply", json=body, headers={"X-Line-Retry-Key": str(uuid.uuid4())})
    assert r.status_code == 400 and fake_line.unexpected_violations() == []
    assert len(fake_line.violations) == 1


# ----------------------------------------------------------------------------------- faults
def test_scripted_429_then_500_then_200(fake_line: FakeLine, http: httpx.Client) -> None:
    uid, key = new_user_id(), str(uuid.uuid4())
    fake_line.fail_next("push", [429, 500, 200], retry_after=2)
    r1 = push(http, uid, text("retry me"), retry_key=key)
    assert r1.status_code == 429 and r1.json() == {"message": MSG_RATE_LIMIT}
    assert r1.headers["retry-after"] == "2"
    r2 = push(http, uid, text("retry me"), retry_key=key)
    assert r2.status_code == 500 and "retry-after" not in r2.headers
    r3 = push(http, uid, text("retry me"), retry_key=key)
    assert r3.status_code == 200
    assert push(http, uid, text("next"), retry_key=str(uuid.uuid4())).status_code == 200  # script used up
    assert fake_line.texts_to(uid) == ["retry me", "next"]
    assert [r.status for r in fake_line.requests] == [429, 500, 200, 200]


def test_fault_after_delivery_then_retry_gets_409(fake_line: FakeLine, http: httpx.Client) -> None:
    uid, key = new_user_id(), str(uuid.uuid4())
    fake_line.fail_next("/v2/bot/message/push", Fault(500, deliver=True))
    assert push(http, uid, text("maybe sent"), retry_key=key).status_code == 500
    assert fake_line.texts_to(uid) == ["maybe sent"]  # LINE delivered despite the 500
    assert push(http, uid, text("maybe sent"), retry_key=key).status_code == 409
    assert fake_line.texts_to(uid) == ["maybe sent"]


def test_fail_next_other_kinds(fake_line: FakeLine, http: httpx.Client) -> None:
    uid = new_user_id()
    fake_line.fail_next("profile", [503])
    assert http.get(f"/v2/bot/profile/{uid}").status_code == 503
    assert http.get(f"/v2/bot/profile/{uid}").status_code == 200


def test_delay_next_slows_a_response_but_the_push_still_lands(
    fake_line: FakeLine, http: httpx.Client
) -> None:
    uid = new_user_id()
    fake_line.delay_next("push", 0.5)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v2/bot/message/push", json={"to": uid, "messages": [text("slow")]}, timeout=0.1)
    assert fake_line.wait_for(lambda: fake_line.texts_to(uid), timeout=3.0) == ["slow"]
    started = time.monotonic()
    assert push(http, uid, text("fast")).status_code == 200
    assert time.monotonic() - started < 0.4


def test_wait_for_is_bounded(fake_line: FakeLine) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fake_line.wait_for(lambda: False, timeout=0.05)
    assert time.monotonic() - started < 1.0


async def test_wait_for_async_is_bounded(fake_line: FakeLine) -> None:
    with pytest.raises(TimeoutError):
        await fake_line.wait_for_async(lambda: [], timeout=0.05)
    assert await fake_line.wait_for_async(lambda: 42, timeout=0.05) == 42


# ----------------------------------------------------------------------------------- users, quota
def test_blocked_user_push_is_accepted_but_not_delivered_or_counted(
    fake_line: FakeLine, http: httpx.Client
) -> None:
    uid, friend = fake_line.add_user("ครูสมศรี", language="th"), new_user_id()
    assert uid.startswith("U") and len(uid) == 33
    assert http.get(f"/v2/bot/profile/{uid}").json()["displayName"] == "ครูสมศรี"
    fake_line.block(uid)
    r = push(http, uid, text("ถึงไหม"))
    assert r.status_code == 200  # LINE FAQ: no error for a user who blocked the account
    assert fake_line.messages_to(uid) == [] and fake_line.quota_used == 0
    assert [d.to for d in fake_line.dropped] == [uid]
    assert http.get(f"/v2/bot/profile/{uid}").status_code == 404
    r = http.post("/v2/bot/message/multicast", json={"to": [uid, friend], "messages": [text("ทุกคน")]})
    assert r.status_code == 200 and fake_line.quota_used == 1
    assert fake_line.texts_to(friend) == ["ทุกคน"] and fake_line.texts_to(uid) == []
    ev = fake_line.follow_event(uid, is_unblocked=True)  # the user unblocks
    assert ev["follow"]["isUnblocked"] is True
    assert push(http, uid, text("กลับมาแล้ว")).status_code == 200 and fake_line.texts_to(uid) == ["กลับมาแล้ว"]
    unfollow = fake_line.unfollow(uid)
    assert unfollow["type"] == "unfollow" and "replyToken" not in unfollow and uid in fake_line.blocked


def test_unknown_recipients_fail_to_send(fake_line: FakeLine, http: httpx.Client) -> None:
    for to in ("Uxyz", new_group_id()):  # malformed id; group the bot is not in
        r = push(http, to, text("x"))
        assert r.status_code == 400 and r.json() == {"message": MSG_FAILED_TO_SEND}
    assert fake_line.deliveries == [] and fake_line.violations == []


async def test_monthly_quota(fake_line: FakeLine, http: httpx.Client, sdk: Any) -> None:
    api, _ = sdk
    fake_line.set_quota(3)
    uid = new_user_id()
    assert (
        push(http, uid, text("1"), text("2"), text("3"), text("4"), text("5")).status_code == 200
    )  # counts 1
    r = http.post(
        "/v2/bot/message/multicast", json={"to": [new_user_id() for _ in range(3)], "messages": [text("x")]}
    )
    assert r.status_code == 429 and r.json() == {"message": MSG_MONTHLY_LIMIT}
    reply_token = fake_line.text_event(uid, "x")["replyToken"]
    r = http.post("/v2/bot/message/reply", json={"replyToken": reply_token, "messages": [text("free")]})
    assert r.status_code == 200  # replies are free
    quota = await api.get_message_quota()
    assert (quota.type, quota.value) == ("limited", 3)
    assert (await api.get_message_quota_consumption()).total_usage == 1
    fake_line.set_quota(None)
    assert (await api.get_message_quota()).type == "none"


async def test_group_push_counts_members_and_group_endpoints(
    fake_line: FakeLine, http: httpx.Client, sdk: Any
) -> None:
    api, _ = sdk
    gid = fake_line.add_group("ศึกษานิเทศก์", member_count=7)
    fake_line.join_event(gid)  # already registered: keeps name and member count
    assert push(http, gid, text("ประกาศ")).status_code == 200
    assert fake_line.quota_used == 7
    summary = await api.get_group_summary(gid)
    assert (summary.group_id, summary.group_name) == (gid, "ศึกษานิเทศก์")
    assert (await api.get_group_member_count(gid)).count == 7
    fake_line.leave_event(gid)
    assert push(http, gid, text("ยังอยู่ไหม")).json() == {"message": MSG_FAILED_TO_SEND}
    with pytest.raises(ApiException) as exc:
        await api.get_group_summary(gid)
    assert exc.value.status == 404


async def test_loading_animation(fake_line: FakeLine, sdk: Any) -> None:
    api, _ = sdk
    uid = new_user_id()
    await api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=uid, loading_seconds=10))
    assert fake_line.loading_animations == [(uid, 10)]
    assert fake_line.requests[-1].status == 202
    fake_line.expect_violations("loadingSeconds")
    with pytest.raises(ApiException) as exc:
        await api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=uid, loading_seconds=7))
    assert exc.value.status == 400
    with pytest.raises(ApiException):
        await api.show_loading_animation(
            ShowLoadingAnimationRequest(chat_id=new_group_id(), loading_seconds=5)
        )
    assert len(fake_line.violations) == 1


# ----------------------------------------------------------------------------------- content & rich menu
async def test_content_download_via_data_api(fake_line: FakeLine, sdk: Any, http: httpx.Client) -> None:
    _, blob = sdk
    uid = new_user_id()
    png = b"\x89PNG\r\n\x1a\nfake-image"
    event = fake_line.image_event(uid, png, "image/png")
    mid = event["message"]["id"]
    assert bytes(await blob.get_message_content(mid)) == png
    r = http.get(f"/v2/bot/message/{mid}/content")
    assert r.content == png and r.headers["content-type"] == "image/png"
    assert http.get("/v2/bot/message/999/content").status_code == 404
    file_ev = fake_line.file_event(uid, "รายงาน.xlsx", b"PK\x03\x04xlsx")
    assert file_ev["message"]["fileSize"] == 8
    assert http.get(f"/v2/bot/message/{file_ev['message']['id']}/content").content == b"PK\x03\x04xlsx"


async def test_rich_menu_create_upload_set_default(fake_line: FakeLine, sdk: Any) -> None:
    api, blob = sdk
    area = RichMenuArea(
        bounds=RichMenuBounds(x=0, y=0, width=2500, height=843),
        action=PostbackAction(label="งาน", data="menu=tasks"),
    )
    req = RichMenuRequest(
        size=RichMenuSize(width=2500, height=843),
        selected=True,
        name="main",
        chat_bar_text="เมนู",
        areas=[area],
    )
    rid = (await api.create_rich_menu(req)).rich_menu_id
    with pytest.raises(ApiException) as exc:
        await api.set_default_rich_menu(rid)  # no image yet
    assert exc.value.status == 400
    # The async SDK ignores _content_type for this call (and would JSON-encode the bytes): pass the header.
    await blob.set_rich_menu_image(rid, b"\x89PNG\r\n\x1a\n", _headers={"Content-Type": "image/png"})
    await api.set_default_rich_menu(rid)
    assert (await api.get_default_rich_menu_id()).rich_menu_id == rid == fake_line.default_rich_menu
    assert fake_line.rich_menu_images[rid][1] == "image/png"
    fake_line.expect_violations("content type")
    other = (await api.create_rich_menu(req)).rich_menu_id
    with pytest.raises(ApiException):
        await blob.set_rich_menu_image(
            other, b"\x89PNG", _headers={"Content-Type": "*/*"}
        )  # LINE wants jpeg/png
    assert len(fake_line.violations) == 1


# ----------------------------------------------------------------------------------- contract checks
def test_authorization_is_required(fake_line: FakeLine) -> None:
    fake_line.expect_violations()
    with httpx.Client(base_url=fake_line.base_url, trust_env=False) as client:
        r = client.post("/v2/bot/message/push", json={"to": new_user_id(), "messages": [text("x")]})
        assert r.status_code == 401 and "access token" in r.json()["message"]
        r = client.get("/v2/bot/message/quota", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
    assert len(fake_line.violations) == 2 and fake_line.deliveries == []


def test_unknown_path_method_and_bad_json_are_violations(fake_line: FakeLine, http: httpx.Client) -> None:
    fake_line.expect_violations()
    assert http.get("/v2/bot/message/sendd").status_code == 404
    assert http.get("/v2/bot/message/push").status_code == 405
    r = http.post("/v2/bot/message/push", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "could not be parsed as JSON" in r.json()["message"]
    r = http.post("/v2/bot/message/push", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = http.post("/v2/bot/message/push", json={"messages": [text("x")]})
    assert r.json()["details"] == [{"message": "must be specified", "property": "to"}]
    assert len(fake_line.violations) == 5


def test_unexpected_violation_fails_the_test_via_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import httpx

            def _push(fake, message):
                with httpx.Client(base_url=fake.base_url, trust_env=False) as c:
                    return c.post("/v2/bot/message/push", json={"to": "U" + "0" * 32, "messages": [message]},
                                  headers={"Authorization": f"Bearer {fake.access_token}"})

            def test_bad(fake_line):
                assert _push(fake_line, {"type": "text", "text": ""}).status_code == 400

            def test_expected(fake_line):
                fake_line.expect_violations()
                assert _push(fake_line, {"type": "text", "text": ""}).status_code == 400

            def test_good(fake_line):
                assert _push(fake_line, {"type": "text", "text": "ok"}).status_code == 200
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "fakeline.pytest_plugin",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 2 passed" in proc.stdout, proc.stdout
    assert "refused 1 request(s) that LINE would reject" in proc.stdout


def test_line_hosts_cannot_be_resolved_under_the_guard() -> None:
    with block_line_hosts(), pytest.raises(LineHostBlockedError):
        socket.getaddrinfo("api.line.me", 443)
    with pytest.raises(LineHostBlockedError):  # the plugin's session guard is active in this run
        socket.getaddrinfo("api-data.line.me", 443)
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_reset_forgets_state(fake_line: FakeLine, http: httpx.Client) -> None:
    uid = new_user_id()
    token = fake_line.text_event(uid, "x")["replyToken"]
    push(http, uid, text("x"))
    fake_line.block(uid)
    fake_line.fail_next("push", [500])
    fake_line.reset()
    assert (fake_line.requests, fake_line.deliveries, fake_line.quota_used, fake_line.blocked) == (
        [],
        [],
        0,
        set(),
    )
    assert push(http, uid, text("y")).status_code == 200  # fault script cleared
    r = http.post("/v2/bot/message/reply", json={"replyToken": token, "messages": [text("x")]})
    assert r.status_code == 400  # tokens cleared


def test_large_valid_bodies_validate() -> None:
    """A text push, a bubble and text, and a five-bubble carousel are valid (their validation cost is
    measured by bench/emulator_bench.py, not here)."""
    spec = messaging_spec()
    carousel = {"type": "carousel", "contents": [bubble(f"งาน {i}") for i in range(5)]}
    bodies = {
        "text push": {"to": new_user_id(), "messages": [text("สวัสดี")]},
        "flex bubble + text push": {"to": new_user_id(), "messages": [flex(bubble()), text("x")]},
        "5-bubble carousel push": {"to": new_user_id(), "messages": [flex(carousel)]},
    }
    for name, body in bodies.items():
        assert spec.errors("PushMessageRequest", body) == [], name
        assert spec.jsonschema_errors("PushMessageRequest", body) == [], name


def test_a_discriminator_that_is_not_a_string_is_an_error_not_a_crash() -> None:
    """A Flex component whose `type` is a list or an object is refused with LINE's kind of error
    (the jsonschema walk used to raise TypeError on it: an unhashable dict key)."""
    spec = messaging_spec()
    for kind in (["text"], {"text": 1}):
        component = {"type": kind, "text": "x"}
        box = {"type": "box", "layout": "vertical", "contents": [component]}
        message = {"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": box}}
        body = {"to": new_user_id(), "messages": [message]}
        errors = spec.jsonschema_errors("PushMessageRequest", body)
        assert errors and spec.errors("PushMessageRequest", body) == errors
        assert any(e.property.endswith("contents[0].type") for e in errors), errors


def test_many_validated_pushes_over_http(fake_line: FakeLine, http: httpx.Client) -> None:
    """200 pushes on one keep-alive client are each validated and delivered once."""
    uid = new_user_id()
    n = 200
    for _ in range(n):
        push(http, uid, text("x"))
    assert len(fake_line.deliveries) == n
    assert {d.to for d in fake_line.deliveries} == {uid}


# ----------------------------------------------------------------------------------- webhook side
def _builders(fake: FakeLine) -> dict[str, dict[str, Any]]:
    uid, gid = new_user_id(), new_group_id()
    return {
        "text": fake.text_event(uid, "ส่งงานแล้ว"),
        "text quoting": fake.text_event(uid, "อันนี้", quoted_message_id="123456789"),
        "postback": fake.postback_event(uid, "action=done&id=7", {"date": "2026-07-01"}),
        "follow": fake.follow_event(uid),
        "unfollow": fake.unfollow_event(uid),
        "image": fake.image_event(uid, b"\xff\xd8\xff"),
        "sticker": fake.sticker_event(uid),
        "audio": fake.audio_event(uid),
        "location": fake.location_event(uid, 13.75, 100.5, title="สพม.", address="กรุงเทพฯ"),
        "file": fake.file_event(uid, "a.pdf", b"%PDF"),
        "join": fake.join_event(gid),
        "leave": fake.leave_event(gid),
        "group text": fake.group_text_event(gid, uid, "@bot"),
    }


def test_every_builder_validates_against_webhook_yml(fake_line: FakeLine) -> None:
    built = _builders(fake_line)
    assert len(built) == 13
    ids = set()
    for name, event in built.items():
        assert webhook_errors({"destination": fake_line.bot_user_id, "events": [event]}) == [], name
        assert len(event["webhookEventId"]) == 26, name
        assert event["deliveryContext"] == {"isRedelivery": False} and event["mode"] == "active"
        assert ("replyToken" in event) == (name not in ("unfollow", "leave")), name
        ids.add(event["webhookEventId"])
    assert len(ids) == len(built)
    assert built["text quoting"]["message"]["quotedMessageId"] == "123456789"
    broken = copy.deepcopy(built["text"])
    del broken["message"]["quoteToken"]
    assert webhook_errors({"destination": fake_line.bot_user_id, "events": [broken]})  # the check can fail


def test_send_sync_is_signed_and_parsed_by_the_sdk(fake_line: FakeLine, receiver: Receiver) -> None:
    built = _builders(fake_line)
    r = fake_line.send_sync(list(built.values()))
    assert r.status_code == 200
    events = receiver.events
    assert len(events) == 13
    assert isinstance(events[0], MessageEvent) and isinstance(events[0].message, TextMessageContent)
    assert events[0].message.text == "ส่งงานแล้ว"
    assert isinstance(events[2], PostbackEvent) and events[2].postback.params == {"date": "2026-07-01"}
    assert isinstance(events[3], FollowEvent) and isinstance(events[4], UnfollowEvent)
    assert isinstance(events[5].message, ImageMessageContent)
    assert isinstance(events[10], JoinEvent) and isinstance(events[11], LeaveEvent)
    assert receiver.bodies[0]["destination"] == fake_line.bot_user_id


async def test_async_send_redeliver_and_verify(fake_line: FakeLine, receiver: Receiver) -> None:
    uid = new_user_id()
    event = fake_line.text_event(uid, "สวัสดี")
    assert (await fake_line.send(event)).status_code == 200
    assert (await fake_line.redeliver(event)).status_code == 200
    first, again = receiver.bodies[0]["events"][0], receiver.bodies[1]["events"][0]
    assert first["webhookEventId"] == again["webhookEventId"]
    assert (
        first["deliveryContext"]["isRedelivery"] is False and again["deliveryContext"]["isRedelivery"] is True
    )
    assert event["deliveryContext"]["isRedelivery"] is False  # the caller's event is not mutated
    assert (await fake_line.verify_request()).status_code == 200
    assert receiver.bodies[2]["events"] == []
    assert fake_line.redeliver_sync(event).status_code == 200 and len(receiver.bodies) == 4


def test_wrong_signature_is_refused_by_the_sdk(fake_line: FakeLine, receiver: Receiver) -> None:
    body = json.dumps(fake_line.payload(fake_line.text_event(new_user_id(), "x"))).encode()
    assert fake_line.send_raw_sync(body, "bm90LXRoZS1zaWduYXR1cmU=").status_code == 400
    assert fake_line.send_raw_sync(body, None).status_code == 400
    assert receiver.events == []


def test_payload_validation_rejects_invalid_events(fake_line: FakeLine) -> None:
    from fakeline import WebhookPayloadError

    event = fake_line.text_event(new_user_id(), "x")
    event["mode"] = "sleeping"
    with pytest.raises(WebhookPayloadError, match="mode"):
        fake_line.payload(event)


def test_send_without_webhook_url_is_an_error(fake_line: FakeLine) -> None:
    with pytest.raises(RuntimeError, match="webhook_url"):
        fake_line.send_sync(fake_line.text_event(new_user_id(), "x"))


def test_context_manager_and_stop_release_the_port() -> None:
    with FakeLine(channel_secret="s3cret", access_token="tok") as fake:
        url = fake.base_url
        assert url.startswith("http://127.0.0.1:") and not url.endswith("/")
        r = httpx.get(f"{url}/v2/bot/info", headers={"Authorization": "Bearer tok"}, trust_env=False)
        assert r.json()["userId"] == fake.bot_user_id
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v2/bot/info", trust_env=False, timeout=2)
    with pytest.raises(ValueError):
        FakeLine(host="0.0.0.0")
