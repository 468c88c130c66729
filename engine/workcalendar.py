"""Working days: deadlines that skip weekends and China's public holidays.

A boundary or intermediate timer counts calendar days unless its model marks it
``<spiffworkflow:property name="calendar" value="working_days" />``. Such a
timer's duration must be whole days (``PnD``, or ``PnW`` = 7n days) and counts
working days as the State Council's yearly arrangement defines them: Monday to
Friday, less public holidays, plus the weekends made working days (调休上班).
The arrangement comes from the pinned ``chinese-calendar`` package, one release
per published year.

What "N working days after" means, in China time (``engine.clock.CHINA``):
the due time is the first moment at which N whole days of working-day time
have passed since the timer started, where only time on working days counts.
So a timer started on a working day at 10:00 is due at 10:00 on the N-th
working day after that day; one started on a weekend or holiday counts from
the next working day's 00:00 and is due when the N-th working day, counting
that one as the first, ends (24:00). A due time is never pushed over the
holidays that follow the last working day.

A year the package does not cover is refused, never guessed: the arrangement
differs every year (Spring Festival, National Day and their swapped weekends),
so a guess would make a deadline fire days early or late.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import chinese_calendar

from .clock import CHINA
from .errors import CommandError

log = logging.getLogger("fangfan.engine")

#: The timer property that chooses the calendar, and its values.
CALENDAR_PROPERTY = "calendar"
CALENDAR_DAYS = "calendar_days"
WORKING_DAYS = "working_days"
CALENDARS = (CALENDAR_DAYS, WORKING_DAYS)

_WHOLE_DAYS = re.compile(r"^P(\d+)([DW])$")


class HolidaysNotCovered(CommandError):
    """A working-day due time needs a year whose holidays are not known."""

    def __init__(self, year: int):
        first, last = coverage()
        super().__init__(
            f"the holiday calendar (chinese-calendar {chinese_calendar.__version__}) "
            f"covers {first}-{last}, not {year}: cannot count working days; "
            "update the pinned chinese-calendar release",
            f"节假日数据未覆盖{year}年，无法按工作日计算期限，"
            "请联系系统管理员更新 chinese-calendar 后重试",
        )
        self.year = year


@lru_cache(maxsize=1)
def covered_years() -> frozenset[int]:
    """The years whose arrangement the installed package holds."""
    return frozenset(day.year for day in chinese_calendar.holidays)


def coverage() -> tuple[int, int]:
    years = covered_years()
    return min(years), max(years)


def is_working_day(day: date) -> bool:
    """Whether officials work on ``day`` (a date in China)."""
    if day.year not in covered_years():
        raise HolidaysNotCovered(day.year)
    return chinese_calendar.is_workday(day)


def calendar_of(task_spec) -> str:
    """The calendar a timer's model chose; calendar days when it chose none."""
    properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
    return properties.get(CALENDAR_PROPERTY) or CALENDAR_DAYS


def whole_days(duration: str) -> int | None:
    """The number of days of ``PnD`` or ``PnW``; None for any other duration.

    A week is seven days as in ISO 8601, so ``P2W`` counts 14 working days.
    """
    match = _WHOLE_DAYS.match(duration)
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2)
    return count * 7 if unit == "W" else count


def add_working_days(start: datetime, days: int) -> datetime:
    """The due time (UTC) of a ``days`` working-day period that starts at ``start``.

    Walks day by day in China time and consumes working-day time only; see the
    module docstring for why this is the meaning chosen.
    """
    cursor = start.astimezone(CHINA)
    remaining = timedelta(days=days)

    while True:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time(), CHINA)
        if is_working_day(cursor.date()):
            available = midnight - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(timezone.utc)
            remaining -= available
        cursor = midnight


def working_day_due(duration: str, start: datetime) -> datetime:
    """The due time of a working-day timer whose expression gave ``duration``."""
    days = whole_days(duration) if isinstance(duration, str) else None
    if days is None:
        raise CommandError(
            f"a working-day timer needs whole days (PnD or PnW), got {duration!r}",
            "按工作日计算的期限只能是整天数，流程模型有误，请联系流程管理员",
        )
    return add_working_days(start, days)


def install_due_time_hook(timer_module) -> None:
    """Let a working-day duration timer compute its own due time.

    SpiffWorkflow 3.2.0's ``DurationTimerEventDefinition.has_fired`` stores the
    due time as ``event_value`` (ISO, UTC) the first time it is asked and
    compares it with the clock from then on. The hook runs before it: for a
    timer marked working days whose ``event_value`` is not set yet it stores
    the working-day due time, which SpiffWorkflow then keeps and compares as
    its own. "Now" is read where SpiffWorkflow reads it, the timer module's
    ``datetime``, so the engine's clock seam applies. Installing twice is
    harmless.
    """
    definition = timer_module.DurationTimerEventDefinition
    original = getattr(definition.has_fired, "without_working_days", None)
    original = original or definition.has_fired

    def has_fired(self, my_task):
        if (
            my_task._get_internal_data("event_value") is None
            and calendar_of(my_task.task_spec) == WORKING_DAYS
        ):
            duration = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            now = timer_module.datetime.now(timezone.utc)
            due = working_day_due(duration, now)
            my_task._set_internal_data(event_value=due.isoformat())
        return original(self, my_task)

    has_fired.without_working_days = original
    definition.has_fired = has_fired


def warn_if_next_year_uncovered(today: date) -> bool:
    """Log a warning when next year's holidays are not installed yet.

    Returns whether it warned. Called on init and deploy, so the operator
    hears of it before a working-day deadline that reaches into that year is
    refused.
    """
    year = today.year + 1
    if year in covered_years():
        return False

    first, last = coverage()
    log.warning(
        "holiday calendar: chinese-calendar %s covers %d-%d, not %d; working-day "
        "deadlines that reach %d will be refused until the pinned release is "
        "updated",
        chinese_calendar.__version__,
        first,
        last,
        year,
        year,
    )
    return True
