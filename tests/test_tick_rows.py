"""The tick's fast row builder (scheduler/tick.py ``_outbox_rows``: the columns that vary as tuples,
the rest given once) gives exactly the rows the dict builder ``_row`` gave before it: the same value
in every column but the retry key, which is a fresh version 4 UUID on every row, and the messages,
where the day's reminder is stored compact and expands to exactly the Flex stored before; and
``insert_rows`` stores tuple rows with constants as it stores dict rows, on both backends."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from scheduler_office import busy_day_reports, generate_office, local_dt
from sqlalchemy.engine import Engine

from messages.reminders import Item, ItemKind, Line, daily_message_dict, daily_message_json
from messages.riders import daily_rider, one_push
from messages.stored import DAILY_TYPE, expand
from models import OutboxMessage, outbox
from models.forked import flat_dumps
from models.outbox import (
    checkpoint_later,
    insert_built_rows,
    insert_rows,
    json_text,
    retry_keys,
    sorted_retry_keys,
)
from scheduler import tick
from scheduler.budget import Held, Push, spend
from scheduler.planner import Recipient
from scheduler.process_steps import load_process_steps
from scheduler.rules import Rules, load_rules
from scheduler.tick import DAILY_COLUMNS, MULTICAST_LIMIT, TickSetup, plan_for
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
DAY = date(2027, 1, 8)
NOW = datetime(2027, 1, 8, 1, 30, tzinfo=UTC)
NOT_BEFORE = datetime(2027, 1, 8, 2, 0, tzinfo=UTC)
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


def _reference_rows(
    pushes: Sequence[Push], day: date, now: datetime, not_before: datetime, rules: Rules
) -> Iterator[tuple[dict[str, Any], int]]:
    """The tick's rows as they were built before the fast path: one ``_row`` dict each."""
    keys = retry_keys()
    max_lines = rules.delivery.max_lines
    ride = rules.riding.reminders_wait_hours > 0
    groups: dict[tuple[Item, ...], list[Recipient]] = defaultdict(list)
    for push in pushes:
        r = push.recipient
        if push.held:
            first = [daily_message_dict(r.items, day, max_lines=max_lines)] if r.items else []
            messages = one_push(first, [m for h in push.held for m in h.messages])
            rider = "\n".join(
                filter(None, [daily_rider(r.items) if r.items else "", *(h.rider for h in push.held)])
            )
            yield (
                tick._row(keys, f"daily:{day}:{r.key}", r, r.items, day, now, not_before, max_lines,
                          json_text(messages)[1:-1], push.rules, rider if ride else None),
                1,
            )  # fmt: skip
        elif r.personal:
            groups[r.items].append(r)
        else:
            yield (
                tick._row(keys, f"daily:{day}:{r.key}", r, r.items, day, now, not_before, max_lines,
                          personal=False),
                1,
            )  # fmt: skip
    for items, members in groups.items():
        message = daily_message_json(items, day, max_lines=max_lines)
        if len(members) == 1:
            r = members[0]
            rider = daily_rider(items) if ride else None
            yield (
                tick._row(keys, f"daily:{day}:{r.key}", r, items, day, now, not_before, max_lines, message,
                          rider=rider),
                1,
            )  # fmt: skip
            continue
        for start in range(0, len(members), MULTICAST_LIMIT):
            chunk = members[start : start + MULTICAST_LIMIT]
            person_ids = [p for m in chunk for p in m.person_ids]
            digest = hashlib.sha1(",".join(map(str, person_ids)).encode()).hexdigest()[:24]
            group = Recipient(f"m{digest}", "", "", items, tuple(person_ids))
            row = tick._row(keys, f"daily:{day}:m{digest}", group, items, day, now, not_before, max_lines,
                            message, to=[m.to for m in chunk])  # fmt: skip
            yield row, len(chunk)


def _fast_rows(pushes: Sequence[Push], rules: Rules) -> list[tuple[dict[str, Any], int]]:
    constants = tick._constants(NOW, NOT_BEFORE)
    return [
        ({**dict(zip(DAILY_COLUMNS, values, strict=True)), **constants}, n)
        for values, n in tick._outbox_rows(pushes, DAY, NOW, NOT_BEFORE, rules)
    ]


