"""`tidtam link-code` and `tidtam link-codes` through typer's CliRunner, on both backends.

The commands read the system clock (a code's expiry), so every test runs on `office_clock`: the
machine clock pinned to an instant whose UTC date is not Bangkok's.
"""

from __future__ import annotations

import re

import pytest
from office_clock import OFFICE_TZ, OfficeClock
from openpyxl import load_workbook
from sqlmodel import Session, select
from support import link_code_for, seed_office
from typer.testing import CliRunner

from messages import admin as text
from messages.thai_dates import BE_OFFSET, format_date
from models import AuditLog, LinkCode, Office, Person
from models.linking import CODE_TTL, LinkResult, redeem_link_code
from models.types import ChatType, OfficeKind
from tidtam.cli import app

CODE_LINE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")
U1 = "U" + "1" * 32
GROUP = "C" + "2" * 32
BANGKOK = OFFICE_TZ

runner = CliRunner()
# `usefixtures` comes before a test's own arguments: the office is seeded on the pinned clock too.
pytestmark = pytest.mark.usefixtures("office_clock")


@pytest.fixture
def seeded(engine, db_url, monkeypatch, tmp_path, office_clock):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("TIDTAM_DATABASE_URL", db_url)
    monkeypatch.setenv("TIDTAM_TIMEZONE", "Asia/Bangkok")
    return seed_office(engine, today=office_clock.today)


def _redeem(engine, code, user=U1, **kw):
    with Session(engine, expire_on_commit=False) as s:
        now = OfficeClock().now()  # the system clock, as the command read it: pinned for every test here
        outcome = redeem_link_code(s, text=code, line_user_id=user, now=now, **kw)
        s.commit()
    return outcome


def _lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.strip()]


def _audits(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(AuditLog).where(AuditLog.action == "link_code_created")).all())


def test_link_code_prints_a_code_that_links_the_person(engine, seeded, office_clock) -> None:
    result = runner.invoke(app, ["link-code", "T1"])
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert CODE_LINE.match(lines[-1])
    assert seeded.teacher.full_name in lines[-2] and seeded.school.name in lines[-2]
    with Session(engine) as s:
        expires = s.exec(select(LinkCode)).one().expires_at
    assert format_date(expires.astimezone(BANGKOK).date()) in lines[-2]  # Buddhist Era
    assert str(expires.astimezone(BANGKOK).year + BE_OFFSET) in lines[-2]
    # valid until the office's date two weeks on (in UTC it is still the day before)
    assert format_date(office_clock.today + CODE_TTL) in lines[-2]
    assert _audits(engine) == 1

    outcome = _redeem(engine, lines[-1])
    assert outcome.result is LinkResult.LINKED
    assert outcome.person is not None and outcome.person.code == "T1"


def test_link_code_for_a_linked_person_warns_first(engine, seeded) -> None:
    assert _redeem(engine, link_code_for(engine, person=seeded.teacher)).result is LinkResult.LINKED
    result = runner.invoke(app, ["link-code", "T1"])
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert lines[0] == text.person_already_linked(seeded.teacher.full_name)
    assert CODE_LINE.match(lines[-1])


def test_planning_group_code_binds_a_group(engine, seeded) -> None:
    result = runner.invoke(app, ["link-code", "--planning-group", "PLAN"])
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert CODE_LINE.match(lines[-1])
    assert seeded.planning.name in lines[-2]
    outcome = _redeem(engine, lines[-1], chat_id=GROUP, chat_type=ChatType.GROUP)
    assert outcome.result is LinkResult.GROUP_BOUND
    assert outcome.office is not None and outcome.office.code == "PLAN"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["link-code", "NOPE"], text.unknown_person("NOPE")),
        (["link-code", "--planning-group", "NOPE"], text.unknown_office("NOPE")),
        (["link-code"], text.person_or_group_required()),
        (["link-code", "T1", "--planning-group", "PLAN"], text.person_or_group_required()),
    ],
)
def test_bad_arguments_exit_1_with_a_message(engine, seeded, args, expected) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert expected in result.stderr
    assert not CODE_LINE.match((_lines(result) or [""])[-1])
    with Session(engine) as s:
        assert s.exec(select(LinkCode)).all() == []


