"""Campaigns in the database: who a target means, starting a campaign, finding a person's open ones,
recording answers (one per person, revisable until the close), drafts, closing.

A target is a role (`reporter`, `approver`, `planner`, `monitoring_head`, `admin`, `observer`), an office code (its
people and those of every office under it), or `strategy:CODE` (the owners of the projects of that
strategy, or of any strategy under it, in the fiscal year the campaign opens in); `--office CODE`
narrows any target to that office's tree.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from evaluation.loader import from_dict
from evaluation.questionnaire import Questionnaire
from evaluation.results import OfficeRate, Results, summarize
from models.evaluation import Campaign, CampaignAnswer, CampaignRecipient, CampaignStatus
from models.org import Office, Person
from models.plan import Project, ProjectOwner, ProjectStrategy, Strategy
from models.types import Role
from scheduler.fiscal import fiscal_year_of

STRATEGY_PREFIX = "strategy:"


class TargetError(ValueError):
    """A target that names nothing; `code` for messages/evaluation.py, `value` what was given."""

    def __init__(self, code: str, value: str) -> None:
        super().__init__(f"{code}: {value}")
        self.code = code
        self.value = value


def _subtree(pairs: Iterable[tuple[int | None, int | None]], root_id: int) -> set[int]:
    """`root_id` and every id under it, from (id, parent id) pairs."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for node_id, parent_id in pairs:
        children[parent_id].append(int(node_id or 0))
    found, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found


def _office_tree(session: Session, root_id: int) -> set[int]:
    return _subtree(session.exec(select(Office.id, Office.parent_id)), root_id)


def _office(session: Session, code: str) -> Office | None:
    return session.exec(select(Office).where(Office.code == code.strip())).first()


def resolve_target(session: Session, target: str, *, office_code: str | None, on: date) -> list[Person]:
    """The active people `target` means (see the module's docstring), in id order."""
    target = target.strip()
    people = list(session.exec(select(Person).where(col(Person.active).is_(True)).order_by(col(Person.id))))
    if target.startswith(STRATEGY_PREFIX):
        code = target[len(STRATEGY_PREFIX) :].strip()
        strategy = session.exec(select(Strategy).where(Strategy.code == code)).first()
        if strategy is None:
            raise TargetError("unknown_strategy", code)
        strategies = _subtree(session.exec(select(Strategy.id, Strategy.parent_id)), strategy.id or 0)
        owners = set(
            session.exec(
                select(ProjectOwner.person_id)
                .join(Project, col(Project.id) == col(ProjectOwner.project_id))
                .join(ProjectStrategy, col(ProjectStrategy.project_id) == col(Project.id))
                .where(
                    col(ProjectStrategy.strategy_id).in_(strategies),
                    Project.fiscal_year == fiscal_year_of(on),
                )
            )
        )
        chosen = [p for p in people if p.id in owners]
    elif target in {r.value for r in Role}:
        chosen = [p for p in people if p.has_role(Role(target))]
    else:
        office = _office(session, target)
        if office is None:
            raise TargetError("unknown_target", target)
        tree = _office_tree(session, office.id or 0)
        chosen = [p for p in people if p.office_id in tree]
    if office_code:
        scope = _office(session, office_code)
        if scope is None:
            raise TargetError("unknown_office", office_code)
        tree = _office_tree(session, scope.id or 0)
        chosen = [p for p in chosen if p.office_id in tree]
    return chosen


