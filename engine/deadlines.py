"""Statutory deadlines in a model: which timers they are, and when to warn.

A deadline is a non-interrupting boundary timer on a step (``cancelActivity=
"false"``): when it fires the step stays open and is late. An interrupting
boundary timer (the 5-day public notice) is a period that ends a step, not a
deadline, and is neither warned about nor escalated.

Two properties on the timer, so that process owners set them in the model:

``warn_before``
    ISO 8601 duration, default ``P1D``. From the deadline less this lead time
    the step's assignee sees it as due soon (即将到期).
``escalate_every``
    ISO 8601 duration, default ``P3D``. When the deadline passes, the role one
    level above the step's gets a supervision task (督办); while the step stays
    undone, it climbs one more level each period (see ``engine.escalation``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

DEFAULT_WARN_BEFORE = "P1D"
DEFAULT_ESCALATE_EVERY = "P3D"


def is_deadline(spec) -> bool:
    """Whether a task spec is a deadline: a non-interrupting boundary timer."""
    return (
        isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)
        and getattr(spec, "cancel_activity", True) is False
    )


def timer_property(spec, name: str, default: str) -> str:
    return spec.extensions.get("properties", {}).get(name) or default


def duration_after(expression: str, start: datetime) -> timedelta:
    """An ISO 8601 duration as a timedelta counted from ``start``.

    Months and years have no fixed length; SpiffWorkflow's own arithmetic
    gives them the lengths of the months that follow ``start``.
    """
    parsed = TimerEventDefinition.parse_iso_duration(expression)
    if "weeks" in parsed:
        parsed["days"] = parsed.pop("weeks") * 7 + parsed.get("days", 0)
    return TimerEventDefinition.get_timedelta_from_start(parsed, start)


def warn_at(spec, due: datetime) -> datetime | None:
    """When the assignee of a deadline's step is warned; None for other timers."""
    if not is_deadline(spec):
        return None
    lead = duration_after(timer_property(spec, "warn_before", DEFAULT_WARN_BEFORE), due)
    return due - lead


def property_problems(spec, where: str) -> list[str]:
    """What is wrong with a timer's deadline properties, for the deploy check."""
    problems = []
    for name in ("warn_before", "escalate_every"):
        value = spec.extensions.get("properties", {}).get(name)
        if value is None:
            continue
        if not is_deadline(spec):
            problems.append(
                f"{where}: {name} is only for non-interrupting boundary timers"
            )
            continue
        try:
            length = duration_after(value, datetime(2026, 1, 1))
        except Exception:
            problems.append(f"{where}: {name} {value!r} is not an ISO 8601 duration")
            continue
        if length <= timedelta(0):
            problems.append(f"{where}: {name} {value!r} must be longer than zero")
    return problems


def overdue_text(due: datetime | None, now: datetime) -> str | None:
    """How long a deadline has passed, in Chinese: '2天5小时'; None when not yet."""
    if due is None or due > now:
        return None
    late = now - due
    days, hours = late.days, late.seconds // 3600
    if days and hours:
        return f"{days}天{hours}小时"
    if days:
        return f"{days}天"
    if hours:
        return f"{hours}小时"
    return f"{max(late.seconds // 60, 1)}分钟"
