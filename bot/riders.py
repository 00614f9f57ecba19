"""Due items ride on free replies: the one hook between answering a person and what waits for them.

When a linked person writes to the bot and gets an answer, whatever waits for them in the outbox and
may ride (an approval request, a report's outcome, today's reminder not yet pushed) is taken and
added after the answer as one short text (``messages.riders``), at most once a day; those rows are
then never pushed. What is not taken waits for the daily tick, which folds it into the person's one
message of the day, or, if no tick takes it, is released by the dispatcher at its time
(``hold_until``: the next working day, a little after the tick).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.context import EventContext
from messages.riders import rider_message
from models.outbox import take_riders
from scheduler.rules import Delivery
from scheduler.workdays import WorkCalendar

__all__ = ["MAX_MESSAGES", "RELEASE_GRACE", "add_riders", "hold_until"]

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
    user_id = ctx.user_id
    if ctx.person is None or not ctx.is_private or user_id is None or not ctx.reply_token:
        return []
    if not ctx.replies or len(ctx.replies) >= MAX_MESSAGES:
        return []
    local = ctx.now.astimezone(ctx.tz)
    day_start = datetime.combine(local.date(), time(0), tzinfo=ctx.tz)
    taken = take_riders(ctx.session, user_id, ctx.now, unless_rode_since=day_start)
    if taken:
        ctx.replies.append(rider_message([rider for _id, rider in taken]))
    return [row_id for row_id, _rider in taken]
