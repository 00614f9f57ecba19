"""The day's spending of the LINE quota: what goes out as a push, in which order, and what waits.

Inputs: the day's plan (one recipient per message), the held rows due by today (approval requests and
decision notices queued since the last tick, ``models.outbox.take_held``), what is left of the month's
quota and the reserve kept for what cannot wait, and the reporters who have had their pushes for the
quarter. Output: one push per recipient, the held rows folded into it, and what was left out.

Order of spending:

* priority 0, always sent: the planning group's messages (escalations, the digest, the budget notice,
  and the names of those left out today) and approvers with approval requests waiting;
* then reminders, nearest their due date first (overdue before "due today" before "in 5 days");
* then the rest (decision notices, draft nudges).

Past the day's allowance (what is left of the month, less the reserve), or for a reporter at the
quarter's cap, a person's reminders are listed by name in the planning group's message of the day
(so someone can follow up by phone) and their held rows wait for their next free reply or the next
day. Nothing is dropped: what waits is counted in the tick's summary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from messages.reminders import Item, ItemKind, Line
from messages.scheduler_text import group_label
from messages.stored import expand
from scheduler.planner import PERSONAL_KINDS, Plan, Recipient

__all__ = ["Held", "Push", "Spending", "spend"]

_OVERDUE = frozenset({ItemKind.REPORT_OVERDUE, ItemKind.APPROVER_OVERDUE})
_REMINDERS = frozenset(
    {ItemKind.REPORT_DUE, ItemKind.REPORT_OVERDUE, ItemKind.APPROVER_OVERDUE, ItemKind.APPROVAL_PENDING}
)
APPROVAL_REQUEST = "approval_request"


@dataclass(frozen=True)
class Held:
    """A held outbox row: an approval request, a decision notice, a planning-group list waiting."""

    id: int
    to: str
    person_ids: tuple[int, ...]
    messages: tuple[dict[str, Any], ...]
    rule: str
    rider: str = ""
    due: datetime | None = None  # when it must go out (its not_before); None: now
    created: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> Held:
        """A held outbox row, its messages as LINE's (a stored daily reminder rendered): they are
        folded into another push (`messages.riders.one_push`), which is stored as LINE's messages."""
        return cls(
            row.id,
            row.ride_key,
            tuple(row.person_ids or ()),
            tuple(expand(row.messages or ())),
            row.rule,
            row.rider or "",
            row.not_before,
            getattr(row, "created_at", None),
        )


class Push(NamedTuple):
    """One push of the day: the plan's recipient (its items may be empty) and the held rows folded in.
    A named tuple, not a frozen dataclass: a big tick makes one per recipient, and a frozen
    dataclass's ``__init__`` sets each field with a Python-level ``object.__setattr__``."""

    recipient: Recipient
    held: tuple[Held, ...] = ()

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(h.rule for h in self.held))


@dataclass
class Spending:
    pushes: list[Push] = field(default_factory=list)
    held_back: list[Recipient] = field(default_factory=list)  # planning-group lists that wait (below)
    waiting: list[int] = field(default_factory=list)  # held row ids that wait for a reply or tomorrow
    left_out: list[int] = field(default_factory=list)  # people whose reminders went into the digest
    capped: int = 0  # of those, reporters at the quarter's cap
    # People who had their message of the day already (a "remind now" from the dashboard): held row
    # ids that message told them of, by the id of that message's row.
    told: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    riders: list[Recipient] = field(default_factory=list)  # left out: their reminders may ride a reply
    already: int = 0  # pushes not sent because the person had today's message already


# The kinds as plain strings (an item's ``kind._value_``): a set of them is searched with str's hash
# in C, a set of the enum's members with the enum's hash in Python, and this runs for every push.
_PERSONAL_VALUES = frozenset(k.value for k in PERSONAL_KINDS)
_REMINDER_DAYS = {k.value: k in _OVERDUE for k in _REMINDERS}  # a reminder's kind → overdue
_RIDING_VALUES = frozenset({*_REMINDER_DAYS, ItemKind.DRAFT_IDLE.value})  # what rides for those left out


def _priority(recipient: Recipient, held: tuple[Held, ...]) -> tuple[int, int]:
    """A push's rank (module docstring): its recipient and the held rows folded into it."""
    if not recipient.person_ids:
        return _GROUP  # a LINE group's message
    nearest: int | None = None
    for item in recipient.items:
        value = item.kind._value_
        if value not in _PERSONAL_VALUES:
            return _GROUP  # the planning group's own messages (to each planner)
        overdue = _REMINDER_DAYS.get(value)
        if overdue is not None:
            days = -1 if overdue else item.days
            if nearest is None or days < nearest:
                nearest = days
    for h in held:
        if h.rule == APPROVAL_REQUEST:
            return _APPROVAL
    if nearest is not None:
        return (1, nearest)
    return _REST


_GROUP, _APPROVAL, _REST = (0, 0), (0, 1), (2, 0)


def _candidates(plan: Plan, held: Sequence[Held], due_by: datetime | None) -> list[Push]:
    """One push per recipient of the plan, with their held rows; one per recipient of a held row that
    is due (``due_by``); a held row not due yet joins its recipient's push only if there is one."""
    by_to: dict[str, list[Held]] = defaultdict(list)
    for h in held:
        by_to[h.to].append(h)
    if by_to:
        pushes = [Push(r, tuple(by_to.pop(r.to, ()))) for r in plan.recipients]
    else:  # no held rows (most days): no lookup per recipient
        pushes = [Push(r, ()) for r in plan.recipients]
    for to, rows in by_to.items():
        if due_by is not None and all(h.due is not None and h.due > due_by for h in rows):
            continue
        people = tuple(dict.fromkeys(p for h in rows for p in h.person_ids))
        person = plan.people.get(people[0]) if people else None
        label = f"{person.code} {person.full_name}" if person else to
        pushes.append(Push(Recipient(f"h{to}", to, label, (), people, None), tuple(rows)))
    return pushes


