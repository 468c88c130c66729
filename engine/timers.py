"""Firing due timers: many instances per transaction, each in a savepoint.

The scheduler asks ``waiting_timers`` which instances have due timers and fires
them in batches of ``TIMER_BATCH``. One transaction per batch claims the due
rows of its instances with ``SELECT … FOR UPDATE SKIP LOCKED``, locks their
households (skipping those another process holds), reads what every instance
of the batch needs in a handful of queries (state, history links, query rows),
then advances each instance inside a SAVEPOINT of its own and commits once.
The fixed cost of a transaction (clock read, claim, commit and its disk flush)
is so paid once per batch instead of once per timer.

Exactly once: a claimed row stays locked until the batch commits, so another
scheduler skips it; the instance's version check refuses a writer that read
the instance before another one committed. A scheduler killed mid-batch loses
its whole open transaction, and another fires what it held.

A failing instance (a script error on the timer's path) is rolled back to its
savepoint alone; its rows get ``attempts + 1`` and a back-off in the same
transaction, and from the ``TIMER_ATTEMPTS``-th failure on an incident row for
the county bureau. The others of the batch commit. A batch that fails as a
whole (say, at commit) is tried again one instance per transaction, so one bad
instance cannot hold back the rest.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, defer

from fangfan.procedures import procedure_for
from fangfan.rules import within

from . import clock
from .errors import CommandError, Conflict
from .history import SYSTEM
from .models import Event, Household, Instance, OpenTask, TimerIncident, WaitingTimer
from .projections import Projection
from .runtime import Engine, Live, _Step
from .serialization import load_state

log = logging.getLogger("fangfan.engine")

#: Failed firings before a timer becomes an incident for the county bureau.
TIMER_ATTEMPTS = 5
#: Back-off after the n-th failure: BASE * 2**(n-1) seconds, at most MAX.
TIMER_BACKOFF_BASE = 2.0
TIMER_BACKOFF_MAX = 3600.0
#: Instances fired in one transaction. Larger batches save little more and
#: hold their rows' locks longer.
TIMER_BATCH = 50

#: An incident whose timer still fails, or was retried by the county bureau.
INCIDENT_OPEN = "open"
INCIDENT_RETRIED = "retried"


def timer_backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed firing of a timer."""
    return min(TIMER_BACKOFF_BASE * 2 ** (attempts - 1), TIMER_BACKOFF_MAX)


_IDS = bindparam("instance_ids", expanding=True)
_IS_DUE = and_(
    WaitingTimer.due_at <= bindparam("now"),
    or_(
        WaitingTimer.next_attempt_at.is_(None),
        WaitingTimer.next_attempt_at <= bindparam("now"),
    ),
)
_DUE_TIMERS = (
    select(WaitingTimer.instance_id)
    .where(_IS_DUE)
    .order_by(WaitingTimer.due_at)
    .limit(bindparam("limit"))
)
_CLAIM_TIMERS = (
    select(WaitingTimer.instance_id)
    .where(WaitingTimer.instance_id.in_(_IDS), _IS_DUE)
    .with_for_update(skip_locked=True)
)
# Households in id order, so two processes never wait on each other in a cycle;
# one another process holds (a sibling case, an official's command) is skipped
# and its timers fire at the next sweep.
_CASES = (
    select(Instance, Household)
    .join(Household, Household.id == Instance.household_id)
    .where(Instance.id.in_(_IDS))
    .order_by(Household.id, Instance.id)
    .with_for_update(of=Household, skip_locked=True)
)
_LAST_SEQ = (
    select(Event.stream, func.max(Event.seq).label("seq"))
    .where(Event.stream.in_(_IDS))
    .group_by(Event.stream)
    .subquery()
)
_LINKS = select(Event.stream, Event.seq, Event.hash).join(
    _LAST_SEQ, and_(Event.stream == _LAST_SEQ.c.stream, Event.seq == _LAST_SEQ.c.seq)
)
_OPEN_TASKS = select(OpenTask.instance_id, OpenTask.task_id, OpenTask.due_at).where(
    OpenTask.instance_id.in_(_IDS)
)
_WAITING = select(
    WaitingTimer.instance_id,
    WaitingTimer.task_id,
    WaitingTimer.name,
    WaitingTimer.due_at,
    WaitingTimer.watched_task_id,
    WaitingTimer.warn_at,
).where(WaitingTimer.instance_id.in_(_IDS))


@dataclass
class Batch:
    """What one batch did: instances advanced, and those that failed."""

    fired: int = 0
    failed: int = 0


