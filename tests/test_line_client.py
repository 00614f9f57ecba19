"""bot/line_client.py against the fake LINE platform over real HTTP on 127.0.0.1.

Backoff sleeps go to a recorder instead of the clock, so retries are instant and their delays visible.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bot.line_client import LineApiError, LineClient, RetryPolicy, SendStatus
from fakeline import MSG_MONTHLY_LIMIT, FakeLine, Fault

TEXT = {"type": "text", "text": "สวัสดีค่ะ"}
STICKER = {"type": "sticker", "packageId": "446", "stickerId": "1988"}


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


def _client(fake: FakeLine, sleeps: RecordingSleep, *, timeout: float = 5.0) -> LineClient:
    return LineClient(
        access_token=fake.access_token,
        api_base_url=fake.base_url,
        data_api_base_url=fake.base_url,
        timeout=timeout,
        retry=RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, sleep=sleeps),
    )


@pytest.fixture
def client(fake_line: FakeLine, sleeps: RecordingSleep) -> Iterator[LineClient]:
    client = _client(fake_line, sleeps)
    yield client
    client.close()


@pytest.fixture
def user(fake_line: FakeLine) -> str:
    return fake_line.add_user("ครูทดสอบ")


def key() -> str:
    return str(uuid.uuid4())


def test_push_returns_line_message_ids_and_sends_the_retry_key(fake_line, client, user) -> None:
    retry_key = key()
    result = client.push(user, [TEXT, STICKER], retry_key=retry_key)
    assert result.status is SendStatus.SENT and result.delivered
    (delivery,) = fake_line.deliveries_to(user)
    assert [m.id for m in result.sent_messages] == delivery.sent_message_ids
    assert all(m.quote_token for m in result.sent_messages)  # text and sticker are quotable
    assert result.request_id == delivery.request_id
    assert fake_line.requests_to("push")[0].headers["x-line-retry-key"] == retry_key
    assert fake_line.sent_message(result.sent_messages[0].id)[1] == TEXT


def test_reply_uses_no_retry_key_and_returns_ids(fake_line, client, user) -> None:
    token = fake_line.issue_reply_token(user)
    result = client.reply(token, [TEXT])
    assert result.status is SendStatus.SENT
    (delivery,) = fake_line.deliveries_to(user)
    assert delivery.kind == "reply" and delivery.sent_message_ids == [result.sent_messages[0].id]
    assert "x-line-retry-key" not in fake_line.requests_to("reply")[0].headers


def test_used_reply_token_is_reported_for_a_push_fallback(fake_line, client, user, sleeps) -> None:
    token = fake_line.issue_reply_token(user)
    assert client.reply(token, [TEXT]).delivered
    again = client.reply(token, [TEXT])
    assert again.status is SendStatus.INVALID_REPLY_TOKEN and not again.delivered
    assert sleeps.delays == []


def test_multicast_is_sent_once_to_everyone(fake_line, client) -> None:
    users = [fake_line.add_user() for _ in range(3)]
    result = client.multicast(users, [TEXT], retry_key=key())
    assert result.status is SendStatus.SENT and result.sent_messages == ()  # LINE answers {}
    assert [len(fake_line.deliveries_to(u)) for u in users] == [1, 1, 1]


def test_500_after_delivery_then_409_counts_as_delivered_once(fake_line, client, user, sleeps) -> None:
    fake_line.fail_next("push", Fault(500, deliver=True))
    result = client.push(user, [TEXT], retry_key=key())
    assert result.status is SendStatus.ALREADY_SENT and result.delivered
    assert result.http_status == 409 and result.attempts == 2
    assert len(fake_line.deliveries_to(user)) == 1
    assert [r.status for r in fake_line.requests_to("push")] == [500, 409]
    # the accepted request id names the request that delivered
    assert result.request_id == fake_line.deliveries_to(user)[0].request_id
    assert len(sleeps.delays) == 1


def test_409_without_a_retry_key_is_not_success(fake_line, client, user) -> None:
    fake_line.fail_next("reply", 409)
    result = client.reply(fake_line.issue_reply_token(user), [TEXT])
    assert result.status is SendStatus.PERMANENT and not result.delivered


def test_monthly_limit_is_quota_exhausted_and_not_retried(fake_line, client, user, sleeps) -> None:
    fake_line.set_quota(10, used=10)
    result = client.push(user, [TEXT], retry_key=key())
    assert result.status is SendStatus.QUOTA_EXHAUSTED and not result.delivered
    assert result.error == MSG_MONTHLY_LIMIT
    assert len(fake_line.requests_to("push")) == 1
    assert sleeps.delays == []
    assert fake_line.deliveries_to(user) == []


def test_400_is_permanent_and_not_retried(fake_line, client, sleeps) -> None:
    unknown_group = "C" + "9" * 32  # not a group the bot is in: LINE answers 400
    result = client.push(unknown_group, [TEXT], retry_key=key())
    assert result.status is SendStatus.PERMANENT
    assert result.http_status == 400 and result.error == "Failed to send messages"
    assert len(fake_line.requests_to("push")) == 1
    assert sleeps.delays == []


@pytest.mark.parametrize("status", [401, 403, 404])
def test_other_4xx_are_permanent(fake_line, client, user, sleeps, status) -> None:
    fake_line.fail_next("push", status)
    result = client.push(user, [TEXT], retry_key=key())
    assert result.status is SendStatus.PERMANENT and result.http_status == status
    assert len(fake_line.requests_to("push")) == 1 and sleeps.delays == []


def test_rate_limit_honours_retry_after(fake_line, client, user, sleeps) -> None:
    fake_line.fail_next("push", [429, 429], retry_after=3)
    result = client.push(user, [TEXT], retry_key=key())
    assert result.status is SendStatus.SENT and result.attempts == 3
    assert sleeps.delays == [3.0, 3.0]
    assert len(fake_line.deliveries_to(user)) == 1


def test_retry_after_is_capped(fake_line, client, user, sleeps) -> None:
    fake_line.fail_next("push", 429, retry_after=3600)
    assert client.push(user, [TEXT], retry_key=key()).delivered
    assert sleeps.delays == [client.retry.max_delay * 4]


def test_rate_limit_without_retry_after_backs_off_with_jitter(fake_line, client, user, sleeps) -> None:
    fake_line.fail_next("push", [429, 503, 502])
    result = client.push(user, [TEXT], retry_key=key())
    assert result.status is SendStatus.SENT and result.attempts == 4
    assert len(sleeps.delays) == 3
    for attempt, delay in enumerate(sleeps.delays, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_5xx_until_the_retries_run_out_is_transient(fake_line, client, user, sleeps) -> None:
    fake_line.fail_next("push", [500, 500, 500, 500])
    result = client.push(user, [TEXT], retry_key=key())
    assert result.status is SendStatus.TRANSIENT and result.attempts == 4
    assert len(fake_line.requests_to("push")) == 4 and len(sleeps.delays) == 3
    assert fake_line.deliveries_to(user) == []


def test_timeout_is_retried_and_delivered_once(fake_line, sleeps, user) -> None:
    client = _client(fake_line, sleeps, timeout=0.3)
    try:
        fake_line.delay_next("push", 1.0)  # the first attempt times out; LINE still accepts it later
        result = client.push(user, [TEXT], retry_key=key())
        assert result.delivered and result.attempts == 2
        assert len(sleeps.delays) == 1
        # when the slow first request lands it is answered 409: still exactly one delivery
        fake_line.wait_for(lambda: len(fake_line.requests_to("push")) == 2, timeout=5)
        assert len(fake_line.deliveries_to(user)) == 1
    finally:
        client.close()


def test_reply_timeout_is_not_retried(fake_line, sleeps, user) -> None:
    client = _client(fake_line, sleeps, timeout=0.3)
    try:
        fake_line.delay_next("reply", 1.0)
        result = client.reply(fake_line.issue_reply_token(user), [TEXT])
        assert result.status is SendStatus.TRANSIENT and result.error == "timeout" and result.attempts == 1
        assert sleeps.delays == []
        fake_line.wait_for(lambda: fake_line.requests_to("reply"), timeout=5)
        assert len(fake_line.requests_to("reply")) == 1
    finally:
        client.close()


def test_content_download_with_a_size_cap(fake_line, client, sleeps) -> None:
    fake_line.add_content("400000000000001", b"\xff\xd8" + b"x" * 998, "image/jpeg")
    content, content_type = client.get_content("400000000000001", max_bytes=1000)
    assert len(content) == 1000 and content.startswith(b"\xff\xd8") and content_type == "image/jpeg"

    with pytest.raises(LineApiError) as too_big:
        client.get_content("400000000000001", max_bytes=999)
    assert too_big.value.status == 413

    with pytest.raises(LineApiError) as missing:
        client.get_content("400000000000002", max_bytes=1000)
    assert missing.value.status == 404
    assert sleeps.delays == []  # neither is retried


def test_content_download_retries_5xx(fake_line, client, sleeps) -> None:
    fake_line.add_content("400000000000003", b"abc", "image/png")
    fake_line.fail_next("content", 503)
    assert client.get_content("400000000000003", max_bytes=10) == (b"abc", "image/png")
    assert len(sleeps.delays) == 1


def test_profile(fake_line, client, sleeps) -> None:
    uid = fake_line.add_user("ครูใจดี")
    assert client.get_profile(uid)["displayName"] == "ครูใจดี"
    fake_line.block(uid)
    with pytest.raises(LineApiError) as blocked:
        client.get_profile(uid)
    assert blocked.value.status == 404 and sleeps.delays == []


@pytest.mark.parametrize(("asked", "sent"), [(7, 5), (1, 5), (12, 10), (13, 15), (100, 60)])
def test_show_loading_rounds_to_what_line_accepts(fake_line, client, user, asked, sent) -> None:
    assert client.show_loading(user, asked) is True
    assert fake_line.loading_animations == [(user, sent)]


def test_show_loading_in_a_group_fails_quietly(fake_line, client) -> None:
    group = fake_line.add_group()
    assert client.show_loading(group) is False
    assert fake_line.loading_animations == []


def test_show_loading_never_raises_when_line_is_unreachable(fake_line, sleeps, user) -> None:
    client = LineClient(
        access_token="x", api_base_url="http://127.0.0.1:9", data_api_base_url="http://127.0.0.1:9", timeout=1
    )
    try:
        assert client.show_loading(user) is False
    finally:
        client.close()


@pytest.mark.parametrize(
    "message_id",
    ["../../../v2/bot/info?x=", "../../info?x=", "1/../2", "12?x=1", "1" * 21, "", "๑๒๓", "１２"],
)
def test_content_of_something_that_is_not_a_message_id_is_never_requested(
    fake_line, client, sleeps, message_id
) -> None:
    with pytest.raises(LineApiError) as refused:
        client.get_content(message_id, max_bytes=1000)
    assert refused.value.status is None and "not a LINE message id" in str(refused.value)
    assert fake_line.requests == [] and sleeps.delays == []


@pytest.mark.parametrize("user_id", ["../../info", "U" + "A" * 32, "U" + "a" * 31, "C" + "a" * 32, ""])
def test_profile_of_something_that_is_not_a_user_id_is_never_requested(fake_line, client, user_id) -> None:
    with pytest.raises(LineApiError):
        client.get_profile(user_id)
    assert fake_line.requests == []


def test_the_plain_connection_sends_the_same_bytes_and_headers_as_httpx() -> None:
    """The sends go over `_Wire` (plain keep-alive HTTP/1.1) unless a transport is given: the body
    is byte for byte what httpx sends, and so are the headers LINE reads."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    seen: list[tuple[str, bytes, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, body, {k.lower(): v for k, v in self.headers.items()}))
            answer = b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"q"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    messages = [TEXT, {"type": "text", "text": 'อนุมัติ "P001" ✓\n\\ 😀'}, STICKER]
    try:
        for transport in (None, httpx.HTTPTransport()):
            client = LineClient(
                access_token="tok", api_base_url=base, data_api_base_url=base, transport=transport
            )
            assert (client._wire is None) == (transport is not None)
            try:
                assert client.push("U" + "0" * 32, messages, retry_key="k-1").status is SendStatus.SENT
                reply = client.reply("t" * 32, messages)
                assert reply.status is SendStatus.SENT and reply.sent_messages[0].quote_token == "q"
                assert client.show_loading("U" + "0" * 32, 5)
            finally:
                client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(seen) == 6
    for (path, body, headers), (path2, body2, headers2) in zip(seen[:3], seen[3:], strict=True):
        assert path == path2 and body == body2
        for name in (
            "authorization",
            "content-type",
            "content-length",
            "user-agent",
            "x-line-retry-key",
            "host",
        ):
            assert headers.get(name) == headers2.get(name), name
    assert b"\\u" not in seen[0][1] and "อนุมัติ".encode() in seen[0][1]  # UTF-8, not escaped
