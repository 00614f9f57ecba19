"""Sending evaluation campaigns: invitations on the day a campaign opens, one reminder to those who
have not answered, the close after its last day. Idempotent: each recipient's `invited_at` and
`reminded_at` are set in the transaction that queues their message, so running it twice (the daily
tick, `tidtam campaign start`, a clock move) sends nothing twice.

Within the quota rules: what the month has used is counted as the daily tick counts it; invitations
and reminders take only what is left below the share at which the tick switches to digests, and the
people left over wait for the next run (the command line says how many). Quiet hours: rows queued in
them wait for their end. The same message to many goes as multicasts of up to 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from evaluation.loader import from_dict
from messages import evaluation as txt
from messages import riders
from models import OutboxMessage, SchedulerRun
from models import campaigns as store
from models.evaluation import Campaign, CampaignRecipient, CampaignStatus
from models.org import Person
from models.outbox import insert_rows, json_text, retry_keys
from models.types import OutboxKind, OutboxStatus, Reachability
from scheduler.fiscal import fiscal_year_of
from scheduler.process_steps import ProcessStep, step_windows, windows_open_on
from scheduler.tick import DAILY_JOB, TickSetup, messages_used, release_time

RELEASE_GRACE = timedelta(hours=2)  # as bot.riders: after the tick time, what nothing took goes alone
_CHUNK = 2000

log = logging.getLogger(__name__)

INVITE = "campaign_invite"
REMIND = "campaign_reminder"


@dataclass
class CampaignRun:
    invited: int = 0
    reminded: int = 0
    closed: int = 0
    opened: int = 0
    held: int = 0  # people whose message waits for quota
    unreachable: int = 0  # recipients without a linked LINE account (or who blocked it)


def _budget(session: Session, day: date, setup: TickSetup) -> int | None:
    """How many pushes campaigns may still queue this month; None: no limit."""
    quota = setup.monthly_quota if setup.rules.budget.enabled else 0
    if not quota:
        return None
    used = messages_used(session.connection(), day, setup.tz)
    month = datetime.combine(day.replace(day=1), time(0), tzinfo=setup.tz).astimezone(UTC)
    waiting = session.execute(  # queued this month and held for the tick: they will count too
        sa.select(sa.func.count()).where(
            col(OutboxMessage.rule).in_([INVITE, REMIND]),
            col(OutboxMessage.status) == OutboxStatus.HELD,
            col(OutboxMessage.created_at) >= month,
        )
    ).scalar_one()
    return max(0, int(quota * setup.rules.budget.digest_only_at) - used - int(waiting))


def _reachable(pairs: Sequence[tuple[CampaignRecipient, Person]]) -> list[tuple[CampaignRecipient, Person]]:
    return [
        (recipient, person)
        for recipient, person in pairs
        if person.line_user_id and person.reachability != Reachability.BLOCKED
    ]


def _queue(
    session: Session,
    campaign: Campaign,
    pairs: list[tuple[CampaignRecipient, Person]],
    message: dict[str, Any],
    purpose: str,
    now: datetime,
    until: datetime,
) -> None:
    """One held row per person: the day's tick folds it into the person's one message of the day
    (or sends it alone), a free reply may carry it first as a rider line, and the dispatcher
    releases it at ``until`` if neither did (scheduler/budget.py, bot/riders.py)."""
    rider = riders.campaign_rider(campaign.title, campaign.closes_on, reminder=purpose == REMIND)
    keys = retry_keys()
    messages = json_text([message])
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        insert_rows(
            session.connection(),
            [
                {
                    "retry_key": next(keys),
                    "dedupe_key": f"{purpose}:{campaign.id}:p{p.id}",
                    "kind": OutboxKind.PUSH.value,
                    "recipients": json_text([p.line_user_id]),
                    "person_ids": json_text([p.id]),
                    "rule": purpose,
                    "subject": f"campaign:{campaign.id}",
                    "messages": messages,
                    "purpose": purpose,
                    "ref_type": "campaign",
                    "ref_id": campaign.id,
                    "status": OutboxStatus.HELD.value,
                    "attempts": 0,
                    "not_before": until,
                    "next_attempt_at": until,
                    "created_at": now,
                    "ride_key": p.line_user_id,
                    "rider": rider,
                }
                for _r, p in chunk
            ],
        )
        stamp = {"invited_at": now} if purpose == INVITE else {"reminded_at": now}
        session.execute(
            sa.update(CampaignRecipient)
            .where(col(CampaignRecipient.id).in_([r.id for r, _p in chunk]))
            .values(**stamp)
            .execution_options(synchronize_session=False)
        )


def hold_until(session: Session, now: datetime, setup: TickSetup) -> datetime:
    """When a campaign's rows queued now go out if neither a reply nor a tick took them, so that
    nobody gets two pushes a day: a day whose tick is still to come (today before its time, or the
    day the quiet hours end on) lets its tick fold them into each person's message; on a day whose
    tick already ran they wait for the next working day's tick; on a day with no tick, they go now."""
    delivery, calendar, tz = setup.rules.delivery, setup.calendar, setup.tz
    released = release_time(now, tz, delivery, calendar).astimezone(tz)
    day = released.date()
    tick = datetime.combine(day, delivery.tick, tzinfo=tz)
    if day == now.astimezone(tz).date():
        ran = session.execute(
            sa.select(SchedulerRun.id).where(SchedulerRun.job == DAILY_JOB, SchedulerRun.run_on == day)
        ).first()
        if ran is not None:
            tick = datetime.combine(calendar.next_working_day(day), delivery.tick, tzinfo=tz)
        elif released >= tick:
            return released.astimezone(UTC)
    return (tick + RELEASE_GRACE).astimezone(UTC)