def fire_due_timers(engine: Engine, limit: int = 200) -> int:
    """Fire every timer that is due; returns how many instances advanced.

    Reads due rows ``limit`` at a time without a lock (the read only says which
    instances to try) and fires them ``TIMER_BATCH`` instances per
    transaction, until a read finds fewer than ``limit`` rows or nothing moved
    (what is left is then held by other schedulers, or deferred after a
    failure).
    """
    fired = 0
    while True:
        with engine.sessions() as session:
            now = clock.now(session)
            rows = list(session.scalars(_DUE_TIMERS, {"now": now, "limit": limit}))
        due = list(dict.fromkeys(rows))
        # Several schedulers read the same earliest rows; each tries them in
        # its own order so that their batches rarely claim the same instances.
        random.shuffle(due)

        advanced = 0
        for start in range(0, len(due), TIMER_BATCH):
            advanced += _fire_or_split(engine, due[start : start + TIMER_BATCH])

        fired += advanced
        if len(rows) < limit or advanced == 0:
            return fired


def _fire_or_split(engine: Engine, instance_ids: list[int]) -> int:
    """Fire a batch; if it fails as a whole, fire its instances one by one."""
    try:
        return fire_timers(engine, instance_ids).fired
    except Exception as error:
        if len(instance_ids) == 1:
            log.warning("timer firing failed instance=%s: %s", instance_ids[0], error)
            note_failure(engine, instance_ids[0], error)
            return 0
        log.warning(
            "timer batch of %d failed as a whole, firing one by one: %s",
            len(instance_ids),
            error,
        )
        return sum(_fire_or_split(engine, [one]) for one in instance_ids)


def fire_timers(engine: Engine, instance_ids: list[int]) -> Batch:
    """Fire the due timers of these instances in one transaction.

    Instances whose due rows or household another process holds are left for
    a later sweep; one changed meanwhile by another process (version check)
    is skipped, as that process has fired or will fire it.
    """
    started = time.perf_counter()
    batch = Batch()
    cached: list[tuple[int, Live]] = []
    logged: list[tuple[int, int, float]] = []  # instance, household, ms

    with engine.sessions.begin() as session:
        now = clock.now(session)
        claimed = set(
            session.scalars(_CLAIM_TIMERS, {"instance_ids": instance_ids, "now": now})
        )
        if not claimed:
            return batch
        cases = session.execute(_CASES, {"instance_ids": sorted(claimed)}).all()
        known = _known(session, [instance.id for instance, _ in cases])

        for instance, household in cases:
            if instance.status != "running":
                continue  # closed by a sibling case fired earlier in this batch
            began = time.perf_counter()
            try:
                with session.begin_nested():
                    cached += _advance(engine, session, now, instance, household, known)
            except Conflict:
                continue  # another process fired it between our reads
            except Exception as error:  # the model (or anything) failed
                log.warning("timer firing failed instance=%s: %s", instance.id, error)
                batch.failed += 1
                _record_in_savepoint(session, now, instance.id, error)
                continue
            batch.fired += 1
            logged.append(
                (instance.id, household.id, (time.perf_counter() - began) * 1000)
            )

    for instance_id, live in cached:
        engine.live.put(instance_id, live)
    for instance_id, household_id, took in logged:
        log.info(
            "timer instance=%s household=%s actor=system %.1fms (batch of %d)",
            instance_id,
            household_id,
            took,
            len(cases),
        )
    if len(instance_ids) > 1:
        log.debug(
            "timer batch fired=%d failed=%d of %d in %.1fms",
            batch.fired,
            batch.failed,
            len(instance_ids),
            (time.perf_counter() - started) * 1000,
        )
    return batch


def _known(session: Session, instance_ids: list[int]) -> dict[int, Live]:
    """What the stored version of each instance holds besides its state.

    The history chain's last link and the query rows, read for the whole
    batch at once; ``_store`` would otherwise read them instance by instance.
    """
    if not instance_ids:
        return {}
    params = {"instance_ids": instance_ids}
    links = {
        stream: (seq, digest) for stream, seq, digest in session.execute(_LINKS, params)
    }
    tasks: dict[int, dict] = {i: {} for i in instance_ids}
    for instance_id, task_id, due_at in session.execute(_OPEN_TASKS, params):
        tasks[instance_id][task_id] = due_at
    timers: dict[int, dict] = {i: {} for i in instance_ids}
    for instance_id, task_id, name, due_at, watched, warn_at in session.execute(
        _WAITING, params
    ):
        # The same tuple as ``projections.write`` keeps, so unchanged rows stay.
        timers[instance_id][task_id] = (name, due_at, watched, warn_at)
    return {
        i: Live(0, None, links.get(i, (0, "0" * 64)), Projection(tasks[i], timers[i]))
        for i in instance_ids
    }