def _only_lists(push: Push) -> bool:
    """A message that only lists who was left out: it can wait for the planning group's next message."""
    items = push.recipient.items
    return (
        not push.held
        and bool(items)
        and items[0].kind is ItemKind.REMINDER_SUMMARY
        and all(i.kind is ItemKind.REMINDER_SUMMARY for i in items)
    )


def spend(
    plan: Plan,
    held: Sequence[Held],
    *,
    allowance: int | None,
    capped: Iterable[int] = (),
    area_of: dict[int, int | None] | None = None,
    due_by: datetime | None = None,
    room: int | None = None,
    group_weight: int = 1,
    messaged: Mapping[int, tuple[int, datetime]] | None = None,
) -> Spending:
    """The day's pushes within ``allowance`` (messages beyond priority 0; None: no limit) and
    ``room`` (every message of the day, the urgent ones first: what the month can spend today beyond
    the forecast of its urgent messages still to come; None: no limit; a push into a LINE group
    costs ``group_weight``); held rows due after ``due_by`` only join a push that goes anyway.
    Priority 0 always goes, whatever the limits say. A person in ``messaged`` (person id → the row of
    a message they have today already, and when it was queued) gets no push: held rows queued before
    that message were told in it, later ones wait for a reply or the next day."""
    at_cap = set(capped)
    result = Spending()
    left: list[Push] = []
    spent = spent_all = 0
    messaged = messaged or {}
    candidates = _candidates(plan, held, due_by)
    ranks = [_priority(r, h) for r, h in candidates]
    pushes = result.pushes
    # A stable sort of the indices by rank: pushes of the same rank keep the plan's order.
    for index in sorted(range(len(candidates)), key=ranks.__getitem__):
        push = candidates[index]
        people = push.recipient.person_ids
        if messaged and people and all(p in messaged for p in people):
            carrier, queued_at = messaged[people[0]]
            for h in push.held:
                if h.created is not None and h.created <= queued_at:
                    result.told[carrier].append(h.id)
                else:
                    result.waiting.append(h.id)
            result.already += 1
            continue
        weight = 1 if people else group_weight  # a personal push, or one into a LINE group
        if ranks[index][0] != 0:  # not urgent: within the limits, or left out
            person_capped = bool(at_cap) and not at_cap.isdisjoint(people)
            over = (allowance is not None and spent >= allowance) or (
                room is not None and spent_all + weight > room
            )
            if person_capped or over:
                left.append(push)
                result.capped += person_capped
                continue
            spent += 1
        pushes.append(push)
        spent_all += weight
    _leave_out(plan, result, left, area_of or {})
    # A planning group told nothing today but who was left out waits for its next message (at the
    # latest the weekly digest): a daily push of names alone would spend what it reports saving.
    lists = {index for index, push in enumerate(result.pushes) if _only_lists(push)}
    if lists:
        result.held_back = [push.recipient for index, push in enumerate(result.pushes) if index in lists]
        result.pushes = [push for index, push in enumerate(result.pushes) if index not in lists]
    return result


def _leave_out(plan: Plan, result: Spending, left: list[Push], area_of: dict[int, int | None]) -> None:
    """Held rows of those left out wait; their reminders are named in the planning group's message."""
    named: dict[int, list[Line]] = defaultdict(list)
    for push in left:
        r = push.recipient
        if push.held:
            result.waiting.extend(h.id for h in push.held)
        reminders = [i for i in r.items if i.kind._value_ in _RIDING_VALUES]
        if reminders and r.person_ids and r.to:
            # Most left out have reminders only: their recipient rides as it is (`replace` costs
            # microseconds, and a tight day leaves out most of a big office).
            result.riders.append(r if len(reminders) == len(r.items) else replace(r, items=tuple(reminders)))
        for person_id in r.person_ids:
            person = plan.people.get(person_id)
            area = r.area_id if r.area_id is not None else area_of.get(person_id)
            if person is None or area is None or not reminders:
                continue
            codes = [line.code for item in reminders for line in item.lines if line.code]
            named[area].append(Line(person.code, person.full_name, ", ".join(codes[:5])))
            result.left_out.append(person_id)
    for area, lines in named.items():
        item = Item(
            ItemKind.REMINDER_SUMMARY,
            "budget",
            total=len(lines),
            lines=tuple(sorted(lines, key=lambda line: line.code)[: plan.max_lines]),
            figures=(),
        )
        _tell_planning_group(plan, result, area, item)


def _tell_planning_group(plan: Plan, result: Spending, area: int, item: Item) -> None:
    chat = plan.planning_chats.get(area)
    targets = [chat] if chat else [str(p) for p in plan.planners.get(area, [])]
    for target in targets:
        for index, push in enumerate(result.pushes):
            r = push.recipient
            if (chat and r.to == chat) or (not chat and r.person_ids == (int(target),)):
                result.pushes[index] = push._replace(recipient=replace(r, items=(*r.items, item)))
                break
        else:
            if chat:
                label = group_label(plan.area_names.get(area, ""))
                result.pushes.append(Push(Recipient(f"g{chat}", chat, label, (item,), (), area)))
            else:
                person = plan.people.get(int(target))
                if person is not None and person.reachable:
                    label = f"{person.code} {person.full_name}"
                    recipient = Recipient(
                        f"p{person.id}", person.line_user_id or "", label, (item,), (person.id,), area
                    )
                    result.pushes.append(Push(recipient))
