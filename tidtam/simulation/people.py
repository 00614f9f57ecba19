"""How the simulated people behave: stated here, drawn from one seeded generator.

Per project and quarter, the report's owner is one of:

* ``early`` (15 %): submits 6–12 working days before the due date, unprompted;
* ``reminded`` (60 %): submits 0–2 working days after the first message that names the project
  (a push, or a line riding on a reply); someone not told by 2 working days after the due date is
  chased by phone and submits 1–4 working days later;
* ``late`` (17 %): submits 1–6 working days after the due date;
* ``never`` (8 %): never submits.

A director decides 1–4 working days after the first message that names the submitted report
(the card, a list, a reminder); 12 % of first versions are returned with a reason, and the owner
submits again 1–3 working days after being told. On any working day a linked person writes to the bot
("สถานะ") with a small probability (reporters 3 %, directors 6 %, planners 10 %), and always when they
submit: each of those gets a free reply, on which what is due for them may ride.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

__all__ = ["BEHAVIOURS", "Behaviour", "Case", "chat_probability", "draw_behaviour"]

BEHAVIOURS: tuple[tuple[str, float], ...] = (
    ("early", 0.15),
    ("reminded", 0.60),
    ("late", 0.17),
    ("never", 0.08),
)
RETURN_SHARE = 0.12
CHASED_AFTER_WORKING_DAYS = 2


@dataclass(frozen=True)
class Behaviour:
    kind: str
    early_days: int  # early: working days before the due date
    after_told: int  # reminded: working days after being told
    chased_after: int  # reminded but never told: working days after the chase
    late_days: int  # late: working days after the due date
    decide_after: int  # the director: working days after being told
    returns: bool  # the director returns the first version
    resubmit_after: int  # working days after being told of the return
    hour: int  # the hour of the day this person tends to act


def draw_behaviour(rng: random.Random) -> Behaviour:
    roll, kind = rng.random(), BEHAVIOURS[-1][0]
    for name, share in BEHAVIOURS:
        if roll < share:
            kind = name
            break
        roll -= share
    return Behaviour(
        kind=kind,
        early_days=rng.randint(6, 12),
        after_told=rng.randint(0, 2),
        chased_after=rng.randint(1, 4),
        late_days=rng.randint(1, 6),
        decide_after=rng.randint(1, 4),
        returns=rng.random() < RETURN_SHARE,
        resubmit_after=rng.randint(1, 3),
        hour=rng.choice((9, 10, 11, 13, 14, 15)),
    )


def chat_probability(roles: frozenset[str]) -> float:
    if "planner" in roles:
        return 0.10
    if "approver" in roles:
        return 0.06
    return 0.03


@dataclass
class Case:
    """One project's report for one quarter, and where it stands in the simulation."""

    project_id: int
    code: str
    owner_id: int
    period_id: int
    quarter: int
    due: date
    behaviour: Behaviour
    submit_on: date | None = None  # when the owner will submit (next version)
    told_on: date | None = None  # the owner first read about it while it was not submitted
    submitted: list[date] = field(default_factory=list)  # each version's submission day
    director_told_on: date | None = None  # the director first read about the version waiting
    decide_on: date | None = None
    returned: bool = False
    approved: bool = False

    @property
    def waiting(self) -> bool:
        """Submitted and waiting for the director."""
        return bool(self.submitted) and self.decide_on is not None and not self.approved

    @property
    def versions(self) -> int:
        return len(self.submitted)