def _advance(
    engine: Engine,
    session: Session,
    now: datetime,
    instance: Instance,
    household: Household,
    known: dict[int, Live],
) -> list[tuple[int, Live]]:
    """Fire one instance's due timers and store it; returns what to cache.

    Restored from the live cache when it holds exactly the stored version,
    otherwise from the state read with the batch.
    """
    procedure = procedure_for(instance.process_id)
    live = engine.live.take(instance.id, instance.version)
    if live is not None:
        workflow, stored = live.workflow, live
    else:
        spec, subprocess_specs = engine.models.specs(session, instance.model_hash)
        workflow = load_state(instance.state, spec, subprocess_specs)
        stored = known[instance.id]

    step = _Step()
    with clock.frozen_at(now):
        workflow.refresh_timers()
        engine._run_engine(workflow, step)
    procedure.on_engine_steps(household, workflow, now)

    live = engine._store(
        session, instance, workflow, household, step, now, SYSTEM, stored
    )
    cached = [(instance.id, live)]
    engine._follow_up(session, now, procedure, household, workflow, cached)
    return cached


def record_failure(
    session: Session, now: datetime, instance_id: int, error: Exception
) -> None:
    """Count a failed firing on the instance's due rows, inside ``session``.

    The rows get ``attempts + 1`` and a ``next_attempt_at`` after a back-off;
    from the TIMER_ATTEMPTS-th failure on, each timer has an incident row
    that counts every later failure too, and reopens at the first failure
    after the county bureau retried it. Rows another scheduler holds, or
    already deferred, are left alone so one failure counts once.
    """
    text = english(error)
    rows = session.scalars(
        select(WaitingTimer)
        .where(
            WaitingTimer.instance_id == instance_id,
            WaitingTimer.due_at <= now,
            or_(
                WaitingTimer.next_attempt_at.is_(None),
                WaitingTimer.next_attempt_at <= now,
            ),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.attempts = (row.attempts or 0) + 1
        row.next_attempt_at = now + timedelta(seconds=timer_backoff(row.attempts))
        incident = session.scalar(
            select(TimerIncident).where(TimerIncident.timer_task_id == row.task_id)
        )
        if incident is not None:
            if incident.status != INCIDENT_OPEN:
                log.error(
                    "timer incident reopened instance=%s timer=%s: %s",
                    instance_id,
                    row.task_id,
                    text,
                )
            incident.status = INCIDENT_OPEN
            incident.error = text
            incident.last_failed_at = now
            incident.attempts += 1
        elif row.attempts >= TIMER_ATTEMPTS:
            session.add(
                TimerIncident(
                    instance_id=instance_id,
                    timer_task_id=row.task_id,
                    timer_name=row.name,
                    error=text,
                    first_failed_at=now,
                    last_failed_at=now,
                    attempts=row.attempts,
                    status=INCIDENT_OPEN,
                )
            )
            log.error(
                "timer incident instance=%s timer=%s after %d attempts: %s",
                instance_id,
                row.task_id,
                row.attempts,
                text,
            )
    session.flush()


def _record_in_savepoint(
    session: Session, now: datetime, instance_id: int, error: Exception
) -> None:
    """:func:`record_failure` without risking the batch it is part of."""
    try:
        with session.begin_nested():
            record_failure(session, now, instance_id, error)
    except Exception:
        log.exception("could not record the failed firing of instance %s", instance_id)


def note_failure(engine: Engine, instance_id: int, error: Exception) -> None:
    """:func:`record_failure` in a short transaction of its own, for a firing
    whose own transaction was rolled back whole."""
    try:
        with engine.sessions.begin() as session:
            record_failure(session, clock.now(session), instance_id, error)
    except Exception:
        log.exception("could not record the failed firing of instance %s", instance_id)


def retry_incident(session: Session, incident: TimerIncident, now: datetime, by: str):
    """Let the next sweep try the incident's timers again at once.

    The instance's timer rows lose their failure count and back-off; the
    incident keeps its history (first failure, attempts so far, error) and is
    marked retried with who and when. Returns how many timer rows were reset:
    none means the timer no longer waits (fired, or its case closed).
    """
    result = session.execute(
        update(WaitingTimer)
        .where(WaitingTimer.instance_id == incident.instance_id)
        .values(attempts=0, next_attempt_at=None)
    )
    if result.rowcount == 0:
        return 0

    incident.status = INCIDENT_RETRIED
    incident.retried_at = now
    incident.retried_by = by[:64]
    incident.retries = (incident.retries or 0) + 1
    return result.rowcount


def timer_incidents(session: Session, division_code: str | None = None) -> list:
    """Timers that kept failing, newest failure first, within a division.

    Returns ``(incident, instance)`` pairs; ``division_code`` (the county
    bureau's) keeps those of instances inside it, None keeps all.
    """
    rows = session.execute(
        select(TimerIncident, Instance)
        .join(Instance, Instance.id == TimerIncident.instance_id)
        .options(defer(Instance.state))
        .order_by(TimerIncident.last_failed_at.desc(), TimerIncident.id)
    ).all()
    return [
        (incident, instance)
        for incident, instance in rows
        if division_code is None or within(instance.division_code, division_code)
    ]


def english(error: Exception) -> str:
    """The English text of a failure, for the incident row and the log."""
    if isinstance(error, CommandError):
        text = str(error.args[0]) if error.args else str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:2000]
