"""`tidtam line setup` and `tidtam line check`: the LINE channel, set up and checked from the service's
own settings (LINE_CHANNEL_ACCESS_TOKEN, LINE_API_BASE_URL, TIDTAM_PUBLIC_URL).

`setup` creates or updates the rich menus (idempotently), links them to everyone linked, sets the
channel's webhook URL to TIDTAM_PUBLIC_URL + /callback and asks LINE to test it. `check` verifies the
token, the webhook endpoint and the month's quota, and says in Thai and English what is wrong and what
to do. Both exit 1 when something needs fixing.
"""

from __future__ import annotations

import typer


def _client(settings):  # type: ignore[no-untyped-def]
    from bot.line_client import LineClient

    return LineClient(
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        timeout=settings.line_timeout_seconds,
    )


def _endpoint(settings) -> str:  # type: ignore[no-untyped-def]
    return settings.public_url.rstrip("/") + "/callback"


def register(app: typer.Typer) -> None:
    line = typer.Typer(
        help="Set up and check the LINE channel (rich menus, webhook, quota).", no_args_is_help=True
    )

    @line.command("setup")
    def setup(
        skip_webhook: bool = typer.Option(
            False, "--skip-webhook", help="Leave the channel's webhook URL as it is."
        ),
    ) -> None:
        """Create or update the rich menus, link them, set and test the webhook URL."""
        from sqlmodel import Session

        from bot.line_client import LineApiError
        from bot.rich_menus import sync
        from messages import line_setup as text
        from models.db import make_engine
        from scheduler.clock import make_clock
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        client = _client(settings)
        problems = 0
        try:
            with Session(engine) as session:
                report = sync(session, client, make_clock(settings, engine).now(), settings.tz)
                session.commit()
            typer.echo(
                text.menus_done(report.created, report.kept, report.deleted, report.linked, report.default)
            )
            if not skip_webhook:
                endpoint = _endpoint(settings)
                client.api("PUT", "/v2/bot/channel/webhook/endpoint", json={"endpoint": endpoint})
                typer.echo(text.webhook_set(endpoint))
                tested = client.api(
                    "POST", "/v2/bot/channel/webhook/test", json={"endpoint": endpoint}
                ).json()
                ok = bool(tested.get("success"))
                problems += not ok
                typer.echo(
                    text.webhook_test(
                        ok, endpoint, int(tested.get("statusCode") or 0), str(tested.get("reason", ""))
                    )
                )
        except LineApiError as error:
            problems += 1
            typer.echo(text.unreachable("setup", error.status, str(error)), err=True)
        finally:
            client.close()
            engine.dispose()
        typer.echo(text.summary(problems))
        raise typer.Exit(1 if problems else 0)

    @line.command("check")
    def check() -> None:
        """Verify the token, the webhook endpoint and this month's quota."""
        from bot.line_client import LineApiError
        from messages import line_setup as text
        from tidtam.settings import Settings

        settings = Settings()
        client = _client(settings)
        problems = 0
        try:
            try:
                info = client.api("GET", "/v2/bot/info").json()
                typer.echo(text.token(True, str(info.get("displayName", ""))))
            except LineApiError as error:
                typer.echo(text.token(False, status=error.status))
                raise typer.Exit(1) from None  # nothing else can be checked without a token
            wanted = _endpoint(settings)
            found = client.api("GET", "/v2/bot/channel/webhook/endpoint").json()
            ok = found.get("endpoint") == wanted and bool(found.get("active"))
            problems += not ok
            typer.echo(
                text.webhook_endpoint(ok, str(found.get("endpoint", "")), wanted, bool(found.get("active")))
            )
            limit_body = client.api("GET", "/v2/bot/message/quota").json()
            used = int(client.api("GET", "/v2/bot/message/quota/consumption").json().get("totalUsage", 0))
            limit = int(limit_body["value"]) if limit_body.get("type") == "limited" else None
            typer.echo(text.quota(limit, used))
            problems += limit is not None and limit - used <= limit // 10
        except LineApiError as error:
            problems += 1
            typer.echo(text.unreachable("check", error.status, str(error)), err=True)
        finally:
            client.close()
        typer.echo(text.summary(problems))
        raise typer.Exit(1 if problems else 0)

    app.add_typer(line, name="line")