def _send(
    session: Session,
    campaign: Campaign,
    purpose: str,
    day: date,
    now: datetime,
    setup: TickSetup,
    run: CampaignRun,
    until: datetime,
) -> None:
    if purpose == INVITE:
        waiting = col(CampaignRecipient.invited_at).is_(None)
    else:
        waiting = (
            col(CampaignRecipient.answered_at).is_(None)
            & col(CampaignRecipient.reminded_at).is_(None)
            & col(CampaignRecipient.invited_at).is_not(None)
        )
    recipients = list(
        session.exec(
            select(CampaignRecipient, Person)
            .join(Person, col(Person.id) == col(CampaignRecipient.person_id))
            .where(CampaignRecipient.campaign_id == campaign.id, waiting)
            .order_by(col(CampaignRecipient.id))
        )
    )
    pairs = _reachable(recipients)
    if purpose == INVITE:
        run.unreachable += len(recipients) - len(pairs)
    budget = _budget(session, day, setup)
    if budget is not None and len(pairs) > budget:
        run.held += len(pairs) - budget
        pairs = pairs[:budget]
    if not pairs:
        return
    questionnaire = from_dict(campaign.form)
    if purpose == INVITE:
        message = txt.invitation(
            campaign.id or 0,
            campaign.title,
            questionnaire.intro,
            campaign.closes_on,
            len(questionnaire.questions),
        )
        run.invited += len(pairs)
    else:
        message = txt.reminder(campaign.id or 0, campaign.title, campaign.closes_on)
        run.reminded += len(pairs)
    _queue(session, campaign, pairs, message.to_dict(), purpose, now, until)
    session.flush()


def run_campaigns(engine: Engine, now: datetime, setup: TickSetup, *, only: int | None = None) -> CampaignRun:
    """Open, send, remind and close what is due on the local day of `now`, in one transaction."""
    day = now.astimezone(setup.tz).date()
    run = CampaignRun()
    with Session(engine) as session:
        until = hold_until(session, now, setup)
        statement = select(Campaign).where(col(Campaign.status) != CampaignStatus.CLOSED)
        if only is not None:
            statement = statement.where(Campaign.id == only)
        for campaign in session.exec(statement.order_by(col(Campaign.id))).all():
            if campaign.closes_on < day:
                store.close(session, campaign, now)
                run.closed += 1
                continue
            if campaign.opens_on > day:
                continue
            if campaign.status == CampaignStatus.SCHEDULED:
                campaign.status = CampaignStatus.OPEN
                session.add(campaign)
                run.opened += 1
            _send(session, campaign, INVITE, day, now, setup, run, until)
            if campaign.remind_on is not None and campaign.remind_on <= day:
                _send(session, campaign, REMIND, day, now, setup, run, until)
        session.commit()
    if run.invited or run.reminded or run.closed:
        log.info(
            "campaigns: %d invited, %d reminded, %d closed, %d held for quota",
            run.invited,
            run.reminded,
            run.closed,
            run.held,
        )
    return run


@dataclass(frozen=True)
class DueMessage:
    """What a campaign would send someone on a day (for ``tidtam remind --dry-run``)."""

    person_id: int
    label: str  # "T1 นางสาวใจดี มีสุข"
    to: str
    purpose: str  # INVITE or REMIND
    line: str  # the rider line: the campaign and its last day


