"""Column behaviour that later issues rely on, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import (
    ApprovalDecision,
    FiscalYear,
    Indicator,
    Office,
    Person,
    ProgressReport,
    Project,
    ReportingPeriod,
    ReportVersion,
    WebhookEvent,
    format_roles,
)
from models.types import (
    DecisionChannel,
    DecisionOutcome,
    ImplementationStatus,
    OfficeKind,
    ReportStatus,
    Role,
)

NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def _office_person_project(session: Session) -> tuple[Office, Person, Project]:
    office = Office(code="A1", name="สพม.ทดสอบ", kind=OfficeKind.AREA_OFFICE, created_at=NOW, updated_at=NOW)
    session.add(office)
    session.flush()
    person = Person(
        code="P1",
        full_name="นางสาวทดสอบ ระบบ",
        office_id=office.id,
        roles=format_roles({Role.REPORTER, Role.APPROVER}),
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(FiscalYear(year=2570, starts_on=date(2026, 10, 1), ends_on=date(2027, 9, 30)))
    session.add(person)
    session.flush()
    project = Project(
        code="PRJ-1",
        fiscal_year=2570,
        name="โครงการทดสอบ",
        office_id=office.id,
        approver_id=person.id,
        budget_satang=12_345_678_901_234_56,  # beyond 2**31 and float's exact integers for cents
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(project)
    session.flush()
    return office, person, project


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    bangkok = timezone(timedelta(hours=7))
    with Session(engine) as session:
        office = Office(
            code="X",
            name="x",
            kind=OfficeKind.SCHOOL,
            created_at=datetime(2026, 11, 24, 8, 30, tzinfo=bangkok),
            updated_at=NOW,
        )
        session.add(office)
        session.commit()
        office_id = office.id
    with Session(engine) as session:
        loaded = session.get(Office, office_id)
        assert loaded is not None
        assert loaded.created_at.tzinfo is not None
        assert loaded.created_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(
            Office(
                code="N", name="n", kind=OfficeKind.SCHOOL, created_at=datetime(2026, 1, 1), updated_at=NOW
            )
        )
        with pytest.raises(sa.exc.StatementError):
            session.commit()


def test_money_and_decimals_are_exact(engine: Engine) -> None:
    with Session(engine) as session:
        _, _, project = _office_person_project(session)
        session.add(
            Indicator(project_id=project.id, code="I1", name="ร้อยละ", unit="ร้อยละ", target=Decimal("87.5"))
        )
        session.commit()
    with Session(engine) as session:
        loaded = session.exec(select(Project)).one()
        assert loaded.budget_satang == 12_345_678_901_234_56
        indicator = session.exec(select(Indicator)).one()
        assert indicator.target == Decimal("87.5")
        person = session.exec(select(Person)).one()
        assert person.role_set == {Role.REPORTER, Role.APPROVER}


def test_one_final_decision_per_version_and_level(engine: Engine) -> None:
    with Session(engine) as session:
        _, person, project = _office_person_project(session)
        period = ReportingPeriod(
            fiscal_year=2570,
            quarter=1,
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 12, 31),
            due_on=date(2027, 1, 10),
        )
        session.add(period)
        session.flush()
        report = ProgressReport(project_id=project.id, period_id=period.id, created_at=NOW, updated_at=NOW)
        session.add(report)
        session.flush()
        version = ReportVersion(
            report_id=report.id,
            version=1,
            status=ReportStatus.SUBMITTED,
            implementation_status=ImplementationStatus.IN_PROGRESS,
            progress_pct=Decimal("42.50"),
            created_at=NOW,
        )
        session.add(version)
        session.flush()
        decision = dict(
            report_id=report.id,
            version_id=version.id,
            outcome=DecisionOutcome.APPROVED,
            decided_by_id=person.id,
            channel=DecisionChannel.BUTTON,
            decided_at=NOW,
        )
        session.add(ApprovalDecision(**decision))
        session.commit()
        session.add(ApprovalDecision(**decision))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def test_webhook_event_id_is_unique(engine: Engine) -> None:
    with Session(engine) as session:
        row = dict(
            webhook_event_id="01J0000000000000000000000A",
            source_key="U1",
            event_type="message",
            payload="{}",
            received_at=NOW,
        )
        session.add(WebhookEvent(**row))
        session.commit()
        session.add(WebhookEvent(**row))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
