"""A small office for the dashboard tests: two schools, each with a director, the plan hierarchy,
reports in several states (one approved with a photo and two versions), and chat logins.

`login_link(fake, user)` asks the bot for the dashboard over the fake LINE, as a person would, and
returns the URL of the reply's button.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from support import Seeded, seed_office

from models import (
    Indicator,
    Office,
    Person,
    Project,
    ProjectOwner,
    ProjectStrategy,
    ReportingPeriod,
    Strategy,
    format_roles,
)
from models.approvals import record_decision
from models.reporting import add_photo, submit_report
from models.reports import ProgressReport
from models.types import DecisionChannel, DecisionOutcome, OfficeKind, Reachability, Role, StrategyLevel

# Fiscal year 2569 BE: 20 Jan 2026 is in its second quarter; Q1 (due 10 Jan) is past its due date.
NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
TODAY = date(2026, 1, 20)
TEACHER = "U" + "a" * 32
DIRECTOR = "U" + "d" * 32
PLANNER = "U" + "e" * 32
OTHER_DIRECTOR = "U" + "f" * 32


def png(width: int = 64, height: int = 48) -> bytes:
    """A small real PNG (a green and white gradient), so a browser can draw it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    line = b"\x00" + b"".join(bytes((x * 4 % 256, 199, 85)) for x in range(width))
    rows = line * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTO = png()


@dataclass
class DashboardOffice:
    seeded: Seeded
    other_school: Office
    other_director: Person
    other_project: Project
    approved_report_id: int
    photo_id: int
    strategies: dict[str, Strategy]

    @property
    def fy(self) -> int:
        return self.seeded.fiscal_year


def _strategies(s: Session) -> dict[str, Strategy]:
    made: dict[str, Strategy] = {}
    parent: int | None = None
    for code, level, title in (
        ("NS3", StrategyLevel.NATIONAL, "ยุทธศาสตร์ชาติด้านการพัฒนาและเสริมสร้างศักยภาพทรัพยากรมนุษย์"),
        ("MP12", StrategyLevel.MASTER_PLAN, "แผนแม่บทประเด็นการพัฒนาการเรียนรู้"),
        ("OBEC2", StrategyLevel.OBEC, "นโยบาย สพฐ. ด้านคุณภาพ"),
        ("AREA1", StrategyLevel.AREA, "กลยุทธ์ที่ 1 พัฒนาคุณภาพผู้เรียน"),
    ):
        row = Strategy(code=code, level=level, title=title, parent_id=parent)
        s.add(row)
        s.flush()
        made[code] = row
        parent = row.id
    return made


def _answers(
    project: Project, indicator_id: int, period_id: int, progress: str, budget: int, photos=()
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "project": str(project.id),
        "period": str(period_id),
        "status": "in_progress",
        "progress": progress,
        "budget": budget,
        "indicators": {str(indicator_id): "80"},
        "activities": "อบรมครู 2 ครั้ง",
        "problems": "งบประมาณมาช้า",
        "suggestions": "=ควรเพิ่มงบ",  # looks like a formula: exports must keep it as text
        "photos": [str(p) for p in photos],
    }


