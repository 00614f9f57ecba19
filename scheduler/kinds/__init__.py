"""The registry of rule kinds: each kind is one file in this package (what it selects on a day, which
items it puts into messages and for whom). Adding a kind is adding its file and its line below; the
planner (``scheduler/planner.py``) runs every kind in this order and folds what they added into one
message per recipient, and the budget reads which items are personal from here.
"""

from __future__ import annotations

from messages.reminders import ItemKind
from scheduler.kinds import approvals, digest, drafts, reports, steps, stuck
from scheduler.kinds.base import Day, RuleKind

__all__ = ["KINDS", "PERSONAL_KINDS", "PLANNING_KINDS", "Day", "RuleKind"]

KINDS: tuple[RuleKind, ...] = (reports.KIND, approvals.KIND, drafts.KIND, steps.KIND, digest.KIND, stuck.KIND)

# Items about a person's own work: in digest-only mode (message budget) they are summarised to the
# planning group instead, and the budget may leave them out of a day's pushes.
PERSONAL_KINDS: frozenset[ItemKind] = frozenset(k for kind in KINDS for k in kind.personal)
PLANNING_KINDS: frozenset[ItemKind] = frozenset(k for kind in KINDS for k in kind.planning)


def _disjoint(kinds: tuple[RuleKind, ...]) -> None:
    """No two kinds declare the same item kind: each fills buckets of its own, which the planner
    relies on when kinds are selected apart (``scheduler.planner._select_forked``)."""
    seen: set[ItemKind] = set()
    for kind in kinds:
        mine = kind.personal | kind.planning
        if mine & seen:
            raise ValueError(f"rule kind {kind.name} declares item kinds another kind declares")
        seen |= mine


_disjoint(KINDS)
