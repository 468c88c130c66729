"""The timer sweep, run by APScheduler in its own process or inside the demo.

Every second the sweep asks the ``waiting_timers`` projection which timers are
due on the database's clock and fires them, up to 50 instances per
transaction, each in a savepoint of its own (``engine/timers.py``), batch after
batch until none is left. Due times are compared with the clock of
the database, so a simulated clock moved forward makes its timers fire at the
next sweep.

Any number of scheduler processes may sweep one PostgreSQL database: each
batch claims its rows with ``SELECT … FOR UPDATE SKIP LOCKED`` and the
instance's version check refuses a stale writer, so a timer fires once; a
process killed mid-sweep loses only its open transaction, and the rows it held
are fired by another. A firing that fails (say, a script error on the timer's
path) is rolled back to its savepoint, counted on its rows, retried with
back-off, and after ``engine.timers.TIMER_ATTEMPTS`` failures recorded in
``timer_incidents`` for the county bureau (the 定时任务异常 page,
``web/incidents.py``); the rest of its batch commits and other timers go on
firing.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import clock, escalation
from engine.runtime import Engine

log = logging.getLogger("fangfan.scheduler")

#: Seconds between sweeps: a timer fires at most this long after it is due.
SWEEP_INTERVAL = 1.0


def sweep(engine: Engine) -> int:
    """Fire what is due, then climb what stayed overdue. A failing timer is
    handled by the engine (back-off, incident); anything else (the database
    away) is logged and the next sweep tries again."""
    fired = 0
    try:
        fired = engine.fire_due_timers()
    except Exception:
        log.exception("timer sweep failed; retrying at the next sweep")
    if fired:
        log.info("timer sweep fired timers of %d instance(s)", fired)
    climb(engine)
    return fired


def climb(engine: Engine) -> int:
    """Put overdue steps that stayed undone before the next level up (督办)."""
    try:
        climbed = escalation.climb_due(engine.sessions, clock.now)
    except Exception:
        log.exception("escalation sweep failed; retrying at the next sweep")
        return 0
    if climbed:
        log.info("escalation sweep moved %d escalation(s) up a level", climbed)
    return climbed


#: Seconds between asking whether this year's yearly work is still to do.
YEARLY_CHECK_INTERVAL = 60.0


def yearly(engine: Engine) -> None:
    """The yearly work (guide Q10, Q39) of the clock's year, once, in its first
    quarter. Asked every minute rather than fired by a cron date, so that it
    follows a simulated clock moved past January 1st; the year's row in
    ``yearly_runs`` makes it happen once however many schedulers ask."""
    from fangfan.annual_work import run_if_due

    try:
        run_if_due(engine)
    except Exception:
        log.exception("yearly work failed; asking again in a minute")


def civil_affairs_lists(engine: Engine) -> None:
    """Every night, take the civil-affairs files dropped into
    ``FANGFAN_CIVIL_AFFAIRS_DIR``: monthly lists become department alerts (Q8),
    quarter lists give the cross-check report (Q29). Each file is taken once,
    by content hash, so a second scheduler or a rerun takes nothing twice; a
    list dropped on any day waits at most a day."""
    from fangfan.civil_affairs import sweep_drop_folder

    try:
        counts = sweep_drop_folder(engine.sessions)
    except Exception:
        log.exception("civil-affairs drop folder failed; trying again tomorrow")
        return
    log.info("civil-affairs drop folder: %s", counts)


def _add_sweep(scheduler, engine: Engine) -> None:
    scheduler.add_job(
        sweep,
        "interval",
        seconds=SWEEP_INTERVAL,
        args=[engine],
        id="timer-sweep",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        yearly,
        "interval",
        seconds=YEARLY_CHECK_INTERVAL,
        args=[engine],
        id="yearly-work",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        civil_affairs_lists,
        "cron",
        hour=2,
        args=[engine],
        id="civil-affairs-lists",
        max_instances=1,
        coalesce=True,
    )


def start_in_background(engine: Engine) -> BackgroundScheduler:
    """For the demo: the sweep in a thread of the web process."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_sweep(scheduler, engine)
    scheduler.start()
    return scheduler


def run_forever(engine: Engine) -> None:
    """For ``fangfan scheduler``: a process that only sweeps."""
    scheduler = BlockingScheduler(timezone="UTC")
    _add_sweep(scheduler, engine)
    log.info("scheduler started; sweeping every %.0f s", SWEEP_INTERVAL)
    sweep(engine)  # timers that fell due while no scheduler ran fire at once
    scheduler.start()
