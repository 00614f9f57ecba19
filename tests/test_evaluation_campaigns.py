"""Campaigns in the database and the scheduler: who a target means, quiet hours, the quota, sending
exactly once, a campaign that opens later, anonymous answers, the default windows of the manual."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from scheduler_office import generate_office
from sqlmodel import Session, col, select

from evaluation.loader import parse_yaml
from models.campaigns import (
    TargetError,
    answer_of,
    close,
    recipient_of,
    record_answer,
    resolve_target,
    save_draft,
    start_campaign,
)
from models.evaluation import Campaign, CampaignAnswer, CampaignRecipient, CampaignStatus
from models.messaging import OutboxMessage
from models.org import Office, Person
from models.plan import Project, ProjectOwner, ProjectStrategy, Strategy
from models.types import OutboxStatus, Role, StrategyLevel
from scheduler.campaigns import default_reminder, default_window, evaluated_fiscal_year, run_campaigns
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup
from scheduler.workdays import WorkCalendar

BANGKOK = ZoneInfo("Asia/Bangkok")
FORM = parse_yaml("title: แบบสอบถามสั้น\nquestions:\n  - {key: q, kind: rating, text: พอใจไหม}\n", name="short")
ANONYMOUS = dataclasses.replace(FORM, anonymous=True)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BANGKOK).astimezone(UTC)


def setup(quota: int = 0) -> TickSetup:
    return TickSetup(rules=load_rules(), calendar=WorkCalendar(), tz=BANGKOK, monthly_quota=quota)


def start(
    engine, *, target="reporter", form=FORM, opens=date(2027, 9, 6), today=date(2027, 9, 6), office=None
):  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as s:
        campaign, people = start_campaign(
            s,
            questionnaire=form,
            target=target,
            office_code=office,
            opens_on=opens,
            closes_on=date(2027, 9, 30),
            remind_on=None,
            today=today,
            now=at(today, 9),
            created_by="test",
        )
        s.commit()
        return campaign, people


def outbox(engine) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


@pytest.fixture
def office(engine):  # type: ignore[no-untyped-def]
    # Every third person has not linked LINE.
    return generate_office(
        engine, schools=3, teachers_per_school=4, projects_per_school=1, linked=lambda pid: pid % 3 != 0
    )


def test_targets_roles_offices_strategies_and_narrowing(engine, office):
    with Session(engine) as s:
        reporters = resolve_target(s, "reporter", office_code=None, on=date(2027, 9, 6))
        assert len(reporters) == 12 and all(p.has_role(Role.REPORTER) for p in reporters)
        school = s.get(Office, office.school_ids[0])
        in_school = resolve_target(s, "AREA", office_code=school.code, on=date(2027, 9, 6))
        assert {p.office_id for p in in_school} == {school.id} and len(
            in_school
        ) == 5  # director + 4 teachers
        assert len(resolve_target(s, "AREA", office_code=None, on=date(2027, 9, 6))) == 3 * 5 + 2
        parent = Strategy(code="S1", level=StrategyLevel.AREA, title="ยุทธศาสตร์ที่ 1")
        s.add(parent)
        s.flush()
        child = Strategy(code="S1.1", level=StrategyLevel.AREA, title="กลยุทธ์ย่อย", parent_id=parent.id)
        s.add(child)
        s.flush()
        project = s.exec(select(Project).where(Project.office_id == office.school_ids[1])).first()
        s.add(ProjectStrategy(project_id=project.id, strategy_id=child.id))
        s.flush()
        owners = resolve_target(s, "strategy:S1", office_code=None, on=date(2027, 9, 6))
        expected = s.exec(select(ProjectOwner.person_id).where(ProjectOwner.project_id == project.id)).all()
        assert owners and sorted(p.id for p in owners) == sorted(expected)  # through the child strategy
        assert resolve_target(s, "strategy:S1", office_code=None, on=date(2028, 9, 6)) == []  # another year
        for bad, code in (("teachers", "unknown_target"), ("strategy:S9", "unknown_strategy")):
            with pytest.raises(TargetError) as caught:
                resolve_target(s, bad, office_code=None, on=date(2027, 9, 6))
            assert caught.value.code == code
        with pytest.raises(TargetError):
            resolve_target(s, "reporter", office_code="NOPE", on=date(2027, 9, 6))


def test_invitations_go_once_skip_the_unlinked_and_wait_out_the_quiet_hours(engine, office):
    _campaign, people = start(engine)
    linked = [p for p in people if p.line_user_id]
    evening = at(date(2027, 9, 6), 21, 30)
    run = run_campaigns(engine, evening, setup())
    assert (run.invited, run.unreachable) == (len(linked), len(people) - len(linked))
    rows = outbox(engine)
    # One held row per person (issue 19's rest): the next day's tick folds it into their one message
    # of the day; were it pushed at the quiet hours' end (07:00), the 08:30 tick would push again.
    assert sorted(r.recipients[0] for r in rows) == sorted(p.line_user_id for p in linked)
    assert {r.status for r in rows} == {OutboxStatus.HELD} and all(r.rider for r in rows)
    assert {r.not_before for r in rows} == {at(date(2027, 9, 7), 10, 30)}  # the next tick, and its grace
    again = run_campaigns(engine, evening, setup())
    assert (again.invited, len(outbox(engine))) == (0, len(linked))  # exactly once


def test_the_quota_holds_back_what_does_not_fit(engine, office):
    start(engine)
    run = run_campaigns(engine, at(date(2027, 9, 6), 10), setup(quota=5))  # 80 % of 5: four messages
    assert (run.invited, run.held) == (4, 4)
    assert sum(len(r.recipients) for r in outbox(engine)) == 4
    later = run_campaigns(engine, at(date(2027, 9, 7), 10), setup(quota=5))
    assert (later.invited, later.held) == (0, 4)  # the month's share is spent: they wait
    october = run_campaigns(engine, at(date(2027, 10, 1), 10), setup(quota=5))
    assert october.closed == 1 and october.invited == 0  # closed after its last day: nothing more is sent


def test_a_campaign_opening_later_waits_for_its_day(engine, office):
    campaign, _people = start(engine, opens=date(2027, 9, 13), today=date(2027, 9, 6))
    assert campaign.status == CampaignStatus.SCHEDULED
    assert run_campaigns(engine, at(date(2027, 9, 10), 10), setup()).invited == 0
    run = run_campaigns(engine, at(date(2027, 9, 13), 10), setup())
    assert run.opened == 1 and run.invited > 0
    with Session(engine) as s:
        assert s.get(Campaign, campaign.id).status == CampaignStatus.OPEN


def test_anonymous_answers_keep_no_person_and_are_unlinkable_after_the_close(engine, office):
    campaign, people = start(engine, form=ANONYMOUS)
    person = people[0]
    with Session(engine) as s:
        campaign = s.get(Campaign, campaign.id)
        recipient = recipient_of(s, campaign.id, person.id)
        save_draft(s, recipient, {"q": 2})
        row, revised = record_answer(s, campaign, recipient, {"q": 4}, at(date(2027, 9, 7), 10))
        assert not revised and row.person_id is None
        assert len(row.respondent_key) == 64 and row.respondent_key != f"p{person.id}"  # an HMAC, not the id
        assert recipient.draft is None and recipient.answered_at is not None
        s.commit()
        _row, revised = record_answer(s, campaign, recipient, {"q": 5}, at(date(2027, 9, 8), 10))
        assert revised
        s.commit()
        assert answer_of(s, campaign, person.id).answers == {"q": 5}
        other = recipient_of(s, campaign.id, people[1].id)
        save_draft(s, other, {"q": 1})
        close(s, campaign, at(date(2027, 10, 1), 8))
        s.commit()
        stored = s.exec(select(CampaignAnswer)).all()
        assert [(a.person_id, a.revision, a.answers) for a in stored] == [(None, 2, {"q": 5})]
        assert campaign.salt is None and answer_of(s, campaign, person.id) is None
        assert all(r.draft is None for r in s.exec(select(CampaignRecipient)))


def test_default_windows_come_from_the_manual():
    steps = load_process_steps()
    assert default_window(date(2027, 9, 10), steps) == (date(2027, 9, 10), date(2027, 10, 31))
    assert default_window(date(2027, 3, 1), steps) == (date(2027, 9, 1), date(2027, 10, 31))
    assert default_window(date(2027, 3, 1), steps, "B9.9") is None
    assert default_reminder(date(2027, 9, 1), date(2027, 10, 31)) == date(2027, 10, 24)
    assert default_reminder(date(2027, 9, 1), date(2027, 9, 3)) == date(2027, 9, 2)
    assert default_reminder(date(2027, 9, 1), date(2027, 9, 1)) is None
    assert (evaluated_fiscal_year(date(2027, 9, 1)), evaluated_fiscal_year(date(2027, 10, 5))) == (2570, 2570)


def test_people_without_line_are_counted_not_sent(engine, office):
    start(engine)
    with Session(engine) as s:
        unlinked = s.exec(
            select(Person).where(col(Person.line_user_id).is_(None), Person.roles == "reporter")
        ).all()
    run = run_campaigns(engine, at(date(2027, 9, 6), 10), setup())
    assert run.unreachable == len(unlinked) > 0


def test_the_start_command_refuses_what_cannot_be_sent(engine, db_url, office, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tidtam.cli import app

    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    monkeypatch.setenv("TIDTAM_NOW", "2027-09-06T10:00")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "title: x\nquestions:\n  - {key: a, kind: rating, text: A, when: b == 1}\n  - {key: b, kind: number, text: B}\n"
    )
    good = tmp_path / "good.yaml"
    good.write_text("title: x\nquestions:\n  - {key: a, kind: rating, text: A}\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["campaign", "start", str(bad), "--to", "reporter"])
    assert refused.exit_code == 2
    assert "บรรทัด 3: เงื่อนไขอ้างถึงคำถาม b ซึ่งอยู่ถัดไป" in refused.output
    unknown = runner.invoke(app, ["campaign", "start", str(good), "--to", "teachers"])
    assert unknown.exit_code == 2 and "ไม่รู้จักกลุ่มเป้าหมาย teachers" in unknown.output
    backwards = runner.invoke(
        app,
        [
            "campaign",
            "start",
            str(good),
            "--to",
            "reporter",
            "--opens",
            "2027-09-10",
            "--closes",
            "2027-09-01",
        ],
    )
    assert backwards.exit_code == 2 and "วันปิดรับต้องไม่ก่อนวันเปิดรับ" in backwards.output
    nobody = runner.invoke(app, ["campaign", "start", str(good), "--to", "observer"])
    assert nobody.exit_code == 2 and "ไม่มีผู้รับ" in nobody.output
    later = runner.invoke(
        app,
        ["campaign", "start", str(good), "--to", "approver", "--opens", "1/10/70", "--closes", "15/10/70"],
    )
    assert later.exit_code == 0, later.output
    assert "ส่งคำเชิญ" not in later.output  # it opens later: the tick of its first day sends it
    listed = runner.invoke(app, ["campaign", "list"])
    assert (
        f"{later.output.strip().splitlines()[-1]}\tรอเปิด\t1 ต.ค. 2570–15 ต.ค. 2570\tตอบ 0/3\tx"
        in listed.output
    )
    with Session(engine) as s:
        assert len(s.exec(select(Campaign)).all()) == 1
