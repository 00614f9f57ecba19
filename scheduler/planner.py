"""What is due on a day: (database state, local date, rules, calendar) → one list of items per recipient.

Nothing here reads the clock or writes to the database. Each rule is one set-based query over the
projects it can concern that day, narrowed first by arithmetic on dates: a reminder "3 working days
before the due date" only queries the periods whose due date is 3 working days away, pending approvals
only those submitted on the dates that are exactly 2 or 5 working days back, and so on. The rows come
back as plain tuples and are folded into per-recipient items in one pass (no ORM object per project),
so a 300,000-project office plans in seconds.

Rules are resolved per office (file defaults ← area office override ← the office's own override) and
grouped into "units" (area, rules, calendar); in an office without overrides there is one unit.
Planning-group items go to the area's bound LINE group when there is one; else, by the rules'
``[planning] push_to`` ("head", the default), to the area's head(s) of monitoring, while every other
planner gets the same items on their next free reply (``Plan.rides``); an area without a (reachable)
head, or ``push_to = "all"``: to each planner.

What each kind of rule selects lives in its own file, ``scheduler/kinds/<kind>.py``, registered in
``scheduler/kinds/__init__.py``; this module runs them and folds their items into messages.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import Item, ItemKind, Line
from models.db import make_engine
from models.forked import flat_dumps, read_frames, write_frame
from scheduler.kinds import KINDS, PERSONAL_KINDS, Day, RuleKind
from scheduler.kinds.base import (
    Key,
    PersonRow,
    Sections,
    _Acc,
    _acting,
    _binding,
    _Org,
    _Period,
    _period,
    _person,
    assemble,
    driver_rows,
    plain_sections,
)
from scheduler.process_steps import ProcessStep
from scheduler.rules import Rules
from scheduler.workdays import WorkCalendar

__all__ = [
    "FORKED_KINDS",
    "PERSONAL_KINDS",
    "Plan",
    "Recipient",
    "item_order",
    "plan_day",
    "plan_workers",
    "unreachable_by_area",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """Who gets one message: a person (``person_ids`` = them) or a LINE group chat (``person_ids`` empty)."""

    key: str  # "p<person id>" or "g<chat id>": stable, for dedupe keys
    to: str  # LINE user or group id
    label: str  # for people and logs: "T1 นางสาวใจดี มีสุข" or the group's office
    items: tuple[Item, ...]
    person_ids: tuple[int, ...] = ()
    area_id: int | None = None

    @property
    def personal(self) -> bool:
        return bool(self.person_ids)


@dataclass
class Plan:
    """A day's plan: one recipient per message, most urgent item first."""

    day: date
    recipients: list[Recipient] = field(default_factory=list)
    unreachable: dict[int, tuple[Item, ...]] = field(default_factory=dict)  # person id → items not sendable
    unreachable_area: dict[int, int | None] = field(default_factory=dict)
    people: dict[int, PersonRow] = field(default_factory=dict)
    areas_working: list[int] = field(default_factory=list)
    max_lines: int = 10
    planning_chats: dict[int, str] = field(default_factory=dict)  # area id → its planning LINE group
    planners: dict[int, list[int]] = field(default_factory=dict)  # area id → planners pushed its items
    on_reply: dict[int, list[int]] = field(default_factory=dict)  # area id → planners told on reply
    rides: list[Recipient] = field(default_factory=list)  # their items, to ride on a free reply today
    area_names: dict[int, str] = field(default_factory=dict)
    area_of: dict[int, int] = field(default_factory=dict)  # office id → its area office id

    @property
    def naive_messages(self) -> int:
        """Messages a naive scheduler would send: one per due item (project, step...) per recipient."""
        return sum(max(1, item.total) for r in self.recipients for item in r.items)

    def kinds_for(self, person_id: int) -> set[ItemKind]:
        return {i.kind for r in self.recipients if person_id in r.person_ids for i in r.items}


# --- the planner ------------------------------------------------------------------------------------


