"""The planning group's dashboard: single-use login links, browser sessions, disbursement targets.

A login link's token and a session's cookie are random and only their SHA-256 is stored (as link
codes are, models/linking.py), so a copy of the database opens nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from models.ops import AuditLog
from models.types import BigIntPK, UTCDateTime


class DashboardLogin(SQLModel, table=True):
    """A link the bot gave a person: opens one session, once, within 15 minutes."""

    __tablename__ = "dashboard_login"

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DashboardSession(SQLModel, table=True):
    """A browser's session (its cookie's hash), with the CSRF token its forms must carry."""

    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DisbursementTarget(SQLModel, table=True):
    """The cabinet's cumulative disbursement target for the end of a quarter of a fiscal year (%)."""

    __tablename__ = "disbursement_target"

    fiscal_year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    quarter: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    target_pct: Decimal = Field(max_digits=5, decimal_places=2)
    updated_at: datetime = Field(sa_type=UTCDateTime)


LOGIN_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(session: Session, now: datetime, action: str, person_id: int | None, **details: Any) -> None:
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person_id,
            actor="dashboard",
            action=action,
            entity_type="person",
            entity_id=str(person_id or ""),
            details=details,
        )
    )


def issue_login(session: Session, person_id: int, now: datetime) -> str:
    """A fresh single-use login token for `person_id`, valid for LOGIN_TTL; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardLogin(
            token_hash=_hash(token), person_id=person_id, created_at=now, expires_at=now + LOGIN_TTL
        )
    )
    _audit(session, now, "dashboard_link_issued", person_id)
    return token


class LoginRefused(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class OpenedSession:
    token: str  # the cookie's value, never stored
    row: DashboardSession


def redeem_login(session: Session, token: str, now: datetime) -> OpenedSession | LoginRefused:
    """Take a login token (a conditional UPDATE, so of two browsers opening it at once exactly one
    gets in) and open an 8-hour session for its person."""
    token_hash = _hash(token)
    taken = session.execute(
        sa.update(DashboardLogin)
        .where(
            col(DashboardLogin.token_hash) == token_hash,
            col(DashboardLogin.used_at).is_(None),
            col(DashboardLogin.expires_at) > now,
        )
        .values(used_at=now)
    )
    login = session.exec(select(DashboardLogin).where(DashboardLogin.token_hash == token_hash)).first()
    if taken.rowcount != 1 or login is None:  # type: ignore[attr-defined]
        if login is None:
            reason = LoginRefused.UNKNOWN
        else:
            reason = LoginRefused.USED if login.used_at is not None else LoginRefused.EXPIRED
        _audit(
            session, now, "dashboard_login_refused", login.person_id if login else None, reason=reason.value
        )
        return reason
    cookie = secrets.token_urlsafe(32)
    row = DashboardSession(
        token_hash=_hash(cookie),
        person_id=login.person_id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + SESSION_TTL,
    )
    session.add(row)
    _audit(session, now, "dashboard_login", login.person_id)
    return OpenedSession(cookie, row)


def live_session(session: Session, cookie: str, now: datetime) -> DashboardSession | None:
    """The session a cookie opens, unless it has ended or expired."""
    return session.exec(
        select(DashboardSession).where(
            DashboardSession.token_hash == _hash(cookie),
            col(DashboardSession.ended_at).is_(None),
            col(DashboardSession.expires_at) > now,
        )
    ).first()


def end_session(session: Session, row: DashboardSession, now: datetime) -> None:
    row.ended_at = now
    session.add(row)
    _audit(session, now, "dashboard_logout", row.person_id)


def audit_action(
    session: Session,
    *,
    now: datetime,
    person_id: int,
    action: str,
    entity_type: str,
    entity_id: str,
    **details: Any,
) -> None:
    """One dashboard action in the audit log (who, what, on which record)."""
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person_id,
            actor="dashboard",
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )
    )