def build_office(engine: Engine, media_dir: Path) -> DashboardOffice:
    seeded = seed_office(engine, today=TODAY, projects_for_teacher=3)
    now = NOW
    with Session(engine, expire_on_commit=False) as s:
        strategies = _strategies(s)
        other_school = Office(
            code="SCH2",
            name="โรงเรียนอีกแห่งวิทยา",
            kind=OfficeKind.SCHOOL,
            parent_id=seeded.office.id,
            created_at=now,
            updated_at=now,
        )
        s.add(other_school)
        s.flush()
        other_director = Person(
            code="D2",
            full_name="นางอำนวย การดี",
            office_id=other_school.id or 0,
            roles=format_roles({Role.APPROVER}),
            created_at=now,
            updated_at=now,
        )
        other_teacher = Person(
            code="T2",
            full_name="นายสอนดี ตั้งใจ",
            office_id=other_school.id or 0,
            roles=format_roles({Role.REPORTER}),
            created_at=now,
            updated_at=now,
        )
        s.add_all([other_director, other_teacher])
        s.flush()
        other_project = Project(
            code=f"P{seeded.fiscal_year}-900",
            fiscal_year=seeded.fiscal_year,
            name="โครงการห้องสมุดมีชีวิต",
            office_id=other_school.id or 0,
            approver_id=other_director.id,
            budget_satang=5_000_000,
            created_at=now,
            updated_at=now,
        )
        s.add(other_project)
        s.flush()
        s.add(ProjectOwner(project_id=other_project.id or 0, person_id=other_teacher.id or 0))
        s.add(
            Indicator(
                project_id=other_project.id or 0, code="K1", name="จำนวนหนังสือใหม่", unit="เล่ม", target=200
            )
        )
        for project in seeded.projects:
            s.add(ProjectStrategy(project_id=project.id or 0, strategy_id=strategies["AREA1"].id or 0))
        for code, uid in (("T1", TEACHER), ("D1", DIRECTOR), ("PL1", PLANNER), ("D2", OTHER_DIRECTOR)):
            person = s.exec(select(Person).where(Person.code == code)).one()
            person.line_user_id, person.reachability = uid, Reachability.FOLLOWING
            s.add(person)
        periods = {
            p.quarter: p
            for p in s.exec(select(ReportingPeriod).where(ReportingPeriod.fiscal_year == seeded.fiscal_year))
        }
        q1 = periods[1].id or 0
        teacher, director = seeded.teacher, seeded.director
        first = seeded.projects[0]
        indicator = s.exec(select(Indicator).where(Indicator.project_id == first.id)).one()
        # Project 1, Q1: a photo, version 1, returned, version 2 with changed figures, approved.
        media_dir.mkdir(parents=True, exist_ok=True)
        (media_dir / "evidence-1.png").write_bytes(PHOTO)
        answers = _answers(first, indicator.id or 0, q1, "40", 4_000_000)
        photo = add_photo(
            s,
            answers=answers,
            person_id=teacher.id or 0,
            line_message_id="9001",
            path="evidence-1.png",
            content_type="image/png",
            size_bytes=len(PHOTO),
            sha256="0" * 64,
            now=now - timedelta(days=30),
        )
        report, version = submit_report(
            s, teacher.id or 0, {**answers, "photos": [str(photo.id)]}, now - timedelta(days=30)
        )
        record_decision(
            s,
            report_id=report.id or 0,
            version=version.version,
            person=director,
            outcome=DecisionOutcome.RETURNED,
            channel=DecisionChannel.BUTTON,
            now=now - timedelta(days=29),
            on=TODAY,
            reason="ตัวเลขเบิกจ่ายไม่ตรง",
        )
        report, version = submit_report(
            s,
            teacher.id or 0,
            {**answers, "budget": 4_500_050, "photos": [str(photo.id)]},
            now - timedelta(days=28),
        )
        record_decision(
            s,
            report_id=report.id or 0,
            version=version.version,
            person=director,
            outcome=DecisionOutcome.APPROVED,
            channel=DecisionChannel.BUTTON,
            now=now - timedelta(days=27),
            on=TODAY,
        )
        approved_id = report.id or 0
        # Project 2, Q1: submitted, waiting. Project 3: nothing (late). The other school's: a draft.
        second = seeded.projects[1]
        indicator2 = s.exec(select(Indicator).where(Indicator.project_id == second.id)).one()
        submit_report(
            s,
            teacher.id or 0,
            _answers(second, indicator2.id or 0, q1, "25", 1_000_000),
            now - timedelta(days=20),
        )
        s.add(ProgressReport(project_id=other_project.id or 0, period_id=q1, created_at=now, updated_at=now))
        s.commit()
        return DashboardOffice(
            seeded, other_school, other_director, other_project, approved_id, photo.id or 0, strategies
        )


def login_link(fake: Any, user: str) -> str:
    """Chat `แดชบอร์ด` to the bot as `user`; the URL of the reply's button."""
    before = len(fake.deliveries_to(user))
    assert fake.send_sync(fake.text_event(user, "แดชบอร์ด")).status_code == 200
    deliveries = fake.wait_for(lambda: (d := fake.deliveries_to(user)) and len(d) > before and d, timeout=15)
    messages = [m for d in deliveries[before:] for m in d.messages]
    for message in messages:
        for action in (message.get("template") or {}).get("actions", []):
            if action.get("type") == "uri":
                return str(action["uri"])
    raise AssertionError(f"no link in {messages}")


def reply_text(fake: Any, user: str) -> str:
    messages = fake.messages_to(user)
    return str(messages[-1].get("text") or messages[-1].get("altText"))