def plan_day(
    conn: Connection,
    day: date,
    rules: Rules,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    *,
    steps: Sequence[ProcessStep] = (),
    digest_only: bool = False,
    notices: Sequence[Item] = (),
    workers: int | None = None,
) -> Plan:
    """Everything due on ``day`` (a local date), one ``Recipient`` per message.

    Every registered rule kind (``scheduler.kinds.KINDS``) adds what it selects for the day;
    ``digest_only`` (the message budget is nearly spent) turns personal items into one summary for
    each planning group; ``notices`` are extra items for every planning group (the budget notice).
    Areas for which ``day`` is not a working day get nothing.

    ``workers``: 1 runs some of the kinds (``FORKED_KINDS``) in a process forked for them, on a
    connection of its own, while this one runs the others (`_select_forked`); 0 runs every kind
    here; None (the default) decides by the office's size and the machine (`plan_workers`). The
    plan is the same either way.
    """
    org = _Org(conn, rules, calendar)
    people = _people(conn)
    cap = rules.delivery.max_lines
    plan = Plan(day=day, people=people, max_lines=cap)
    working_units = [i for i, u in enumerate(org.units) if u.calendar.is_working_day(day)]
    plan.areas_working = sorted({org.units[i].area_id for i in working_units})
    if not working_units:
        return plan
    acc = _Acc(cap)
    context = Day(
        conn, day, tz, org, working_units, plan.areas_working, _periods(conn, day), acc,
        _acting_approvers(conn, day), people, tuple(steps),
    )  # fmt: skip
    if plan_workers(conn, len(people), workers):
        by_key = _select_forked(context, notices)
    else:
        for kind in KINDS:
            kind.select(context)
        for area_id, _unit in context.area_units():
            for notice in notices:
                acc.ready[("a", area_id)].append(notice)
        by_key = acc.items(org)
    if digest_only:
        _summarise_personal(by_key, people, org, cap)
    _resolve(conn, plan, by_key, people, org)
    return plan


# --- planning on two cores ----------------------------------------------------------------------------

# The kinds a forked process selects (`_select_forked`) while this one selects the others: the two
# big queries besides the report rules' (which this process runs), about as long together as it.
FORKED_KINDS = ("approvals", "drafts")
_FORK_FROM_PEOPLE = 10_000  # a smaller office plans in well under a second: forking would not pay
_FORK_FROM_CPUS = 2
_PLAN_WORKER_WAIT = 60.0  # seconds: a worker (one takes a second or two) not done by then is killed


def plan_workers(conn: Connection, people: int, configured: int | None = None) -> int:
    """Processes to fork for planning (0 or 1): ``configured`` (the setting ``TIDTAM_TICK_PLAN_WORKERS``)
    when given, else one for a big office (``_FORK_FROM_PEOPLE`` people) on a machine of several
    cores; never where a second connection cannot see the same database (SQLite in memory) or
    there is no ``os.fork``."""
    if not hasattr(os, "fork") or not _shareable(conn):
        return 0
    if configured is not None:
        return min(1, max(0, configured))
    return 1 if people >= _FORK_FROM_PEOPLE and (os.cpu_count() or 1) >= _FORK_FROM_CPUS else 0


def _shareable(conn: Connection) -> bool:
    url = conn.engine.url
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and url.database != ":memory:" and not url.database.startswith("file::memory:")


def _select_forked(context: Day, notices: Sequence[Item]) -> dict[Key, list[Item]]:
    """Every kind's items, as ``_Acc.items`` gives them after all the kinds added to one accumulator:
    the ``FORKED_KINDS`` are selected by a forked process, on a connection of its own (the serial
    planner's queries are separate statements too, each seeing what was committed when it ran),
    while this one selects the others; each kind into an accumulator of its own, joined in the
    registry's order (`assemble`: no two kinds fill the same bucket). A worker that fails, or is not
    done in ``_PLAN_WORKER_WAIT`` seconds (a fork copies only this thread: a lock another thread
    held stays held in the worker), is killed and its kinds are selected here."""
    cap = context.acc.cap
    forked = [kind for kind in KINDS if kind.name in FORKED_KINDS]
    worker = _fork_selector(context, forked) if forked else None
    parts: dict[str, Sections] = {}
    for kind in KINDS:
        if worker is None or kind not in forked:
            parts[kind.name] = _select_one(kind, context, cap)
    if worker is not None:
        for name, plain in _worker_parts(*worker).items():
            parts[name] = plain_sections(plain, context.org, cap)
        for kind in forked:
            if kind.name not in parts:
                parts[kind.name] = _select_one(kind, context, cap)
    noticed: dict[Key, list[Item]] = {
        ("a", area_id): list(notices) for area_id, _unit in context.area_units()
    }
    return assemble(
        [*(parts[kind.name] for kind in KINDS), ({k: v for k, v in noticed.items() if v}, [], [])]
    )


def _select_one(kind: RuleKind, context: Day, cap: int) -> Sections:
    own = _Acc(cap)
    kind.select(replace(context, acc=own))
    return own.sections(context.org)


def _select_plain(kind: RuleKind, context: Day) -> tuple[Any, ...]:
    own = _Acc(context.acc.cap)
    kind.select(replace(context, acc=own))
    return own.plain()


