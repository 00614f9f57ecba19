"""Exactly once: a dispatcher killed with SIGKILL mid-batch and restarted, and two replicas ticking at
the same moment, against the fake LINE platform (which dedupes retry keys as LINE does)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from scheduler_office import generate_office, line_user_id
from sqlalchemy.engine import Engine
from sqlmodel import Session

import scheduler.tick as tick_module
from bot.delivery import Deliverer
from bot.line_client import LineClient, RetryPolicy
from models import OutboxMessage, SchedulerRun
from models.db import make_engine
from models.outbox import queue_push
from scheduler.clock import FixedClock
from scheduler.dispatch import Dispatcher
from scheduler.rules import load_rules
from scheduler.tick import TickResult, TickSetup, run_tick
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
TIDTAM = Path(sys.executable).parent / "tidtam"
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


def _env(db_url: str, fake) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = dict(os.environ)
    env.update(
        TIDTAM_DATABASE_URL=db_url,
        LINE_CHANNEL_ACCESS_TOKEN=fake.access_token,
        LINE_CHANNEL_SECRET=fake.channel_secret,
        LINE_API_BASE_URL=fake.base_url,
        LINE_DATA_API_BASE_URL=fake.base_url,
        TIDTAM_QUIET_HOURS="00:00-00:00",  # the real clock runs this test: no quiet hours
        TIDTAM_LINE_TIMEOUT_SECONDS="10",
    )
    return env


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def test_dispatcher_killed_mid_batch_resumes_without_duplicates(
    engine: Engine, db_url: str, fake_line, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)  # the real clock: `tidtam dispatch` below reads it in its own process
    users = [line_user_id(1000 + n) for n in range(30)]
    with Session(engine) as session:
        for n, user in enumerate(users):
            queue_push(
                session, to=[user], messages=[{"type": "text", "text": f"แจ้งเตือนที่ {n + 1} ค่ะ"}],
                dedupe_key=f"crash:{n}", rule="test", subject=str(n), now=now,
            )  # fmt: skip
        session.commit()
    fake_line.delay_next("push", 1.0, times=5)  # slow LINE: the kill lands while a request is in flight
    command = [str(TIDTAM), "dispatch", "--until-empty", "--holder", "crash-test", "--batch", "5"]
    first = subprocess.Popen(
        command, env=_env(db_url, fake_line), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait(lambda: len(fake_line.deliveries) >= 3 or first.poll() is not None, 60, "first deliveries")
        time.sleep(0.3)  # the next push is now waiting in the fake's 1 s delay
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    with engine.connect() as conn:
        states = Counter(conn.execute(sa.select(_outbox.c.status)).scalars())
    assert states["sending"] >= 1, f"the kill should leave a claimed batch behind: {states}"
    assert states["pending"] >= 1, states

    second = subprocess.run(
        command, env=_env(db_url, fake_line), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stdout + second.stderr

    with engine.connect() as conn:
        rows = conn.execute(sa.select(_outbox.c.retry_key, _outbox.c.status, _outbox.c.recipients)).all()
    assert {r.status for r in rows} == {"sent"}
    delivered = Counter(d.retry_key for d in fake_line.deliveries)
    assert delivered == Counter({r.retry_key: 1 for r in rows}), "every message exactly once"
    assert sorted(d.to for d in fake_line.deliveries) == sorted(users)
    conflicts = [r for r in fake_line.requests_to("push") if r.status == 409]
    assert conflicts, "the push in flight at the kill was retried with its retry key and answered 409"


def _office(engine: Engine) -> None:
    generate_office(engine, schools=6, projects_per_school=3, teachers_per_school=2)


def _setup(holder: str) -> TickSetup:
    return TickSetup(load_rules(), WorkCalendar(), TZ, (), monthly_quota=0, holder=holder)


def _race(db_url: str, clock: FixedClock) -> list[TickResult]:
    """Two replicas (own engines, own threads) start the same tick at the same moment."""
    barrier = threading.Barrier(2)
    results: list[TickResult] = []
    errors: list[BaseException] = []

    def replica(name: str) -> None:
        engine = make_engine(db_url)
        try:
            barrier.wait(timeout=10)
            results.append(run_tick(engine, clock, _setup(name)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica, args=(name,)) for name in ("replica-a", "replica-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2
    return results


@pytest.mark.parametrize("lease", [True, False], ids=["with-lease", "lease-bypassed"])
def test_two_replicas_ticking_at_once_queue_each_message_once(
    engine: Engine,
    db_url: str,
    fake_line,
    monkeypatch: pytest.MonkeyPatch,
    lease: bool,  # type: ignore[no-untyped-def]
) -> None:
    _office(engine)
    if not lease:
        # Even if both replicas got past the lease (one expired mid-tick), the day's SchedulerRun row,
        # inserted in the same transaction as the messages, lets only one of them commit.
        monkeypatch.setattr(tick_module, "acquire_lease", lambda *a, **k: True)
    clock = FixedClock(datetime(2027, 1, 8, 8, 30, tzinfo=TZ))
    results = _race(db_url, clock)
    ran = [r for r in results if r.ran]
    assert len(ran) == 1, [r.reason for r in results]
    with engine.connect() as conn:
        keys = list(conn.execute(sa.select(_outbox.c.dedupe_key)).scalars())
        runs = conn.execute(sa.select(sa.func.count()).select_from(SchedulerRun.__table__)).scalar_one()  # type: ignore[attr-defined]
    assert runs == 1
    assert len(keys) == ran[0].rows > 0 and len(set(keys)) == len(keys)
    # A third attempt later the same day is a no-op.
    assert run_tick(engine, clock, _setup("replica-c")).reason == "already ran"

    # Two dispatchers drain concurrently: each row reaches LINE once.
    client = LineClient(
        access_token=fake_line.access_token, api_base_url=fake_line.base_url, data_api_base_url=fake_line.base_url,
        timeout=5, retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    )  # fmt: skip
    dispatchers = [
        Dispatcher(engine, Deliverer(engine, client, clock.now, f"d{n}"), clock, TZ, batch=3)
        for n in range(2)
    ]
    threads = [threading.Thread(target=d.drain) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    client.close()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_outbox.c.retry_key, _outbox.c.recipients, _outbox.c.status)).all()
    assert {r.status for r in rows} == {"sent"}
    delivered = Counter(d.retry_key for d in fake_line.deliveries)
    assert delivered == Counter({r.retry_key: len(r.recipients) for r in rows})
    per_person = Counter(d.to for d in fake_line.deliveries)
    assert max(per_person.values()) == 1


def test_a_tick_in_quiet_hours_waits_for_the_next_working_morning(engine: Engine, fake_line) -> None:  # type: ignore[no-untyped-def]
    _office(engine)
    # Friday 8 Jan 2570 at 21:15 (a catch-up after an outage): nothing leaves until Monday 07:00.
    clock = FixedClock(datetime(2027, 1, 8, 21, 15, tzinfo=TZ))
    result = run_tick(engine, clock, _setup("late"))
    assert result.ran and result.rows > 0
    client = LineClient(
        access_token=fake_line.access_token,
        api_base_url=fake_line.base_url,
        data_api_base_url=fake_line.base_url,
        timeout=5,
    )
    dispatcher = Dispatcher(engine, Deliverer(engine, client, clock.now, "night"), clock, TZ)
    for moment in (datetime(2027, 1, 8, 23, 0), datetime(2027, 1, 9, 7, 30), datetime(2027, 1, 10, 12, 0)):
        clock.set(moment.replace(tzinfo=TZ))
        dispatcher.drain()
        assert fake_line.deliveries == [], f"nothing may be sent at {moment}"
    clock.set(datetime(2027, 1, 11, 7, 0, tzinfo=TZ))
    assert dispatcher.drain().sent == result.rows
    client.close()
    with engine.connect() as conn:
        not_before = set(conn.execute(sa.select(_outbox.c.not_before)).scalars())
    assert {t.astimezone(TZ) for t in not_before} == {datetime(2027, 1, 11, 7, 0, tzinfo=TZ)}
    assert date(2027, 1, 11).weekday() == 0
