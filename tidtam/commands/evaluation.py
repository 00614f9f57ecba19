"""`tidtam evaluation template FILE.xlsx` (a blank questionnaire workbook with Thai headers) and
`tidtam campaign start|list|results`: send a questionnaire to a target through LINE, see campaigns,
write a campaign's results workbook. `tidtam forms FILE --diagram` draws a questionnaire file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer


def _date(text: str | None) -> date | None:
    from messages import evaluation as txt
    from messages.errors import InputError
    from messages.thai_dates import parse_date

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        pass
    try:
        return parse_date(text)
    except (InputError, ValueError):
        typer.echo(txt.bad_date(text), err=True)
        raise typer.Exit(2) from None


def load_or_exit(path: Path):  # type: ignore[no-untyped-def]
    """The questionnaire in `path`, or every problem in Thai (each naming its line) and exit code 2."""
    from evaluation.loader import QuestionnaireError, load_file
    from messages import evaluation as txt

    try:
        return load_file(path)
    except QuestionnaireError as error:
        typer.echo(txt.refused(str(path), error.problems), err=True)
        raise typer.Exit(2) from None
    except OSError as error:
        typer.echo(f"{path}: {error.strerror}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    evaluation = typer.Typer(help="Evaluation questionnaires (the manual's process B).", no_args_is_help=True)
    campaign = typer.Typer(
        help="Send a questionnaire to people through LINE and collect the answers.", no_args_is_help=True
    )

    @evaluation.command("template")
    def template(path: Path = typer.Argument(..., help="Where to write the .xlsx")) -> None:
        """A blank questionnaire workbook with Thai headers, an example and how to fill it in."""
        from evaluation.sheet import write_template

        write_template(path)
        typer.echo(str(path))

    @campaign.command("start")
    def start(
        form: Path = typer.Argument(
            ..., help="The questionnaire: .yaml/.yml or a workbook from `evaluation template`."
        ),
        to: str = typer.Option(
            ...,
            "--to",
            help="reporter|approver|planner|monitoring_head|admin|observer, an office code, or strategy:CODE.",
        ),
        office: str | None = typer.Option(
            None, "--office", help="Only people of this office and the offices under it."
        ),
        opens: str | None = typer.Option(
            None, "--opens", help="First day (default: from the manual's calendar, Sep–Oct)."
        ),
        closes: str | None = typer.Option(
            None, "--closes", help="Last day answers are taken (default: the window's end)."
        ),
        remind: str | None = typer.Option(
            None,
            "--remind",
            help="Remind those who have not answered from this day (default: a week before the close).",
        ),
        no_reminder: bool = typer.Option(False, "--no-reminder", help="Send no reminder."),
        step: str = typer.Option(
            "B3.3", "--step", help="The manual's step whose window is the default (B1.3, B2.3, B3.3)."
        ),
    ) -> None:
        """Start a campaign; one that opens today starts sending at once (after the quiet hours). The
        last line printed is the campaign's id."""
        from sqlmodel import Session

        from messages import evaluation as txt
        from models.campaigns import TargetError, start_campaign
        from models.db import make_engine
        from scheduler.campaigns import WindowRefused, campaign_window, run_campaigns
        from scheduler.clock import local_today, make_clock
        from scheduler.service import tick_setup
        from scheduler.tick import release_time
        from tidtam.settings import Settings

        questionnaire = load_or_exit(form)
        settings = Settings()
        engine = make_engine(settings.database_url)
        clock = make_clock(settings, engine)
        setup = tick_setup(settings, holder="campaign")
        today = local_today(clock, settings.tz)
        try:
            opens_on, closes_on, remind_on = campaign_window(
                today,
                setup.steps,
                opens_on=_date(opens),
                closes_on=_date(closes),
                remind_on=_date(remind),
                no_reminder=no_reminder,
                step=step,
            )
        except WindowRefused as error:
            typer.echo(error.message, err=True)
            raise typer.Exit(2) from None
        now = clock.now()
        with Session(engine) as session:
            try:
                created, people = start_campaign(
                    session,
                    questionnaire=questionnaire,
                    target=to,
                    office_code=office,
                    opens_on=opens_on,
                    closes_on=closes_on,
                    remind_on=remind_on,
                    today=today,
                    now=now,
                    created_by="cli",
                )
            except TargetError as error:
                typer.echo(txt.target_error(error.code, error.value), err=True)
                raise typer.Exit(2) from None
            if not people:
                typer.echo(txt.no_recipients(), err=True)
                raise typer.Exit(2)
            session.commit()
            campaign_id = created.id or 0
        typer.echo(txt.campaign_started(campaign_id, len(people), opens_on, closes_on, remind_on))
        if opens_on <= today:
            run = run_campaigns(engine, now, setup, only=campaign_id)
            release = release_time(now, setup.tz, setup.rules.delivery, setup.calendar)
            quiet = release.astimezone(setup.tz).strftime("%H:%M") if release > now else None
            typer.echo(txt.campaign_sending(run.invited, run.unreachable, run.held, quiet))
        engine.dispose()
        typer.echo(str(campaign_id))

    @campaign.command("list")
    def list_campaigns() -> None:
        """Every campaign: id, state, window, answers so far, title."""
        from sqlmodel import Session, col, func, select

        from messages import evaluation as txt
        from models.campaigns import campaigns
        from models.db import make_engine
        from models.evaluation import CampaignRecipient
        from tidtam.settings import Settings

        engine = make_engine(Settings().database_url)
        with Session(engine) as session:
            found = campaigns(session)
            if not found:
                typer.echo(txt.no_campaigns())
            for c in found:
                total, answered = session.exec(
                    select(func.count(), func.count(col(CampaignRecipient.answered_at))).where(
                        CampaignRecipient.campaign_id == c.id
                    )
                ).one()
                typer.echo(
                    txt.campaign_line(
                        c.id or 0, c.title, str(c.status), c.opens_on, c.closes_on, total, answered
                    )
                )
        engine.dispose()

    @campaign.command("results")
    def results(
        campaign_id: int = typer.Argument(..., help="The campaign's id (tidtam campaign list)."),
        out: Path = typer.Option(..., "--out", help="The results workbook to write (.xlsx)."),
        anonymous: bool = typer.Option(
            False, "--anonymous", help="Leave out who answered (always so for an anonymous campaign)."
        ),
    ) -> None:
        """Response rate by office, each question's distribution, mean and median, the comments, every
        answer, and the strategies' success rates of the campaign's fiscal year."""
        from sqlmodel import Session

        from evaluation.sheet import write_results
        from messages import evaluation as txt
        from models.campaigns import campaign_answers, campaign_results
        from models.db import make_engine
        from models.evaluation import Campaign
        from models.yearend import strategy_success
        from scheduler.campaigns import evaluated_fiscal_year
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        with Session(engine) as session:
            found = session.get(Campaign, campaign_id)
            summary = campaign_results(session, campaign_id)
            if found is None or summary is None:
                typer.echo(txt.unknown_campaign(campaign_id), err=True)
                raise typer.Exit(2)
            rates = strategy_success(session, evaluated_fiscal_year(found.opens_on))
            write_results(
                out,
                found,
                summary,
                campaign_answers(session, found),
                hide_people=anonymous,
                strategy_rates=rates,
                tz=settings.tz,
            )
        engine.dispose()
        typer.echo(txt.results_written(str(out), summary.answered, summary.recipients))

    app.add_typer(evaluation, name="evaluation")
    app.add_typer(campaign, name="campaign")
