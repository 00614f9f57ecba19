"""The chat side of the dashboard: `แดชบอร์ด` (read by bot/intents.py) answers with a single-use
15-minute login link, or tells a person the dashboard is not for them."""

from __future__ import annotations

from bot.context import EventContext
from dashboard.scope import scope_of
from messages import dashboard as text
from models.dashboard import LOGIN_TTL, issue_login


def login_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/dashboard/login?t={token}"


def reply(ctx: EventContext) -> None:
    """The login link for a person the dashboard has a scope for; a polite no for anyone else."""
    person = ctx.person
    if person is None or person.id is None or scope_of(person) is None:
        ctx.reply(text.dashboard_not_for_you())
        return
    token = issue_login(ctx.session, person.id, ctx.now)
    ctx.reply(text.dashboard_link(login_url(ctx.public_url, token), int(LOGIN_TTL.total_seconds() // 60)))
