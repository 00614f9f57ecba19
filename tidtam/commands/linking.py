"""`tidtam link-code` and `tidtam link-codes`: one-time codes that link LINE accounts and groups.

`link-code PERSON_CODE` prints a code for one person; `link-code --planning-group OFFICE_CODE` prints a
code that binds a LINE group to that office's planning group; `link-codes --office CODE FILE.xlsx` writes
a sheet with a fresh code for every active, not yet linked person in the office and the offices under
it, for the planning group to hand out. The last line `link-code` prints is the code alone, so scripts
can take it with `tail -n 1`. Each code is audited by `models.linking.create_link_code`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from messages import admin as text
from messages.thai_dates import format_date
from models.linking import CODE_TTL, create_link_code
from models.org import Office, Person

CREATED_BY = "cli"


class LinkingError(Exception):
    """An admin asked for something that does not exist; the message is the Thai text to print."""


@dataclass(frozen=True)
class IssuedCode:
    code: str
    person: Person | None
    office: Office
    expires_at: datetime


def _office_by_code(session: Session, code: str) -> Office:
    office = session.exec(select(Office).where(Office.code == code.strip())).first()
    if office is None:
        raise LinkingError(text.unknown_office(code))
    return office


def issue_person_code(engine: Engine, person_code: str, *, now: datetime) -> IssuedCode:
    with Session(engine, expire_on_commit=False) as session:
        person = session.exec(select(Person).where(Person.code == person_code.strip())).first()
        if person is None:
            raise LinkingError(text.unknown_person(person_code))
        if not person.active:
            raise LinkingError(text.inactive_person(person_code))
        office = session.get(Office, person.office_id)
        assert office is not None  # foreign key
        code = create_link_code(session, now=now, created_by=CREATED_BY, person=person)
        session.commit()
    return IssuedCode(code, person, office, now + CODE_TTL)


def issue_group_code(engine: Engine, office_code: str, *, now: datetime) -> IssuedCode:
    with Session(engine, expire_on_commit=False) as session:
        office = _office_by_code(session, office_code)
        code = create_link_code(session, now=now, created_by=CREATED_BY, office=office)
        session.commit()
    return IssuedCode(code, None, office, now + CODE_TTL)


def office_and_descendants(session: Session, root: Office) -> dict[int, Office]:
    """`root` and every office below it (its groups and schools), by id."""
    found: dict[int, Office] = {root.id or 0: root}
    frontier = [root.id]
    while frontier:
        children = list(session.exec(select(Office).where(col(Office.parent_id).in_(frontier))))
        frontier = [o.id for o in children if o.id not in found]
        found.update((o.id or 0, o) for o in children)
    return found


def issue_office_codes(engine: Engine, office_code: str, path: Path, *, now: datetime, tz: ZoneInfo) -> int:
    """Write the link-code sheet for `office_code` to `path`; returns how many codes it holds.

    The codes are committed only after the file is written, so a failed write leaves no orphan codes.
    """
    with Session(engine, expire_on_commit=False) as session:
        root = _office_by_code(session, office_code)
        offices = office_and_descendants(session, root)
        people = list(
            session.exec(
                select(Person)
                .where(
                    col(Person.office_id).in_(list(offices)),
                    col(Person.line_user_id).is_(None),
                    col(Person.active).is_(True),
                )
                .order_by(col(Person.office_id), col(Person.code))
            )
        )
        expiry = format_date((now + CODE_TTL).astimezone(tz).date())
        rows = [
            (
                person.code,
                person.full_name,
                person.position,
                offices[person.office_id].name,
                create_link_code(session, now=now, created_by=CREATED_BY, person=person),
                expiry,
            )
            for person in people
        ]
        _write_sheet(path, rows)
        session.commit()
    return len(rows)


def _write_sheet(path: Path, rows: list[tuple[str, ...]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from tidtam.workbook.text_cells import append_row

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = text.LINK_SHEET_TITLE
    append_row(sheet, text.LINK_SHEET_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:  # names and positions are what people typed: never written as formulas
        append_row(sheet, row)
    for letter, width in zip("ABCDEF", (14, 32, 24, 32, 16, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    workbook.save(path)


def _run(action: Callable[[], None]) -> None:
    try:
        action()
    except LinkingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    @app.command("link-code")
    def link_code(
        person_code: str | None = typer.Argument(None, help="The person's code (from the import workbook)."),
        planning_group: str | None = typer.Option(
            None,
            "--planning-group",
            metavar="OFFICE_CODE",
            help="Bind a LINE group to this office's planning group.",
        ),
    ) -> None:
        """Print a one-time code that links a person's LINE account (or a LINE group)."""
        from models.db import make_engine
        from scheduler.clock import make_clock
        from tidtam.settings import Settings

        if (person_code is None) == (planning_group is None):
            typer.echo(text.person_or_group_required(), err=True)
            raise typer.Exit(1)
        settings = Settings()
        engine = make_engine(settings.database_url)
        now = make_clock(settings, engine).now()

        def action() -> None:
            if planning_group is not None:
                issued = issue_group_code(engine, planning_group, now=now)
                typer.echo(text.group_link_code(issued.office.name, _expiry(issued, settings.tz)))
            else:
                issued = issue_person_code(engine, person_code or "", now=now)
                assert issued.person is not None
                if issued.person.line_user_id:
                    typer.echo(text.person_already_linked(issued.person.full_name))
                typer.echo(
                    text.person_link_code(
                        issued.person.full_name,
                        issued.person.code,
                        issued.office.name,
                        _expiry(issued, settings.tz),
                    )
                )
            typer.echo(issued.code)

        try:
            _run(action)
        finally:
            engine.dispose()

    @app.command("link-codes")
    def link_codes(
        path: Path = typer.Argument(..., help="The .xlsx file to write.", dir_okay=False),
        office: str = typer.Option(
            ..., "--office", metavar="CODE", help="The office (its groups and schools too)."
        ),
    ) -> None:
        """Write an .xlsx with a fresh link code for every person not yet linked in an office."""
        from models.db import make_engine
        from scheduler.clock import make_clock
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        now = make_clock(settings, engine).now()

        def action() -> None:
            count = issue_office_codes(engine, office, path, now=now, tz=settings.tz)
            typer.echo(text.link_codes_written(count, str(path)))

        try:
            _run(action)
        finally:
            engine.dispose()


def _expiry(issued: IssuedCode, tz: ZoneInfo) -> str:
    return format_date(issued.expires_at.astimezone(tz).date())
