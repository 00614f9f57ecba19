"""Checks between rows and sheets: every code referred to exists (in the workbook or the database),
parent chains have no cycles, strategy levels go downwards, and approvers hold the approver role.

Decision on approvers: a project's approver without the ``approver`` role is an error, not a warning.
Approval cards would go to someone the chat side will not let decide, and the fix (add the role in
the people sheet) is one cell; catching it at import is cheaper than a report stuck in M7.
A project whose dates lie wholly outside its fiscal year is only a warning (multi-year work exists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from messages import workbook as text
from messages.thai_dates import format_date
from scheduler.fiscal import fiscal_year_bounds
from tidtam.workbook.existing import Existing
from tidtam.workbook.records import Parsed, Problem

_LEVEL_RANK = {"national": 0, "master_plan": 1, "obec": 2, "area": 3}


def check_references(parsed: Parsed, existing: Existing) -> None:
    """Append every cross-row problem to ``parsed.problems``."""
    problems = parsed.problems
    office_known = _known(parsed.offices, existing.offices)
    person_known = _known(parsed.people, existing.people)
    strategy_known = _known(parsed.strategies, existing.strategies)
    project_known = _known(parsed.projects, existing.projects)

    for office in parsed.offices.values():
        _check_parent(
            "offices",
            office.row,
            office.code,
            office.parent_code,
            office_known,
            text.unknown_office,
            problems,
        )
    _check_cycles(
        "offices",
        {c: (r.row, r.parent_code) for c, r in parsed.offices.items()},
        {c: s[2] for c, (_, s) in existing.offices.items()},
        problems,
    )

    for person in parsed.people.values():
        if person.office_code is not None and not office_known(person.office_code):
            problems.append(
                Problem(
                    "people",
                    person.row,
                    "office_code",
                    person.office_code,
                    text.unknown_office(person.office_code),
                )
            )

    for strategy in parsed.strategies.values():
        _check_parent(
            "strategies",
            strategy.row,
            strategy.code,
            strategy.parent_code,
            strategy_known,
            text.unknown_strategy,
            problems,
        )
        _check_level(parsed, existing, strategy.row, strategy.level, strategy.parent_code, problems)
    _check_cycles(
        "strategies",
        {c: (r.row, r.parent_code) for c, r in parsed.strategies.items()},
        {c: s[2] for c, (_, s) in existing.strategies.items()},
        problems,
    )

    for project in parsed.projects.values():
        row = project.row
        if project.office_code is not None and not office_known(project.office_code):
            problems.append(
                Problem(
                    "projects",
                    row,
                    "office_code",
                    project.office_code,
                    text.unknown_office(project.office_code),
                )
            )
        for code in project.owner_codes or ():
            if not person_known(code):
                problems.append(Problem("projects", row, "owner_codes", code, text.unknown_person(code)))
        for code in project.strategy_codes or ():
            if not strategy_known(code):
                problems.append(Problem("projects", row, "strategy_codes", code, text.unknown_strategy(code)))
        _check_approver(parsed, existing, row, project.approver_code, person_known, problems)
        _check_dates_in_year(row, project.fiscal_year, project.starts_on, project.ends_on, problems)

    for indicator in parsed.indicators.values():
        if not project_known(indicator.project_code):
            problems.append(
                Problem(
                    "indicators",
                    indicator.row,
                    "project_code",
                    indicator.project_code,
                    text.unknown_project(indicator.project_code),
                )
            )


def _known(in_file: Mapping[str, object], in_db: Mapping[str, object]) -> Callable[[str], bool]:
    return lambda code: code in in_file or code in in_db


def _check_parent(
    sheet: str,
    row: int,
    code: str,
    parent: str | None,
    known: Callable[[str], bool],
    unknown: Callable[[str], str],
    problems: list[Problem],
) -> None:
    if parent is None:
        return
    if parent == code:
        problems.append(Problem(sheet, row, "parent_code", parent, text.own_parent()))
    elif not known(parent):
        problems.append(Problem(sheet, row, "parent_code", parent, unknown(parent)))


def _check_cycles(
    sheet: str, in_file: dict[str, tuple[int, str | None]], in_db: dict[str, object], problems: list[Problem]
) -> None:
    """One problem per cycle, at the cycle's first row in the file; the file's parents win over the db's."""

    def parent_of(code: str) -> str | None:
        if code in in_file:
            return in_file[code][1]
        return in_db.get(code)  # type: ignore[return-value]

    settled: set[str] = set()
    for start in in_file:
        path: list[str] = []
        on_path: set[str] = set()
        code: str | None = start
        while code is not None and code not in settled and code not in on_path:
            path.append(code)
            on_path.add(code)
            code = parent_of(code)
            if code == path[-1]:  # own parent: reported by _check_parent
                code = None
        if code is not None and code in on_path:
            cycle = path[path.index(code) :]
            rows = [in_file[c][0] for c in cycle if c in in_file]
            first = min(rows)
            at = next(c for c in cycle if in_file.get(c, (0,))[0] == first)
            loop = cycle[cycle.index(at) :] + cycle[: cycle.index(at)] + [at]
            problems.append(Problem(sheet, first, "parent_code", in_file[at][1], text.parent_cycle(loop)))
        settled.update(path)


def _check_level(
    parsed: Parsed,
    existing: Existing,
    row: int,
    level: str | None,
    parent: str | None,
    problems: list[Problem],
) -> None:
    if level is None or parent is None:
        return
    if parent in parsed.strategies:
        parent_level = parsed.strategies[parent].level
    elif parent in existing.strategies:
        parent_level = str(existing.strategies[parent][1][0])
    else:
        return
    if parent_level is not None and _LEVEL_RANK[parent_level] > _LEVEL_RANK[level]:
        problems.append(
            Problem(
                "strategies", row, "parent_code", parent, text.parent_level_lower(parent, parent_level, level)
            )
        )


def _check_approver(
    parsed: Parsed,
    existing: Existing,
    row: int,
    code: str | None,
    known: Callable[[str], bool],
    problems: list[Problem],
) -> None:
    if code is None:
        return
    if not known(code):
        problems.append(Problem("projects", row, "approver_code", code, text.unknown_person(code)))
        return
    person = parsed.people.get(code)
    roles = person.roles if person is not None else existing.person_roles(code)
    if roles is not None and "approver" not in roles.split(","):
        problems.append(Problem("projects", row, "approver_code", code, text.approver_lacks_role(code)))


def _check_dates_in_year(
    row: int, fiscal_year: int | None, starts: date | None, ends: date | None, problems: list[Problem]
) -> None:
    if fiscal_year is None or starts is None or ends is None:
        return
    first, last = fiscal_year_bounds(fiscal_year)
    if ends < first or starts > last:
        problems.append(
            Problem(
                "projects",
                row,
                "start_date",
                format_date(starts),
                text.dates_outside_fiscal_year(fiscal_year),
                is_error=False,
            )
        )
