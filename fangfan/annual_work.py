"""The yearly standing work: the new monitoring line and the annual update.

Each year, once (guide Q10, Q39):

- if the province has not yet set the year's monitoring line, the provincial
  bureau gets a standing reminder to publish it in the first quarter; setting
  the line closes it (``close_line_reminder``, called by ``set_monitoring_line``);
- every monitored and eliminated household gets one annual update case
  (``fangfan.procedures.annual_update``), in batches, each start in its own
  transaction so that one refused household does not stop the others.

"Once" is kept by the database, not by a process: the run of a year is a row
keyed by the year, inserted in the same transaction as the reminder. Of two
schedulers (or a scheduler and the CLI) that reach the same year, the second
insert fails and that process leaves the year alone. A household is never
given two updates for a year (the unique key of ``household_years``), so
running the household pass again (``again=True``) only starts those still
missing: households whose start failed, or that became monitored since.

A household that has another case running (an elimination, a plan) still gets
its annual update: Q39 asks for every monitored and eliminated household's
data, and the update moves no state. One that is in a passing state
(identification again after elimination, green channel) gets none; its data
are collected by that procedure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import local_date
from engine.errors import CommandError, Conflict
from engine.models import Household, HouseholdYear, MonitoringLine, Reminder, YearlyRun
from engine.runtime import Engine

from .procedures import procedure_for
from .rules import within

log = logging.getLogger("fangfan.annual_work")

PROCESS_ID = "annual_update"
#: Households started per query; each start is still its own transaction.
BATCH_SIZE = 200
#: Guide Q10: the line is published in the first quarter. The scheduler starts
#: a year's work by itself only then; later, `fangfan yearly` does it by hand.
FIRST_QUARTER_MONTHS = (1, 2, 3)

LINE_REMINDER = "monitoring_line"
PROVINCE_ROLE = "province_bureau"
PROVINCE_CODE = "370000000000"


class YearError(ValueError):
    """A year the yearly work cannot be done for (yet)."""


@dataclass
class YearReport:
    year: int
    #: False when the year's run existed already and was not asked to go again.
    ran: bool
    cases_started: int = 0
    #: Households that had their update already (a concurrent run started it).
    skipped: int = 0
    failures: list[dict] = field(default_factory=list)
    reminder: bool = False


def current_year(engine: Engine) -> int:
    with engine.sessions() as session:
        return local_date(clock.now(session)).year


def run_year(
    engine: Engine,
    year: int,
    by: str = "system",
    again: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> YearReport:
    """Do the year's work unless it was done; ``again`` repeats the household
    pass of a year already run (only missing households are started)."""
    today = _today(engine)
    if not 2000 <= year <= today.year:
        raise YearError(
            f"year {year} must lie between 2000 and {today.year}, the clock's year"
        )

    claimed, reminder = _claim(engine, year, by)
    if not claimed and not again:
        return YearReport(year, ran=False)

    report = YearReport(year, ran=True, reminder=reminder)
    _start_updates(engine, year, report, progress)
    _finish(engine, year, report)
    log.info(
        "yearly work %s by %s: %d annual updates started, %d skipped, %d failed%s",
        year,
        by,
        report.cases_started,
        report.skipped,
        len(report.failures),
        "; monitoring line reminder opened" if reminder else "",
    )
    return report


def run_if_due(engine: Engine) -> YearReport | None:
    """The scheduler's question, asked every minute: is this (clock) year's
    work still to do? In the first quarter it is done at once, and once."""
    today = _today(engine)
    if today.month not in FIRST_QUARTER_MONTHS:
        return None
    with engine.sessions() as session:
        if session.get(YearlyRun, today.year) is not None:
            return None

    report = run_year(engine, today.year)
    return report if report.ran else None


def _today(engine: Engine):
    with engine.sessions() as session:
        return local_date(clock.now(session))


def _claim(engine: Engine, year: int, by: str) -> tuple[bool, bool]:
    """Insert the year's run, and the line reminder if the line is missing.

    Returns (claimed, reminder opened). A year claimed by another process
    returns (False, False) and changes nothing.
    """
    try:
        with engine.sessions.begin() as session:
            if session.get(YearlyRun, year) is not None:
                return False, False
            now = clock.now(session)
            session.add(YearlyRun(year=year, started_at=now, started_by=by))
            session.flush()
            return True, open_line_reminder(session, year, now)
    except IntegrityError:
        return False, False


def _candidates(session: Session, year: int, after_id: int) -> list[int]:
    """The next batch of households due an update for the year, by id."""
    has_year = exists().where(
        HouseholdYear.household_id == Household.id, HouseholdYear.year == year
    )
    states = procedure_for(PROCESS_ID).from_states
    return list(
        session.scalars(
            select(Household.id)
            .where(Household.status.in_(states), Household.id > after_id, ~has_year)
            .order_by(Household.id)
            .limit(BATCH_SIZE)
        )
    )


def _count_candidates(session: Session, year: int) -> int:
    has_year = exists().where(
        HouseholdYear.household_id == Household.id, HouseholdYear.year == year
    )
    states = procedure_for(PROCESS_ID).from_states
    return session.scalar(
        select(func.count())
        .select_from(Household)
        .where(Household.status.in_(states), ~has_year)
    )


def _start_updates(
    engine: Engine,
    year: int,
    report: YearReport,
    progress: Callable[[int, int], None] | None,
) -> None:
    with engine.sessions() as session:
        total = _count_candidates(session, year)

    done, last_id = 0, 0
    while True:
        with engine.sessions() as session:
            batch = _candidates(session, year, last_id)
        if not batch:
            break
        for household_id in batch:
            _start_one(engine, year, household_id, report)
        done += len(batch)
        last_id = batch[-1]
        if progress:
            progress(done, total)


def _start_one(engine: Engine, year: int, household_id: int, report: YearReport):
    """One household's update, in a transaction of its own."""
    try:
        engine.start_by_system(PROCESS_ID, household_id, {"year": year})
    except (Conflict, IntegrityError):
        report.skipped += 1  # another run started it meanwhile
    except CommandError as refused:
        report.failures.append({"household_id": household_id, "error": str(refused)})
        log.warning(
            "annual update %s not started for household %s: %s",
            year,
            household_id,
            refused,
        )
    except Exception as error:
        report.failures.append(
            {"household_id": household_id, "error": f"{type(error).__name__}: {error}"}
        )
        log.exception("annual update %s failed for household %s", year, household_id)
    else:
        report.cases_started += 1


