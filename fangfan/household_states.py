"""The life cycle of a household, enforced here and nowhere else.

A procedure moves a household only along these edges; anything else is refused
with the reason, in Chinese for the official. Where a procedure may end without
the change it was started for (not identified, not eligible for the green
channel), the household returns to the state it had before, which is kept in
``status_before``.
"""

from __future__ import annotations

from sqlalchemy import func, inspect, select

from engine.errors import CommandError
from engine.models import DepartmentAlert

#: State code → Chinese, in the order of the life cycle.
STATES = {
    "ordinary": "一般农户",
    "clue": "风险线索待核实",
    "in_identification": "识别认定中",
    "in_green_channel": "绿色通道",
    "monitored": "监测对象",
    "eliminated": "已消除风险",
    "removed": "已清退",
}

#: Allowed moves: (from, to) → what makes it, citing the guide.
MOVES = {
    ("ordinary", "clue"): "a risk clue recorded for screening (Q34, Q42)",
    ("clue", "ordinary"): "the clue screened: no risk",
    ("ordinary", "in_identification"): "identification started (Q33)",
    ("clue", "in_identification"): "identification started from a clue (Q33)",
    ("eliminated", "in_identification"): "a new risk after elimination (Q31)",
    ("in_identification", "monitored"): "county approval (Q33, Q36)",
    ("in_identification", "ordinary"): "not identified",
    ("in_identification", "clue"): "not identified, an alert still waits (Q8)",
    ("in_identification", "eliminated"): "not identified again (Q31)",
    ("ordinary", "in_green_channel"): "entered into the green channel (Q24)",
    ("clue", "in_green_channel"): "entered into the green channel (Q24)",
    ("eliminated", "in_green_channel"): "entered into the green channel (Q24, Q31)",
    ("in_green_channel", "monitored"): "verified eligible within a month (Q24, Q36)",
    ("in_green_channel", "ordinary"): "not eligible: leaves the channel (Q24)",
    ("in_green_channel", "clue"): "not eligible, an alert still waits (Q8)",
    ("in_green_channel", "eliminated"): "not eligible: leaves the channel (Q24)",
    ("monitored", "eliminated"): "risk eliminated (Q25, Q37)",
    ("monitored", "removed"): "removal after national consent (Q40)",
    ("eliminated", "removed"): "removal after national consent (Q40)",
    ("eliminated", "monitored"): "rollback of an elimination (Q40)",
    ("monitored", "ordinary"): "rollback of an identification (Q40)",
}

#: States a procedure that may fail returns from, to ``status_before``.
PASSING_STATES = frozenset({"in_identification", "in_green_channel"})


class ForbiddenMove(CommandError):
    pass


def label(state: str) -> str:
    return STATES.get(state, state)


def refuse(household, wanted: str, reason_zh: str | None = None) -> ForbiddenMove:
    """The error for a procedure the household's state does not allow."""
    return ForbiddenMove(
        f"household {household.id} is {household.status}; cannot {wanted}",
        reason_zh or f"该农户当前为“{label(household.status)}”，不能{wanted}",
    )


def move(household, to: str) -> None:
    if (household.status, to) not in MOVES:
        raise ForbiddenMove(
            f"household {household.id} cannot go from {household.status} to {to}",
            f"该农户当前为“{label(household.status)}”，不能转为“{label(to)}”",
        )

    if to in PASSING_STATES:
        # A procedure started from a clue settles it: ended without the
        # change, the household goes back to ordinary, not to the clue.
        before = household.status
        household.status_before = "ordinary" if before == "clue" else before
    household.status = to


def move_back(household) -> None:
    """End a passing state without its change: back to where the household was.

    A household that came from a clue goes back to ordinary, unless a
    department alert about it still waits to be screened: then it is a clue
    again (the case was started another way, and the alert still asks).
    """
    if household.status not in PASSING_STATES:
        return
    before = household.status_before or "ordinary"
    if before == "ordinary" and _alert_waits(household):
        before = "clue"
    move(household, before)


def _alert_waits(household) -> bool:
    """Whether a department alert about the household waits (风险线索待核实)."""
    state = inspect(household, raiseerr=False)
    session = state.session if state is not None else None
    if session is None:
        return False
    return bool(
        session.scalar(
            select(func.count())
            .select_from(DepartmentAlert)
            .where(
                DepartmentAlert.household_id == household.id,
                DepartmentAlert.status == "pending",
            )
        )
    )
