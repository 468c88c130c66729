"""The timer sweep, run by APScheduler in its own process or inside the demo.

Every second the sweep asks the ``waiting_timers`` projection which timers are
due on the database's clock and fires them, one instance per transaction,
batch after batch until none is left. Due times are compared with the clock of
the database, so a simulated clock moved forward makes its timers fire at the
next sweep.

Any number of scheduler processes may sweep one PostgreSQL database: each
firing claims its rows with ``SELECT … FOR UPDATE SKIP LOCKED`` and the
instance's version check refuses a stale writer, so a timer fires once; a
process killed mid-sweep loses only its open transaction, and the rows it held
are fired by another. A firing that fails (say, a script error on the timer's
path) is rolled back, counted on its rows in a short transaction of its own,
retried with back-off, and after ``engine.runtime.TIMER_ATTEMPTS`` failures
recorded in ``timer_incidents`` for the county bureau
(``engine.runtime.timer_incidents``); other timers go on firing.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.runtime import Engine

log = logging.getLogger("fangfan.scheduler")

#: Seconds between sweeps: a timer fires at most this long after it is due.
SWEEP_INTERVAL = 1.0


def sweep(engine: Engine) -> int:
    """Fire what is due. A failing timer is handled by the engine (back-off,
    incident); anything else (the database away) is logged and the next sweep
    tries again."""
    try:
        fired = engine.fire_due_timers()
    except Exception:
        log.exception("timer sweep failed; retrying at the next sweep")
        return 0
    if fired:
        log.info("timer sweep fired timers of %d instance(s)", fired)
    return fired


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
