"""Campaign benchmark: start a questionnaire campaign to every teacher of a generated office of N
schools (4 teachers each), queue its invitations, then (after half have answered, written in bulk)
compute its results. Prints the time of each step, the outbox rows and recipients queued, and the peak
RSS.

    .venv/bin/python bench/campaign_bench.py                    # 5,000 schools: 20,000 teachers, SQLite
    .venv/bin/python bench/campaign_bench.py --schools 30000 --postgres
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TZ = ZoneInfo("Asia/Bangkok")
OPENS = date(2027, 9, 6)
FORM = """\
title: แบบประเมินความพึงพอใจ
questions:
  - {key: clarity, kind: rating, text: ความชัดเจนของแผน}
  - {key: channel, kind: choice, text: ช่องทาง, choices: [หนังสือราชการ, LINE, เว็บไซต์]}
  - {key: hours, kind: number, text: ชั่วโมงต่อเดือน}
  - {key: comment, kind: text, text: ข้อเสนอแนะ, required: false}
"""


def run(url: str, schools: int) -> None:
    import sqlalchemy as sa
    from scheduler_office import generate_office
    from sqlmodel import Session

    from evaluation.loader import parse_yaml
    from models.campaigns import campaign_results, start_campaign
    from models.db import make_engine
    from models.evaluation import CampaignAnswer, CampaignRecipient
    from scheduler.campaigns import run_campaigns
    from scheduler.rules import load_rules
    from scheduler.tick import TickSetup
    from scheduler.workdays import WorkCalendar
    from tidtam import migrate

    migrate.upgrade(url)
    engine = make_engine(url)
    began = time.perf_counter()
    generate_office(engine, schools=schools, teachers_per_school=4, projects_per_school=1)
    print(f"  generate {schools:,} schools: {time.perf_counter() - began:.1f} s")
    now = datetime(2027, 9, 6, 3, 0, tzinfo=UTC)
    began = time.perf_counter()
    with Session(engine, expire_on_commit=False) as s:
        campaign, people = start_campaign(
            s,
            questionnaire=parse_yaml(FORM),
            target="reporter",
            office_code=None,
            opens_on=OPENS,
            closes_on=date(2027, 10, 31),
            remind_on=None,
            today=OPENS,
            now=now,
        )
        s.commit()
        campaign_id = campaign.id
    print(f"  start campaign to {len(people):,} people: {time.perf_counter() - began:.1f} s")
    setup = TickSetup(rules=load_rules(), calendar=WorkCalendar(), tz=TZ, monthly_quota=0)
    began = time.perf_counter()
    result = run_campaigns(engine, now, setup)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select count(*) from outbox_message")).scalar_one()
    print(
        f"  queue invitations: {time.perf_counter() - began:.1f} s, {result.invited:,} recipients in {rows} rows"
    )
    answered = [p.id for p in people[::2]]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(CampaignAnswer.__table__),  # type: ignore[attr-defined]
            [
                {
                    "campaign_id": campaign_id,
                    "person_id": pid,
                    "respondent_key": f"p{pid}",
                    "answers": {
                        "clarity": 1 + pid % 5,
                        "channel": "LINE",
                        "hours": str(pid % 40),
                        "comment": "ดี",
                    },
                    "revision": 1,
                    "submitted_at": now,
                    "updated_at": now,
                }
                for pid in answered
            ],
        )
        table = CampaignRecipient.__table__  # type: ignore[attr-defined]
        conn.execute(
            sa.update(table)
            .where(table.c.person_id.in_(sa.select(CampaignAnswer.person_id)))
            .values(answered_at=now)
        )
    began = time.perf_counter()
    with Session(engine) as s:
        results = campaign_results(s, campaign_id or 0)
    assert results is not None
    print(
        f"  results: {time.perf_counter() - began:.1f} s, {results.answered:,}/{results.recipients:,} answered"
        f" ({results.rate} %), {len(results.by_office):,} offices"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=5000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite")
        run(f"sqlite:///{folder}/bench.sqlite3", args.schools)
    if args.postgres:
        from scratch_db import scratch_postgres

        with scratch_postgres(PG_ADMIN_URL) as url:
            print("PostgreSQL")
            run(url, args.schools)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