def _assert_same_rows(pushes: Sequence[Push], rules: Rules) -> list[dict[str, Any]]:
    old = list(_reference_rows(pushes, DAY, NOW, NOT_BEFORE, rules))
    new = _fast_rows(pushes, rules)
    held_keys = {f"daily:{DAY}:{push.recipient.key}" for push in pushes if push.held}
    assert len(new) == len(old) > 0
    keys = [row["retry_key"] for row, _n in new]
    assert len(set(keys)) == len(keys)
    assert all(uuid.UUID(key).version == 4 and str(uuid.UUID(key)) == key for key in keys)
    assert keys == sorted(keys)  # handed out in order: the unique index takes them in one pass
    for (old_row, old_n), (new_row, new_n) in zip(old, new, strict=True):
        assert set(new_row) == set(old_row)
        assert {k: v for k, v in new_row.items() if k not in ("retry_key", "messages")} == {
            k: v for k, v in old_row.items() if k not in ("retry_key", "messages")
        }
        # The day's reminder is stored compact (a push with held rows folded in as LINE's JSON);
        # what LINE is sent, the stored messages expanded, is byte for byte what was stored before.
        stored = json.loads(new_row["messages"])
        assert json_text(expand(stored)) == old_row["messages"]
        folded = new_row["dedupe_key"] in held_keys
        assert [m["type"] for m in stored if m["type"] == DAILY_TYPE] == ([] if folded else [DAILY_TYPE])
        assert new_n == old_n
    return [row for row, _n in new]


def _item(kind: ItemKind, subject: str, *codes: str, days: int = 1) -> Item:
    lines = tuple(Line(code, f"โครงการ {code}", "2570Q1") for code in codes)
    return Item(kind, subject, (2570, 1), date(2027, 1, 11), days, len(lines), lines)


def _pushes() -> list[Push]:
    """Every kind of row: a person's own push, one with held rows folded in (and one with held rows
    only), a group chat's, people with identical messages (a multicast, and 501 of them: a multicast
    of 500 and a push of one), and LINE ids JSON has to escape."""
    due = _item(ItemKind.REPORT_DUE, "q1", "P1", "P2")
    shared = _item(ItemKind.REPORT_DUE, "q1", "P9")
    many = _item(ItemKind.DRAFT_IDLE, "d", "P7", days=3)
    held = Held(41, "U-held", (7,), ({"type": "text", "text": "อนุมัติรายงาน\nแล้วค่ะ"},), "approval_request",
                "รายงานรออนุมัติ 1 รายการ")  # fmt: skip
    notice = Held(42, "U-held", (7,), ({"type": "text", "text": 'ส่ง "คืน" \\ แก้ไข'},), "decision", "")
    escalation = Item(ItemKind.LATE_ESCALATION, "late", (2570, 1), date(2027, 1, 11), 5, 2,
                      (Line("S1", "โรงเรียน 1", "3 โครงการ"),))  # fmt: skip
    pushes = [
        Push(Recipient("p1", "U0001", "T1", (due,), (1,))),
        Push(Recipient("p7", "U-held", "T7", (due, many), (7,)), (held, notice)),
        Push(Recipient("hU-only", "U-only", "U-only", (), (8,)), (notice,)),
        Push(Recipient("gC1", "C0001", "กลุ่ม", (escalation,), (), 3)),
        Push(Recipient("p2", "U0002", "T2", (shared,), (2,))),
        Push(Recipient("p3", "U0003", "T3", (shared,), (3,))),
        Push(Recipient("p4", 'U"quoted\\', "T4", (_item(ItemKind.REPORT_OVERDUE, "q1", "P4"),), (4,))),
    ]
    pushes += [Push(Recipient(f"p{1000 + n}", f"U{1000 + n}", "T", (many,), (1000 + n,))) for n in range(501)]
    return pushes


@pytest.mark.parametrize("wait_hours", [0, 2])
def test_every_kind_of_row_is_what_the_dict_builder_gave(wait_hours: int) -> None:
    rules = load_rules()
    rules = replace(rules, riding=replace(rules.riding, reminders_wait_hours=wait_hours))
    rows = _assert_same_rows(_pushes(), rules)
    kinds = [row["kind"] for row in rows]
    assert kinds.count("multicast") == 2  # the two who share a message, and 500 of the 501
    assert sum(row["rider"] is not None for row in rows) == (0 if wait_hours == 0 else 3)  # p1, p7, p4


