"""`tidtam holidays`: an office's own calendar — extra days off, or public holidays it works anyway.

The scheduler reads these days (the `office_holiday` table) on top of Thailand's public holidays from
the `holidays` package, so reminders never fall on a day the office is closed.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    holidays = typer.Typer(help="Office holidays on top of Thai public holidays.", no_args_is_help=True)

    @holidays.command("add")
    def add(
        day: str = typer.Argument(..., help="The date: 2027-01-15, 15/1/70, 15 ม.ค. 2570 …"),
        name: str = typer.Option("", "--name", help="What the day is (shown in lists)."),
        office: str | None = typer.Option(None, "--office", help="Office code; every office when omitted."),
        working_day: bool = typer.Option(
            False, "--working-day", help="A public holiday the office works anyway."
        ),
    ) -> None:
        """Add a day off (or, with --working-day, a working day) for an office or for every office."""
        from sqlmodel import Session, select

        from messages import admin
        from models import OfficeHoliday
        from models.db import make_engine
        from models.types import HolidayKind
        from tidtam.settings import Settings

        parsed = _parse(day)
        engine = make_engine(Settings().database_url)
        with Session(engine) as session:
            office_row = _office(session, office)
            office_id = office_row.id if office_row else None
            row = session.exec(
                select(OfficeHoliday).where(OfficeHoliday.office_id == office_id, OfficeHoliday.day == parsed)
            ).first() or OfficeHoliday(office_id=office_id, day=parsed)
            row.kind = HolidayKind.WORKING_DAY if working_day else HolidayKind.HOLIDAY
            row.name = name
            session.add(row)
            session.commit()
            typer.echo(admin.holiday_added(_show(parsed), name, _office_name(office_row), working_day))
        engine.dispose()

    @holidays.command("remove")
    def remove(
        day: str = typer.Argument(..., help="The date."),
        office: str | None = typer.Option(
            None, "--office", help="Office code; the all-offices entry when omitted."
        ),
    ) -> None:
        """Remove an office's setting for a day."""
        from sqlmodel import Session, select

        from messages import admin
        from models import OfficeHoliday
        from models.db import make_engine
        from tidtam.settings import Settings

        parsed = _parse(day)
        engine = make_engine(Settings().database_url)
        with Session(engine) as session:
            office_row = _office(session, office)
            office_id = office_row.id if office_row else None
            row = session.exec(
                select(OfficeHoliday).where(OfficeHoliday.office_id == office_id, OfficeHoliday.day == parsed)
            ).first()
            if row is None:
                typer.echo(admin.holiday_not_found(_show(parsed), _office_name(office_row)), err=True)
                raise typer.Exit(1)
            session.delete(row)
            session.commit()
            typer.echo(admin.holiday_removed(_show(parsed), _office_name(office_row)))
        engine.dispose()

    @holidays.command("list")
    def list_(
        year: int | None = typer.Option(None, "--year", help="Fiscal year (BE); the current one by default."),
    ) -> None:
        """Public holidays and office settings of a fiscal year, in date order."""
        from sqlmodel import Session, col, select

        from messages import admin
        from models import Office, OfficeHoliday
        from models.db import make_engine
        from scheduler.clock import local_today, make_clock
        from scheduler.fiscal import fiscal_year_bounds, fiscal_year_of
        from scheduler.workdays import WorkCalendar
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        fy = year or fiscal_year_of(local_today(make_clock(settings, engine), settings.tz))
        start, end = fiscal_year_bounds(fy)
        lines: list[tuple[object, str]] = []
        for day, name in WorkCalendar().holidays_in(start, end):
            lines.append((day, admin.holiday_line(_show(day), name, admin.source_public())))
        with Session(engine) as session:
            rows = session.exec(
                select(OfficeHoliday).where(col(OfficeHoliday.day) >= start, col(OfficeHoliday.day) <= end)
            )
            for row in rows:
                office = session.get(Office, row.office_id) if row.office_id else None
                label = row.name if row.kind == "holiday" else admin.working_day_label()
                lines.append(
                    (
                        row.day,
                        admin.holiday_line(_show(row.day), label, admin.source_office(_office_name(office))),
                    )
                )
        engine.dispose()
        typer.echo(admin.holidays_header(fy))
        for _, line in sorted(lines, key=lambda pair: str(pair[0])):
            typer.echo(line)

    app.add_typer(holidays, name="holidays")


def _parse(text: str):  # type: ignore[no-untyped-def]
    from messages.errors import InputError
    from messages.thai_dates import parse_date

    try:
        return parse_date(text)
    except InputError as error:
        typer.echo(f"{error.message} {error.example}", err=True)
        raise typer.Exit(1) from None


def _show(day: object) -> str:
    from messages.thai_dates import format_date

    return format_date(day)  # type: ignore[arg-type]


def _office(session, code: str | None):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from messages.admin import unknown_office
    from models import Office

    if code is None:
        return None
    office = session.exec(select(Office).where(Office.code == code)).first()
    if office is None:
        typer.echo(unknown_office(code), err=True)
        raise typer.Exit(1)
    return office


def _office_name(office) -> str:  # type: ignore[no-untyped-def]
    from messages.admin import every_office

    return office.name if office is not None else every_office()
