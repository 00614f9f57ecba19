"""The LINE rich menus the service created, and which one each person was last shown.

`tidtam line setup` records each menu it created (one per set of roles, named by what it shows); the
bot links a person's menu when they link their account and whenever their roles change, and remembers
it here so it asks LINE only when something changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class RichMenu(SQLModel, table=True):
    __tablename__ = "rich_menu"

    key: str = Field(primary_key=True, max_length=64)  # the roles it is for: "reporter+director"
    name: str = Field(max_length=300)  # LINE's name of it: "tidtam:<key>:<digest of its content>"
    line_id: str = Field(max_length=100)  # richMenuId
    created_at: datetime = Field(sa_type=UTCDateTime)


class RichMenuLink(SQLModel, table=True):
    __tablename__ = "rich_menu_link"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    name: str = Field(max_length=300)  # the menu (by name, so a redrawn menu is linked again)
    linked_at: datetime = Field(sa_type=UTCDateTime)
