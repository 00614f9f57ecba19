"""`tidtam approvals --pending` and `tidtam approvals --reopen ID --reason TEXT`, on both backends.

The command reads the system clock, so every test runs on `office_clock`: the machine clock pinned
to an instant whose UTC date is not Bangkok's, and "today" is the office's date at that instant.
"""

from __future__ import annotations

import pytest
from approval_office import audits, decisions, link, make_office, report_status, set_acting, submit
from sqlmodel import Session, select
from typer.testing import CliRunner

from messages import approvals as text
from messages.thai_dates import format_date
from models import Person
from models.approvals import record_decision
from models.messaging import OutboxMessage
from models.types import DecisionChannel, DecisionOutcome
from tidtam.cli import app

runner = CliRunner()


@pytest.fixture
def office(engine, db_url, monkeypatch, tmp_path, office_clock):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    monkeypatch.setenv("TIDTAM_TIMEZONE", "Asia/Bangkok")
    monkeypatch.delenv("TIDTAM_APPROVAL_LEVELS", raising=False)
    return make_office(engine, today=office_clock.today)


def _submit(engine, office, person, project, clock) -> tuple[int, int]:
    with Session(engine) as s:
        report, version = submit(s, person.id, project.id, office.period_id, clock.now())
        s.commit()
        return report.id, version.version


def _approve(engine, report_id, version, person, clock, levels=1) -> None:
    with Session(engine) as s:
        result = record_decision(
            s,
            report_id=report_id,
            version=version,
            person=s.get(Person, person.id),
            outcome=DecisionOutcome.APPROVED,
            channel=DecisionChannel.BUTTON,
            now=clock.now(),
            on=clock.today,
            levels=levels,
        )
        assert result.ok, result.error
        s.commit()


def _lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.strip()]


def _line_of(lines: list[str], report_id: int) -> str:
    return next(line for line in lines if line.startswith(f"[{report_id}]"))


def test_pending_lists_what_waits_on_whom(engine, office, office_clock) -> None:
    result = runner.invoke(app, ["approvals", "--pending"])
    assert result.exit_code == 0, result.output
    assert _lines(result) == [text.pending_header(0)]

    today = office_clock.today
    set_acting(engine, office, today, today)
    link(engine, office.director, "U" + "d" * 32)
    first, _ = _submit(engine, office, office.teacher, office.projects[0], office_clock)
    own, _ = _submit(engine, office, office.director, office.own_project, office_clock)
    decided, v = _submit(engine, office, office.teacher, office.projects[1], office_clock)
    _approve(engine, decided, v, office.director, office_clock)

    result = runner.invoke(app, ["approvals"])  # --pending is the default
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert lines[0] == text.pending_header(2)
    assert not any(line.startswith(f"[{decided}]") for line in lines)
    waiting = _line_of(lines, first)
    assert office.projects[0].code in waiting and "ฉบับที่ 1" in waiting
    assert format_date(today) in waiting  # submitted on the office's date (in UTC, still the day before)
    assert f"DD1 {office.deputy.full_name}{text.not_on_line()}" in waiting  # acting today, not on LINE yet
    assert (
        f"D1 {office.director.full_name}" in waiting
        and f"{office.director.full_name}{text.not_on_line()}" not in waiting
    )
    assert "ผู้อำนวยการ" in waiting
    own_line = _line_of(lines, own)
    assert ": AD1 " in own_line and " D1 " not in own_line  # the director's own report waits one level up


def test_pending_shows_the_planning_group_at_level_two(engine, office, office_clock, monkeypatch) -> None:
    monkeypatch.setenv("TIDTAM_APPROVAL_LEVELS", "2")
    report_id, version = _submit(engine, office, office.teacher, office.projects[0], office_clock)
    _approve(engine, report_id, version, office.director, office_clock, levels=2)
    result = runner.invoke(app, ["approvals", "--pending"])
    assert result.exit_code == 0, result.output
    line = _line_of(_lines(result), report_id)
    assert "กลุ่มนโยบายและแผน: PL1 " in line and " D1 " not in line


def test_reopen_an_approved_report_tells_the_reporter(engine, office, office_clock) -> None:
    link(engine, office.teacher, "U" + "1" * 32)
    report_id, version = _submit(engine, office, office.teacher, office.projects[0], office_clock)
    _approve(engine, report_id, version, office.director, office_clock)

    result = runner.invoke(
        app, ["approvals", "--reopen", str(report_id), "--reason", "ตัวเลขเบิกจ่ายผิด", "--by", "PL1"]
    )
    assert result.exit_code == 0, result.output
    assert _lines(result)[-1] == text.reopened(report_id)
    assert report_status(engine, report_id) == "returned"
    assert len(decisions(engine, report_id)) == 1  # the approval stays on record
    reopen = audits(engine, report_id)[-1]
    assert reopen.action == "report_reopened" and reopen.actor == "cli"
    assert reopen.actor_person_id == office.planner.id
    assert reopen.details["reason"] == "ตัวเลขเบิกจ่ายผิด" and reopen.details["version"] == version
    with Session(engine) as s:
        [push] = s.exec(select(OutboxMessage).where(OutboxMessage.purpose == "reopen_notice")).all()
    assert push.recipients == ["U" + "1" * 32]
    message = push.messages[0]
    assert "ตัวเลขเบิกจ่ายผิด" in message["text"]
    assert message["quickReply"]["items"][0]["action"]["data"] == f"v1|report|r={report_id}"

    again = runner.invoke(app, ["approvals", "--reopen", str(report_id), "--reason", "อีกครั้ง"])
    assert again.exit_code == 1 and text.reopen_refused(report_id) in again.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], text.reopen_needs_reason()),
        (["--reason", "  "], text.reopen_needs_reason()),
        (["--reason", "x", "--by", "T1"], text.not_a_planner("T1")),
        (["--reason", "x", "--by", "NOPE"], text.not_a_planner("NOPE")),
        (["--reason", "x"], None),  # not approved yet: refused
    ],
)
def test_reopen_refusals_change_nothing(engine, office, office_clock, extra, message) -> None:
    report_id, _ = _submit(engine, office, office.teacher, office.projects[0], office_clock)
    result = runner.invoke(app, ["approvals", "--reopen", str(report_id), *extra])
    assert result.exit_code == 1
    assert (message or text.reopen_refused(report_id)) in result.stderr
    assert report_status(engine, report_id) == "submitted"
    assert audits(engine) == []
