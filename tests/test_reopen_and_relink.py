"""Two small rules: a reopened report says why, and re-sending one's own used code is not a wrong try."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from approval_office import make_office, submit
from office_clock import office_today
from sqlmodel import Session, select

from models.approvals import record_decision, reopen_report
from models.linking import LinkResult, create_link_code, redeem_link_code
from models.plan import ReportingPeriod
from models.reporting import why_reopened
from models.reports import ProgressReport
from models.types import DecisionChannel, DecisionOutcome

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
TODAY = office_today(NOW)  # the office's date at NOW, never the UTC one


def test_reopened_report_gives_the_planning_groups_reason(engine) -> None:
    office = make_office(engine, today=TODAY)
    with Session(engine) as s:
        period = s.exec(select(ReportingPeriod).where(ReportingPeriod.quarter == 1)).first()
        report, _ = submit(s, office.teacher.id, office.projects[0].id, period.id, NOW)
        s.commit()
        report_id = report.id
    with Session(engine) as s:
        report = s.get(ProgressReport, report_id)
        assert report is not None
        result = record_decision(
            s,
            report_id=report.id,
            version=report.current_version,
            person=s.merge(office.director),
            outcome=DecisionOutcome.RETURNED,
            channel=DecisionChannel.TEXT,
            now=NOW,
            on=TODAY,
            reason="ตัวเลขเบิกจ่ายไม่ตรง",
        )
        assert result.ok
        why = why_reopened(s, report)
        assert why is not None and why.reason == "ตัวเลขเบิกจ่ายไม่ตรง" and why.by == office.director.full_name
        s.commit()
    with Session(engine) as s:
        report = s.get(ProgressReport, report_id)
        report.status = "approved"  # approved later, then reopened by the planning group
        s.add(report)
        reopened = reopen_report(
            s, report_id=report_id, actor="cli", reason="ต้องแนบรูปเพิ่ม", now=NOW + timedelta(hours=1)
        )
        assert reopened is not None
        why = why_reopened(s, reopened)
        assert why is not None and why.reason == "ต้องแนบรูปเพิ่ม"
        assert why.at == NOW + timedelta(hours=1)


def test_resending_ones_own_used_code_is_not_a_wrong_try(engine) -> None:
    office = make_office(engine, today=TODAY)
    user = "U" + "e" * 32
    with Session(engine) as s:
        code = create_link_code(s, now=NOW, created_by="test", person=s.merge(office.teacher))
        assert redeem_link_code(s, text=code, line_user_id=user, now=NOW).result is LinkResult.LINKED
        s.commit()
    with Session(engine) as s:
        for _ in range(6):  # more than the lockout allows, were these counted
            outcome = redeem_link_code(s, text=code, line_user_id=user, now=NOW)
            assert outcome.result is LinkResult.ACCOUNT_ALREADY_LINKED
        s.commit()
        other = "U" + "f" * 32
        assert redeem_link_code(s, text=code, line_user_id=other, now=NOW).result is LinkResult.WRONG
