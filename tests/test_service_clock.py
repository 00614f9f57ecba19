"""The service's clock (issue 14): TIDTAM_NOW, a move shared by every process on the database, the
ticks of the days a move passes over run exactly once, `/healthz` and the log saying so, `tidtam clock`,
and the refusal to run a simulated clock with a real LINE channel.

No test takes the date from the machine: the product's clock runs from TIDTAM_NOW or a FixedClock
under it; where a subprocess reads the system time, the move it follows was made relative to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from scheduler_office import Generated, generate_office, local_dt
from sqlalchemy.engine import Engine
from support import make_settings, running_service, start_serve
from typer.testing import CliRunner

from bot.delivery import Deliverer
from bot.line_client import LineClient
from messages.clock import clock_moved, parse_date_time, service_time
from messages.errors import InputError
from models import OutboxMessage, SchedulerRun
from models.clock import clear_offset, store_offset, stored_offset
from models.db import make_engine
from scheduler.clock import FixedClock, ShiftedClock, make_clock, parse_instant, real_line_conflict
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.service import SchedulerService
from scheduler.tick import TickSetup, plan_for
from scheduler.travel import (
    ClockError,
    move_clock,
    next_reminder,
    next_working_day,
    tick_instant,
    ticks_between,
)
from scheduler.workdays import WorkCalendar
from tidtam.cli import app
from tidtam.settings import Settings

TZ = ZoneInfo("Asia/Bangkok")
ROOT = Path(__file__).resolve().parent.parent
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
_run = SchedulerRun.__table__  # type: ignore[attr-defined]
# Monday 4 to Thursday 14 January 2027: the working days (no holiday falls between).
WORKING_5_TO_14 = [date(2027, 1, d) for d in (5, 6, 7, 8, 11, 12, 13, 14)]


def at(day: int, hour: int, minute: int = 0, month: int = 1, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def _setup() -> TickSetup:
    return TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))


def _office(engine: Engine) -> Generated:
    def q1(index: int):  # type: ignore[no-untyped-def]
        if index % 3 == 1:
            return ("submitted", local_dt(date(2027, 1, 6)), local_dt(date(2027, 1, 6)))
        return None

    return generate_office(engine, schools=2, projects_per_school=3, teachers_per_school=2, reports={1: q1})


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# --- reading TIDTAM_NOW and the shifted clock -----------------------------------------------------


def test_tidtam_now_reads_iso_in_the_office_zone() -> None:
    # A date alone is midnight in Bangkok: still the 7th in UTC.
    assert parse_instant("2027-01-08", TZ) == datetime(2027, 1, 7, 17, 0, tzinfo=UTC)
    assert parse_instant("2027-01-08T08:30", TZ) == at(8, 8, 30)
    assert parse_instant(" 2027-01-08 08:30:00+00:00 ", TZ) == datetime(2027, 1, 8, 8, 30, tzinfo=UTC)
    assert parse_instant("2027-01-08T01:30Z", TZ) == at(8, 8, 30)
    settings = _settings(TIDTAM_NOW="2027-01-08T08:30")
    assert settings.now_at == at(8, 8, 30)
    assert _settings(TIDTAM_NOW="  ").now is None and _settings().now_at is None
    with pytest.raises(ValidationError, match="TIDTAM_NOW"):
        _settings(TIDTAM_NOW="8 January")


def test_a_shifted_clock_runs_on_from_its_offset_and_a_stored_move_overrides_it() -> None:
    system = FixedClock(at(1, 12))
    stored: list[timedelta | None] = [None]
    clock = ShiftedClock(system, base=at(8, 8, 30) - system.now(), source=lambda: stored[0])
    assert clock.now() == at(8, 8, 30) and clock.simulated and clock.origin == "TIDTAM_NOW"
    system.advance(timedelta(minutes=5))
    assert clock.now() == at(8, 8, 35), "the clock runs on from TIDTAM_NOW"
    stored[0] = timedelta(days=20)
    assert clock.now() == at(8, 8, 35), "nothing changes before the stored offset is read"
    clock.refresh()
    assert clock.now() == at(21, 12, 5) and clock.moved and clock.origin == "moved"
    stored[0] = None
    clock.refresh()
    assert clock.now() == at(8, 8, 35), "a reset move falls back to TIDTAM_NOW"
    plain = ShiftedClock(system)
    assert plain.now() == system.now() and not plain.simulated and plain.origin == "system"
    assert clock.describe(TZ) == {
        "simulated": True,
        "origin": "TIDTAM_NOW",
        "now": "2027-01-08T08:35:00+07:00",
    }


def test_a_follower_read_taken_before_a_move_never_outlives_the_movers_refresh() -> None:
    # The follower thread reads the old offset just before a move commits; the mover then stores the
    # new one and refreshes. The old value read first must not be the one the clock keeps.
    system = FixedClock(at(1, 12))
    stored: list[timedelta | None] = [None]
    read_old, go_on = threading.Event(), threading.Event()

    def source() -> timedelta | None:
        value = stored[0]
        if threading.current_thread().name == "follower":
            read_old.set()
            assert go_on.wait(10)
        return value

    clock = ShiftedClock(system, source=source)
    follower = threading.Thread(target=clock.refresh, name="follower")
    follower.start()
    assert read_old.wait(10)
    stored[0] = timedelta(days=20)  # the move commits ...
    mover = threading.Thread(target=clock.refresh, name="mover")  # ... and refreshes its own clock
    mover.start()
    mover.join(0.5)  # without one refresh at a time, the mover has kept the new offset by now
    go_on.set()
    follower.join(10)
    mover.join(10)
    assert not follower.is_alive() and not mover.is_alive()
    assert clock.now() == at(21, 12), "the clock keeps the move, not the read taken before it"


def test_a_real_line_channel_is_credentials_on_lines_own_api() -> None:
    assert _settings(LINE_CHANNEL_ACCESS_TOKEN="t").real_line_channel
    assert _settings(LINE_CHANNEL_SECRET="s", LINE_API_BASE_URL="https://api.line.me/").real_line_channel
    assert not _settings(
        LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t", LINE_API_BASE_URL="http://127.0.0.1:9000"
    ).real_line_channel, "an emulator is not real LINE"
    assert not _settings().real_line_channel, "no credentials: nothing reaches LINE"


def test_clock_messages_are_thai_and_buddhist_era() -> None:
    assert (
        service_time(at(15, 8, 30), TZ, "moved")
        == "เวลาของระบบ: 15 ม.ค. 2570 08:30 น. (เวลาจำลอง: เลื่อนนาฬิกาไว้)"
    )
    assert service_time(at(15, 8, 30), TZ, "system").endswith("(เวลาจริง)")
    lines = clock_moved(at(4, 9), at(14, 9), TZ, ticked=WORKING_5_TO_14, queued=12, sent=12)
    assert lines[0] == "เลื่อนนาฬิกาจาก 4 ม.ค. 2570 09:00 น. เป็น 14 ม.ค. 2570 09:00 น. แล้วค่ะ"
    assert "ทำรอบแจ้งเตือนประจำวัน 8 วัน: 5 ม.ค. 2570, 6 ม.ค. 2570" in lines[1]
    assert lines[2:] == ["เข้าคิวส่ง 12 ข้อความ", "ส่งแล้ว 12 ข้อความ"]
    back = clock_moved(at(14, 9), at(4, 9), TZ, ticked=[], queued=0, sent=None)
    assert back[1] == "เป็นการย้อนเวลา จึงไม่มีการแจ้งเตือนรอบใหม่ค่ะ" and len(back) == 2
    assert parse_date_time("15/1/2570 08:30", today=date(2027, 1, 1)) == (
        date(2027, 1, 15),
        clock_time(8, 30),
    )
    assert parse_date_time("15 ม.ค. 70 ๐๘.๓๐ น.", today=date(2027, 1, 1))[1].hour == 8
    assert parse_date_time("2027-01-15", today=date(2027, 1, 1))[1].hour == 0
    with pytest.raises(InputError) as bad:
        parse_date_time("15/1/2570 25:00", today=date(2027, 1, 1))
    assert "เช่น 15/1/2570 08:30" in bad.value.reply_text


def test_the_ticks_a_move_passes_over() -> None:
    setup = _setup()
    assert ticks_between(at(4, 9), at(14, 9), setup) == WORKING_5_TO_14, "today's tick had already run"
    assert ticks_between(at(4, 7), at(5, 7), setup) == [date(2027, 1, 4)], "today's tick was still to come"
    assert ticks_between(at(4, 9), at(5, 8, 30), setup) == [date(2027, 1, 5)], "the new time inclusive"
    assert ticks_between(at(8, 9), at(11, 8, 29), setup) == [], "a weekend, and Monday before its tick"
    assert ticks_between(at(14, 9), at(4, 9), setup) == [], "moving back runs nothing"
    assert ticks_between(at(31, 9, month=12, year=2026), at(4, 9), setup) == [date(2027, 1, 4)], "New Year"
    assert next_working_day(at(8, 15), setup) == at(11, 8, 30), "Friday afternoon: Monday at the tick"
    assert next_working_day(at(4, 7), setup) == at(5, 8, 30)


# --- the move, shared and exactly once ---------------------------------------------------------------


def test_a_move_is_shared_by_every_engine_on_the_database(db_url: str, tmp_path: Path) -> None:
    settings = _settings(TIDTAM_DATABASE_URL=db_url, TIDTAM_SCHEDULER_ENABLED=False)
    one, two = make_engine(db_url), make_engine(db_url)
    try:
        system = FixedClock(at(4, 9))
        mover = make_clock(settings, one, system=system)
        watcher = make_clock(settings, two, system=system)
        assert watcher.now() == at(4, 9) and not watcher.simulated
        summary = move_clock(one, settings, at(4, 18), clock=mover)
        assert summary.before == at(4, 9) and mover.now() == at(4, 18)
        assert summary.dispatch is None, "no LINE configured here: the service's dispatcher sends"
        assert stored_offset(two) == timedelta(hours=9)
        watcher.refresh()
        assert watcher.now() == at(4, 18) and watcher.origin == "moved"
        follower = make_clock(settings, two, system=system).follow()
        try:
            assert follower.now() == at(4, 18)
            assert clear_offset(one)
            for _ in range(100):  # bounded (10 s): it reads the offset every second
                if not follower.moved:
                    break
                time.sleep(0.1)
            assert follower.now() == at(4, 9) and follower.origin == "system"
        finally:
            follower.stop()
    finally:
        one.dispose()
        two.dispose()


def test_another_process_shows_the_moved_clock(db_url: str, tmp_path: Path) -> None:
    # This process starts at TIDTAM_NOW and moves the clock; `tidtam clock` in another process, without
    # TIDTAM_NOW, shows the moved time (its system time plus the stored offset).
    settings = _settings(
        TIDTAM_DATABASE_URL=db_url, TIDTAM_NOW="2027-01-14T09:00", TIDTAM_SCHEDULER_ENABLED=False
    )
    engine = make_engine(db_url)
    try:
        summary = move_clock(engine, settings, at(15, 8, 30))
        assert summary.days_ticked == [date(2027, 1, 15)]
    finally:
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDTAM_", "LINE_"))}
    env["TIDTAM_DATABASE_URL"] = db_url
    shown = subprocess.run(
        [sys.executable, "-m", "tidtam.cli", "clock"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("เวลาของระบบ: 15 ม.ค. 2570 08:3"), shown.stdout
    assert "เลื่อนนาฬิกาไว้" in shown.stdout


def test_moving_ten_days_runs_each_working_days_tick_once_and_sends_it(
    engine: Engine,
    db_url: str,
    fake_line,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _office(engine)
    settings = make_settings(db_url, fake_line, tmp_path, TIDTAM_MONTHLY_MESSAGE_QUOTA=0)
    clock = make_clock(settings, engine, system=FixedClock(at(4, 9)))
    summary = move_clock(engine, settings, at(14, 9), clock=clock)
    assert summary.days_ticked == WORKING_5_TO_14
    assert clock.now() == at(14, 9)
    with engine.connect() as conn:
        runs = sorted(conn.execute(sa.select(_run.c.run_on)).scalars())
        stamps = conn.execute(sa.select(_outbox.c.dedupe_key, _outbox.c.created_at)).all()
        statuses = set(conn.execute(sa.select(_outbox.c.status)).scalars())
    assert runs == WORKING_5_TO_14
    # Each day's messages are queued at that day's tick time (the monthly quota counts them so).
    assert stamps and all(
        created == tick_instant(date.fromisoformat(key.split(":")[1]), _setup()) for key, created in stamps
    )
    assert len({key.split(":")[1] for key, _ in stamps}) > 1, "several days sent something"
    rows = _count(engine, _outbox)
    assert rows == sum(t.rows for t in summary.ticks) and summary.queued >= rows
    assert summary.dispatch is not None and summary.sent == rows and statuses == {"sent"}
    assert len(fake_line.deliveries) == summary.queued
    # Back to the start and forward again: nothing is ticked or sent twice.
    back = move_clock(engine, settings, at(4, 9), clock=clock)
    assert back.days_ticked == [] and back.already == [] and clock.now() == at(4, 9)
    again = move_clock(engine, settings, at(14, 9), clock=clock)
    assert again.days_ticked == [] and again.already == WORKING_5_TO_14 and again.sent == 0
    assert _count(engine, _outbox) == rows and _count(engine, _run) == len(WORKING_5_TO_14)
    assert len(fake_line.deliveries) == summary.queued
    # One more working day: only its tick runs.
    nxt = move_clock(engine, settings, next_working_day(clock.now(), _setup()), clock=clock)
    assert nxt.days_ticked == [date(2027, 1, 15)] and clock.now() == at(15, 8, 30)


def test_moving_is_refused_with_a_real_line_channel(engine: Engine, db_url: str) -> None:
    settings = _settings(TIDTAM_DATABASE_URL=db_url, LINE_CHANNEL_ACCESS_TOKEN="a-real-token")
    with pytest.raises(ClockError, match="real LINE"):
        move_clock(engine, settings, at(14, 9), clock=ShiftedClock(FixedClock(at(4, 9))))
    assert stored_offset(engine) is None and _count(engine, _run) == 0


def test_next_reminder_is_the_next_tick_with_something_to_send(engine: Engine) -> None:
    setup = _setup()
    assert next_reminder(engine, setup, at(4, 9)) is None, "no office, no periods: nothing ahead"
    _office(engine)
    start = at(23, 9, month=12, year=2026)
    found = next_reminder(engine, setup, start)
    assert found is not None and found > start
    day = found.astimezone(TZ).date()
    assert found == datetime.combine(day, setup.rules.delivery.tick, tzinfo=TZ)
    with engine.connect() as conn:
        assert plan_for(conn, day, setup)[0].recipients, "that day's tick sends something"
        between = [
            d
            for d in (start.date() + timedelta(days=n) for n in range(1, (day - start.date()).days))
            if setup.calendar.is_working_day(d)
        ]
        assert all(not plan_for(conn, d, setup)[0].recipients for d in between), "and no earlier one does"
        conn.rollback()


# --- the service on a moved clock ----------------------------------------------------------------


async def test_the_scheduler_ticks_when_the_shifted_clock_reaches_the_tick_time(
    engine: Engine,
    db_url: str,
    fake_line,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _office(engine)
    settings = make_settings(db_url, fake_line, tmp_path, TIDTAM_MONTHLY_MESSAGE_QUOTA=0)
    system = FixedClock(at(8, 8, 0))
    clock = make_clock(settings, engine, system=system)
    client = LineClient(
        access_token=fake_line.access_token,
        api_base_url=fake_line.base_url,
        data_api_base_url=fake_line.base_url,
        timeout=5,
    )
    service = SchedulerService(
        engine, settings, clock, Deliverer(engine, client, clock.now, "svc"), setup=_setup()
    )
    try:
        assert service.tick_if_due() is None, "08:00: the tick is not due (whatever the real time)"
        system.set(at(8, 8, 31))
        first = service.tick_if_due()
        assert first is not None and first.ran and first.day == date(2027, 1, 8)
        assert service.tick_if_due() is None, "once a day"
        service.start()
        assert service.scheduler is not None and service.scheduler.get_job("tick-watch") is not None
        await service.stop()
    finally:
        client.close()
    assert _count(engine, _run) == 1


def test_healthz_says_the_clock_is_simulated_and_follows_a_move(
    db_url: str,
    fake_line,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(db_url, fake_line, tmp_path, TIDTAM_NOW="2027-01-08T09:00")
    with running_service(settings) as base_url:
        body = httpx.get(f"{base_url}/healthz", timeout=5).json()
        assert body["status"] == "ok"
        assert body["clock"]["simulated"] is True and body["clock"]["origin"] == "TIDTAM_NOW"
        assert body["clock"]["now"].startswith("2027-01-08T09:"), body
        engine = make_engine(db_url)
        try:
            move_clock(engine, settings, at(15, 10), clock=make_clock(settings, engine))
        finally:
            engine.dispose()
        for _ in range(100):  # bounded (10 s): the web process reads the offset every second
            body = httpx.get(f"{base_url}/healthz", timeout=5).json()
            if body["clock"]["origin"] == "moved":
                break
            time.sleep(0.1)
        assert body["clock"]["origin"] == "moved" and body["clock"]["now"].startswith("2027-01-15T10:"), body


# --- the commands ----------------------------------------------------------------------------------


def test_tidtam_now_sets_the_day_of_remind_and_the_clock_command(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _office(engine)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    # Midnight in Bangkok is still the day before in UTC: the date must be Bangkok's.
    env = {"TIDTAM_DATABASE_URL": db_url, "TIDTAM_NOW": "2027-01-08", "TIDTAM_MONTHLY_MESSAGE_QUOTA": "0"}
    result = runner.invoke(app, ["remind", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("วันที่ 8 ม.ค. 2570 (2027-01-08):")
    assert "(report_due) อีก 1 วันทำการ ครบกำหนดส่งรายงานไตรมาส 1/2570 (11 ม.ค. 2570)" in result.output
    shown = runner.invoke(app, ["clock"], env={**env, "TIDTAM_NOW": "2027-01-08T08:30+07:00"})
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("เวลาของระบบ: 8 ม.ค. 2570 08:3") and "ตั้งด้วย TIDTAM_NOW" in shown.output
    assert _count(engine, _outbox) == 0 and _count(engine, _run) == 0


def test_the_clock_command_moves_resets_and_explains_bad_input(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _office(engine)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {
        "TIDTAM_DATABASE_URL": db_url,
        "TIDTAM_NOW": "2027-01-04T09:00",
        "TIDTAM_MONTHLY_MESSAGE_QUOTA": "0",
    }
    moved = runner.invoke(app, ["clock", "set", "8/1/2570 09:00"], env=env)
    assert moved.exit_code == 0, moved.output
    lines = moved.output.splitlines()
    assert lines[0].startswith("เลื่อนนาฬิกาจาก 4 ม.ค. 2570 09:0") and lines[0].endswith(
        "เป็น 8 ม.ค. 2570 09:00 น. แล้วค่ะ"
    )
    assert lines[1] == "ทำรอบแจ้งเตือนประจำวัน 4 วัน: 5 ม.ค. 2570, 6 ม.ค. 2570, 7 ม.ค. 2570, 8 ม.ค. 2570"
    assert "ระบบจะส่งข้อความในคิวเอง" in moved.output, "no LINE here: the service sends"
    assert lines[-1].startswith("เวลาของระบบ: 8 ม.ค. 2570 09:0") and "เลื่อนนาฬิกาไว้" in lines[-1]
    nxt = runner.invoke(app, ["clock", "next-day"], env=env)
    assert nxt.exit_code == 0 and "เป็น 11 ม.ค. 2570 08:30 น. แล้วค่ะ" in nxt.output, nxt.output
    bad = runner.invoke(app, ["clock", "set", "31/2/2570 08:30"], env=env)
    assert bad.exit_code == 2 and "ไม่มีวันที่ 31 ก.พ. 2570 ค่ะ" in bad.output
    assert "เช่น 15/1/2570 08:30 หรือ 2027-01-15T08:30" in bad.output
    assert stored_offset(engine) is not None, "a bad date loses nothing: the clock stays where it was"
    reset = runner.invoke(app, ["clock", "reset"], env=env)
    assert reset.exit_code == 0 and reset.output.startswith("คืนนาฬิกาเป็นเวลาปกติแล้วค่ะ"), reset.output
    assert "ตั้งด้วย TIDTAM_NOW" in reset.output and stored_offset(engine) is None
    with engine.connect() as conn:
        runs = sorted(conn.execute(sa.select(_run.c.run_on)).scalars())
    assert runs == [*WORKING_5_TO_14[:4], date(2027, 1, 11)]


def test_commands_that_send_refuse_a_simulated_clock_with_real_line(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    real = {
        "TIDTAM_DATABASE_URL": db_url,
        "LINE_CHANNEL_SECRET": "secret",
        "LINE_CHANNEL_ACCESS_TOKEN": "token",
        "LINE_API_BASE_URL": "https://api.line.me",
        "TIDTAM_NOW": "2027-01-08T09:00",
    }
    for args in (["clock", "set", "2027-01-15T09:00"], ["remind"], ["dispatch", "--until-empty"]):
        result = runner.invoke(app, args, env=real)
        assert result.exit_code == 2, (args, result.output)
        assert "real LINE" in result.output, (args, result.output)
    # A dry run sends nothing: it may look at another day with a real channel configured.
    assert runner.invoke(app, ["remind", "--dry-run"], env=real).exit_code == 0
    assert stored_offset(engine) is None and _count(engine, _run) == 0
    settings = _settings(**real)
    assert "TIDTAM_NOW" in (real_line_conflict(settings, engine) or "")
    emulated = _settings(**{**real, "LINE_API_BASE_URL": "http://127.0.0.1:9"})
    assert real_line_conflict(emulated, engine) is None


def _serve(tmp_path: Path, db_url: str, extra: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDTAM_", "LINE_"))}
    env.update(TIDTAM_DATABASE_URL=db_url, **extra)
    return start_serve([], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_serve_refuses_tidtam_now_or_a_moved_clock_with_a_real_line_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def started(*_args: object) -> None:
        raise AssertionError("serve started")

    monkeypatch.setattr(uvicorn.Server, "run", started)  # a refusal that fails must not hang the test
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'refuse.sqlite3'}"
    real = {
        "TIDTAM_DATABASE_URL": db_url,
        "LINE_CHANNEL_SECRET": "secret",
        "LINE_CHANNEL_ACCESS_TOKEN": "token",
        "LINE_API_BASE_URL": "https://api.line.me",  # LINE's own
    }
    runner = CliRunner()
    result = runner.invoke(app, ["serve"], env={**real, "TIDTAM_NOW": "2027-01-08T09:00"})
    assert result.exit_code == 2, result.output
    assert (
        "error: TIDTAM_NOW is set (2027-01-08T09:00) while a real LINE channel is configured" in result.output
    )
    engine = make_engine(db_url)  # serve migrated before it refused
    try:
        store_offset(engine, timedelta(days=3), moved_to=at(8, 9), moved_at=at(5, 9))
    finally:
        engine.dispose()
    result = runner.invoke(app, ["serve"], env=real)
    assert result.exit_code == 2, result.output
    assert "the service clock was moved" in result.output and "tidtam clock reset" in result.output


def test_serve_with_tidtam_now_logs_it_and_hands_the_worker_the_same_offset(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'svc.sqlite3'}"
    proc, port = _serve(tmp_path, db_url, {"TIDTAM_NOW": "2027-01-08T09:00"})
    try:
        body = None
        for _ in range(150):  # bounded: at most ~15 s
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert body is not None and body["clock"]["simulated"] is True, body
        assert body["clock"]["now"].startswith("2027-01-08T09:"), body
        workers = []
        for _ in range(100):  # bounded: the worker is started beside the web process
            workers = [
                cmd for cmd in _cmdlines() if "worker" in cmd and "--with-parent" in cmd and db_url in cmd[-1]
            ]
            if workers:
                break
            time.sleep(0.1)
        assert workers, "serve starts a worker"
        # The worker starts from the web process's TIDTAM_NOW offset (microseconds), not its own.
        assert int(workers[0][workers[0].index("--clock-offset-us") + 1]) != 0
        ready = None
        for _ in range(150):  # bounded: at most ~15 s for the worker's first heartbeat
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if ready.status_code == 200:
                break
            time.sleep(0.1)
        assert ready is not None and ready.status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    logged = [line for line in out.splitlines() if "the service clock is simulated (TIDTAM_NOW)" in line]
    assert len(logged) == 2, out[-2000:]  # one line from each process
    assert all("2027-01-08T09:0" in line for line in logged)


def _cmdlines() -> list[list[str]]:
    """Each process's command line, with its TIDTAM_DATABASE_URL appended (to pick this test's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        url = next(
            (e[len(b"TIDTAM_DATABASE_URL=") :] for e in environ if e.startswith(b"TIDTAM_DATABASE_URL=")), b""
        )
        found.append([part.decode(errors="replace") for part in cmd if part] + [url.decode(errors="replace")])
    return found
