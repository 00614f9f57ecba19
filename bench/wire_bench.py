"""CPU per reply POST on the worker's send path: `LineClient.reply` over its keep-alive wire.

    .venv/bin/python bench/wire_bench.py                                  # this checkout
    .venv/bin/python bench/wire_bench.py --roots /work/main . --rounds 4  # A/B, alternating

A loopback server in a process of its own (its CPU is not counted) answers every POST as LINE
answers a reply: `{"sentMessages":[...]}` with LINE's headers (request id, date, server, the
security headers, Content-Length). For each checkout in `--roots`, in turn, `--rounds` times, a child
process (`PYTHONPATH` that checkout) sends `--requests` replies of a typical answer (a Thai text with
quick-reply buttons) one after another, and prints its own CPU (process_time) per call of:
`reply` (the whole send: JSON encoding, the request, reading and classifying the answer), `post`
(the wire alone, the body already encoded) and `encode` (the body's JSON alone). The figures are
medians over the rounds; the machine's load average is printed at the end (CPU time is what load
moves least, but it still moves it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVER = r"""
import socket, sys, threading
import itertools
IDS = itertools.count(461230966842064897)  # a new message id per answer, as LINE gives

def answer():
    body = b'{"sentMessages":[{"id":"%d","quoteToken":"IStG5h1Tz7b4f9d2a8c3e1x0y"}]}' % next(IDS)
    return (
        b"HTTP/1.1 200 OK\r\nServer: legy\r\nDate: Fri, 04 Dec 2026 18:00:00 GMT\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
        b"x-line-request-id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\r\nX-Content-Type-Options: nosniff\r\n"
        b"X-XSS-Protection: 1; mode=block\r\nX-Frame-Options: DENY\r\n"
        b"Cache-Control: no-cache, no-store, max-age=0, must-revalidate\r\nPragma: no-cache\r\n"
        b"Expires: 0\r\n\r\n" % len(body)
    ) + body

def serve(conn):
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            buffer = buffer[length:]
            conn.sendall(answer())

listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

MESSAGES = [
    {
        "type": "text",
        "text": "สถานะรายงานไตรมาส 2/2570 ของโรงเรียนคุณ: ส่งแล้ว 3 โครงการ รออนุมัติ 1 โครงการ "
        "ยังไม่ส่ง 2 โครงการ (กำหนดส่ง 11 ม.ค. 2570) แตะปุ่มด้านล่างเพื่อรายงานผล",
        "quickReply": {
            "items": [
                {"type": "action", "action": {"type": "message", "label": label, "text": label}}
                for label in ("รายงานผล", "สถานะ", "โครงการของฉัน", "ช่วยเหลือ")
            ]
        },
    }
]


def child(port: int, requests: int) -> None:
    from bot import line_client
    from bot.line_client import LineClient, SendStatus

    base = f"http://127.0.0.1:{port}"
    client = LineClient(access_token="t" * 172, api_base_url=base, data_api_base_url=base)
    wire = client._wire
    assert wire is not None, "no _Wire: a proxy in the environment?"
    token = "a" * 32
    encode = getattr(line_client, "_json_bytes")  # noqa: B009 - both checkouts name it so
    body = encode({"replyToken": token, "messages": MESSAGES})
    for _ in range(300):  # warm up: the connection, caches
        assert client.reply(token, MESSAGES).status is SendStatus.SENT
    figures: dict[str, float] = {}
    start = time.process_time()
    for _ in range(requests):
        client.reply(token, MESSAGES)
    figures["reply"] = (time.process_time() - start) / requests
    start = time.process_time()
    for _ in range(requests):
        wire.post("/v2/bot/message/reply", body, {})
    figures["post"] = (time.process_time() - start) / requests
    start = time.process_time()
    for _ in range(requests * 4):
        encode({"replyToken": token, "messages": MESSAGES})
    figures["encode"] = (time.process_time() - start) / (requests * 4)
    client.close()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--roots", nargs="+", default=[str(ROOT)], help="checkouts to compare, in turn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests)
        return
    roots = [str(Path(root).resolve()) for root in args.roots]
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        results: dict[str, list[dict[str, float]]] = {root: [] for root in roots}
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        for _round in range(args.rounds):
            for root in roots:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(port), "--requests", str(args.requests)],
                    env={**env, "PYTHONPATH": root},
                    cwd=root,
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=600,
                ).stdout
                results[root].append(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.kill()
        server.wait()
    print(f"CPU µs per call, median of {args.rounds} rounds of {args.requests} (min–max in brackets)")
    print(f"{'checkout':<28} {'reply':>20} {'post':>20} {'encode':>16}")
    for root, rounds in results.items():
        cells = []
        for name, width in (("reply", 20), ("post", 20), ("encode", 16)):
            values = [r[name] * 1e6 for r in rounds]
            cell = f"{statistics.median(values):.1f} [{min(values):.1f}–{max(values):.1f}]"
            cells.append(f"{cell:>{width}}")
        print(f"{root:<28} " + " ".join(cells))
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
