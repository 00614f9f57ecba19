"""``tidtam demo-data``: a realistic, fictional area office in the import workbook's format.

One area office, its groups, N schools with a director and teachers each, a strategy tree, about ten
projects per school plus the groups' own projects, and one to three indicators per project. Every
unit (the office, each school) draws from its own seeded random generator, so the output is the same
for a seed, and school 7 is the same school whether 10 or 30,000 are generated.

Rows are produced as a stream of (sheet, row) events; the .xlsx writer appends them to write-only
sheets as they come, so memory stays flat for 30,000 schools.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from messages.thai_dates import MONTHS_SHORT
from messages.thai_numbers import to_thai_digits
from scheduler.fiscal import fiscal_year_bounds
from tidtam.workbook import demo_vocab as vocab
from tidtam.workbook.columns import SHEET_ORDER
from tidtam.workbook.reader import MemorySource
from tidtam.workbook.template import headers
from tidtam.workbook.text_cells import append_row

Row = tuple[object, ...]
AREA_CODE = "AO01"


@dataclass
class DemoCounts:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHEET_ORDER, 0))

    @property
    def projects(self) -> int:
        return self.rows["projects"]


class _Unit:
    """One office or school being generated: its random generator and a person-code counter."""

    def __init__(self, seed: int, key: str) -> None:
        self.rng = random.Random(f"{seed}:{key}")
        self.key = key
        self.people = 0

    def person_code(self) -> str:
        self.people += 1
        return f"P-{self.key}-{self.people:02d}"

    def full_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            first, title = rng.choice(vocab.MALE_NAMES), "นาย"
        else:
            first, title = rng.choice(vocab.FEMALE_NAMES), rng.choice(("นาง", "นางสาว"))
        return f"{title}{first} {rng.choice(vocab.SURNAMES)}"


_PLANNING_ROLES = {0: "admin,planner,reporter", 1: "monitoring_head,planner,reporter"}


def generate(schools: int, seed: int = 1, fiscal_year: int = 2570) -> Iterator[tuple[str, Row]]:
    """Every row of the demo workbook as (sheet, row), parents before children."""
    for code, level, title, parent in vocab.STRATEGIES:
        yield "strategies", (code, level, title, parent)
    yield from _area_office(seed, fiscal_year)
    names: set[str] = set()
    for number in range(1, schools + 1):
        yield from _school(seed, number, fiscal_year, names)


def _area_office(seed: int, fy: int) -> Iterator[tuple[str, Row]]:
    unit = _Unit(seed, AREA_CODE)
    first, second = unit.rng.choice(vocab.AREA_PLACES)
    yield "offices", (AREA_CODE, f"{vocab.AREA_OFFICE_PREFIX}{first} {second}", "area_office", None)
    director = unit.person_code()
    yield "people", (director, unit.full_name(), vocab.POSITION_AREA_DIRECTOR, AREA_CODE, "approver,observer")
    for _ in range(2):
        yield (
            "people",
            (unit.person_code(), unit.full_name(), vocab.POSITION_AREA_DEPUTY, AREA_CODE, "approver"),
        )
    for suffix, group_name in vocab.GROUPS:
        code = f"{AREA_CODE}-{suffix}"
        group = _Unit(seed, code)
        yield "offices", (code, group_name, "group", AREA_CODE)
        head = group.person_code()
        yield (
            "people",
            (head, group.full_name(), f"{vocab.POSITION_GROUP_DIRECTOR}{group_name}", code, "approver"),
        )
        staff = []
        for index in range(group.rng.randint(2, 4)):
            person = group.person_code()
            staff.append(person)
            if suffix == "PLAN":
                # the second is the head of monitoring, pushed the planning group's messages
                roles = _PLANNING_ROLES.get(index, "planner,reporter")
                position = vocab.POSITION_PLANNER
            else:
                roles, position = "reporter", group.rng.choice(vocab.POSITION_OFFICE_STAFF)
            yield "people", (person, group.full_name(), position, code, roles)
        for k in range(1, group.rng.randint(3, 5) + 1):
            topic = group.rng.choice(vocab.OFFICE_PROJECT_TOPICS)
            yield from _project(group, f"{fy}-{code}-{k:02d}", fy, f"โครงการ{topic}", code, staff, head)


def _school_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(50):
        name = vocab.SCHOOL_PREFIX + rng.choice(vocab.SCHOOL_PLACES) + rng.choice(vocab.SCHOOL_MIDDLES)
        name += rng.choice(vocab.SCHOOL_SUFFIXES)
        if name not in taken:
            taken.add(name)
            return name
    return name  # a rare repeat: real schools in different districts share names too


def _school(seed: int, number: int, fy: int, taken: set[str]) -> Iterator[tuple[str, Row]]:
    code = f"S{number:05d}"
    unit = _Unit(seed, code)
    rng = unit.rng
    yield "offices", (code, _school_name(rng, taken), "school", AREA_CODE)
    director = unit.person_code()
    yield "people", (director, unit.full_name(), vocab.POSITION_SCHOOL_DIRECTOR, code, "approver")
    teachers = [unit.person_code() for _ in range(rng.randint(3, 5))]
    for teacher in teachers:
        yield "people", (teacher, unit.full_name(), rng.choice(vocab.POSITION_TEACHERS), code, "reporter")
    for k in range(1, rng.randint(8, 12) + 1):
        name = f"โครงการ{rng.choice(vocab.PROJECT_VERBS)}{rng.choice(vocab.PROJECT_TOPICS)}"
        yield from _project(unit, f"{fy}-{code}-{k:02d}", fy, name, code, teachers, director)


def _project(
    unit: _Unit, code: str, fy: int, name: str, office: str, staff: list[str], approver: str
) -> Iterator[tuple[str, Row]]:
    rng = unit.rng
    owners = ";".join(rng.sample(staff, k=min(len(staff), rng.choice((1, 1, 2)))))
    links = rng.sample(vocab.AREA_STRATEGIES, k=rng.choice((1, 1, 2)))
    if rng.random() < 0.3:
        links.append(rng.choice(vocab.OBEC_POLICIES))
    first, last = fiscal_year_bounds(fy)
    start = first + timedelta(days=rng.randint(0, 180))
    end = min(last, start + timedelta(days=rng.randint(60, 300)))
    emenscr = f"SE{fy}-{rng.randint(100000, 999999)}" if rng.random() < 0.4 else None
    yield (
        "projects",
        (
            code,
            fy,
            name,
            office,
            owners,
            approver,
            _budget(rng),
            ";".join(links),
            _date_cell(rng, start),
            _date_cell(rng, end),
            emenscr,
        ),
    )
    for k in range(1, rng.randint(1, 3) + 1):
        label, unit_name, kind, low, high, places = rng.choice(vocab.INDICATORS)
        target: object = round(rng.uniform(low, high), places) if places else rng.randint(low, high)
        yield "indicators", (code, f"K{k}", label, unit_name, target, kind)


def _budget(rng: random.Random) -> object:
    """Mostly whole thousands of baht as numbers; some with satang; a few typed as Thai text."""
    baht = rng.randint(5, 300) * 1000
    roll = rng.random()
    if roll < 0.2:
        return round(baht + rng.randint(1, 99_999) / 100, 2)
    if roll < 0.25:
        return f"{baht:,} บาท"
    if roll < 0.27:
        return to_thai_digits(f"{baht:,}") + " บาท"
    return baht


def _date_cell(rng: random.Random, day: date) -> object:
    """A real date most of the time, otherwise one of the ways Thai users type dates."""
    roll = rng.random()
    be = day.year + 543
    if roll < 0.85:
        return day
    if roll < 0.9:
        return f"{day.day}/{day.month}/{be % 100:02d}"
    if roll < 0.95:
        return f"{day.day:02d}/{day.month:02d}/{be}"
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {be}"


def write_demo_xlsx(path: Path, schools: int, seed: int = 1, fiscal_year: int = 2570) -> DemoCounts:
    """Stream the demo rows into an .xlsx file (openpyxl write-only mode)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheets = {}
    for sheet in SHEET_ORDER:
        sheets[sheet] = book.create_sheet(sheet)
        append_row(sheets[sheet], headers(sheet))
    counts = DemoCounts()
    for sheet, row in generate(schools, seed, fiscal_year):
        append_row(sheets[sheet], row)
        counts.rows[sheet] += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return counts


def demo_source(schools: int, seed: int = 1, fiscal_year: int = 2570) -> tuple[MemorySource, DemoCounts]:
    """The demo rows in memory, for importing without a file."""
    sheets: dict[str, list[Row]] = {sheet: [tuple(headers(sheet))] for sheet in SHEET_ORDER}
    counts = DemoCounts()
    for sheet, row in generate(schools, seed, fiscal_year):
        sheets[sheet].append(row)
        counts.rows[sheet] += 1
    return MemorySource(sheets), counts
