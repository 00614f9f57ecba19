"""bot/delivery.py: outbox rows delivered through the fake LINE platform, on both backends.

The Deliverer's clock is a FixedClock; the LineClient's backoff sleeps are no-ops, so nothing waits.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from bot.delivery import Deliverer
from bot.line_client import LineClient, RetryPolicy
from fakeline import Fault
from models.db import session_scope
from models.messaging import OutboxMessage, SentMessage
from models.outbox import queue_push, queue_reply
from models.types import OutboxKind, OutboxStatus
from scheduler.clock import FixedClock

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
TEXT = {"type": "text", "text": "แจ้งเตือนรายงานไตรมาสค่ะ"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def line(fake_line):
    client = LineClient(
        access_token=fake_line.access_token,
        api_base_url=fake_line.base_url,
        data_api_base_url=fake_line.base_url,
        timeout=5,
        retry=RetryPolicy(attempts=2, sleep=lambda _s: None),
    )
    yield client
    client.close()


@pytest.fixture
def deliverer(engine, line, clock) -> Deliverer:
    return Deliverer(engine, line, clock.now, "worker-1")


def _reply_row(
    engine, clock, *, to, token, event_id=1, claim_for=None, lease=timedelta(minutes=2)
) -> OutboxMessage:
    with session_scope(engine) as s:
        row = queue_reply(
            s, event_id=event_id, webhook_event_id=f"01EV{event_id:022d}", reply_token=token,
            event_time=clock.now(), to=to, messages=[TEXT], now=clock.now(), claim_for=claim_for, lease=lease,
        )  # fmt: skip
        s.flush()
        return row


def _push_row(engine, clock, *, to, dedupe="d1", messages=(TEXT,)) -> OutboxMessage:
    with session_scope(engine) as s:
        row = queue_push(
            s, to=to, messages=list(messages), dedupe_key=dedupe, rule="reminder", subject="q1", now=clock.now(),
            purpose="reminder", ref_type="project", ref_id=7,
        )  # fmt: skip
        assert row is not None
        s.flush()
        return row


def _row(engine, row_id) -> OutboxMessage:
    with Session(engine) as s:
        return s.get(OutboxMessage, row_id)


def test_fresh_reply_goes_out_free_and_records_sent_messages(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    row = _reply_row(engine, clock, to=user, token=fake_line.issue_reply_token(user))
    assert deliverer.deliver_due().sent == 1
    (delivery,) = fake_line.deliveries_to(user)
    assert delivery.kind == "reply"
    stored = _row(engine, row.id)
    assert stored.status == OutboxStatus.SENT and stored.sent_at == T0 and stored.kind == OutboxKind.REPLY
    assert stored.line_request_id == delivery.request_id
    with Session(engine) as s:
        sent = s.exec(select(SentMessage)).all()
    assert [m.line_message_id for m in sent] == delivery.sent_message_ids
    assert sent[0].outbox_id == row.id and sent[0].recipient == user and sent[0].quote_token


def test_reply_past_its_deadline_becomes_a_push_with_the_rows_retry_key(
    engine, fake_line, deliverer, clock
) -> None:
    user = fake_line.add_user()
    row = _reply_row(engine, clock, to=user, token=fake_line.issue_reply_token(user))
    clock.advance(timedelta(minutes=5))
    assert deliverer.deliver_due().sent == 1
    assert fake_line.requests_to("reply") == []
    (delivery,) = fake_line.deliveries_to(user)
    assert delivery.kind == "push" and delivery.retry_key == row.retry_key
    stored = _row(engine, row.id)
    assert stored.status == OutboxStatus.SENT
    assert stored.kind == OutboxKind.PUSH and stored.reply_token is None


def test_reply_refused_by_line_falls_back_to_a_push(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    row = _reply_row(engine, clock, to=user, token=fake_line.issue_reply_token(user))
    fake_line.advance_time(120)  # LINE has expired the token although our deadline says it is fresh
    assert deliverer.deliver_due().sent == 1
    assert [r.status for r in fake_line.requests_to("reply")] == [400]
    (delivery,) = fake_line.deliveries_to(user)
    assert delivery.kind == "push" and delivery.retry_key == row.retry_key
    with Session(engine) as s:
        assert len(s.exec(select(SentMessage)).all()) == 1


def test_reply_after_a_crash_becomes_a_push(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    token = fake_line.issue_reply_token(user)
    # Born claimed by a dispatcher that died before sending; its short lease lapses while the token is
    # still fresh. The token may have been used already, so the retry must not reply.
    row = _reply_row(engine, clock, to=user, token=token, claim_for="dead-worker", lease=timedelta(seconds=5))
    assert deliverer.deliver_due().sent == 0  # still claimed by the dead worker
    clock.advance(timedelta(seconds=6))
    assert deliverer.deliver_due().sent == 1
    assert fake_line.requests_to("reply") == []
    (delivery,) = fake_line.deliveries_to(user)
    assert delivery.kind == "push" and delivery.retry_key == row.retry_key
    stored = _row(engine, row.id)
    assert stored.attempts == 2 and stored.kind == OutboxKind.PUSH and stored.status == OutboxStatus.SENT


def test_push_retried_after_a_crash_is_not_delivered_twice(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    row = _push_row(engine, clock, to=[user])
    fake_line.fail_next("push", Fault(500, deliver=True))  # delivered, but the answer is lost
    line = LineClient(
        access_token=fake_line.access_token, api_base_url=fake_line.base_url, data_api_base_url=fake_line.base_url,
        retry=RetryPolicy(attempts=1, sleep=lambda _s: None),
    )  # fmt: skip
    try:
        assert Deliverer(engine, line, clock.now, "w").deliver_due().retrying == 1
    finally:
        line.close()
    clock.advance(timedelta(minutes=1))
    assert deliverer.deliver_due().sent == 1
    assert [r.status for r in fake_line.requests_to("push")] == [500, 409]
    assert len(fake_line.deliveries_to(user)) == 1
    assert _row(engine, row.id).status == OutboxStatus.SENT


def test_permanent_failure_is_marked_failed_with_the_reason(engine, fake_line, deliverer, clock) -> None:
    row = _push_row(engine, clock, to=["C" + "d" * 32])  # a group the bot is not in
    report = deliverer.deliver_due()
    assert (report.sent, report.failed, report.retrying) == (0, 1, 0)
    stored = _row(engine, row.id)
    assert stored.status == OutboxStatus.FAILED
    assert stored.last_error == "Failed to send messages"
    assert stored.claimed_until is None
    clock.advance(timedelta(days=1))
    assert deliverer.deliver_due() == type(report)()  # never tried again
    assert len(fake_line.requests_to("push")) == 1


def test_quota_exhausted_is_deferred_not_failed(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    fake_line.set_quota(5, used=5)
    row = _push_row(engine, clock, to=[user])
    deliverer.deliver_due()
    stored = _row(engine, row.id)
    assert stored.status == OutboxStatus.DEFERRED and "monthly limit" in stored.last_error


def test_transient_failure_is_retried_later(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    row = _push_row(engine, clock, to=[user])
    fake_line.fail_next("push", [503, 503])  # both of the client's attempts
    assert deliverer.deliver_due().retrying == 1
    stored = _row(engine, row.id)
    assert stored.status == OutboxStatus.PENDING and stored.attempts == 1
    assert stored.next_attempt_at > T0 and stored.last_error
    assert stored.claimed_until is None

    assert deliverer.deliver_due().sent == 0  # not due yet
    assert len(fake_line.requests_to("push")) == 2
    clock.set(stored.next_attempt_at)
    assert deliverer.deliver_due().sent == 1
    stored = _row(engine, row.id)
    assert stored.status == OutboxStatus.SENT and stored.attempts == 2 and stored.last_error is None
    assert len(fake_line.deliveries_to(user)) == 1
    assert {r.headers["x-line-retry-key"] for r in fake_line.requests_to("push")} == {row.retry_key}


def test_multicast_row_is_one_request(engine, fake_line, deliverer, clock) -> None:
    users = [fake_line.add_user() for _ in range(3)]
    row = _push_row(engine, clock, to=users)
    assert row.kind == OutboxKind.MULTICAST
    assert deliverer.deliver_due().sent == 1
    assert len(fake_line.requests_to("multicast")) == 1
    assert all(len(fake_line.deliveries_to(u)) == 1 for u in users)
    assert _row(engine, row.id).status == OutboxStatus.SENT


def test_sent_message_rows_carry_lines_ids_for_quote_replies(engine, fake_line, deliverer, clock) -> None:
    user = fake_line.add_user()
    sticker = {"type": "sticker", "packageId": "446", "stickerId": "1988"}
    flex = {"type": "flex", "altText": "การ์ดอนุมัติ", "contents": {"type": "bubble", "body": {
        "type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "อนุมัติ"}]}}}  # fmt: skip
    row = _push_row(engine, clock, to=[user], messages=(TEXT, sticker, flex))
    deliverer.deliver_due()
    (delivery,) = fake_line.deliveries_to(user)
    with Session(engine) as s:
        sent = s.exec(select(SentMessage).order_by(col(SentMessage.id))).all()
    assert [m.line_message_id for m in sent] == delivery.sent_message_ids
    assert [m.quote_token is not None for m in sent] == [True, True, False]  # flex is not quotable
    assert {(m.outbox_id, m.recipient, m.purpose, m.ref_type, m.ref_id) for m in sent} == {
        (row.id, user, "reminder", "project", 7)
    }


def test_two_deliverers_never_send_a_row_twice(engine, fake_line, line, clock) -> None:
    users = [fake_line.add_user() for _ in range(30)]
    with session_scope(engine) as s:
        for i, u in enumerate(users):
            queue_push(s, to=[u], messages=[TEXT], dedupe_key=f"k{i}", rule="r", subject="s", now=clock.now())
    barrier = threading.Barrier(2)
    reports: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(holder: str) -> None:
        try:
            deliverer = Deliverer(engine, line, clock.now, holder)
            barrier.wait(timeout=10)
            sent: list[int] = []
            for _ in range(40):  # bounded: 30 rows in batches of 3
                report = deliverer.deliver_due(limit=3)
                if report == type(report)():
                    break
                sent.append(report.sent)
            reports[holder] = sent
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sum(sum(v) for v in reports.values()) == 30
    # one request per row: a second send would show up here even though LINE would answer it 409
    assert len(fake_line.requests_to("push")) == 30
    assert sorted(len(fake_line.deliveries_to(u)) for u in users) == [1] * 30
    with Session(engine) as s:
        statuses = {r.status for r in s.exec(select(OutboxMessage))}
    assert statuses == {OutboxStatus.SENT}


def test_concurrent_senders_keep_each_recipients_order_and_record_every_outcome(
    engine, fake_line, line, clock
) -> None:
    """A batch's rows go out on several threads (bot/delivery.py `senders`): one recipient's rows one
    after another in the order given (a reply, then its follow-up pushes), every outcome recorded."""
    users = [fake_line.add_user() for _ in range(4)]
    rows = []
    for n, user in enumerate(users):
        token = fake_line.issue_reply_token(user)
        rows.append(_reply_row(engine, clock, to=user, token=token, event_id=n + 1, claim_for="worker-1"))
        for k in range(3):
            text = {"type": "text", "text": f"{k}"}
            rows.append(_push_row(engine, clock, to=[user], dedupe=f"d{n}-{k}", messages=[text]))
    with session_scope(engine) as s:
        claimed = [s.get(OutboxMessage, row.id) for row in rows]
        for row in claimed:
            row.status, row.claimed_by, row.attempts = OutboxStatus.SENDING, "worker-1", 1
        s.flush()
        s.expunge_all()
    deliverer = Deliverer(engine, line, clock.now, "worker-1", senders=4)
    try:
        report = deliverer.deliver_claimed(claimed)
    finally:
        deliverer.close()
    assert (report.sent, report.failed, report.retrying) == (len(rows), 0, 0)
    for user in users:
        got = [(d.kind, [m["text"] for m in d.messages]) for d in fake_line.deliveries_to(user)]
        assert got == [("reply", [TEXT["text"]]), ("push", ["0"]), ("push", ["1"]), ("push", ["2"])]
    assert {_row(engine, row.id).status for row in rows} == {OutboxStatus.SENT}
    with Session(engine) as s:
        assert len(s.exec(select(SentMessage)).all()) == len(rows)


@pytest.fixture
def multiplexed(engine, fake_line, clock):
    """A deliverer with four senders over a client whose backoff sleeps are recorded: a batch for
    several recipients goes out multiplexed (`Deliverer._send_groups`)."""
    delays: list[float] = []
    client = LineClient(
        access_token=fake_line.access_token,
        api_base_url=fake_line.base_url,
        data_api_base_url=fake_line.base_url,
        timeout=1.0,
        retry=RetryPolicy(attempts=3, sleep=delays.append),
    )
    assert client._wire is not None
    deliverer = Deliverer(engine, client, clock.now, "worker-1", senders=4)
    yield deliverer, delays
    deliverer.close()
    client.close()


def test_multiplexed_batch_retries_falls_back_to_a_push_and_keeps_each_recipients_order(
    engine, fake_line, clock, multiplexed
) -> None:
    deliverer, delays = multiplexed
    a, b, c = (fake_line.add_user() for _ in range(3))
    _reply_row(engine, clock, to=a, token=fake_line.issue_reply_token(a), event_id=1)
    follow_up = _push_row(engine, clock, to=[a], dedupe="a2", messages=[{"type": "text", "text": "ต่อ"}])
    refused = _reply_row(engine, clock, to=b, token="f" * 32, event_id=2)  # a token LINE never issued
    _push_row(engine, clock, to=[c], dedupe="c1")
    # The first round holds one push, C's: it is answered 503, then retried on a sending thread
    # while A's follow-up and B's push (its reply refused) go out in the second round.
    fake_line.fail_next("push", 503)
    report = deliverer.deliver_due()
    assert (report.sent, report.failed, report.retrying) == (4, 0, 0)
    assert [(d.kind, d.messages[0]["text"]) for d in fake_line.deliveries_to(a)] == [
        ("reply", TEXT["text"]),
        ("push", "ต่อ"),
    ]
    assert fake_line.deliveries_to(a)[1].retry_key == follow_up.retry_key
    (to_b,) = fake_line.deliveries_to(b)
    assert to_b.kind == "push" and to_b.retry_key == refused.retry_key
    assert [d.kind for d in fake_line.deliveries_to(c)] == ["push"]
    assert sorted(r.status for r in fake_line.requests_to("push")) == [200, 200, 200, 503]
    assert sorted(r.status for r in fake_line.requests_to("reply")) == [200, 400]
    assert len(delays) == 1  # C's one backoff, from its first attempt on
    stored = _row(engine, refused.id)
    assert stored.status == OutboxStatus.SENT and stored.kind == OutboxKind.PUSH
    with Session(engine) as s:
        assert len(s.exec(select(SentMessage)).all()) == 4


def test_multiplexed_reply_that_times_out_is_failed_not_sent_again(
    engine, fake_line, clock, multiplexed
) -> None:
    deliverer, delays = multiplexed
    users = [fake_line.add_user() for _ in range(3)]
    rows = [
        _reply_row(engine, clock, to=user, token=fake_line.issue_reply_token(user), event_id=n + 1)
        for n, user in enumerate(users)
    ]
    fake_line.delay_next("reply", 2.5)  # one of them, past the client's timeout
    report = deliverer.deliver_due()
    assert (report.sent, report.failed, report.retrying) == (2, 1, 0)
    (late,) = [row for row in rows if _row(engine, row.id).status == OutboxStatus.FAILED]
    assert _row(engine, late.id).last_error == "reply timed out"
    fake_line.wait_for(lambda: len(fake_line.requests_to("reply")) == 3)  # the late one lands later
    assert fake_line.requests_to("push") == [] and delays == []


def test_multiplexed_batch_after_line_closed_the_idle_connections(
    engine, fake_line, clock, multiplexed
) -> None:
    deliverer, delays = multiplexed
    users = [fake_line.add_user() for _ in range(3)]
    for round_ in range(2):
        for n, user in enumerate(users):
            _push_row(engine, clock, to=[user], dedupe=f"r{round_}-{n}")
        assert deliverer.deliver_due().sent == 3
        wire = deliverer.client._wire
        assert wire is not None and len(wire._idle) == 3
        for connection in wire._idle:  # as LINE does to an idle keep-alive connection
            connection.sock.shutdown(socket.SHUT_RDWR)
    assert [len(fake_line.deliveries_to(user)) for user in users] == [2, 2, 2]
    assert [r.status for r in fake_line.requests_to("push")] == [200] * 6
    assert delays == []  # sent again on fresh connections at once, not through the retry policy


def test_concurrent_senders_without_a_wire_send_each_recipients_rows_in_order(engine, clock) -> None:
    # A client with a transport of its own (a test's, a simulation's) has no wire to multiplex
    # over: each recipient's rows go out one after another on the sending threads.
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with lock:
            seen.append((body["to"], body["messages"][0]["text"]))
        return httpx.Response(200, json={"sentMessages": [{"id": str(len(seen)), "quoteToken": "q"}]})

    client = LineClient(
        access_token="t", api_base_url="http://line.invalid", data_api_base_url="http://line.invalid",
        transport=httpx.MockTransport(answer),
    )  # fmt: skip
    assert not client.multiplexes
    users = ["U" + f"{n:x}" * 32 for n in range(1, 4)]
    for n, user in enumerate(users):
        for k in range(3):
            _push_row(
                engine, clock, to=[user], dedupe=f"d{n}-{k}", messages=[{"type": "text", "text": f"{k}"}]
            )
    deliverer = Deliverer(engine, client, clock.now, "worker-1", senders=4)
    try:
        assert deliverer.deliver_due().sent == 9
    finally:
        deliverer.close()
        client.close()
    for user in users:
        assert [text for to, text in seen if to == user] == ["0", "1", "2"]
