"""The approval rules in `models/approvals.py`, on SQLite and PostgreSQL, without LINE."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from approval_office import ApprovalOffice, audits, decisions, make_office, set_acting, submit
from office_clock import PINNED_AT, office_today
from sqlmodel import Session

from bot.intents import is_plain_approval  # issue 16: all matching lives in the intents module
from models import Office, Person
from models.approvals import (
    DecisionError,
    approvers_for,
    decidable_level,
    pending_for,
    pending_reports,
    record_decision,
    reopen_report,
)
from models.db import make_engine
from models.reporting import ReportingError
from models.reports import ApprovalDecision, ProgressReport, ReportVersion
from models.types import DecisionChannel, DecisionOutcome, ReportStatus

# A fixed instant: 06:30 on 1 Oct 2026 in Bangkok, still 30 Sep in UTC; "today" is the office's date.
NOW = PINNED_AT.astimezone(UTC)
TODAY = office_today(NOW)


@pytest.fixture
def office(engine) -> ApprovalOffice:
    return make_office(engine, today=TODAY)


def _submit(
    engine, office: ApprovalOffice, person: Person | None = None, project=None, **kw
) -> tuple[int, int]:
    person = person or office.teacher
    project = project or office.projects[0]
    with Session(engine) as s:
        report, version = submit(s, person.id, project.id, office.period_id, kw.pop("now", NOW), **kw)
        s.commit()
        return report.id, version.version


def _decide(engine, report_id: int, version: int, person: Person, outcome=DecisionOutcome.APPROVED, **kw):
    kw.setdefault("channel", DecisionChannel.BUTTON)
    kw.setdefault("now", NOW)
    kw.setdefault("on", TODAY)
    with Session(engine, expire_on_commit=False) as s:
        result = record_decision(
            s, report_id=report_id, version=version, person=s.get(Person, person.id), outcome=outcome, **kw
        )
        s.commit()
        return result


def _approvers(engine, report_id: int, on) -> list[str]:
    with Session(engine) as s:
        report = s.get(ProgressReport, report_id)
        version = s.exec(
            sa.select(ReportVersion).where(
                ReportVersion.report_id == report_id, ReportVersion.version == report.current_version
            )
        ).scalar_one()
        return [p.code for p in approvers_for(s, report, version, on)]


def _status(engine, report_id: int) -> ReportStatus:
    with Session(engine) as s:
        return s.get(ProgressReport, report_id).status


# --- who decides -----------------------------------------------------------------------------------


def test_the_project_approver_decides_and_the_audit_log_says_how(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _approvers(engine, report_id, TODAY) == ["D1"]
    result = _decide(engine, report_id, version, office.director, channel=DecisionChannel.QUOTE_REPLY)
    assert result.ok and result.final
    assert _status(engine, report_id) == ReportStatus.APPROVED
    [decision] = decisions(engine, report_id)
    assert (decision.decided_by_id, decision.level, decision.on_behalf_of_id) == (office.director.id, 1, None)
    [audit] = audits(engine, report_id)
    assert audit.action == "report_approved" and audit.actor_person_id == office.director.id
    assert audit.details["version"] == version and audit.details["channel"] == "quote_reply"
    assert audit.at == NOW


def test_acting_approver_decides_only_on_their_dates(engine, office) -> None:
    set_acting(engine, office, TODAY, TODAY + timedelta(days=2))
    report_id, version = _submit(engine, office)
    assert _approvers(engine, report_id, TODAY) == ["DD1", "D1"]  # the acting approver first
    assert _approvers(engine, report_id, TODAY + timedelta(days=2)) == ["DD1", "D1"]  # ends_on inclusive
    assert _approvers(engine, report_id, TODAY - timedelta(days=1)) == ["D1"]
    assert _approvers(engine, report_id, TODAY + timedelta(days=3)) == ["D1"]

    off = _decide(engine, report_id, version, office.deputy, on=TODAY + timedelta(days=3))
    assert off.error is DecisionError.NOT_ALLOWED
    assert decisions(engine, report_id) == []
    on = _decide(engine, report_id, version, office.deputy, on=TODAY + timedelta(days=1))
    assert on.ok
    [decision] = decisions(engine, report_id)
    assert decision.decided_by_id == office.deputy.id and decision.on_behalf_of_id == office.director.id
    # the principal, second: idempotent, told who decided first
    again = _decide(engine, report_id, version, office.director)
    assert again.error is DecisionError.ALREADY_DECIDED and again.existing.decided_by_id == office.deputy.id
    assert len(decisions(engine, report_id)) == 1


def test_nobody_decides_on_their_own_report_it_goes_one_level_up(engine, office) -> None:
    set_acting(engine, office, TODAY, TODAY)  # the deputy does not approve the director's own report
    report_id, version = _submit(engine, office, person=office.director, project=office.own_project)
    assert _approvers(engine, report_id, TODAY) == ["AD1"]  # the parent office's approver role
    assert _decide(engine, report_id, version, office.director).error is DecisionError.OWN_REPORT
    assert _decide(engine, report_id, version, office.deputy).error is DecisionError.NOT_ALLOWED
    result = _decide(engine, report_id, version, office.area_director)
    assert result.ok and _status(engine, report_id) == ReportStatus.APPROVED
    assert decisions(engine, report_id)[0].on_behalf_of_id is None  # not acting: the next level


def test_next_level_is_configured_per_office(engine, office) -> None:
    with Session(engine) as s:
        school = s.get(Office, office.seeded.school.id)
        school.settings = {"escalation_approver": "PL1"}
        s.add(school)
        s.commit()
    report_id, _ = _submit(engine, office, person=office.director, project=office.own_project)
    assert _approvers(engine, report_id, TODAY) == ["PL1"]
    with Session(engine) as s:
        school = s.get(Office, office.seeded.school.id)
        school.settings = {}
        area = s.get(Office, office.seeded.office.id)
        area.settings = {"approver": "DD1"}
        s.add_all([school, area])
        s.commit()
    assert _approvers(engine, report_id, TODAY) == ["DD1"]


def test_reporter_and_outsiders_are_refused(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _decide(engine, report_id, version, office.teacher).error is DecisionError.OWN_REPORT
    assert _decide(engine, report_id, version, office.teacher2).error is DecisionError.NOT_ALLOWED
    assert _decide(engine, report_id, version, office.planner).error is DecisionError.NOT_ALLOWED
    assert _decide(engine, report_id, version, office.area_director).error is DecisionError.NOT_ALLOWED
    assert decisions(engine) == [] and audits(engine) == []
    assert _status(engine, report_id) == ReportStatus.SUBMITTED


# --- versions, repeats, reasons ----------------------------------------------------------------------


def test_a_decision_on_an_old_version_is_refused_with_the_new_version(engine, office) -> None:
    report_id, v1 = _submit(engine, office)
    _, v2 = _submit(engine, office, progress="60")
    assert (v1, v2) == (1, 2)
    stale = _decide(engine, report_id, v1, office.director)
    assert stale.error is DecisionError.STALE_VERSION and stale.current_version == 2
    # someone who may not decide is not told about the new version
    assert _decide(engine, report_id, v1, office.teacher2).error is DecisionError.NOT_ALLOWED
    assert _decide(engine, report_id, v1, office.teacher).error is DecisionError.OWN_REPORT
    assert decisions(engine) == []
    assert _decide(engine, report_id, v2, office.director).ok


def test_a_second_decision_is_idempotent_and_names_the_first(engine, office) -> None:
    report_id, version = _submit(engine, office)
    first = _decide(engine, report_id, version, office.director, DecisionOutcome.RETURNED, reason="ขาดรูป")
    assert first.ok and _status(engine, report_id) == ReportStatus.RETURNED
    for outcome in (DecisionOutcome.APPROVED, DecisionOutcome.RETURNED):
        again = _decide(engine, report_id, version, office.director, outcome, reason="อีกครั้ง")
        assert again.error is DecisionError.ALREADY_DECIDED
        assert again.existing.id == first.decision.id and again.existing.outcome == DecisionOutcome.RETURNED
    assert len(decisions(engine)) == 1 and len(audits(engine)) == 1
    assert audits(engine)[0].details["reason"] == "ขาดรูป"


def test_a_return_needs_a_reason(engine, office) -> None:
    report_id, version = _submit(engine, office)
    for reason in ("", "   \n"):
        result = _decide(engine, report_id, version, office.director, DecisionOutcome.RETURNED, reason=reason)
        assert result.error is DecisionError.NEEDS_REASON
    assert decisions(engine) == [] and _status(engine, report_id) == ReportStatus.SUBMITTED
    ok = _decide(
        engine, report_id, version, office.director, DecisionOutcome.RETURNED, reason="  ตัวชี้วัดไม่ครบ "
    )
    assert ok.ok and ok.decision.reason == "ตัวชี้วัดไม่ครบ"


def test_unknown_report_or_version_and_not_pending(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _decide(engine, 987654, 1, office.director).error is DecisionError.NOT_FOUND
    assert _decide(engine, report_id, 7, office.director).error is DecisionError.NOT_FOUND
    with Session(engine) as s:  # e.g. marked by an import: no decision, not waiting for one
        report = s.get(ProgressReport, report_id)
        report.status = ReportStatus.DRAFT
        s.add(report)
        s.commit()
    assert _decide(engine, report_id, version, office.director).error is DecisionError.NOT_PENDING


def test_approval_is_final_until_the_planning_group_reopens(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _decide(engine, report_id, version, office.director).ok
    with Session(engine) as s, pytest.raises(ReportingError):
        submit(s, office.teacher.id, office.projects[0].id, office.period_id, NOW)
    with Session(engine) as s:
        assert reopen_report(s, report_id=987654, actor="cli", reason="x", now=NOW) is None
        reopened = reopen_report(
            s, report_id=report_id, actor="cli", reason="ตัวเลขผิด", now=NOW, by=office.planner
        )
        assert reopened is not None and reopened.status == ReportStatus.RETURNED
        s.commit()
    with Session(engine) as s:  # only an approved report can be reopened
        assert reopen_report(s, report_id=report_id, actor="cli", reason="again", now=NOW) is None
    # the old approval stays; the version it approved cannot be decided again
    assert _decide(engine, report_id, version, office.director).error is DecisionError.ALREADY_DECIDED
    _, v2 = _submit(engine, office, progress="70")
    assert v2 == 2
    assert _decide(engine, report_id, v2, office.director).ok
    reopen = audits(engine, report_id)[1]
    assert reopen.action == "report_reopened" and reopen.actor_person_id == office.planner.id
    assert reopen.details["version"] == 1 and reopen.details["reason"] == "ตัวเลขผิด"


# --- two levels ------------------------------------------------------------------------------------


def test_two_levels_director_then_planning_group(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _decide(engine, report_id, version, office.planner, levels=2).error is DecisionError.NOT_ALLOWED
    first = _decide(engine, report_id, version, office.director, levels=2)
    assert first.ok and not first.final
    assert _status(engine, report_id) == ReportStatus.SUBMITTED
    with Session(engine) as s:
        [waiting] = pending_reports(s, TODAY, levels=2)
        assert waiting.level == 2 and [p.code for p in waiting.approvers] == ["PL1"]
        assert pending_for(s, s.get(Person, office.director.id), TODAY, levels=2) == []
        report = s.get(ProgressReport, report_id)
        assert decidable_level(s, s.get(Person, office.planner.id), report, TODAY, 2)[1] == 2
        assert decidable_level(s, s.get(Person, office.director.id), report, TODAY, 2) is None
    # the director's second tap is "already decided (by you)", not "not allowed"
    again = _decide(engine, report_id, version, office.director, levels=2)
    assert again.error is DecisionError.ALREADY_DECIDED and again.existing.level == 1
    assert _decide(engine, report_id, version, office.teacher2, levels=2).error is DecisionError.NOT_ALLOWED
    final = _decide(engine, report_id, version, office.planner, levels=2)
    assert final.ok and final.final and final.decision.level == 2
    assert _status(engine, report_id) == ReportStatus.APPROVED
    assert [a.details["level"] for a in audits(engine, report_id)] == [1, 2]


def test_planning_group_can_return_at_level_two(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _decide(engine, report_id, version, office.director, levels=2).ok
    result = _decide(
        engine, report_id, version, office.planner, DecisionOutcome.RETURNED, reason="งบไม่ตรง", levels=2
    )
    assert result.ok and result.final and _status(engine, report_id) == ReportStatus.RETURNED


# --- what waits on whom ----------------------------------------------------------------------------


def test_pending_lists_follow_decisions_and_acting_dates(engine, office) -> None:
    set_acting(engine, office, TODAY, TODAY)
    first, v = _submit(engine, office)
    second, _ = _submit(engine, office, project=office.projects[1])
    own, _ = _submit(engine, office, person=office.director, project=office.own_project)
    with Session(engine) as s:
        people = {
            p: s.get(Person, getattr(office, p).id)
            for p in ("director", "deputy", "area_director", "teacher")
        }
        by_report = {p.report.id: [a.code for a in p.approvers] for p in pending_reports(s, TODAY)}
        assert by_report == {first: ["DD1", "D1"], second: ["DD1", "D1"], own: ["AD1"]}
        assert {p.report.id for p in pending_for(s, people["director"], TODAY)} == {first, second}
        assert {p.report.id for p in pending_for(s, people["deputy"], TODAY)} == {first, second}
        assert pending_for(s, people["deputy"], TODAY + timedelta(days=1)) == []
        assert {p.report.id for p in pending_for(s, people["area_director"], TODAY)} == {own}
        assert pending_for(s, people["teacher"], TODAY) == []
    assert _decide(engine, first, v, office.director).ok
    with Session(engine) as s:
        assert {p.report.id for p in pending_reports(s, TODAY)} == {second, own}


def _everyone_pending(session: Session, on, levels: int) -> dict[int, set[int]]:
    """Person id -> the reports waiting for them, by the rule itself: every submitted report of the
    database, each with `approvers_for` / `planners_for` (what `pending_for` read before it narrowed)."""
    waiting: dict[int, set[int]] = {}
    for pending in pending_reports(session, on, levels):
        for person in pending.approvers:
            waiting.setdefault(person.id, set()).add(pending.report.id)
    return waiting


@pytest.mark.parametrize("levels", [1, 2])
def test_pending_for_reads_only_what_the_person_may_decide_and_misses_nothing(engine, office, levels) -> None:
    """`pending_for` looks only at the reports a person could decide (their projects, the principals
    they act for, the offices where they are one level up, a planner's area); whatever the set-up, it
    lists exactly the reports the rule gives that person."""
    set_acting(engine, office, TODAY, TODAY)
    first, v = _submit(engine, office)  # the director's (and today his deputy's)
    _submit(engine, office, project=office.projects[1])
    _submit(engine, office, person=office.director, project=office.own_project)  # one level up
    if levels == 2:  # the director approved: it now waits for the planning group
        assert _decide(engine, first, v, office.director, levels=2).ok
    set_ups = [
        ({}, {}),
        ({"escalation_approver": "PL1"}, {}),  # the school names who is one level up
        ({}, {"approver": "DD1"}),  # the area office names its approver
        ({"escalation_approver": "AD1"}, {"approver": "PL1"}),
    ]
    checked = 0
    for school_settings, area_settings in set_ups:
        with Session(engine) as s:
            school = s.get(Office, office.seeded.school.id)
            area = s.get(Office, office.seeded.office.id)
            school.settings, area.settings = school_settings, area_settings
            s.add_all([school, area])
            s.commit()
        for on in (TODAY, TODAY + timedelta(days=1)):  # with and without the deputy acting
            with Session(engine) as s:
                expected = _everyone_pending(s, on, levels)
                for person in s.exec(sa.select(Person)).scalars():
                    found = {p.report.id for p in pending_for(s, person, on, levels)}
                    assert found == expected.get(person.id, set()), (
                        school_settings,
                        area_settings,
                        on,
                        person.code,
                    )
                    checked += bool(found)
    assert checked >= 8  # the set-ups gave several people something to decide
    if levels == 2:
        with Session(engine) as s:
            assert first in {
                p.report.id for p in pending_for(s, s.get(Person, office.planner.id), TODAY, levels)
            }


# --- the database guarantees ---------------------------------------------------------------------------


def test_the_database_refuses_a_second_decision_row(engine, office) -> None:
    report_id, version = _submit(engine, office)
    assert _decide(engine, report_id, version, office.director).ok
    [first] = decisions(engine)
    with Session(engine) as s, pytest.raises(sa.exc.IntegrityError):
        s.add(
            ApprovalDecision(
                report_id=first.report_id,
                version_id=first.version_id,
                level=first.level,
                outcome=DecisionOutcome.RETURNED,
                decided_by_id=office.deputy.id,
                channel=DecisionChannel.TEXT,
                reason="race",
                decided_at=NOW,
            )
        )
        s.commit()


def test_simultaneous_decisions_record_exactly_one(engine, office, db_url) -> None:
    set_acting(engine, office, TODAY, TODAY)
    report_id, version = _submit(engine, office)
    barrier = threading.Barrier(2)
    results = {}

    def decide(person: Person, outcome: DecisionOutcome) -> None:
        own_engine = make_engine(db_url)
        try:
            with Session(own_engine) as s:
                me = s.get(Person, person.id)
                barrier.wait(timeout=10)
                result = record_decision(
                    s,
                    report_id=report_id,
                    version=version,
                    person=me,
                    outcome=outcome,
                    channel=DecisionChannel.BUTTON,
                    now=NOW,
                    on=TODAY,
                    reason="ไม่ครบ",
                )
                s.commit()
                results[person.code] = result.error
        except sa.exc.OperationalError as exc:  # SQLite: the loser may find the database locked
            results[person.code] = exc
        finally:
            own_engine.dispose()

    threads = [
        threading.Thread(target=decide, args=(office.director, DecisionOutcome.APPROVED)),
        threading.Thread(target=decide, args=(office.deputy, DecisionOutcome.RETURNED)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert None in results.values()  # one of them won
    assert len(decisions(engine, report_id)) == 1
    winner = decisions(engine, report_id)[0]
    expected = ReportStatus.APPROVED if winner.outcome == DecisionOutcome.APPROVED else ReportStatus.RETURNED
    assert _status(engine, report_id) == expected
    assert len(audits(engine, report_id)) == 1


@pytest.mark.parametrize(
    ("typed", "approves"),
    [
        ("อนุมัติ", True),
        ("อนุมัติครับ", True),
        ("  OK ค่ะ ", True),
        ("ผ่านครับผม!", True),
        ("เห็นชอบ", True),
        ("ตกลงว่าต้องแก้ก่อน", False),
        ("ok แต่ขอรูปเพิ่ม", False),
        ("ผ่านไม่ได้", False),
        ("ไม่อนุมัติ", False),
        ("", False),
    ],
)
def test_a_quote_reply_approves_only_when_it_says_nothing_else(typed: str, approves: bool) -> None:
    assert is_plain_approval(typed) is approves


# --- stuck reports (issue 16: nobody can approve them) ----------------------------------------------


def test_stuck_reports_are_those_nobody_may_decide_and_only_while_they_wait(engine, office) -> None:
    from datetime import datetime

    from models.approvals import stuck_reports
    from models.plan import Project, ProjectOwner

    with Session(engine, expire_on_commit=False) as s:  # the area director's own project: nobody above him
        now = datetime.now(UTC)
        area_project = Project(code="AREA-1", fiscal_year=office.seeded.fiscal_year, name="โครงการของเขต",
                               office_id=office.seeded.office.id, approver_id=office.area_director.id,
                               budget_satang=1_000_000, created_at=now, updated_at=now)  # fmt: skip
        s.add(area_project)
        s.flush()
        s.add(ProjectOwner(project_id=area_project.id, person_id=office.area_director.id))
        s.commit()
    normal, _v = _submit(engine, office)  # the director decides: not stuck
    own, _v = _submit(engine, office, person=office.director, project=office.own_project)  # one level up
    stuck, _version = _submit(engine, office, person=office.area_director, project=area_project)
    with Session(engine) as s:
        found = stuck_reports(s, TODAY)
        assert [r.report_id for r in found] == [stuck]
        assert (found[0].project_code, found[0].submitted_by_id) == ("AREA-1", office.area_director.id)
        assert stuck_reports(s, TODAY, office_ids=[office.seeded.school.id]) == []  # a school's scope
        assert [r.report_id for r in stuck_reports(s, TODAY, office_ids=[office.seeded.office.id])] == [stuck]
        assert _approvers(engine, own, TODAY) and _approvers(engine, normal, TODAY)
        school = s.get(Office, office.seeded.school.id)
        school.settings = {"escalation_approver": "AD1"}  # still nobody above the area director
        s.add(school)
        s.commit()
    with Session(engine) as s:
        assert [r.report_id for r in stuck_reports(s, TODAY)] == [stuck]
        report = s.get(ProgressReport, stuck)
        report.status = ReportStatus.APPROVED  # decided some other way (e.g. set by the planning group)
        s.add(report)
        s.commit()
        assert stuck_reports(s, TODAY) == []