def test_inactive_person_gets_no_code(engine, seeded) -> None:
    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        teacher.active = False
        s.add(teacher)
        s.commit()
    result = runner.invoke(app, ["link-code", "T1"])
    assert result.exit_code == 1
    assert text.inactive_person("T1") in result.stderr


def _sheet_rows(path) -> list[tuple]:
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    return rows


def test_link_codes_writes_unlinked_people_of_the_office_and_below(
    engine, seeded, tmp_path, office_clock
) -> None:
    now = office_clock.now()
    with Session(engine) as s:  # a grandchild office: a school under a group under the area office
        sub = Office(code="SUB", name="กลุ่มโรงเรียนย่อย", kind=OfficeKind.GROUP, parent_id=seeded.office.id,
                     created_at=now, updated_at=now)  # fmt: skip
        s.add(sub)
        s.flush()
        deep = Office(code="SCH2", name="โรงเรียนลึกสุด", kind=OfficeKind.SCHOOL, parent_id=sub.id,
                      created_at=now, updated_at=now)  # fmt: skip
        s.add(deep)
        s.flush()
        s.add(
            Person(
                code="T2",
                full_name="นายลึก ที่สุด",
                position="ครู",
                office_id=deep.id,
                created_at=now,
                updated_at=now,
            )
        )
        s.add(
            Person(
                code="X9",
                full_name="นายเกษียณ แล้ว",
                office_id=deep.id,
                active=False,
                created_at=now,
                updated_at=now,
            )
        )
        other = Office(
            code="AREA2", name="สพป.อื่น", kind=OfficeKind.AREA_OFFICE, created_at=now, updated_at=now
        )
        s.add(other)
        s.flush()
        s.add(Person(code="O1", full_name="นางอื่น ไกล", office_id=other.id, created_at=now, updated_at=now))
        s.commit()
    assert _redeem(engine, link_code_for(engine, person=seeded.director)).result is LinkResult.LINKED
    before = _audits(engine)

    path = tmp_path / "codes.xlsx"
    result = runner.invoke(app, ["link-codes", "--office", "AREA", str(path)])
    assert result.exit_code == 0, result.output
    assert _lines(result)[-1] == text.link_codes_written(3, str(path))

    rows = _sheet_rows(path)
    assert rows[0] == text.LINK_SHEET_HEADERS
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {"T1", "PL1", "T2"}  # not D1 (linked), X9 (inactive), O1 (another office)
    assert by_code["T2"][1:4] == ("นายลึก ที่สุด", "ครู", "โรงเรียนลึกสุด")
    assert by_code["T1"][3] == seeded.school.name
    with Session(engine) as s:
        newest = max(row.expires_at for row in s.exec(select(LinkCode)))
    assert {row[5] for row in rows[1:]} == {format_date(newest.astimezone(BANGKOK).date())}
    assert _audits(engine) == before + 3

    users = iter(["U" + c * 32 for c in "abc"])
    for person_code, row in by_code.items():
        assert CODE_LINE.match(row[4])
        outcome = _redeem(engine, row[4], user=next(users))
        assert outcome.result is LinkResult.LINKED and outcome.person.code == person_code


def test_link_codes_for_a_school_only(engine, seeded, tmp_path) -> None:
    path = tmp_path / "school.xlsx"
    result = runner.invoke(app, ["link-codes", "--office", "SCH1", str(path)])
    assert result.exit_code == 0, result.output
    assert {row[0] for row in _sheet_rows(path)[1:]} == {"T1", "D1"}


def test_link_codes_unknown_office_writes_nothing(engine, seeded, tmp_path) -> None:
    path = tmp_path / "none.xlsx"
    result = runner.invoke(app, ["link-codes", "--office", "NOPE", str(path)])
    assert result.exit_code == 1
    assert text.unknown_office("NOPE") in result.stderr
    assert not path.exists()
    with Session(engine) as s:
        assert s.exec(select(LinkCode)).all() == []


def test_link_codes_unwritable_file_leaves_no_codes(engine, seeded, tmp_path) -> None:
    result = runner.invoke(app, ["link-codes", "--office", "AREA", str(tmp_path / "missing-dir" / "x.xlsx")])
    assert result.exit_code != 0
    with Session(engine) as s:
        assert s.exec(select(LinkCode)).all() == []