def test_a_small_office_s_day_is_what_the_dict_builder_gave(engine: Engine) -> None:
    def q1(index: int):  # type: ignore[no-untyped-def]
        if index % 3 == 0:
            return ("draft", None, local_dt(date(2027, 1, 5)))
        if index % 3 == 1:
            return ("submitted", local_dt(date(2027, 1, 4)), local_dt(date(2027, 1, 4)))
        return None

    generate_office(engine, schools=4, projects_per_school=3, teachers_per_school=2, reports={1: q1})
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, DAY, setup)
    spending = spend(plan, [], allowance=None)
    rows = _assert_same_rows(spending.pushes, setup.rules)
    assert len({row["dedupe_key"] for row in rows}) == len(rows) >= 4


def test_the_summary_s_tally_counts_what_the_plan_holds(engine: Engine) -> None:
    """`_tally`'s one pass gives the plan's naive count, its items by kind, and the reminders a
    digest-only day summarised (the sum of its summaries' totals)."""
    generate_office(
        engine, schools=4, projects_per_school=3, teachers_per_school=2, reports={1: busy_day_reports}
    )
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, DAY, setup)
    summary = Item(ItemKind.REMINDER_SUMMARY, "budget", total=7)
    plan.recipients.append(Recipient("a1", "C1", "group", (summary, summary)))
    tally = tick._tally(plan)
    items = [i for r in plan.recipients for i in r.items]
    assert tally.naive == plan.naive_messages == sum(max(1, i.total) for i in items) > len(items) > 2
    assert tally.kinds == dict(Counter(i.kind.value for i in items)) and len(tally.kinds) >= 3
    assert tally.summarised == 14


def test_tuple_rows_with_constants_are_stored_as_dict_rows(engine: Engine) -> None:
    rules = load_rules()
    rules = replace(rules, riding=replace(rules.riding, reminders_wait_hours=2))
    pushes = _pushes()[:7]
    dicts = [row for row, _n in _reference_rows(pushes, DAY, NOW, NOT_BEFORE, rules)]
    fast = [values for values, _n in tick._outbox_rows(pushes, DAY, NOW, NOT_BEFORE, rules)]
    with engine.begin() as conn:
        assert insert_rows(conn, dicts) == len(dicts)
    with engine.connect() as conn:
        stored_old = [dict(row._mapping) for row in conn.execute(sa.select(_outbox).order_by(_outbox.c.id))]
    with engine.begin() as conn:
        conn.execute(sa.delete(_outbox))
        count = insert_rows(
            conn, iter(fast), columns=DAILY_COLUMNS, constants=tick._constants(NOW, NOT_BEFORE)
        )
        assert count == len(fast)
    with engine.connect() as conn:
        stored_new = [dict(row._mapping) for row in conn.execute(sa.select(_outbox).order_by(_outbox.c.id))]
    assert len(stored_new) == len(stored_old) == 6  # p2 and p3 share a multicast
    for old, new in zip(stored_old, stored_new, strict=True):
        skip = {"id", "retry_key", "messages"}
        assert {k: v for k, v in new.items() if k not in skip} == {
            k: v for k, v in old.items() if k not in skip
        }
        assert expand(new["messages"]) == old["messages"]
    folded = next(row for row in stored_new if row["dedupe_key"] == f"daily:{DAY}:p7")
    assert "\n" in folded["rider"]  # a line break survives COPY's text format
    assert folded["messages"][-1]["text"] == 'ส่ง "คืน" \\ แก้ไข'  # so do quotes and a backslash
    assert folded["not_before"] == NOT_BEFORE and folded["created_at"] == NOW
    assert folded["status"] == "pending" and folded["rule"] == "daily" and folded["reply_token"] is None