def _fork_selector(context: Day, kinds: Sequence[RuleKind]) -> tuple[int, queue.Queue[bytes | None]] | None:
    """Fork a process that selects ``kinds`` and sends what they added, pickled, through a pipe; a thread
    here reads the pipe into the returned queue (the whole message, or None if it was cut off)."""
    url = context.conn.engine.url.render_as_string(hide_password=False)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the worker: select, send, and leave without running anything of the parent's
        status = 1
        try:
            os.close(read_end)
            engine = make_engine(url, pool_size=1, max_overflow=0)
            with engine.connect() as conn:
                mine = {kind.name: _select_plain(kind, replace(context, conn=conn)) for kind in kinds}
            write_frame(write_end, flat_dumps(mine))  # plain data without cycles: no memo needed
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    found: queue.Queue[bytes | None] = queue.Queue(maxsize=2)  # its one frame (or None), then None
    threading.Thread(target=read_frames, args=(read_end, found), daemon=True).start()
    return pid, found


def _worker_parts(pid: int, found: queue.Queue[bytes | None]) -> dict[str, tuple[Any, ...]]:
    """What the worker sent (`_Acc.plain` of each of its kinds), once it is done ({} if it failed or
    was killed)."""
    try:
        payload = found.get(timeout=_PLAN_WORKER_WAIT)
    except queue.Empty:  # stuck (say, on a lock another thread held at the fork)
        os.kill(pid, signal.SIGKILL)
        payload = None
    _, status = os.waitpid(pid, 0)
    if payload is None or status != 0:
        log.warning("planning worker exited with status %d; its kinds are selected here", status)
        return {}
    plain: dict[str, tuple[Any, ...]] = pickle.loads(payload)
    return plain


def _people(conn: Connection) -> dict[int, PersonRow]:
    rows = driver_rows(
        conn,
        sa.select(
            _person.c.id,
            _person.c.code,
            _person.c.full_name,
            _person.c.office_id,
            _person.c.roles,
            _person.c.line_user_id,
            _person.c.reachability,
        ).where(_person.c.active.is_(True)),
    )
    return {r[0]: r for r in map(partial(tuple.__new__, PersonRow), rows)}  # no Python call per row


def _acting_approvers(conn: Connection, day: date) -> dict[int, int]:
    rows = conn.execute(
        sa.select(_acting.c.principal_id, _acting.c.acting_id)
        .where(_acting.c.starts_on <= day, _acting.c.ends_on >= day)
        .order_by(_acting.c.id.desc())
    ).all()
    return {r.principal_id: r.acting_id for r in rows}


def _periods(conn: Connection, day: date) -> list[_Period]:
    rows = conn.execute(
        sa.select(
            _period.c.id, _period.c.fiscal_year, _period.c.quarter, _period.c.starts_on, _period.c.ends_on
        )
        .where(
            _period.c.ends_on >= day - timedelta(days=150), _period.c.starts_on <= day + timedelta(days=120)
        )
        .order_by(_period.c.starts_on)
    ).all()
    return [_Period(r.id, r.fiscal_year, r.quarter, r.starts_on, r.ends_on) for r in rows]


def _summarise_personal(
    by_key: dict[Key, list[Item]], people: Mapping[int, PersonRow], org: _Org, cap: int
) -> None:
    """Digest-only mode: personal items become one summary per planning group."""
    per_area: dict[int, dict[ItemKind, list[tuple[PersonRow, int]]]] = defaultdict(lambda: defaultdict(list))
    for who in [k for k in by_key if k[0] == "p"]:
        items = by_key[who]
        keep = [i for i in items if i.kind not in PERSONAL_KINDS]
        person = people.get(who[1])
        if person is not None:
            area = org.area.get(person.office_id)
            if area is not None:
                for item in items:
                    if item.kind in PERSONAL_KINDS:
                        per_area[area][item.kind].append((person, item.total))
        if keep:
            by_key[who] = keep
        else:
            del by_key[who]
    for area, kinds in per_area.items():
        figures = tuple(
            (text.SUMMARY_LABELS[k], sum(n for _p, n in rows))
            for k, rows in sorted(kinds.items(), key=lambda kv: kv[0].rank)
        )
        everyone = sorted(
            {p.id: p for rows in kinds.values() for p, _n in rows}.values(), key=lambda p: p.code
        )
        lines = tuple(Line(p.code, p.full_name) for p in everyone[:cap])
        by_key[("a", area)].append(
            Item(ItemKind.REMINDER_SUMMARY, "budget", None, None, 0, len(everyone), lines, figures)
        )


