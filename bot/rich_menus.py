"""The LINE rich menus: drawn from their declarations (messages/rich_menus.py), created through LINE's
rich menu API, and linked to each person for the roles they hold.

`sync` (what `tidtam line setup` runs) creates the menus that are missing or changed, sets the unlinked
menu as the channel's default, deletes the service's menus nobody needs any more and links every linked
person; it is idempotent: run twice, the second run changes nothing. `link_for` keeps one person's menu
in step with their roles as they use the bot (on linking, and when an import changes their roles).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.line_client import LineApiError, LineClient
from messages.menus import MenuRole
from messages.rich_menus import NAME_PREFIX, ROLE_SETS, RichMenuSpec, all_specs, spec_for
from models.org import Person
from models.rich_menus import RichMenu, RichMenuLink

log = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/tlwg")
FONTS = ("Laksaman-Bold.ttf", "Sarabun-Bold.ttf", "Loma-Bold.ttf", "Garuda-Bold.ttf")
MAX_IMAGE_BYTES = 1024 * 1024


# --- drawing ----------------------------------------------------------------------------------------


@cache
def _font_path() -> Path:
    for name in FONTS:
        if (FONT_DIR / name).is_file():
            return FONT_DIR / name
    raise FileNotFoundError(f"no Thai font in {FONT_DIR}: install fonts-thai-tlwg")


def _font(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    layout = ImageFont.Layout.RAQM if _has_raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(_font_path()), size, layout_engine=layout)


@cache
def _has_raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))  # Thai marks stack right only with complex text layout


def _fit(draw: Any, text: str, size: int, width: int):  # type: ignore[no-untyped-def]
    font = _font(size)
    while size > 24 and draw.textlength(text, font=font) > width:
        size -= 4
        font = _font(size)
    return font


def render(spec: RichMenuSpec) -> bytes:
    """The menu's image, PNG, exactly its size: one tile per button, the command large, a caption below."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (spec.width, spec.height), "#F3F4F6")
    draw = ImageDraw.Draw(image)
    gap = 12
    for button, (x, y, w, h) in zip(spec.buttons, spec.areas(), strict=False):
        draw.rounded_rectangle((x + gap, y + gap, x + w - gap, y + h - gap), radius=36, fill=button.colour)
        label = _fit(draw, button.label, 150 if spec.rows < 3 else 120, w - 6 * gap)
        caption = _fit(draw, button.caption, 70 if spec.rows < 3 else 60, w - 6 * gap)
        middle = y + h // 2
        draw.text((x + w // 2, middle - h // 10), button.label, font=label, fill="#FFFFFF", anchor="mm")
        if button.caption:
            draw.text(
                (x + w // 2, middle + h // 4), button.caption, font=caption, fill="#E5E7EB", anchor="mm"
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:  # LINE takes at most 1 MB: JPEG keeps such an image well under it
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=88)
        data = out.getvalue()
    return data


def content_type(image: bytes) -> str:
    return "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"


# --- LINE's rich menu object --------------------------------------------------------------------------


def body(spec: RichMenuSpec) -> dict[str, Any]:
    """The rich menu object LINE's API takes: each area a postback the bot routes like the typed word."""
    areas = [
        {
            "bounds": {"x": x, "y": y, "width": w, "height": h},
            "action": {
                "type": "postback",
                "label": button.label,
                "data": f"v1|cmd|name={button.intent.lower()}",
                "displayText": button.label,
            },
        }
        for button, (x, y, w, h) in zip(spec.buttons, spec.areas(), strict=False)
    ]
    return {
        "size": {"width": spec.width, "height": spec.height},
        "selected": MenuRole.UNLINKED.value not in spec.roles,  # opened at once for people who use it daily
        "name": spec.name,
        "chatBarText": spec.chat_bar_text,
        "areas": areas,
    }


# --- creating them (tidtam line setup) -----------------------------------------------------------------


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    linked: int = 0
    default: str = ""


def sync(session: Session, line: LineClient, now: datetime, tz: ZoneInfo) -> SyncReport:
    """Create what is missing, keep what is current, delete the service's stale menus, link everyone."""
    report = SyncReport()
    existing = {
        m["name"]: m["richMenuId"] for m in line.api("GET", "/v2/bot/richmenu/list").json()["richmenus"]
    }
    wanted = all_specs()
    ids: dict[str, str] = {}
    for spec in wanted:
        if spec.name in existing:
            ids[spec.key] = existing[spec.name]
            report.kept.append(spec.key)
            continue
        created = line.api("POST", "/v2/bot/richmenu", json=body(spec)).json()["richMenuId"]
        image = render(spec)
        line.api(
            "POST",
            f"/v2/bot/richmenu/{created}/content",
            content=image,
            content_type=content_type(image),
            data_api=True,
        )
        ids[spec.key] = created
        report.created.append(spec.key)
    names = {spec.name for spec in wanted}
    for name, rich_menu_id in existing.items():
        if name.startswith(f"{NAME_PREFIX}:") and name not in names:
            line.api("DELETE", f"/v2/bot/richmenu/{rich_menu_id}")
            report.deleted.append(name)
    unlinked = spec_for((MenuRole.UNLINKED,))
    line.api("POST", f"/v2/bot/user/all/richmenu/{ids[unlinked.key]}")
    report.default = unlinked.key
    _record(session, wanted, ids, now)
    report.linked = _link_everyone(session, line, wanted, ids, now, now.astimezone(tz).date())
    return report


def _record(session: Session, specs: list[RichMenuSpec], ids: dict[str, str], now: datetime) -> None:
    for spec in specs:
        row = session.get(RichMenu, spec.key)
        if row is None:
            session.add(RichMenu(key=spec.key, name=spec.name, line_id=ids[spec.key], created_at=now))
        elif row.line_id != ids[spec.key] or row.name != spec.name:
            row.name, row.line_id, row.created_at = spec.name, ids[spec.key], now
            session.add(row)
    session.flush()


def _link_everyone(
    session: Session,
    line: LineClient,
    specs: list[RichMenuSpec],
    ids: dict[str, str],
    now: datetime,
    today: date,
) -> int:
    from bot.menus import roles_of  # bot.menus uses this module: imported when used

    by_key = {spec.key: spec for spec in specs}
    groups: dict[str, list[Person]] = {}
    people = session.exec(
        select(Person).where(col(Person.line_user_id).is_not(None), col(Person.active).is_(True))
    )
    for person in people:
        groups.setdefault(spec_for(roles_of(session, person, today)).key, []).append(person)
    linked = 0
    for key, members in groups.items():
        spec = by_key.get(key)
        if spec is None:
            continue
        for start in range(0, len(members), 500):  # LINE links at most 500 users a request
            chunk = members[start : start + 500]
            line.api(
                "POST",
                "/v2/bot/richmenu/bulk/link",
                json={"richMenuId": ids[key], "userIds": [p.line_user_id for p in chunk]},
            )
            for person in chunk:
                _remember(session, person.id or 0, spec.name, now)
            linked += len(chunk)
    return linked


def _remember(session: Session, person_id: int, name: str, now: datetime) -> None:
    row = session.get(RichMenuLink, person_id)
    if row is None:
        session.add(RichMenuLink(person_id=person_id, name=name, linked_at=now))
    else:
        row.name, row.linked_at = name, now
        session.add(row)


# --- one person, as they use the bot -------------------------------------------------------------------


def link_for(
    session: Session,
    line: Any,
    person: Person,
    roles: tuple[MenuRole, ...],
    now: datetime,
    *,
    force: bool = False,
) -> bool:
    """Link the menu of `roles` to `person` when it is not the one last linked (or `force`: a LINE account
    just linked); False when nothing was done (no menus set up yet, the same menu, or LINE refused: the
    next event tries again)."""
    if person.id is None or not person.line_user_id or line is None or not hasattr(line, "link_rich_menu"):
        return False
    spec = spec_for(roles)
    # The roles' menu and the one last linked to the person, in one round trip (it runs for every event).
    found = session.execute(
        sa.select(RichMenu.line_id, RichMenu.name, RichMenuLink.name)  # type: ignore[call-overload]
        .outerjoin(RichMenuLink, RichMenuLink.person_id == person.id)  # type: ignore[arg-type]
        .where(RichMenu.key == spec.key)
    ).first()
    if found is None:
        return False  # `tidtam line setup` has not run (or not since these menus were declared)
    line_id, menu_name, current = found
    if current == menu_name and not force:
        return False
    try:
        ok = bool(line.link_rich_menu(person.line_user_id, line_id))
    except LineApiError:
        ok = False
    if ok:
        _remember(session, person.id, menu_name, now)
    else:
        log.info("rich menu %s not linked for person %s", spec.key, person.id)
    return ok


__all__ = ["ROLE_SETS", "SyncReport", "body", "link_for", "render", "sync"]
