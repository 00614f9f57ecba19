"""Due items ride on free replies: the one hook between answering a person and what waits for them.

When a linked person writes to the bot and gets an answer, whatever waits for them in the outbox and
may ride (an approval request, a report's outcome, today's reminder not yet pushed) is taken and
added after the answer as one short text (``messages.riders``), at most once a day; those rows are
then never pushed. What is not taken waits for the daily tick, which folds it into the person's one
message of the day, or, if no tick takes it, is released by the dispatcher at its time
(``hold_until``: the next working day, a little after the tick).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.context import EventContext
from messages.riders import rider_message
from models.outbox import take_riders_many
from scheduler.rules import Delivery
from scheduler.workdays import WorkCalendar

__all__ = ["MAX_MESSAGES", "RELEASE_GRACE", "add_riders", "add_riders_many", "hold_until"]

MAX_MESSAGES = 5  # message objects in one reply request
RELEASE_GRACE = timedelta(hours=2)  # after the tick time, a held row nothing took is sent as it is
_CALENDAR = WorkCalendar()


def hold_until(now: datetime, tz: ZoneInfo, delivery: Delivery | None = None) -> datetime:
    """When a row held now is released if neither a reply nor a tick took it: the next working day's
    tick time plus ``RELEASE_GRACE`` (within one working day of ``now``)."""
    tick = (delivery or Delivery()).tick
    day = _CALENDAR.next_working_day(now.astimezone(tz).date())
    return datetime.combine(day, time(tick.hour, tick.minute), tzinfo=tz) + RELEASE_GRACE


def add_riders(ctx: EventContext) -> list[int]:
    """Append the person's waiting items to the reply being built; the ids of the rows taken."""
    return add_riders_many([ctx])[0]


def add_riders_many(contexts: Sequence[EventContext]) -> list[list[int]]:
    """`add_riders` for a batch's events (one session, one `now`), in one statement for all their
    people: for each event, the ids of the rows that ride on its reply."""
    taken: list[list[int]] = [[] for _ in contexts]
    eligible = [index for index, ctx in enumerate(contexts) if _may_carry(ctx)]
    if not eligible:
        return taken
    first = contexts[eligible[0]]
    local = first.now.astimezone(first.tz)
    day_start = datetime.combine(local.date(), time(0), tzinfo=first.tz)
    users = [contexts[index].user_id or "" for index in eligible]
    found = take_riders_many(first.session, users, first.now, unless_rode_since=day_start)
    for index, user_id in zip(eligible, users, strict=True):
        riding = found.pop(user_id, [])  # a person's rows ride once, on their first reply here
        if riding:
            contexts[index].replies.append(rider_message([rider for _id, rider in riding]))
            taken[index] = [row_id for row_id, _rider in riding]
    return taken


def _may_carry(ctx: EventContext) -> bool:
    """Whether the reply being built may carry what waits for its person."""
    if ctx.person is None or not ctx.is_private or ctx.user_id is None or not ctx.reply_token:
        return False
    return bool(ctx.replies) and len(ctx.replies) < MAX_MESSAGES
