"""`bot.line_client._Wire`, the raw-socket HTTP/1.1 client the sends go over, against a loopback
server that answers with exactly the bytes each test gives it: Content-Length, chunked and
to-the-end bodies, keep-alive and `Connection: close`, a server that closes an idle connection, a
timeout, refused connections, and answers too large or malformed to read."""

from __future__ import annotations

import select
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from bot.line_client import LineClient, RetryPolicy, SendStatus, _Wire, _WireAnswer, push_call, reply_call

HEADERS = {"Authorization": "Bearer tok", "User-Agent": "tidtam/0.1"}


@dataclass
class Seen:
    connection: int
    head: bytes
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        lines = self.head.decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}


# What the server does with one request: the bytes to send back (in pieces, each its own sendall)
# and whether to close the connection afterwards; None closes it without answering; "hang" waits;
# "reset" resets the connection without answering.
Answer = tuple[list[bytes], bool] | None | str


@dataclass
class Server:
    answer: Callable[[Seen], Answer]
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stop.is_set() and self.connections < 50:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(5)
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                return
        buffer = b""
        with conn:
            for _request in range(20):
                try:
                    while b"\r\n\r\n" not in buffer:
                        data = conn.recv(65536)
                        if not data:
                            return
                        buffer += data
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    seen = Seen(number, head, b"")
                    length = int(seen.headers.get("content-length", "0"))
                    while len(buffer) < length:
                        data = conn.recv(65536)
                        if not data:
                            return
                        buffer += data
                    seen.body, buffer = buffer[:length], buffer[length:]
                    self.seen.append(seen)
                    answer = self.answer(seen)
                    if answer is None:
                        return
                    if answer == "hang":
                        self.stop.wait(5)
                        return
                    if answer == "reset":  # an RST instead of an answer
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    assert not isinstance(answer, str)
                    pieces, close = answer
                    for piece in pieces:
                        conn.sendall(piece)
                    if close:
                        return
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.accepter.join(5)
        for thread in self.threads:
            thread.join(5)
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(answer: Callable[[Seen], Answer], tls: ssl.SSLContext | None = None) -> Server:
        servers.append(Server(answer, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def wires() -> Iterator[Callable[..., _Wire]]:
    made: list[_Wire] = []

    def make(url: str, timeout: float = 5.0) -> _Wire:
        made.append(_Wire(url, HEADERS, timeout))
        return made[-1]

    yield make
    for wire in made:
        wire.close()


def ok(body: bytes = b'{"sentMessages":[]}', *extra: str, close: bool = False) -> Answer:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + "".join(f"{h}\r\n" for h in extra)
    return [f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body], close


def test_content_length_answer_and_the_request_line_says_what_line_expects(serve, wires) -> None:
    server = serve(lambda seen: ok(b'{"a":1}', "X-Line-Request-Id: r-1", "X-Dup: one", "x-dup: two"))
    wire = wires(server.url + "/base/")
    body = '{"messages":["อนุมัติ"]}'.encode()
    answer = wire.post("/v2/bot/message/push", body, {"X-Line-Retry-Key": "k-1"})
    assert answer.status_code == 200 and answer.is_success and answer.content == b'{"a":1}'
    assert answer.json() == {"a": 1}
    assert (
        answer.headers["x-line-request-id"] == "r-1" and answer.headers["content-type"] == "application/json"
    )
    assert answer.headers["x-dup"] == "two"  # the last of a repeated header, as http.client's dict gave
    assert all(name == name.lower() for name in answer.headers)
    [seen] = server.seen
    assert seen.head.split(b"\r\n")[0] == b"POST /base/v2/bot/message/push HTTP/1.1"
    assert seen.body == body
    assert seen.headers == {
        "host": f"127.0.0.1:{server.port}",
        "accept-encoding": "identity",
        "authorization": "Bearer tok",
        "user-agent": "tidtam/0.1",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-line-retry-key": "k-1",
    }


def test_keep_alive_reuses_one_connection_per_thread(serve, wires) -> None:
    server = serve(lambda seen: ok())
    wire = wires(server.url)
    for _ in range(3):
        assert wire.post("/p", b"{}", {}).status_code == 200
    assert "x-line-retry-key" not in server.seen[0].headers
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(wire.post("/p", b"{}", {}).status_code))
    thread.start()
    thread.join(10)
    assert done == [200]
    assert [seen.connection for seen in server.seen] == [1, 1, 1, 2]


def test_chunked_answer_split_across_sends_with_extensions_and_trailers(serve, wires) -> None:
    def answer(seen: Seen) -> Answer:
        return [
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhel",
            b"lo\r\na;name=value\r\n, world!!!\r\n",
            b"0\r\nX-Trailer: t\r\n",
            b"\r\n",
        ], False

    server = serve(answer)
    wire = wires(server.url)
    for _ in range(2):  # and the connection stays usable after it
        got = wire.post("/p", b"{}", {})
        assert (got.status_code, got.content, got.headers["x-a"]) == (201, b"hello, world!!!", "1")
    assert [seen.connection for seen in server.seen] == [1, 1]


@pytest.mark.parametrize(
    "answer",
    [
        ok(b"{}", "Connection: close"),
        ok(b"{}", "Connection: Close", close=True),
        ([b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}"], True),
        ([b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"{", b"}"], True),  # to the end
    ],
)
def test_connection_close_and_http_1_0_drop_the_connection(serve, wires, answer) -> None:
    server = serve(lambda seen: answer)
    wire = wires(server.url)
    for _ in range(2):
        got = wire.post("/p", b"{}", {})
        assert (got.status_code, got.content) == (200, b"{}")
    assert [seen.connection for seen in server.seen] == [1, 2]


def test_http_1_0_keep_alive_keeps_the_connection(serve, wires) -> None:
    server = serve(
        lambda seen: ([b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"], False)
    )
    wire = wires(server.url)
    for _ in range(2):
        assert wire.post("/p", b"{}", {}).content == b""
    assert [seen.connection for seen in server.seen] == [1, 1]


def test_interim_answers_are_skipped_and_204_has_no_body(serve, wires) -> None:
    server = serve(
        lambda seen: (
            [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"],
            False,
        )
    )
    wire = wires(server.url)
    for _ in range(2):
        got = wire.post("/p", b"{}", {})
        assert (got.status_code, got.content, got.is_success) == (204, b"", True)
    assert [seen.connection for seen in server.seen] == [1, 1]


def test_an_idle_connection_the_server_closed_is_retried_once_on_a_fresh_one(serve, wires) -> None:
    # The server answers each connection's first request and closes it before the second.
    server = serve(
        lambda seen: ok() if sum(s.connection == seen.connection for s in server.seen) == 1 else None
    )
    wire = wires(server.url)
    for _ in range(3):
        assert wire.post("/p", b"{}", {}).status_code == 200
    # Request 2 went over connection 1 (closed unanswered), then again over connection 2...
    assert [seen.connection for seen in server.seen] == [1, 1, 2, 2, 3]


def test_a_connection_the_server_closed_after_answering_is_replaced_unnoticed(serve, wires) -> None:
    # No `Connection: close`: the client learns of the close only when it sends the next request.
    server = serve(lambda seen: ok(close=True))
    wire = wires(server.url)
    for _ in range(3):
        assert wire.post("/p", b"{}", {}).status_code == 200
    assert [seen.connection for seen in server.seen] == [1, 2, 3]
    assert server.connections == 3


def test_a_retried_request_that_fails_again_is_a_remote_protocol_error(serve, wires) -> None:
    server = serve(lambda seen: ok() if len(server.seen) == 1 else None)
    wire = wires(server.url)
    assert wire.post("/p", b"{}", {}).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        wire.post("/p", b"{}", {})
    assert [seen.connection for seen in server.seen] == [1, 1, 2]  # one retry, no more


def test_a_fresh_connection_closed_before_answering_is_not_retried(serve, wires) -> None:
    server = serve(lambda seen: None)
    wire = wires(server.url)
    with pytest.raises(httpx.RemoteProtocolError):
        wire.post("/p", b"{}", {})
    assert len(server.seen) == 1
    assert wire.post.__self__._open == set()  # type: ignore[attr-defined]


def test_a_silent_server_is_a_read_timeout(serve, wires) -> None:
    server = serve(lambda seen: "hang")
    wire = wires(server.url, timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        wire.post("/p", b"{}", {})
    assert len(server.seen) == 1  # not retried


def test_a_refused_connection_is_a_connect_error(wires) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connecting is refused
        with pytest.raises(httpx.ConnectError):
            wires(f"http://127.0.0.1:{port}").post("/p", b"{}", {})


@pytest.mark.parametrize(
    "pieces",
    [
        [b"HTTP/1.1 200 OK\r\n", b"X-Big: " + b"a" * 70000 + b"\r\n\r\n"],  # a head past 64 KiB
        [b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000],  # one that never ends
        [b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"],
        [b"HTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
        [b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 2000],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"],
        [b"HTTP/1.1 100 Continue\r\n\r\n" * 10 + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
    ],
)
def test_absurd_or_malformed_answers_are_refused(serve, wires, pieces) -> None:
    server = serve(lambda seen: (pieces, False))
    wire = wires(server.url)
    with pytest.raises(httpx.RemoteProtocolError):
        wire.post("/p", b"{}", {})
    assert wire._open == set()  # the connection is dropped, not reused


@pytest.mark.parametrize(
    "pieces",
    [
        [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"],
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"],
        [b"HTTP/1.1 200 OK\r\nContent-Le"],
    ],
)
def test_an_answer_cut_short_is_a_network_error(serve, wires, pieces) -> None:
    server = serve(lambda seen: (pieces, True))
    wire = wires(server.url)
    with pytest.raises(httpx.NetworkError):
        wire.post("/p", b"{}", {})
    assert len(server.seen) == 1 and wire._open == set()


def test_a_header_value_that_would_end_its_line_is_refused(serve, wires) -> None:
    server = serve(lambda seen: ok())
    with pytest.raises(ValueError):
        wires(server.url).post("/p", b"{}", {"X-Line-Retry-Key": "k\r\nX-Evil: 1"})
    assert server.seen == []


def _error(status: int, reason: str, body: bytes) -> Answer:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nX-Line-Request-Id: r-{status}\r\n"
    )
    return [f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body], False


def test_4xx_and_5xx_answers_are_read_and_classified(serve) -> None:
    answers = iter(
        [
            _error(400, "Bad Request", b'{"message":"Invalid reply token"}'),
            _error(
                403, "Forbidden", b'{"message":"not a friend","details":[{"property":"to","message":"x"}]}'
            ),
            _error(500, "Internal Server Error", b"oops"),
            _error(503, "Service Unavailable", b'{"message":"busy"}'),
            _error(429, "Too Many Requests", b'{"message":"You have reached your monthly limit."}'),
            ok(b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"q"}]}'),
        ]
    )
    server = serve(lambda seen: next(answers))
    delays: list[float] = []
    client = LineClient(
        access_token="tok",
        api_base_url=server.url,
        data_api_base_url=server.url,
        retry=RetryPolicy(attempts=2, sleep=delays.append),
    )
    try:
        assert client._wire is not None
        reply = client.reply("t" * 32, [{"type": "text", "text": "x"}])
        assert (reply.status, reply.http_status, reply.request_id) == (
            SendStatus.INVALID_REPLY_TOKEN,
            400,
            "r-400",
        )
        push = client.push("U" + "0" * 32, [{"type": "text", "text": "x"}], retry_key="k")
        assert (push.status, push.http_status) == (
            SendStatus.PERMANENT,
            403,
        ) and push.error == "not a friend to: x"
        transient = client.push("U" + "0" * 32, [{"type": "text", "text": "x"}], retry_key="k")
        assert (transient.status, transient.http_status, transient.attempts) == (SendStatus.TRANSIENT, 503, 2)
        assert transient.error == "busy" and len(delays) == 1
        quota = client.push("U" + "0" * 32, [{"type": "text", "text": "x"}], retry_key="k")
        assert quota.status is SendStatus.QUOTA_EXHAUSTED
        sent = client.reply("t" * 32, [{"type": "text", "text": "x"}])
        assert sent.status is SendStatus.SENT and sent.sent_messages[0].quote_token == "q"
    finally:
        client.close()
    assert {seen.connection for seen in server.seen} == {1}  # error answers keep the connection


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            b"HTTP/1.1 200 OK\r\nX-A:  spaced  \r\nX-Folded: one\r\n two\r\n",
            {"x-a": "spaced", "x-folded": "one two"},
        ),
        (b"HTTP/1.1 200 OK\r\nX-Name : v\r\nX-Empty:\r\n", {"x-name": "v", "x-empty": ""}),
        (b"HTTP/1.1 200 OK\nX-Lf: only\n", {"x-lf": "only"}),  # lines ended by LF alone
        (b"HTTP/1.1 200\r\nX-Latin: caf\xe9\r\n", {"x-latin": "caf\xe9"}),  # no reason phrase; latin-1
    ],
)
def test_header_shapes_are_read(serve, wires, head, expected) -> None:
    newline = b"\r\n" if head.endswith(b"\r\n") else b"\n"
    server = serve(lambda seen: ([head + b"Content-Length: 2" + newline + newline + b"{}"], False))
    got = wires(server.url).post("/p", b"{}", {})
    assert (got.status_code, got.content) == (200, b"{}")
    assert {k: v for k, v in got.headers.items() if k != "content-length"} == expected


@pytest.fixture
def certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (openssl's command line): (certificate, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_https_goes_through_the_ssl_context_with_keep_alive_and_retries(serve, wires, certificate) -> None:
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    answers = iter(
        [
            ok(b'{"n":1}'),
            (
                [
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b'5\r\n{"n":\r\n',
                    b"2\r\n2}\r\n0\r\n\r\n",
                ],
                False,
            ),
            ok(b'{"n":3}', close=True),  # closed after answering, unannounced
            ok(b'{"n":4}'),
        ]
    )
    server = serve(lambda seen: next(answers), tls=server_context)
    wire = wires(server.url)
    assert wire._ssl is not None
    with pytest.raises(httpx.NetworkError):  # certifi does not trust the test's certificate
        wire.post("/p", b"{}", {})
    wire._ssl = ssl.create_default_context(cafile=cert)
    got = [wire.post("/p", b"{}", {"X-Line-Retry-Key": "k"}).json()["n"] for _ in range(4)]
    assert got == [1, 2, 3, 4]
    assert [seen.connection for seen in server.seen] == [2, 2, 2, 3]  # 1 was the refused handshake
    assert server.seen[0].headers["x-line-retry-key"] == "k"


# --- `_Wire.exchange`: a batch's first attempts from one thread over several connections ---------


def _echo(seen: Seen) -> Answer:
    return ok(b'{"echo":"%s"}' % seen.body)


def _contents(answers: list) -> list[bytes | str]:
    return [a.content if isinstance(a, _WireAnswer) else type(a).__name__ for a in answers]


def test_exchange_sends_the_bytes_post_sends_and_bounds_its_connections(serve, wires) -> None:
    server = serve(_echo)
    wire = wires(server.url)
    wire.post("/p", b"one", {"X-Line-Retry-Key": "k1"})
    posted = server.seen[0]
    requests = [wire.request("/p", b"one", {"X-Line-Retry-Key": "k1"})] + [
        wire.request("/p", b"%d" % n, {}) for n in range(5)
    ]
    answers = wire.exchange(requests, 2)
    assert _contents(answers) == [b'{"echo":"one"}'] + [b'{"echo":"%d"}' % n for n in range(5)]
    exchanged = next(seen for seen in server.seen[1:] if seen.body == b"one")
    assert (exchanged.head, exchanged.body) == (posted.head, posted.body)  # byte for byte
    assert server.connections == 3  # the thread's own, and two for the exchange
    assert len(wire._idle) == 2
    wire.exchange([wire.request("/p", b"again", {}) for _ in range(4)], 2)
    assert server.connections == 3  # the exchange's two connections were kept and reused


def test_exchange_answers_in_request_order_whatever_order_they_come_in(serve, wires) -> None:
    answered: list[bytes] = []

    def answer(seen: Seen) -> Answer:
        if seen.body == b"slow":
            time.sleep(0.2)
        answered.append(seen.body)
        return _echo(seen)

    server = serve(answer)
    wire = wires(server.url)
    bodies = [b"slow", b"a", b"b", b"c"]
    answers = wire.exchange([wire.request("/p", body, {}) for body in bodies], 4)
    assert _contents(answers) == [b'{"echo":"%s"}' % body for body in bodies]
    assert answered[-1] == b"slow" and answered[0] != b"slow"  # the first request answered last


@pytest.mark.parametrize("how", [None, "reset"])
def test_a_connection_closed_or_reset_mid_batch_fails_its_request_alone(serve, wires, how) -> None:
    server = serve(lambda seen: how if seen.body == b"drop" else _echo(seen))
    wire = wires(server.url)
    bodies = [b"a", b"drop", b"b", b"c", b"d"]
    answers = wire.exchange([wire.request("/p", body, {}) for body in bodies], 2)
    assert _contents(answers) == [
        b'{"echo":"a"}',
        "RemoteProtocolError",  # a fresh connection: not sent again
        b'{"echo":"b"}',
        b'{"echo":"c"}',
        b'{"echo":"d"}',
    ]
    assert [seen.body for seen in server.seen].count(b"drop") == 1
    assert len(wire._idle) <= 2 and all(c in wire._open for c in wire._idle)


def test_a_request_unanswered_within_the_timeout_is_a_read_timeout(serve, wires) -> None:
    server = serve(lambda seen: "hang" if seen.body == b"hang" else _echo(seen))
    wire = wires(server.url, timeout=0.3)
    bodies = [b"hang", b"a", b"b", b"c"]
    answers = wire.exchange([wire.request("/p", body, {}) for body in bodies], 2)
    assert _contents(answers) == ["ReadTimeout", b'{"echo":"a"}', b'{"echo":"b"}', b'{"echo":"c"}']
    assert [seen.body for seen in server.seen].count(b"hang") == 1  # not sent again
    assert len(wire._idle) == 1 and len(wire._open) == 1  # the silent connection was closed


def test_connections_the_server_closed_between_batches_are_replaced(serve, wires) -> None:
    # Each connection answers one request and is closed before its second, unanswered.
    server = serve(
        lambda seen: _echo(seen) if sum(s.connection == seen.connection for s in server.seen) == 1 else None
    )
    wire = wires(server.url)
    first = wire.exchange([wire.request("/p", b"%d" % n, {}) for n in range(2)], 2)
    assert _contents(first) == [b'{"echo":"0"}', b'{"echo":"1"}']
    second = wire.exchange([wire.request("/p", b"%d" % n, {}) for n in range(2, 5)], 2)
    assert _contents(second) == [b'{"echo":"2"}', b'{"echo":"3"}', b'{"echo":"4"}']
    # Requests 2 and 3 went to the closed connections 1 and 2, then again over fresh ones (3 and 4),
    # and 4 after one of them, closed in its turn, over connection 5: each sent again once.
    bodies = [seen.body for seen in server.seen]
    assert [bodies.count(b"%d" % n) for n in range(5)] == [1, 1, 2, 2, 2]
    assert server.connections == 5


def test_connections_closed_after_answering_are_replaced_unnoticed(serve, wires) -> None:
    server = serve(lambda seen: ok(b"{}", close=True))
    wire = wires(server.url)
    for _batch in range(3):
        answers = wire.exchange([wire.request("/p", b"{}", {}) for _ in range(2)], 2)
        assert [a.status_code for a in answers] == [200, 200]
    assert len(server.seen) == 6 and server.connections == 6


def test_exchange_with_a_refused_connection_or_an_unsendable_request(wires) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wire = wires(f"http://127.0.0.1:{probe.getsockname()[1]}")
        unsent = httpx.NetworkError("InvalidURL")
        answers = wire.exchange([wire.request("/p", b"{}", {}), unsent, wire.request("/p", b"{}", {})], 2)
    assert _contents(answers) == ["ConnectError", "NetworkError", "ConnectError"]
    assert answers[1] is unsent and wire._open == set() and wire._idle == []


def test_exchange_over_https_keeps_its_connections(serve, wires, certificate) -> None:
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server = serve(_echo, tls=server_context)
    wire = wires(server.url)
    wire._ssl = ssl.create_default_context(cafile=cert)
    for batch in range(2):
        bodies = [b"%d-%d" % (batch, n) for n in range(5)]
        answers = wire.exchange([wire.request("/p", body, {}) for body in bodies], 3)
        assert _contents(answers) == [b'{"echo":"%s"}' % body for body in bodies]
    assert server.connections == 3


def test_first_attempts_are_judged_and_the_retry_policy_goes_on_from_them(serve) -> None:
    def answer(seen: Seen) -> Answer:
        tries = sum(s.body == seen.body for s in server.seen)
        if b'"to":"U' + b"1" * 32 in seen.body and tries == 1:
            return _error(500, "Internal Server Error", b'{"message":"oops"}')
        if b'"to":"U' + b"2" * 32 in seen.body and tries == 1:
            head = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}"
            return [head.encode()], False
        if b"replyToken" in seen.body:
            return "hang"
        return ok(b'{"sentMessages":[{"id":"461230966842064897"}]}')

    server = serve(answer)
    delays: list[float] = []
    client = LineClient(
        access_token="tok",
        api_base_url=server.url,
        data_api_base_url=server.url,
        timeout=0.3,
        retry=RetryPolicy(attempts=3, sleep=delays.append),
    )
    text = [{"type": "text", "text": "x"}]
    calls = [
        push_call("U" + "0" * 32, text, retry_key="k0"),
        push_call("U" + "1" * 32, text, retry_key="k1"),
        push_call("U" + "2" * 32, text, retry_key="k2"),
        reply_call("t" * 32, text),
    ]
    try:
        firsts = client.first_attempts(calls, 4)
        assert firsts is not None
        assert [(r.status, r.http_status, r.error) for r, _after in firsts] == [
            (SendStatus.SENT, 200, None),
            (SendStatus.TRANSIENT, 500, "oops"),
            (SendStatus.TRANSIENT, 429, "HTTP 429"),
            (SendStatus.TRANSIENT, None, "timeout"),
        ]
        assert [after for _r, after in firsts] == [None, None, 3.0, None]
        (to_0,) = [seen for seen in server.seen if b'"to":"U' + b"0" * 32 in seen.body]
        assert to_0.headers["x-line-retry-key"] == "k0"
        results = [client.send(call, first=first) for call, first in zip(calls, firsts, strict=True)]
    finally:
        client.close()
    assert [(r.status, r.attempts) for r in results] == [
        (SendStatus.SENT, 1),  # final: no request
        (SendStatus.SENT, 2),
        (SendStatus.SENT, 2),
        (SendStatus.TRANSIENT, 1),  # a reply's timeout is not retried
    ]
    assert delays[1] == 3.0 and len(delays) == 2  # the 429's Retry-After honoured
    assert len(server.seen) == 6 and sum(b"replyToken" in s.body for s in server.seen) == 1


def _opening_threads(wire: _Wire) -> list[str]:
    """The names of the threads `wire` opens its connections on, from now on."""
    names: list[str] = []
    open_connection = wire._open_connection

    def recorded():  # type: ignore[no-untyped-def]
        names.append(threading.current_thread().name)
        return open_connection()

    wire._open_connection = recorded  # type: ignore[method-assign]
    return names


def test_an_exchanges_new_connections_are_opened_at_once(serve, wires) -> None:
    server = serve(_echo)
    wire = wires(server.url)
    names = _opening_threads(wire)
    answers = wire.exchange([wire.request("/p", b"%d" % n, {}) for n in range(6)], 4)
    assert _contents(answers) == [b'{"echo":"%d"}' % n for n in range(6)]
    assert len(names) == 4 and all(name.startswith("tidtam-connect") for name in names)
    assert server.connections == 4


def test_idle_connections_the_server_closed_are_noticed_before_sending(serve, wires) -> None:
    server = serve(lambda seen: ok(b"{}", close=True))  # closed after answering, unannounced
    wire = wires(server.url)
    assert [a.status_code for a in wire.exchange([wire.request("/p", b"{}", {})] * 2, 2)] == [200, 200]
    poller = select.poll()
    for connection in wire._idle:
        poller.register(connection.sock, select.POLLIN)
    deadline = time.monotonic() + 5
    while len(poller.poll(50)) < 2 and time.monotonic() < deadline:  # until both closes have arrived
        pass
    names = _opening_threads(wire)
    assert [a.status_code for a in wire.exchange([wire.request("/p", b"{}", {})] * 2, 2)] == [200, 200]
    # Both replaced before any request was sent: opened at once, not one after a failed send.
    assert len(names) == 2 and all(name.startswith("tidtam-connect") for name in names)
    assert len(server.seen) == 4 and server.connections == 4
