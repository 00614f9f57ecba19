"""The year-end project evaluation: a Q4 report offers it; through the webhook the reporter confirms
or corrects each computed indicator verdict, gives the outcome and lessons; strategy success rates
are checked against figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from evaluation_chat import Teacher
from sqlmodel import Session, select
from support import make_settings, running_service, seed_office

import bot.handlers  # noqa: F401  (registers the after-submit hooks)
from bot import evaluation as flow
from bot.forms import runtime
from evaluation.payload import StartYearEnd, encode
from evaluation.yearend import SuccessRate, Verdict, judge, success_rates
from models import Indicator, Person, ProjectStrategy, ReportingPeriod, Strategy
from models.evaluation import IndicatorJudgement, ProjectEvaluation
from models.reporting import submit_report
from models.reports import ApprovalDecision, ProgressReport, ReportVersion
from models.types import DecisionChannel, DecisionOutcome, IndicatorKind, ReportStatus, StrategyLevel
from models.yearend import record_yearend, strategy_success, yearend_facts
from scheduler.clock import FixedClock

Q4_TIME = datetime(2026, 8, 20, 3, 0, tzinfo=UTC)  # 10:00 Bangkok, fiscal year 2569's fourth quarter
TEACHER = "U" + "c" * 32


def test_judging_and_success_rates_by_hand():
    assert judge(Decimal(100), Decimal(120)) is True
    assert judge(Decimal(100), Decimal(100)) is True
    assert judge(Decimal(50), Decimal(40)) is False
    assert judge(None, Decimal(3)) is None and judge(Decimal(3), None) is None
    assert Verdict(1, computed=False, achieved=True).corrected
    assert not Verdict(1, computed=None, achieved=True).corrected
    rates = success_rates({"S1": [1, 2], "S2": [3, 4, 5], "S3": []}, {1: True, 2: False, 3: True, 5: False})
    assert rates["S1"] == SuccessRate(2, 2, 1) and rates["S1"].rate == Decimal("50.00")
    assert rates["S2"] == SuccessRate(3, 2, 1) and rates["S2"].rate == Decimal("33.33")  # 4 not evaluated
    assert rates["S3"].rate is None


def _submit_q4(engine, seeded, project, results: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        period = s.exec(select(ReportingPeriod).where(ReportingPeriod.quarter == 4)).one()
        indicators = {
            i.code: i.id for i in s.exec(select(Indicator).where(Indicator.project_id == project.id))
        }
        report, _version = submit_report(
            s,
            seeded.teacher.id,
            {
                "project": str(project.id),
                "period": str(period.id),
                "status": "completed",
                "progress": "100",
                "budget": 10_000_000,
                "indicators": {str(indicators[code]): value for code, value in results.items()},
                "activities": "ครบทุกกิจกรรม",
                "problems": {"skipped": True},
                "suggestions": "-",
            },
            Q4_TIME,
        )
        s.commit()
        return report.id or 0


@pytest.fixture
def seeded(engine):  # type: ignore[no-untyped-def]
    seeded = seed_office(engine, today=Q4_TIME.date(), projects_for_teacher=4)
    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        teacher.line_user_id = TEACHER
        s.add(teacher)
        first = seeded.projects[0]
        s.add(
            Indicator(
                project_id=first.id,
                code="K2",
                name="จำนวนครั้งที่นิเทศ",
                unit="ครั้ง",
                target=50,
                kind=IndicatorKind.OUTPUT,
                position=1,
            )
        )
        s.add(
            Indicator(
                project_id=first.id,
                code="K3",
                name="ความพึงพอใจของผู้ปกครอง",
                unit="",
                target=None,
                kind=IndicatorKind.OUTCOME,
                position=2,
            )
        )
        s.commit()
    return seeded


def test_a_q4_report_offers_the_year_end_step_and_other_quarters_do_not(engine, seeded):
    assert flow.offer_year_end in runtime.after_submit  # the hook bot/handlers.py registers
    report_id = _submit_q4(engine, seeded, seeded.projects[0], {"K1": "120", "K2": "40"})
    with Session(engine) as s:
        ctx = SimpleNamespace(session=s, replies=[])
        ctx.reply = lambda *messages: ctx.replies.extend(m.to_dict() for m in messages)
        flow.offer_year_end(ctx, SimpleNamespace(id=report_id), None)
        assert len(ctx.replies) == 1 and ctx.replies[0]["altText"].startswith("ประเมินผลสิ้นปี")
        assert encode(StartYearEnd(report_id)) in str(ctx.replies[0])
        q1 = s.exec(select(ReportingPeriod).where(ReportingPeriod.quarter == 1)).one()
        assert yearend_facts(s, report_id).indicators[0].computed is True
        ctx.replies.clear()
        other = submit_report(
            s,
            seeded.teacher.id,
            {"project": str(seeded.projects[1].id), "period": str(q1.id), "status": "in_progress", "progress": "20",
             "budget": 0, "indicators": {}, "activities": "-", "problems": {"skipped": True}, "suggestions": "-"},
            Q4_TIME,
        )[0]  # fmt: skip
        flow.offer_year_end(ctx, other, None)
        assert ctx.replies == []


def test_the_year_end_card_follows_the_submitted_line_in_the_same_reply(
    engine, db_url, seeded, fake_line, tmp_path
):
    """A Q4 report sent through the chat form: the reply says it was sent first, then offers the year end."""
    report_id = _submit_q4(engine, seeded, seeded.projects[0], {"K1": "120", "K2": "40"})
    with Session(engine) as s:  # returned by the director, so the teacher sends it again from the chat
        report = s.get(ProgressReport, report_id)
        [version] = s.exec(select(ReportVersion).where(ReportVersion.report_id == report_id)).all()
        report.status = ReportStatus.RETURNED
        s.add(report)
        s.add(
            ApprovalDecision(
                report_id=report_id,
                version_id=version.id,
                outcome=DecisionOutcome.RETURNED,
                decided_by_id=seeded.director.id,
                channel=DecisionChannel.BUTTON,
                reason="ขอรูปเพิ่ม",
                decided_at=Q4_TIME + timedelta(minutes=30),
            )
        )
        s.commit()
    clock = FixedClock(Q4_TIME + timedelta(hours=1))
    fake_line.clock = clock.now
    chat = Teacher(fake_line, TEACHER)
    with running_service(make_settings(db_url, fake_line, tmp_path), clock=clock) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        opened = chat._send(fake_line.postback_event(TEACHER, f"v1|report|r={report_id}"))
        assert "ขอรูปเพิ่ม" in opened and "ความพึงพอใจของผู้ปกครอง" in opened  # K3 had no result
        assert "ยืนยันส่ง" in chat.say("4")
        assert "ฉบับที่ 2" in chat.tap("ยืนยันส่ง")
        kinds = [
            "submitted" if m.get("type") == "text" and "ฉบับที่ 2" in m["text"]
            else "year-end" if str(m.get("altText", "")).startswith("ประเมินผลสิ้นปี")
            else "other"
            for m in chat.last
        ]  # fmt: skip
        assert [k for k in kinds if k != "other"] == ["submitted", "year-end"]
        assert len(chat.last) <= 5 and len(fake_line.deliveries_to(TEACHER)[-1].messages) == len(chat.last)


def test_the_reporter_confirms_corrects_and_the_strategy_rates_follow(
    engine, db_url, seeded, fake_line, tmp_path
):
    report_id = _submit_q4(engine, seeded, seeded.projects[0], {"K1": "120", "K2": "40"})  # K3: no result
    clock = FixedClock(Q4_TIME + timedelta(hours=1))
    fake_line.clock = clock.now
    settings = make_settings(db_url, fake_line, tmp_path)
    chat = Teacher(fake_line, TEACHER)
    with running_service(settings, clock=clock) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        first = chat._send(fake_line.postback_event(TEACHER, encode(StartYearEnd(report_id))))
        assert "จำนวนนักเรียนที่เข้าร่วม" in first and "ค่าเป้าหมาย 100 คน ผลที่รายงาน 120 คน" in first
        assert 'ระบบคำนวณว่า "บรรลุ"' in first
        second = chat.tap("ใช้คำตอบเดิม")  # confirm the computed verdict
        assert "ค่าเป้าหมาย 50 ครั้ง ผลที่รายงาน 40 ครั้ง" in second and 'ระบบคำนวณว่า "ไม่บรรลุ"' in second
        third = chat.tap("บรรลุ")  # correct it: the reporter knows better
        assert "ระบบคำนวณให้ไม่ได้" in third
        assert "ไม่พบตัวเลือกนี้" in chat.say("ดีมาก")
        assert "ผลลัพธ์ของโครงการ" in chat.say("1")
        assert "ยังไม่ได้พิมพ์คำตอบ" not in chat.say("เสร็จ")  # a word, not a command, in an open question
        assert "ผลลัพธ์ของโครงการ" in chat.say("ย้อนกลับ")
        assert "บทเรียนที่ได้รับ" in chat.say("นักเรียนอ่านออกเขียนได้ทุกคน")
        assert "ทบทวนคำตอบ" in chat.say("ควรเริ่มกิจกรรมตั้งแต่ไตรมาสแรก")
        assert "ตัวชี้วัดบรรลุ 3 จาก 3 ตัว" in chat.say("ส่ง")
        # Opened again, it starts from the review of what was stored, and can be revised.
        again = chat._send(fake_line.postback_event(TEACHER, encode(StartYearEnd(report_id))))
        assert "ทบทวนคำตอบ" in again and "นักเรียนอ่านออกเขียนได้ทุกคน" in again
        chat.say("แก้ไข")
        chat.say("5")
        chat.say("ควรเริ่มกิจกรรมตั้งแต่ไตรมาสแรก และติดตามทุกเดือน")
        assert "บันทึกการประเมินผลสิ้นปีแล้ว" in chat.say("ส่ง")

    with Session(engine) as s:
        evaluation = s.exec(select(ProjectEvaluation)).one()
        assert evaluation.all_achieved and evaluation.outcome == "นักเรียนอ่านออกเขียนได้ทุกคน"
        assert evaluation.lessons == "ควรเริ่มกิจกรรมตั้งแต่ไตรมาสแรก และติดตามทุกเดือน"
        judged = {
            s.get(Indicator, j.indicator_id).code: (j.computed, j.achieved, j.corrected)
            for j in s.exec(select(IndicatorJudgement))
        }
        assert judged == {"K1": (True, True, False), "K2": (False, True, True), "K3": (None, True, False)}

        # Three more projects: one not achieved, one achieved, one never evaluated.
        second_report = _submit_q4(engine, seeded, seeded.projects[1], {"K1": "90"})
        third_report = _submit_q4(engine, seeded, seeded.projects[2], {"K1": "100"})
        for rid in (second_report, third_report):
            facts = yearend_facts(s, rid)
            verdicts = [Verdict(f.indicator_id, f.computed, bool(f.computed)) for f in facts.indicators]
            record_yearend(
                s, facts, verdicts, outcome="-", lessons="-", person_id=seeded.teacher.id, now=Q4_TIME
            )
        s1 = Strategy(code="S1", level=StrategyLevel.AREA, title="ยุทธศาสตร์ที่ 1")
        s2 = Strategy(code="S2", level=StrategyLevel.AREA, title="ยุทธศาสตร์ที่ 2")
        s.add_all([s1, s2])
        s.flush()
        p = [project.id for project in seeded.projects]
        for strategy, projects in ((s1, [p[0], p[1]]), (s2, [p[0], p[2], p[3]])):
            s.add_all(ProjectStrategy(project_id=pid, strategy_id=strategy.id) for pid in projects)
        s.commit()
        rates = {strategy.code: rate for strategy, rate in strategy_success(s, seeded.fiscal_year)}
    # By hand: S1 has P1 (all achieved) and P2 (90 < 100): 1 of 2 = 50 %.
    # S2 has P1, P3 (100 = 100: achieved) and P4 (not evaluated): 2 of 3 = 66.67 %.
    assert rates["S1"] == SuccessRate(2, 2, 1) and rates["S1"].rate == Decimal("50.00")
    assert rates["S2"] == SuccessRate(3, 2, 2) and rates["S2"].rate == Decimal("66.67")


def test_only_an_owner_can_evaluate_and_only_after_q4(engine, db_url, seeded, fake_line, tmp_path):
    report_id = _submit_q4(engine, seeded, seeded.projects[0], {"K1": "120"})
    director = "U" + "d" * 32
    with Session(engine) as s:
        person = s.get(Person, seeded.director.id)
        person.line_user_id = director
        s.add(person)
        s.commit()
    clock = FixedClock(Q4_TIME + timedelta(hours=1))
    fake_line.clock = clock.now
    with running_service(make_settings(db_url, fake_line, tmp_path), clock=clock) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        chat = Teacher(fake_line, director)
        refused = chat._send(fake_line.postback_event(director, encode(StartYearEnd(report_id))))
        assert "ประเมินผลสิ้นปีได้หลังส่งรายงานไตรมาส 4" in refused
        assert "ประเมินผลสิ้นปีได้หลังส่งรายงานไตรมาส 4" in chat._send(
            fake_line.postback_event(director, encode(StartYearEnd(999_999)))
        )
    with Session(engine) as s:
        assert s.exec(select(ProjectEvaluation)).all() == []


def test_a_director_answering_a_questionnaire_can_still_return_a_report_with_its_reason(
    engine, db_url, seeded, fake_line, tmp_path
):
    """The approval's return reason writes into whatever conversation the chat has: the questionnaire
    keeps its answers through it (the conversation store carries the other flow's key)."""
    from evaluation.loader import parse_yaml
    from models.campaigns import start_campaign
    from models.evaluation import CampaignAnswer
    from models.reports import ApprovalDecision

    director = "U" + "e" * 32
    report_id = _submit_q4(engine, seeded, seeded.projects[0], {"K1": "120"})
    form = parse_yaml(
        "title: แบบสั้น\nquestions:\n  - {key: a, kind: rating, text: ข้อหนึ่ง}\n  - {key: b, kind: text, text: ข้อสอง}\n"
    )
    with Session(engine) as s:
        person = s.get(Person, seeded.director.id)
        person.line_user_id = director
        s.add(person)
        start_campaign(
            s, questionnaire=form, target="approver", office_code=None, opens_on=Q4_TIME.date(),
            closes_on=Q4_TIME.date() + timedelta(days=10), remind_on=None, today=Q4_TIME.date(), now=Q4_TIME,
        )  # fmt: skip
        s.commit()
    clock = FixedClock(Q4_TIME + timedelta(hours=1))
    fake_line.clock = clock.now
    with running_service(make_settings(db_url, fake_line, tmp_path), clock=clock) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        chat = Teacher(fake_line, director)
        assert "ข้อหนึ่ง" in chat.say("แบบประเมิน")
        assert "ข้อสอง" in chat.say("4")
        asked = chat._send(fake_line.postback_event(director, f"v1|ap|d=r|n=1|r={report_id}"))
        assert "ขอเหตุผลที่ส่งกลับรายงาน" in asked
        assert "ส่งกลับรายงาน" in chat.say("ตัวชี้วัดที่ 1 ยังไม่มีหลักฐาน")
        assert "ทบทวนคำตอบ" in chat.say("ดีค่ะ")  # the questionnaire goes on where it was
        assert "ส่งคำตอบแล้ว" in chat.say("ส่ง")
    with Session(engine) as s:
        assert s.exec(select(ApprovalDecision.reason)).all() == ["ตัวชี้วัดที่ 1 ยังไม่มีหลักฐาน"]
        assert [a.answers for a in s.exec(select(CampaignAnswer))] == [{"a": 4, "b": "ดีค่ะ"}]