def test_constants_and_messages_are_stored_as_given(engine: Engine) -> None:
    """A constant with a quote in it is stored as it is (SQLite: a literal in the statement), and
    the messages are stored as text (SQLite: bound as UTF-8 and cast), on both backends."""
    pushes = _pushes()[:3]
    rows = [values for values, _n in tick._outbox_rows(pushes, DAY, NOW, NOT_BEFORE, load_rules())]
    constants = {**tick._constants(NOW, NOT_BEFORE), "last_error": "it's \\ 'quoted'", "attempts": 2}
    with engine.begin() as conn:
        assert insert_rows(conn, iter(rows), columns=DAILY_COLUMNS, constants=constants) == len(rows)
    at = DAILY_COLUMNS.index("messages")
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(
                sa.cast(_outbox.c.messages, sa.Text), _outbox.c.last_error, _outbox.c.attempts,
                _outbox.c.ride_key, _outbox.c.not_before,
            ).order_by(_outbox.c.id)
        ).all()  # fmt: skip
        if engine.dialect.name == "sqlite":
            types = {t for (t,) in conn.exec_driver_sql("SELECT typeof(messages) FROM outbox_message")}
            assert types == {"text"}
    assert len(stored) == len(rows)
    for (messages, error, attempts, ride_key, not_before), row in zip(stored, rows, strict=True):
        assert json.loads(messages) == json.loads(row[at])
        assert (error, attempts, ride_key, not_before) == ("it's \\ 'quoted'", 2, None, NOT_BEFORE)


def test_frames_pickled_without_the_memo_read_back_as_written() -> None:
    """`flat_dumps` (the workers' frames): a chunk of rows reads back equal, an object held twice
    reads back as two equal objects, and a value that contains itself is refused."""
    shared = ("s", 1)
    value = (2, [("k1", "ข้อความ", b"\xe0\xb8\x82", None, 7, shared), ("k2", "", b"", None, -1, shared)])
    back = pickle.loads(flat_dumps(value))
    assert back == value and back[1][0][5] == back[1][1][5]
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="cyclic"):
        flat_dumps(cyclic)


