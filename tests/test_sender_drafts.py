"""A `รายงานผล` reads the sender's projects and drafts with the sender (`sender_of(..., with_drafts=True)`,
alone or prefetched for a batch's senders): the same projects, in the same order, and the same drafts
`person_projects_and_drafts` reads, the sender's other facts unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from approval_office import add_projects, link, make_office, submit
from sqlmodel import Session

from models.linking import _PREFETCHED, prefetch_senders, sender_of
from models.reporting import person_projects_and_drafts, save_draft
from scheduler.fiscal import fiscal_year_of

T, D, T2 = ("U" + c * 32 for c in "abc")


def _linked_office(engine, today):  # type: ignore[no-untyped-def]
    office = make_office(engine, today=today)
    extra = add_projects(engine, office, 2)
    for person, user in ((office.teacher, T), (office.director, D), (office.teacher2, T2)):
        link(engine, person, user)
    now = datetime.now(UTC)
    projects = [*office.projects, *extra]
    with Session(engine) as s:  # one project submitted, one with a draft waiting, the others untouched
        submit(s, office.teacher.id, projects[0].id, office.period_id, now, progress="40")
        answers = {"project": str(projects[2].id), "period": str(office.period_id), "progress": "10"}
        save_draft(s, office.teacher.id, answers, now)
        s.commit()
    return office, projects


def test_the_drafts_read_with_the_sender_are_those_person_projects_and_drafts_reads(
    engine, office_clock
) -> None:
    office, owned = _linked_office(engine, office_clock.today)
    days = [office_clock.today + timedelta(days=n) for n in (0, 200, 400)]  # the last: another year
    people = ((T, office.teacher), (D, office.director), (T2, office.teacher2))
    compared = 0
    with Session(engine) as s:
        for day in days:
            fy = fiscal_year_of(day)
            expected = {user: person_projects_and_drafts(s, person.id, fy) for user, person in people}
            alone = {user: sender_of(s, user, day, fy) for user, _ in people}
            for user, _person in people:
                read, conversation = sender_of(s, user, day, fy, with_drafts=True)
                assert read is not None and read.report_projects is not None
                projects, drafts = expected[user]
                assert read.report_projects == (tuple(projects), frozenset(drafts))
                assert replace(read, report_projects=None) == alone[user][0]  # nothing else changes
                assert conversation is alone[user][1]
                compared += len(projects)
            prefetch_senders(s, [u for u, _ in people], day, fy, with_projects=False, with_drafts=True)
            assert set(s.info[_PREFETCHED]) >= {(u, day, fy, "drafts") for u, _ in people}
            for user, _person in people:
                batched, _ = sender_of(s, user, day, fy, with_drafts=True)
                assert batched is not None
                assert batched.report_projects == (tuple(expected[user][0]), frozenset(expected[user][1]))
        teacher, _ = sender_of(s, T, days[0], fiscal_year_of(days[0]), with_drafts=True)
    assert compared >= 4
    assert teacher is not None and teacher.report_projects is not None
    refs, drafts = teacher.report_projects
    assert [r.code for r in refs] == sorted(p.code for p in owned) and len(refs) == 4
    assert drafts == {owned[2].id}  # the submitted report has no draft, the others no report