def due_messages(session: Session, day: date) -> list[DueMessage]:
    """The invitations and reminders campaigns would queue on ``day`` (the quota aside), writing
    nothing: to whom, in person order."""
    found: list[DueMessage] = []
    campaigns = session.exec(
        select(Campaign)
        .where(col(Campaign.status) != CampaignStatus.CLOSED, col(Campaign.opens_on) <= day)
        .where(col(Campaign.closes_on) >= day)
        .order_by(col(Campaign.id))
    ).all()
    for campaign in campaigns:
        reminding = campaign.remind_on is not None and campaign.remind_on <= day
        pairs = session.exec(
            select(CampaignRecipient, Person)
            .join(Person, col(Person.id) == col(CampaignRecipient.person_id))
            .where(CampaignRecipient.campaign_id == campaign.id)
            .order_by(col(CampaignRecipient.id))
        ).all()
        for recipient, person in _reachable(list(pairs)):
            if recipient.invited_at is None:
                purpose = INVITE
            elif reminding and recipient.answered_at is None and recipient.reminded_at is None:
                purpose = REMIND
            else:
                continue
            line = riders.campaign_rider(campaign.title, campaign.closes_on, reminder=purpose == REMIND)
            label = f"{person.code} {person.full_name}"
            found.append(DueMessage(person.id or 0, label, person.line_user_id or "", purpose, line))
    return sorted(found, key=lambda m: m.person_id)


DEFAULT_STEP = "B3.3"  # the manual's participative evaluation of the action plan: Sep–Oct
REMIND_DAYS_BEFORE_CLOSE = 7


def default_window(
    today: date, steps: Sequence[ProcessStep], step_id: str = DEFAULT_STEP
) -> tuple[date, date] | None:
    """The window of the manual's step `step_id` that contains `today` (opening today), else the
    next one to start; None when the calendar has no such step."""
    windows = [w for w in windows_open_on(today, steps) if w.step.id == step_id]
    if windows:
        return today, windows[0].end
    later = [
        w
        for year in range(fiscal_year_of(today), fiscal_year_of(today) + 2)
        for w in step_windows(year, steps)
        if w.step.id == step_id and w.start > today
    ]
    if not later:
        return None
    first = min(later, key=lambda w: w.start)
    return first.start, first.end


def default_reminder(opens_on: date, closes_on: date) -> date | None:
    """A week before the close, but not on the opening day; None for a one-day campaign."""
    if closes_on <= opens_on:
        return None
    return max(opens_on + timedelta(days=1), closes_on - timedelta(days=REMIND_DAYS_BEFORE_CLOSE))


def evaluated_fiscal_year(opens_on: date) -> int:
    """The fiscal year a campaign evaluates: the one it opens in, except that one opening in October
    (the manual's Sep–Oct window) looks back at the year that just ended."""
    year = fiscal_year_of(opens_on)
    return year - 1 if opens_on.month == 10 else year


class WindowRefused(ValueError):
    """A campaign window that cannot be used; `message` says why in Thai (messages/evaluation.py)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def campaign_window(
    today: date,
    steps: Sequence[ProcessStep],
    *,
    opens_on: date | None,
    closes_on: date | None,
    remind_on: date | None = None,
    no_reminder: bool = False,
    step: str = DEFAULT_STEP,
) -> tuple[date, date, date | None]:
    """The (opens, closes, remind) of a campaign being started, the manual's window filling in what
    was not given (`tidtam campaign start` and the dashboard both ask this)."""
    if opens_on is None or closes_on is None:
        window = default_window(today, steps, step)
        if window is None:
            raise WindowRefused(txt.no_default_window(step))
        opens_on, closes_on = opens_on or window[0], closes_on or window[1]
    if closes_on < opens_on:
        raise WindowRefused(txt.closes_before_opens())
    if closes_on < today:
        raise WindowRefused(txt.closes_in_past())
    remind = None if no_reminder else (remind_on or default_reminder(opens_on, closes_on))
    return opens_on, closes_on, remind


@dataclass(frozen=True)
class StartPreview:
    """What starting a campaign to `recipients` people means before it is started."""

    recipients: int
    linked: int  # with a LINE account that has not blocked the bot: the ones who get an invitation
    cost: int  # pushes the invitations take from this month's quota (0 when it opens later)
    held: int  # invitations that wait for quota (the next run sends them)
    budget: int | None  # what campaigns may still queue this month; None: no limit


def preview_start(
    session: Session, people: Sequence[Person], opens_on: date, today: date, setup: TickSetup
) -> StartPreview:
    """The recipients, the linked among them and the month's quota the invitations cost, as
    `run_campaigns` would count them if the campaign started now."""
    linked = sum(1 for p in people if p.line_user_id and p.reachability != Reachability.BLOCKED)
    budget = _budget(session, today, setup)
    if opens_on > today:
        return StartPreview(len(people), linked, 0, 0, budget)
    cost = linked if budget is None else min(linked, budget)
    return StartPreview(len(people), linked, cost, linked - cost, budget)
