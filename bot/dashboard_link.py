"""The chat side of the dashboard: `แดชบอร์ด` answers with a single-use 15-minute login link.

Kept apart from the command table so that changing how words are matched touches one line here.
"""

from __future__ import annotations

from bot.commands import normalize
from bot.context import EventContext
from dashboard.scope import scope_of
from messages import dashboard as text
from models.dashboard import LOGIN_TTL, issue_login


def asks_for_dashboard(typed: str) -> bool:
    return normalize(typed) in {normalize(word) for word in text.DASHBOARD_WORDS}


def login_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/dashboard/login?t={token}"


def answer(ctx: EventContext, typed: str) -> bool:
    """Reply to `แดชบอร์ด` (True), or leave the text to the other handlers (False)."""
    if not asks_for_dashboard(typed):
        return False
    person = ctx.person
    if person is None or person.id is None or scope_of(person) is None:
        ctx.reply(text.dashboard_not_for_you())
        return True
    token = issue_login(ctx.session, person.id, ctx.now)
    ctx.reply(text.dashboard_link(login_url(ctx.public_url, token), int(LOGIN_TTL.total_seconds() // 60)))
    return True