def start_campaign(
    session: Session,
    *,
    questionnaire: Questionnaire,
    target: str,
    office_code: str | None,
    opens_on: date,
    closes_on: date,
    remind_on: date | None,
    today: date,
    now: datetime,
    created_by: str = "",
) -> tuple[Campaign, list[Person]]:
    """Add the campaign and its recipients (the people the target means today); flushed, not committed."""
    people = resolve_target(session, target, office_code=office_code, on=opens_on)
    scope = _office(session, office_code) if office_code else None
    campaign = Campaign(
        title=questionnaire.title,
        form_name=questionnaire.name,
        form=questionnaire.to_dict(),
        anonymous=questionnaire.anonymous,
        target=target.strip(),
        scope_office_id=scope.id if scope else None,
        opens_on=opens_on,
        closes_on=closes_on,
        remind_on=remind_on,
        status=CampaignStatus.OPEN if opens_on <= today else CampaignStatus.SCHEDULED,
        salt=secrets.token_hex(32) if questionnaire.anonymous else None,
        created_by=created_by,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    if people:  # one multi-row INSERT: an office-wide campaign has tens of thousands of recipients
        session.execute(
            sa.insert(CampaignRecipient.__table__),  # type: ignore[attr-defined]
            [{"campaign_id": campaign.id, "person_id": p.id, "office_id": p.office_id} for p in people],
        )
    return campaign, people


def is_open(campaign: Campaign, today: date) -> bool:
    return campaign.status != CampaignStatus.CLOSED and campaign.opens_on <= today <= campaign.closes_on


def respondent_key(campaign: Campaign, person_id: int) -> str:
    """The key of a person's answer: their id, or for an anonymous campaign an HMAC of it under the
    campaign's salt (None once closed: nothing leads back from an answer to a person any more)."""
    if not campaign.anonymous:
        return f"p{person_id}"
    if campaign.salt is None:
        raise ValueError("the campaign is closed: its answers can no longer be linked to anyone")
    return hmac.new(bytes.fromhex(campaign.salt), str(person_id).encode(), hashlib.sha256).hexdigest()


def recipient_of(session: Session, campaign_id: int, person_id: int) -> CampaignRecipient | None:
    return session.exec(
        select(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.person_id == person_id
        )
    ).first()


def answer_of(session: Session, campaign: Campaign, person_id: int) -> CampaignAnswer | None:
    if campaign.anonymous and campaign.salt is None:
        return None
    return session.exec(
        select(CampaignAnswer).where(
            CampaignAnswer.campaign_id == campaign.id,
            CampaignAnswer.respondent_key == respondent_key(campaign, person_id),
        )
    ).first()


@dataclass(frozen=True)
class OpenForPerson:
    campaign: Campaign
    recipient: CampaignRecipient


def open_for(session: Session, person_id: int, today: date) -> list[OpenForPerson]:
    """The campaigns open today that went to this person, those still to answer first."""
    rows = session.exec(
        select(Campaign, CampaignRecipient)
        .join(CampaignRecipient, col(CampaignRecipient.campaign_id) == col(Campaign.id))
        .where(
            CampaignRecipient.person_id == person_id,
            col(Campaign.status) != CampaignStatus.CLOSED,
            col(Campaign.opens_on) <= today,
            col(Campaign.closes_on) >= today,
        )
        .order_by(col(Campaign.closes_on), col(Campaign.id))
    )
    found = [OpenForPerson(c, r) for c, r in rows]
    return sorted(found, key=lambda o: o.recipient.answered_at is not None)


def record_answer(
    session: Session, campaign: Campaign, recipient: CampaignRecipient, answers: dict[str, Any], now: datetime
) -> tuple[CampaignAnswer, bool]:
    """Store the person's answers (a second submission replaces the first); (row, whether revised)."""
    key = respondent_key(campaign, recipient.person_id)
    row = session.exec(
        select(CampaignAnswer).where(
            CampaignAnswer.campaign_id == campaign.id, CampaignAnswer.respondent_key == key
        )
    ).first()
    revised = row is not None
    if row is None:
        row = CampaignAnswer(
            campaign_id=campaign.id or 0,
            person_id=None if campaign.anonymous else recipient.person_id,
            respondent_key=key,
            answers=answers,
            submitted_at=now,
            updated_at=now,
        )
    else:
        row.answers = answers
        row.revision += 1
        row.updated_at = now
    session.add(row)
    recipient.answered_at = recipient.answered_at or now
    recipient.draft = None
    session.add(recipient)
    return row, revised


def save_draft(session: Session, recipient: CampaignRecipient, answers: dict[str, Any]) -> None:
    recipient.draft = answers or None
    session.add(recipient)


def close(session: Session, campaign: Campaign, now: datetime) -> None:
    """Close: no more answers; an anonymous campaign's salt and every unfinished draft are erased."""
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = now
    campaign.salt = None
    session.add(campaign)
    for recipient in session.exec(
        select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
    ):
        if recipient.draft:
            recipient.draft = None
            session.add(recipient)


def campaigns(session: Session, ids: Iterable[int] | None = None) -> list[Campaign]:
    statement = select(Campaign).order_by(col(Campaign.id))
    if ids is not None:
        statement = statement.where(col(Campaign.id).in_(list(ids)))
    return list(session.exec(statement))


@dataclass(frozen=True)
class AnswerRow:
    """One answer as the results workbook lists it (no person when the campaign is anonymous)."""

    answers: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime
    person: Person | None
    office: Office | None


def campaign_answers(session: Session, campaign: Campaign) -> list[AnswerRow]:
    offices = {o.id: o for o in session.exec(select(Office))}
    rows = session.exec(
        select(CampaignAnswer, Person)
        .outerjoin(Person, col(Person.id) == col(CampaignAnswer.person_id))
        .where(CampaignAnswer.campaign_id == campaign.id)
        .order_by(col(CampaignAnswer.id))
    )
    return [
        AnswerRow(
            dict(row.answers),
            row.submitted_at,
            row.updated_at,
            person,
            offices.get(person.office_id) if person else None,
        )
        for row, person in rows
    ]


def campaign_results(session: Session, campaign_id: int) -> Results | None:
    """A campaign's results (response rate by office, each question's figures, the comments)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    offices = {o.id: o for o in session.exec(select(Office))}
    counts = session.exec(
        select(
            CampaignRecipient.office_id, sa.func.count(), sa.func.count(col(CampaignRecipient.answered_at))
        )
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(col(CampaignRecipient.office_id))
    ).all()
    by_office = sorted(
        (
            OfficeRate(
                offices[i].code if i in offices else str(i), offices[i].name if i in offices else "", n, a
            )
            for i, n, a in counts
        ),
        key=lambda rate: rate.code,
    )
    answers = list(
        session.exec(select(CampaignAnswer.answers).where(CampaignAnswer.campaign_id == campaign_id))
    )
    return summarize(from_dict(campaign.form), answers, by_office)
