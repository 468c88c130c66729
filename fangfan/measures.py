"""A household's assistance measures and what happens to them (guide Q18–Q24).

Measures are kept on the household as a list of dicts, each with its type (see
``rules.MEASURE_TYPES``), responsible department, start and end dates and a
status. The procedures change them only through these functions.
"""

from __future__ import annotations

from datetime import date

from .rules import MEASURE_TYPES, SAFETY_NET_MEASURES

#: Status code → Chinese.
STATUSES = {
    "active": "实施中",
    "stopped": "已中止",
    "ended": "已结束",
    "continuing": "风险消除后延续至期满",
}


def add(
    household, measures: list[dict], since: date, case_id: int | None = None
) -> None:
    """Record declared measures as running (the list is replaced, never mutated)."""
    added = []
    for measure in measures:
        kind = measure.get("type", "other")
        added.append(
            {
                "type": kind,
                "title": MEASURE_TYPES.get(kind, (kind,))[0],
                "department": measure.get("department", ""),
                "start": measure.get("start") or since.isoformat(),
                "end": measure.get("end"),
                "note": measure.get("note", ""),
                "status": "active",
                "status_label": STATUSES["active"],
                "case": case_id,
            }
        )
    household.measures = list(household.measures or []) + added


def _set(household, choose, status: str) -> None:
    changed = []
    for measure in household.measures or []:
        measure = dict(measure)
        if measure.get("status") == "active" and choose(measure):
            measure["status"] = status
            measure["status_label"] = STATUSES[status]
        changed.append(measure)
    household.measures = changed


def stop_all(household) -> None:
    """Green channel left as not eligible: its measures stop (guide Q24)."""
    _set(household, lambda m: True, "stopped")


def on_elimination(household, today: date) -> None:
    """Guide Q19: measures with a term run on to its end; the others end now.

    The safety net (minimum allowance, extreme-hardship support) is granted and
    ended by civil affairs under its own rules (Q6), not by elimination.
    """

    def runs_on(measure) -> bool:
        if measure.get("type") in SAFETY_NET_MEASURES:
            return True  # minimum allowance and support follow civil affairs' rules
        kind = MEASURE_TYPES.get(measure.get("type"), ("", False, False))
        return (
            kind[2] and bool(measure.get("end")) and measure["end"] > today.isoformat()
        )

    _set(household, runs_on, "continuing")
    _set(household, lambda m: True, "ended")
