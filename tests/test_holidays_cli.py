"""`tidtam holidays`: an office's own days off reach the scheduler's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, select
from typer.testing import CliRunner

from models import Office, OfficeHoliday
from models.types import HolidayKind, OfficeKind
from tidtam.cli import app

runner = CliRunner()


def test_add_list_and_remove_office_days(db_url, engine, monkeypatch) -> None:
    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    with Session(engine) as s:
        s.add(
            Office(code="SCH1", name="โรงเรียนทดสอบ", kind=OfficeKind.SCHOOL, created_at=now, updated_at=now)
        )
        s.commit()

    added = runner.invoke(app, ["holidays", "add", "๑๖/๑/๗๐", "--name", "วันครู", "--office", "SCH1"])
    assert added.exit_code == 0, added.output
    assert "16 ม.ค. 2570" in added.output
    worked = runner.invoke(app, ["holidays", "add", "2027-04-14", "--working-day"])
    assert worked.exit_code == 0, worked.output

    with Session(engine) as s:
        rows = {r.day: r for r in s.exec(select(OfficeHoliday))}
    assert (
        rows[date(2027, 1, 16)].kind == HolidayKind.HOLIDAY and rows[date(2027, 1, 16)].office_id is not None
    )
    assert (
        rows[date(2027, 4, 14)].kind == HolidayKind.WORKING_DAY and rows[date(2027, 4, 14)].office_id is None
    )

    listed = runner.invoke(app, ["holidays", "list", "--year", "2570"])
    assert listed.exit_code == 0, listed.output
    assert "วันครู" in listed.output and "13 เม.ย. 2570" in listed.output  # office day and Songkran

    assert runner.invoke(app, ["holidays", "remove", "16/1/2570", "--office", "SCH1"]).exit_code == 0
    assert runner.invoke(app, ["holidays", "remove", "16/1/2570", "--office", "SCH1"]).exit_code == 1
    assert runner.invoke(app, ["holidays", "add", "31/2/70"]).exit_code == 1  # no such date
    assert runner.invoke(app, ["holidays", "add", "1/2/70", "--office", "NOPE"]).exit_code == 1
