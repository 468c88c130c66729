"""The life cycle of a household, enforced here and nowhere else.

A procedure moves a household only along these edges; anything else is refused
with the reason, in Chinese for the official.
"""

from __future__ import annotations

from engine.errors import CommandError

#: State code → Chinese, in the order of the life cycle.
STATES = {
    "ordinary": "一般农户",
    "in_identification": "识别认定中",
    "monitored": "监测对象",
}

#: Allowed moves: (from, to) → the event that makes it.
MOVES = {
    ("ordinary", "in_identification"): "risk clue recorded",
    ("in_identification", "monitored"): "county approval (guide Q33, Q36)",
    ("in_identification", "ordinary"): "not identified",
}


class ForbiddenMove(CommandError):
    pass


def move(household, to: str) -> None:
    if (household.status, to) not in MOVES:
        raise ForbiddenMove(
            f"household {household.id} cannot go from {household.status} to {to}",
            f"该农户当前为“{STATES.get(household.status, household.status)}”，"
            f"不能转为“{STATES.get(to, to)}”",
        )
    household.status = to
