"""The LINE rich menus, as data: for each set of roles, its buttons (from the role menus), colours and
grid. `bot/rich_menus.py` draws them (Pillow, a Thai font) and creates them through LINE's API, so what
the rich menu shows is what the help text lists and what the quick replies offer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from messages.menus import MenuEntry, MenuRole, entries

WIDTH = 2500
MAX_BUTTONS = 9  # a 3 × 3 grid at most: bigger buttons are easier to hit
CHAT_BAR_TEXT = "เมนู ติดตาม"  # LINE: at most 14 characters
NAME_PREFIX = "tidtam"

# Each role's colour: a person sees at a glance whose menu it is.
COLOURS = {
    MenuRole.REPORTER: "#1E6B52",
    MenuRole.DIRECTOR: "#1E3A8A",
    MenuRole.PLANNER: "#7C2D12",
    MenuRole.UNLINKED: "#374151",
}
# A short second line under each button's command word.
CAPTIONS = {
    "REPORT": "ส่งผลรายไตรมาส",
    "STATUS": "ไตรมาสนี้และกำหนดส่ง",
    "MY_PROJECTS": "ที่รับผิดชอบ",
    "VIEW_REPORT": "ที่ส่งแล้ว",
    "CONTACT": "กลุ่มนโยบายและแผน",
    "PENDING": "รายงานรอท่านพิจารณา",
    "SCHOOL_STATUS": "ใครส่งแล้ว ใครยังไม่ส่ง",
    "DETAILS": "รายงานฉบับเต็ม",
    "AREA_OVERVIEW": "ทั้งเขตพื้นที่ฯ",
    "NOT_SUBMITTED": "รายชื่อที่ยังไม่ส่ง",
    "DASHBOARD": "ลิงก์เข้าระบบ",
    "REGISTER": "พิมพ์รหัส 8 ตัว",
    "HELP": "วิธีใช้งาน",
}


@dataclass(frozen=True)
class Button:
    intent: str  # a key of messages.vocabulary.WORDS (and a bot.intents.Intent name)
    label: str
    caption: str
    colour: str


@dataclass(frozen=True)
class RichMenuSpec:
    roles: tuple[str, ...]
    buttons: tuple[Button, ...]
    columns: int
    rows: int
    chat_bar_text: str = CHAT_BAR_TEXT

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def height(self) -> int:
        return 843 if self.rows == 1 else 1686

    @property
    def digest(self) -> str:
        """Changes whenever what the menu shows or does changes: an old menu is replaced, not reused."""
        return hashlib.sha256(
            json.dumps(asdict(self), ensure_ascii=False, sort_keys=True).encode()
        ).hexdigest()[:10]

    @property
    def key(self) -> str:
        return "+".join(self.roles)

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}:{self.key}:{self.digest}"

    def areas(self) -> list[tuple[int, int, int, int]]:
        """(x, y, width, height) of each button, row by row; the grid covers the whole image."""
        cells = []
        for index in range(len(self.buttons)):
            row, column = divmod(index, self.columns)
            x0 = column * self.width // self.columns
            x1 = (column + 1) * self.width // self.columns
            y0 = row * self.height // self.rows
            y1 = (row + 1) * self.height // self.rows
            cells.append((x0, y0, x1 - x0, y1 - y0))
        return cells


def _colour(entry: MenuEntry, roles: Sequence[MenuRole]) -> str:
    from messages.menus import MENUS

    for role in roles:
        if any(e.intent == entry.intent for e in MENUS[role]):
            return COLOURS[role]
    return COLOURS[MenuRole.UNLINKED]


def spec_for(roles: Sequence[MenuRole]) -> RichMenuSpec:
    """The rich menu of a person holding `roles` (in the order their menu lists them)."""
    chosen = list(entries(roles))
    if len(chosen) > MAX_BUTTONS:  # keep help, drop the last of the others
        chosen = [*chosen[: MAX_BUTTONS - 1], chosen[-1]]
    count = len(chosen)
    columns = 3 if count > 4 else max(1, min(count, 2 if count == 4 else 3))
    rows = -(-count // columns)
    buttons = tuple(Button(e.intent, e.label, CAPTIONS.get(e.intent, ""), _colour(e, roles)) for e in chosen)
    return RichMenuSpec(tuple(r.value for r in roles), buttons, columns, rows)


# Every set of roles a person can hold, as `bot.menus.roles_of` orders them.
ROLE_SETS: tuple[tuple[MenuRole, ...], ...] = (
    (MenuRole.UNLINKED,),
    (MenuRole.REPORTER,),
    (MenuRole.DIRECTOR,),
    (MenuRole.REPORTER, MenuRole.DIRECTOR),
    (MenuRole.PLANNER,),
    (MenuRole.REPORTER, MenuRole.PLANNER),
    (MenuRole.DIRECTOR, MenuRole.PLANNER),
    (MenuRole.REPORTER, MenuRole.DIRECTOR, MenuRole.PLANNER),
)


def all_specs() -> list[RichMenuSpec]:
    return [spec_for(roles) for roles in ROLE_SETS]


# --- what `tidtam line setup` and `tidtam line check` say, in Thai and English -----------------------


def setup_line(what: str, th: str, en: str) -> str:
    return f"{what}: {th} / {en}"
