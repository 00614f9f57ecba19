"""`tidtam approvals --pending` (what waits on whom) and `tidtam approvals --reopen ID --reason TEXT`
(the planning group reopens an approved report; the reporter is told, with a button to revise it)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("approvals")
    def approvals(
        pending: bool = typer.Option(
            True, "--pending/--no-pending", help="List reports waiting for a decision."
        ),
        reopen: int | None = typer.Option(
            None, "--reopen", metavar="REPORT_ID", help="Reopen an approved report."
        ),
        reason: str = typer.Option("", "--reason", help="Why it is reopened (shown to the reporter)."),
        by: str = typer.Option(
            "", "--by", metavar="PERSON_CODE", help="Who in the planning group reopens it (audit log)."
        ),
    ) -> None:
        """Reports waiting for approval, and reopening an approved one for revision."""
        from sqlmodel import Session, select

        from bot.reopen import reopen_with_notice
        from messages import approvals as admin
        from models.approvals import pending_reports
        from models.db import make_engine
        from models.org import Person
        from models.plan import ReportingPeriod
        from models.types import Role
        from scheduler.clock import local_today, make_clock
        from scheduler.fiscal import FiscalQuarter
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        clock = make_clock(settings, engine)
        with Session(engine) as session:
            if reopen is not None:
                if not reason.strip():
                    typer.echo(admin.reopen_needs_reason(), err=True)
                    raise typer.Exit(1)
                actor = None
                if by:
                    actor = session.exec(select(Person).where(Person.code == by.strip())).first()
                    if actor is None or not actor.has_role(Role.PLANNER):
                        typer.echo(admin.not_a_planner(by), err=True)
                        raise typer.Exit(1)
                now = clock.now()
                report = reopen_with_notice(
                    session, report_id=reopen, actor="cli", reason=reason.strip(), now=now, by=actor
                )
                if report is None:
                    typer.echo(admin.reopen_refused(reopen), err=True)
                    raise typer.Exit(1)
                session.commit()
                typer.echo(admin.reopened(reopen))
                return
            if pending:
                today = local_today(clock, settings.tz)
                items = pending_reports(session, today, settings.approval_levels)
                typer.echo(admin.pending_header(len(items)))
                for item in items:
                    period = session.get(ReportingPeriod, item.report.period_id)
                    who = (
                        ", ".join(
                            f"{p.code} {p.full_name}" + ("" if p.line_user_id else admin.not_on_line())
                            for p in item.approvers
                        )
                        or admin.nobody()
                    )
                    submitted = (
                        item.version.submitted_at.astimezone(settings.tz).date()
                        if item.version.submitted_at
                        else None
                    )
                    typer.echo(
                        admin.pending_line(
                            report_id=item.report.id or 0,
                            project=f"{item.project.code} {item.project.name}",
                            quarter=FiscalQuarter(period.fiscal_year, period.quarter) if period else None,
                            version=item.version.version,
                            level=item.level,
                            submitted_on=submitted,
                            approvers=who,
                        )
                    )
        engine.dispose()