def _finish(engine: Engine, year: int, report: YearReport) -> None:
    with engine.sessions.begin() as session:
        run = session.get(YearlyRun, year, with_for_update=True)
        run.finished_at = clock.now(session)
        run.cases_started = (run.cases_started or 0) + report.cases_started
        run.failures = report.failures


# -- the provincial bureau's reminder (guide Q10) ---------------------------------


def line_reminder_text(year: int) -> str:
    return f"请在一季度公布{year}年防止返贫监测线"


def open_line_reminder(session: Session, year: int, now) -> bool:
    """Remind the provincial bureau of a year's line not yet set; True if opened."""
    if session.get(MonitoringLine, year) is not None:
        return False
    known = session.scalar(
        select(Reminder.id).where(Reminder.kind == LINE_REMINDER, Reminder.year == year)
    )
    if known is not None:
        return False

    session.add(
        Reminder(
            kind=LINE_REMINDER,
            year=year,
            role=PROVINCE_ROLE,
            division_code=PROVINCE_CODE,
            text=line_reminder_text(year),
            created_at=now,
        )
    )
    session.flush()
    return True


def close_line_reminder(session: Session, year: int, now) -> None:
    """The line of ``year`` is set: its reminder, if any, has been answered."""
    session.execute(
        update(Reminder)
        .where(
            Reminder.kind == LINE_REMINDER,
            Reminder.year == year,
            Reminder.closed_at.is_(None),
        )
        .values(closed_at=now)
    )


def open_reminders(session: Session, role: str, division_code: str) -> list[Reminder]:
    """The reminders still open for an official of ``role`` in ``division_code``."""
    rows = session.scalars(
        select(Reminder)
        .where(Reminder.role == role, Reminder.closed_at.is_(None))
        .order_by(Reminder.year, Reminder.id)
    )
    return [r for r in rows if within(r.division_code, division_code)]


def household_years(session: Session, household_id: int) -> list[HouseholdYear]:
    """A household's yearly basic information, newest year first."""
    return list(
        session.scalars(
            select(HouseholdYear)
            .where(HouseholdYear.household_id == household_id)
            .order_by(HouseholdYear.year.desc())
        )
    )