def _planning_targets(
    conn: Connection, people: Mapping[int, PersonRow], org: _Org
) -> tuple[dict[int, str], dict[int, list[int]], dict[int, list[int]]]:
    """Per area: its bound planning LINE group (preferred), its planners (heads of monitoring
    included), and its heads of monitoring who are on LINE."""
    chats: dict[int, str] = {}
    for chat_id, office_id in conn.execute(
        sa.select(_binding.c.chat_id, _binding.c.office_id)
        .where(_binding.c.active.is_(True))
        .order_by(_binding.c.id)
    ):
        area = org.area.get(office_id)
        if area is not None and area not in chats:
            chats[area] = chat_id
    planners: dict[int, list[int]] = defaultdict(list)
    heads: dict[int, list[int]] = defaultdict(list)
    for person in people.values():
        roles = person.roles.split(",")
        head = _HEAD in roles
        if head or _PLANNER in roles:
            area = org.area.get(person.office_id)
            if area is not None:
                planners[area].append(person.id)
                if head and person.reachable:
                    heads[area].append(person.id)
    for lists in (planners, heads):
        for ids in lists.values():
            ids.sort()
    return chats, planners, heads


_PLANNER, _HEAD = "planner", "monitoring_head"


def _push_to(org: _Org, area: int) -> str:
    unit = org.area_unit.get(area)
    return org.units[unit].rules.planning.push_to if unit is not None else "head"


def _resolve(
    conn: Connection, plan: Plan, by_key: Mapping[Key, list[Item]], people: Mapping[int, PersonRow], org: _Org
) -> None:
    """Turn (person | area) → items into recipients: areas to their group chat, else to their head(s)
    of monitoring (the other planners get the items on a reply: ``plan.rides``) or each planner."""
    chats, planners, heads = _planning_targets(conn, people, org)
    plan.planning_chats = chats
    for area_id, everyone in planners.items():
        pushed = heads.get(area_id) if area_id not in chats and _push_to(org, area_id) == "head" else None
        plan.planners[area_id] = list(pushed or everyone)
        if pushed:
            plan.on_reply[area_id] = [p for p in everyone if p not in pushed]
    plan.area_names = {area: org.label(area) for area in set(org.area.values())}
    plan.area_of = dict(org.area)
    personal: dict[int, list[Item]] = defaultdict(list)
    riding: dict[int, list[Item]] = defaultdict(list)
    for (kind, ident), items in by_key.items():
        if kind == "p":
            personal[ident].extend(items)
        elif ident in chats:
            ordered = _ordered(items)
            plan.recipients.append(
                Recipient(
                    f"g{chats[ident]}", chats[ident], text.group_label(org.label(ident)), ordered, (), ident
                )
            )
        else:
            for person_id in plan.planners.get(ident, []):
                personal[person_id].extend(items)
            for person_id in plan.on_reply.get(ident, []):
                riding[person_id].extend(items)
    for person_id in sorted(personal):
        mine = _ordered(personal[person_id])
        person = people.get(person_id)
        if person is None:
            continue
        area = org.area.get(person.office_id)
        if not person.reachable:
            plan.unreachable[person_id] = mine
            plan.unreachable_area[person_id] = area
            continue
        plan.recipients.append(_personal(person, mine, area))
    for person_id in sorted(riding):
        person = people.get(person_id)
        if person is not None and person.reachable:
            told = _ordered(riding[person_id])
            plan.rides.append(_personal(person, told, org.area.get(person.office_id)))


def _personal(person: PersonRow, items: tuple[Item, ...], area: int | None) -> Recipient:
    return Recipient(
        f"p{person.id}",
        person.line_user_id or "",
        f"{person.code} {person.full_name}",
        items,
        (person.id,),
        area,
    )


def _ordered(items: list[Item]) -> tuple[Item, ...]:
    """Most urgent first (the kinds' rank, then the subject); most people have one item."""
    return tuple(items) if len(items) < 2 else tuple(sorted(items, key=item_order))


def item_order(item: Item) -> tuple[int, str]:
    """A recipient's items' order: most urgent first (the kinds' rank), then by subject."""
    return (_RANK[item.kind._value_], item.subject)  # the value's hash is cached; the enum's is a call


_RANK = {kind._value_: kind.rank for kind in ItemKind}


def unreachable_by_area(plan: Plan) -> dict[str, list[int]]:
    """For the tick's summary: unreachable people who had items, by area id (string keys for JSON)."""
    result: dict[str, list[int]] = defaultdict(list)
    for person_id in plan.unreachable:
        result[str(plan.unreachable_area.get(person_id))].append(person_id)
    return dict(result)
