"""The one clock: engine timers, deadlines, the scheduler and event times.

The clock's state lives in the database so that every web worker and scheduler
process agrees on it. Simulated time is real time plus an offset that only
grows, so it keeps ticking between moves and never runs backwards. A database
that has run on the real clock never accepts a simulated one.

SpiffWorkflow 3.2.0 reads ``datetime.now(timezone.utc)`` inside its timer event
definitions and offers no hook. ``install_timer_seam`` replaces that module's
``datetime`` with one whose ``now`` returns the time of the running command, so
a timer computes and fires on the same clock as everything else. The same seam
lets a timer marked as counting working days take its due time from
``engine.workcalendar``.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from .models import ClockState

_command_now: ContextVar[datetime | None] = ContextVar("fangfan_now", default=None)


class ClockError(RuntimeError):
    """A clock move or mode the database refuses."""


class _CommandDatetime(datetime):
    """``datetime`` for SpiffWorkflow's timer module, its ``now`` the command's time."""

    @classmethod
    def now(cls, tz=None):
        current = _command_now.get()
        if current is None:
            return datetime.now(tz)
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


def install_timer_seam() -> None:
    """Point SpiffWorkflow's timers at the command's time and the work calendar.

    A timer marked as counting working days gets its due time from
    ``engine.workcalendar`` (imported here: it reads ``CHINA`` from this module).
    """
    from . import workcalendar

    spiff_timer.datetime = _CommandDatetime
    workcalendar.install_due_time_hook(spiff_timer)


@contextlib.contextmanager
def frozen_at(now: datetime):
    """Run a command at one instant: every timer and event inside sees ``now``."""
    token = _command_now.set(now)
    try:
        yield now
    finally:
        _command_now.reset(token)


def _state(session: Session) -> ClockState:
    state = session.get(ClockState, 1)
    if state is None:
        state = ClockState(id=1, simulated=False, offset_seconds=0)
        session.add(state)
        session.flush()
    return state


def now(session: Session) -> datetime:
    """The current time on the database's clock, timezone-aware UTC."""
    state = session.execute(
        select(ClockState.simulated, ClockState.offset_seconds).where(
            ClockState.id == 1
        )
    ).first()
    real = datetime.now(timezone.utc)
    if state is None or not state.simulated:
        return real
    return real + timedelta(seconds=state.offset_seconds)


def is_simulated(session: Session) -> bool:
    state = session.get(ClockState, 1)
    return bool(state and state.simulated)


def choose_mode(session: Session, simulated: bool) -> None:
    """Fix the clock's mode when the database is created; never change it after.

    A database that has run on the real clock holds real deadlines: letting it
    jump ahead would fire them falsely. One that was simulated holds times in
    the future of the real clock: going real would run time backwards.
    """
    state = session.get(ClockState, 1)
    if state is None:
        session.add(ClockState(id=1, simulated=simulated, offset_seconds=0))
        session.flush()
        return

    if state.simulated != simulated:
        have = "模拟时钟" if state.simulated else "真实时钟"
        raise ClockError(
            f"this database runs on the {'simulated' if state.simulated else 'real'} "
            f"clock and cannot switch（本数据库使用{have}，不能切换）"
        )


def advance(
    session: Session, days: float = 0, hours: float = 0
) -> tuple[datetime, datetime]:
    """Move the simulated clock forward; returns the times before and after."""
    if days < 0 or hours < 0:
        raise ClockError("the clock only moves forward（时钟只能向前拨）")

    state = session.get(ClockState, 1, with_for_update=True)
    if state is None or not state.simulated:
        raise ClockError(
            "the real clock cannot be moved（真实时钟不能拨动；仅演示或培训库使用模拟时钟）"
        )

    before = now(session)
    state.offset_seconds += int(timedelta(days=days, hours=hours).total_seconds())
    session.flush()
    return before, now(session)


#: Officials work in China Standard Time; dates on the page and in the guide's
#: rules (identification date, notice days) are dates there.
CHINA = timezone(timedelta(hours=8), "CST")


def local_date(moment: datetime):
    return moment.astimezone(CHINA).date()
