"""The demo-data generator: deterministic per seed, stable per school, realistic and importable."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner

from models import Person, Project
from tidtam.cli import app
from tidtam.workbook.cells import as_date, as_satang
from tidtam.workbook.demo import demo_source, generate, write_demo_xlsx
from tidtam.workbook.template import headers

THAI = re.compile(r"[\u0e00-\u0e7f]")


def rows_by_sheet(schools: int, seed: int = 1) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for sheet, row in generate(schools, seed):
        found[sheet].append(row)
    return found


def test_same_seed_same_data_and_schools_are_stable() -> None:
    assert list(generate(5, seed=3)) == list(generate(5, seed=3))
    assert list(generate(5, seed=3)) != list(generate(5, seed=4))
    small, large = rows_by_sheet(5, seed=3), rows_by_sheet(12, seed=3)
    school_3 = [r for r in small["projects"] if r[3] == "S00003"]
    assert school_3 and school_3 == [r for r in large["projects"] if r[3] == "S00003"]


def test_the_office_looks_real() -> None:
    rows = rows_by_sheet(20)
    offices = Counter(r[2] for r in rows["offices"])
    assert offices == {"area_office": 1, "group": 10, "school": 20}
    assert any(r[1] == "กลุ่มนโยบายและแผน" for r in rows["offices"])
    assert all(r[1].startswith("โรงเรียน") for r in rows["offices"] if r[2] == "school")
    assert len({r[1] for r in rows["offices"] if r[2] == "school"}) == 20  # no repeated school names

    people = {r[0]: r for r in rows["people"]}
    roles = Counter(role for r in people.values() for role in r[4].split(","))
    assert (
        roles["admin"] == 1 and roles["planner"] >= 2 and roles["approver"] >= 20 and roles["reporter"] > 60
    )
    assert all(THAI.search(r[1]) for r in people.values())

    projects = rows["projects"]
    assert 8 * 20 <= len(projects) <= 12 * 20 + 60
    for _code, _fy, name, office, owners, approver, budget, links, start, end, _e in projects:
        assert name.startswith("โครงการ")
        assert all(people[o][3] == office for o in owners.split(";"))
        assert "approver" in people[approver][4]
        assert 0 < as_satang(budget) <= 30_000_000 and links
        assert as_date(start) <= as_date(end)
    per_project = Counter(r[0] for r in rows["indicators"])
    assert set(per_project.values()) <= {1, 2, 3} and len(per_project) == len(projects)
    assert any(as_satang(p[6]) % 100 for p in projects)  # some budgets carry satang
    assert any(isinstance(p[6], str) for p in projects)  # some are typed as Thai text


def test_xlsx_has_thai_headers_and_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "demo.xlsx"
    counts = write_demo_xlsx(path, schools=3, seed=2)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["offices", "people", "strategies", "projects", "indicators"]
    rows = list(book["projects"].iter_rows(values_only=True))
    assert list(rows[0]) == headers("projects")
    assert len(rows) - 1 == counts.projects == len(rows_by_sheet(3, seed=2)["projects"])


def test_demo_source_imports_cleanly(engine: sa.Engine) -> None:
    from datetime import UTC, datetime

    from scheduler.clock import FixedClock
    from tidtam.workbook import import_source

    source, counts = demo_source(4, seed=5)
    result = import_source(source, engine, FixedClock(datetime(2026, 10, 1, tzinfo=UTC)))
    assert result.ok and result.written, [str(p) for p in result.errors]
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(Project.__table__)).scalar_one()
            == counts.projects
        )


def test_cli_demo_data_out_and_import(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"TIDTAM_DATABASE_URL": db_url}
    out = tmp_path / "demo.xlsx"
    written = runner.invoke(app, ["demo-data", "--schools", "2", "--out", str(out), "--seed", "9"], env=env)
    assert written.exit_code == 0, written.output
    assert out.exists() and "โรงเรียน 2 แห่ง" in written.output

    imported = runner.invoke(app, ["demo-data", "--schools", "2", "--import", "--seed", "9"], env=env)
    assert imported.exit_code == 0, imported.output
    from models.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        people = conn.execute(sa.select(sa.func.count()).select_from(Person.__table__)).scalar_one()
    engine.dispose()
    assert people == len(rows_by_sheet(2, seed=9)["people"])

    neither = runner.invoke(app, ["demo-data", "--schools", "2"], env=env)
    assert neither.exit_code == 2