def _stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(_outbox).order_by(_outbox.c.id))]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="rows are built in forked workers only where fork exists")
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_rows_built_in_forked_workers_are_stored_as_rows_built_here(
    engine: Engine, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`insert_built_rows` with workers stores exactly the rows the tick's generator gives, in its
    order (same retry keys given, so every column is compared), on both backends; and a worker that
    dies halfway, or hangs and is killed, leaves its rows to this process, which stores the same rows."""
    monkeypatch.setattr(outbox._SqliteWriter, "chunk", 50)  # several chunks per worker
    monkeypatch.setattr(outbox._CopyWriter, "chunk", 50)
    rules = load_rules()
    rules = replace(rules, riding=replace(rules.riding, reminders_wait_hours=2))
    own = [_item(ItemKind.REPORT_DUE, "q1", f"P{n}") for n in range(600)]
    pushes = _pushes() + [
        Push(Recipient(f"p{5000 + n}", f"U{5000 + n}", "T", (item,), (5000 + n,)))
        for n, item in enumerate(own)
    ]
    jobs = tick._row_jobs(pushes)
    keys = sorted(str(uuid.uuid4()) for _ in jobs)
    build = tick._RowBuilder(DAY, rules)
    constants = tick._constants(NOW, NOT_BEFORE)
    with engine.begin() as conn:
        insert_rows(conn, map(build, jobs, keys), columns=DAILY_COLUMNS, constants=constants)
    here = _stored(engine)
    parent = os.getpid()

    def dies_in_worker(job: Any, key: str) -> tuple[Any, ...]:
        if os.getpid() != parent and key == keys[-3]:
            os._exit(3)  # the last worker dies after sending some of its rows
        return build(job, key)

    def hangs_in_worker(job: Any, key: str) -> tuple[Any, ...]:
        if os.getpid() != parent and key == keys[-3]:
            time.sleep(3600)  # stuck: killed after the silence allowed
        return build(job, key)

    monkeypatch.setattr(outbox, "_WORKER_SILENCE", 1.0)
    for builder in (build, dies_in_worker, hangs_in_worker):
        with engine.begin() as conn:
            conn.execute(sa.delete(_outbox))
            count = insert_built_rows(
                conn, jobs, keys, builder, columns=DAILY_COLUMNS, constants=constants, workers=workers
            )
        assert count == len(jobs) == len(here) > 500
        there = _stored(engine)
        assert [{k: v for k, v in row.items() if k != "id"} for row in there] == [
            {k: v for k, v in row.items() if k != "id"} for row in here
        ]
        assert [row["retry_key"] for row in there] == keys


def test_a_big_write_checkpoints_after_its_commit_on_a_thread(engine: Engine) -> None:
    """`checkpoint_later`: in a transaction that defers it, SQLite's automatic checkpoint is off;
    once committed the connection has its own limit back and a thread checkpoints the log; a
    transaction that fails gets its limit back and starts no checkpoint. PostgreSQL: nothing."""
    rules = load_rules()
    pushes = _pushes()
    rows = [values for values, _n in tick._outbox_rows(pushes, DAY, NOW, NOT_BEFORE, rules)]
    constants = tick._constants(NOW, NOT_BEFORE)
    sqlite = engine.dialect.name == "sqlite"

    def limit(conn: sa.Connection) -> int:
        return int(conn.connection.dbapi_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0])  # type: ignore[union-attr]

    def checkpointers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "wal-checkpoint"]

    with engine.connect() as conn:
        before = limit(conn) if sqlite else 0
        with pytest.raises(Exception, match="dedupe_key"), checkpoint_later(conn) as defer, conn.begin():
            defer()
            if sqlite:
                assert limit(conn) == 0
            insert_rows(conn, rows + rows[:1], columns=DAILY_COLUMNS, constants=constants)  # a duplicate
        assert not checkpointers()
        if sqlite:
            assert limit(conn) == before
        with checkpoint_later(conn) as defer, conn.begin():
            defer()
            insert_rows(conn, rows, columns=DAILY_COLUMNS, constants=constants)
        if sqlite:
            assert limit(conn) == before > 0
            for thread in checkpointers():
                thread.join(30)
            busy, frames, done = conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
            assert busy == 0 and frames == done  # the thread left nothing to copy
        else:
            assert not checkpointers()
    assert len(_stored(engine)) == len(rows)


def test_sorted_retry_keys_are_random_version_4_uuids_in_order() -> None:
    keys = sorted_retry_keys(5000)
    assert len(keys) == len(set(keys)) == 5000 and keys == sorted(keys)
    for key in keys:
        parsed = uuid.UUID(key)
        assert str(parsed) == key and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every bit but the version's and the variant's is random: each hex digit of the first group
    # takes many values, and two calls share no key.
    assert all(len({key[n] for key in keys}) == 16 for n in range(8))
    assert not set(keys) & set(sorted_retry_keys(5000))


def test_a_row_builder_is_forked_only_for_a_big_write_on_a_machine_of_several_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from models import outbox
    from scheduler.service import tick_setup
    from tidtam.settings import Settings

    monkeypatch.setattr(outbox.os, "cpu_count", lambda: 1)
    assert outbox.build_workers(144_000) == 0, "one core: nothing to build on beside the writer"
    monkeypatch.setattr(outbox.os, "cpu_count", lambda: 2)
    assert outbox.build_workers(144_000) == (1 if hasattr(outbox.os, "fork") else 0)
    assert outbox.build_workers(100) == 0, "a small write is built here"
    assert outbox.build_workers(100, 2) == 2
    assert outbox.build_workers(144_000, 0) == 0
    # The setting reaches the tick through the one settings object.
    monkeypatch.delenv("TIDTAM_TICK_BUILD_WORKERS", raising=False)
    monkeypatch.delenv("TIDTAM_TICK_PLAN_WORKERS", raising=False)
    default = tick_setup(Settings(_env_file=None))  # type: ignore[call-arg]
    assert default.build_workers is None and default.plan_workers is None
    monkeypatch.setenv("TIDTAM_TICK_BUILD_WORKERS", "0")
    monkeypatch.setenv("TIDTAM_TICK_PLAN_WORKERS", "1")
    configured = tick_setup(Settings(_env_file=None))  # type: ignore[call-arg]
    assert configured.build_workers == 0 and configured.plan_workers == 1


# --- planning in a forked process -----------------------------------------------------------------


def _tick_rows(engine: Engine, setup: TickSetup) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the day's tick afresh; its outbox rows (every column but id and retry key, in id order)
    and its run's summary; then forget it, so that the next tick runs the same day again."""
    from scheduler.clock import FixedClock

    result = tick.run_tick(engine, FixedClock(datetime(2027, 1, 8, 8, 30, tzinfo=TZ)), setup)
    assert result.ran, result.reason
    rows = [{k: v for k, v in row.items() if k not in {"id", "retry_key"}} for row in _stored(engine)]
    with engine.begin() as conn:
        summary = conn.execute(sa.select(tick._run.c.summary)).scalar_one()
        conn.execute(sa.delete(_outbox))
        conn.execute(sa.delete(tick._run))
    return rows, summary


@pytest.mark.skipif(not hasattr(os, "fork"), reason="planning forks only where fork exists")
def test_a_tick_planned_in_a_forked_process_writes_the_rows_of_one_planned_here(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same office, the same day, planned serially and with a forked worker selecting some of the
    rule kinds (`scheduler.planner._select_forked`): the same outbox rows in the same order (every
    column but id and retry key: the lines of every item, the multicasts, the riders), the same
    summary; and a worker that dies, or hangs and is killed, leaves its kinds to the tick's process,
    which plans the same. On both backends."""
    from scheduler import planner

    generate_office(
        engine, schools=30, projects_per_school=6, teachers_per_school=3, reports={1: busy_day_reports},
        linked=lambda p: p % 7 != 0,
    )  # fmt: skip
    rules = load_rules()
    rules = replace(rules, riding=replace(rules.riding, reminders_wait_hours=2))
    serial = TickSetup(
        rules, WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=0, plan_workers=0
    )
    forked = replace(serial, plan_workers=1)
    with engine.connect() as conn:
        assert planner.plan_workers(conn, 10, 1) == 1 and planner.plan_workers(conn, 10, 0) == 0
    with engine.connect() as conn:
        plans = [plan_for(conn, DAY, setup)[0] for setup in (serial, forked)]
    for attribute in ("recipients", "rides", "unreachable", "planners", "on_reply", "area_of"):
        assert getattr(plans[1], attribute) == getattr(plans[0], attribute), attribute
    here, summary = _tick_rows(engine, serial)
    kinds = {row["subject"] for row in here}
    assert {"report_due", "approval_pending", "draft_idle"} <= {k for s in kinds for k in s.split(",")}
    assert any(row["kind"] == "multicast" for row in here) and any(row["rider"] for row in here)
    assert len(here) > 50

    parent = os.getpid()
    ran_in: set[int] = set()
    originals = {kind.name: kind.select for kind in planner.KINDS}

    def watched(name: str, fate: str):  # type: ignore[no-untyped-def]
        def select(day: Any) -> None:
            if os.getpid() != parent:
                if fate == "dies":
                    os._exit(3)
                if fate == "hangs":
                    time.sleep(3600)
            ran_in.add(os.getpid())
            originals[name](day)

        return select

    monkeypatch.setattr(planner, "_PLAN_WORKER_WAIT", 1.0)
    for fate in ("works", "dies", "hangs"):
        ran_in.clear()
        kinds_now = tuple(
            replace(k, select=watched(k.name, fate)) if k.name in planner.FORKED_KINDS else k
            for k in planner.KINDS
        )
        monkeypatch.setattr(planner, "KINDS", kinds_now)
        there, their_summary = _tick_rows(engine, forked)
        assert there == here, fate
        assert their_summary == summary
        if fate == "works":
            assert parent not in ran_in, "the forked kinds were selected in the worker"
        else:
            assert ran_in == {parent}, "a failed worker's kinds are selected here"


def test_planning_forks_only_for_a_big_office_on_several_cores_and_a_shared_database(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler import planner

    fork = hasattr(os, "fork")
    with engine.connect() as conn:
        monkeypatch.setattr(planner.os, "cpu_count", lambda: 1)
        assert planner.plan_workers(conn, 150_000) == 0, "one core: nothing to plan on beside this one"
        monkeypatch.setattr(planner.os, "cpu_count", lambda: 2)
        assert planner.plan_workers(conn, 150_000) == (1 if fork else 0)
        assert planner.plan_workers(conn, 3_000) == 0, "a small office is planned here"
        assert planner.plan_workers(conn, 3_000, 1) == (1 if fork else 0)
        assert planner.plan_workers(conn, 150_000, 0) == 0
    memory = sa.create_engine("sqlite://")
    with memory.connect() as conn:
        assert planner.plan_workers(conn, 150_000, 1) == 0, "another connection would see another database"
    memory.dispose()
