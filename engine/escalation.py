"""Escalation of overdue steps to the level above (督办), as rows of their own.

When a deadline (``engine.deadlines``) passes with its step still undone, the
role one level above the step's gets a supervision task; while the step stays
undone it climbs one more level every ``escalate_every``: village → town →
county → city, and stops at the city. Escalations are not BPMN tasks: every
deadline of every model escalates the same way, and a model shows only the
deadline itself. All rows of a step close when the step is done or its case
ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from SpiffWorkflow.util.task import TaskState

from fangfan.roles import BY_CODE, role_for_lane
from fangfan.rules import within

from . import forms, history, projections
from .deadlines import (
    DEFAULT_ESCALATE_EVERY,
    duration_after,
    is_deadline,
    timer_property,
)
from .errors import Conflict, InvalidData, NotAllowed, NotFound
from .history import SYSTEM, Actor, EventKind
from .models import Division, Escalation, Instance

#: Who supervises a step done at a level: the role one level up.
SUPERVISOR = {5: "town_official", 4: "county_bureau", 3: "city_bureau"}
#: The city is the highest level an escalation climbs to (issue #4, domain.md).
TOP_LEVEL = 2
_PREFIX = {2: 4, 3: 6, 4: 9}

#: The form a supervisor fills in: 督办措施 and 督办情况说明.
SUPERVISION_FORM = "supervision.json"


@dataclass(frozen=True)
class Level:
    """One level of supervision over a case's division."""

    role: str
    division_code: str
    level: int


def supervisor(step_level: int, case_division: str) -> Level | None:
    """The level above a step done at ``step_level``; None above the city."""
    role = SUPERVISOR.get(step_level)
    if role is None:
        return None
    level = step_level - 1
    prefix = case_division[: _PREFIX[level]]
    return Level(role, prefix.ljust(12, "0"), level)


@dataclass
class Passed:
    """A deadline that fired in a command, with the step it watches."""

    timer_spec: object
    step: object
    due: datetime


def passed(timer_task) -> Passed | None:
    """The passed deadline a fired timer task stands for, if it is one."""
    spec = timer_task.task_spec
    if not is_deadline(spec):
        return None
    step = projections.watched_task(timer_task)
    due = projections.timer_due(timer_task)
    if step is None or due is None:
        return None
    return Passed(spec, step, due)


def settle(
    session: Session,
    instance: Instance,
    workflow,
    deadlines: list[Passed],
    now: datetime,
) -> tuple[list, int]:
    """Open escalations for deadlines that passed, close those whose step is done.

    Runs inside the command that stored the workflow. Returns the history
    events to append (actor: the system) and how many escalations stay open.
    Reads the escalation rows only when the instance has some open or a
    deadline passed, so most commands cost nothing here.
    """
    events = []
    for deadline in deadlines:
        events += _open(session, instance, deadline, now)
    if not deadlines and not instance.escalations_open:
        return events, 0

    session.flush()
    rows = list(
        session.scalars(
            select(Escalation).where(
                Escalation.instance_id == instance.id, Escalation.closed_at.is_(None)
            )
        )
    )
    alive = {
        str(task.id)
        for task in projections.all_tasks(workflow)
        if task.state in (TaskState.READY, TaskState.WAITING)
    }
    if workflow.completed:
        alive = set()

    still_open = 0
    done_steps: dict[str, Escalation] = {}
    for row in rows:
        if row.step_task_id in alive:
            still_open += 1
            continue
        row.closed_at = now
        row.closed_reason = "环节已办理" if not workflow.completed else "案件已办结"
        row.climb_at = None
        done_steps.setdefault(row.step_task_id, row)
    for row in done_steps.values():
        events.append(_closed_event(row))
    return events, still_open


def close_all(session: Session, instance: Instance, now: datetime, reason: str):
    """Close every open escalation of a case that ends otherwise (cancelled)."""
    session.execute(
        update(Escalation)
        .where(Escalation.instance_id == instance.id, Escalation.closed_at.is_(None))
        .values(closed_at=now, closed_reason=reason[:128], climb_at=None)
    )
    instance.escalations_open = 0


def _open(
    session: Session, instance: Instance, deadline: Passed, now: datetime
) -> list:
    step_role = role_for_lane(deadline.step.task_spec.lane)
    if step_role is None:
        return []
    above = supervisor(step_role.level, instance.division_code)
    if above is None:
        return []

    every = duration_after(
        timer_property(deadline.timer_spec, "escalate_every", DEFAULT_ESCALATE_EVERY),
        deadline.due,
    )
    spec, step_spec = deadline.timer_spec, deadline.step.task_spec
    row = _before(
        above,
        deadline.due,
        now,
        instance_id=instance.id,
        household_id=instance.household_id,
        deadline=spec.bpmn_id,
        deadline_title=(spec.bpmn_name or spec.bpmn_id)[:128],
        step_task_id=str(deadline.step.id),
        step_name=step_spec.bpmn_id,
        step_title=(step_spec.bpmn_name or step_spec.bpmn_id)[:128],
        step_role=step_role.code,
        due_at=deadline.due,
        climb_every_seconds=int(every.total_seconds()),
    )
    session.add(row)
    return [_escalated_event(session, row)]


#: What every level's escalation of one overdue step shares.
_OF_THE_STEP = (
    "instance_id",
    "household_id",
    "deadline",
    "deadline_title",
    "step_task_id",
    "step_name",
    "step_title",
    "step_role",
    "due_at",
    "climb_every_seconds",
)


def _before(above: Level, since: datetime, now: datetime, **step) -> Escalation:
    """The overdue step put before one level since ``since`` (the deadline, or
    when the level below got it); it climbs on a period later, unless this is
    the top. Counting from those moments, not from when a sweep got to it,
    lets a step long overdue (say, after downtime) climb at once to where it
    belongs."""
    every = timedelta(seconds=step["climb_every_seconds"])
    return Escalation(
        **step,
        role=above.role,
        division_code=above.division_code,
        level=above.level,
        opened_at=now,
        climb_at=since + every if above.level > TOP_LEVEL else None,
    )


def _escalated_event(session: Session, row: Escalation) -> tuple:
    return (
        EventKind.ESCALATED,
        row.step_name,
        {
            "title": row.step_title,
            "deadline": row.deadline_title,
            "due": row.due_at.isoformat(),
            "to_role": row.role,
            "to_role_label": BY_CODE[row.role].label,
            "to_division": row.division_code,
            "to_division_name": division_name(session, row.division_code),
        },
    )


def _closed_event(row: Escalation) -> tuple:
    return (
        EventKind.ESCALATION_CLOSED,
        row.step_name,
        {"title": row.step_title, "reason": row.closed_reason},
    )


# -- commands of their own ---------------------------------------------------


def climb_due(sessions, now_of) -> int:
    """Move every escalation whose step is still undone one level up.

    One short transaction per escalation: it locks the row (``SKIP LOCKED``,
    so several schedulers share the work), adds the next level's row, and
    bumps the case's version so that no process keeps a cached copy whose
    history link is stale. Returns how many climbed.
    """
    climbed = 0
    while True:
        try:
            with sessions.begin() as session:
                now = now_of(session)
                row = session.scalars(
                    select(Escalation)
                    .where(Escalation.climb_at <= now, Escalation.closed_at.is_(None))
                    .order_by(Escalation.climb_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return climbed
                _climb(session, row, now)
        except Conflict:
            # A command changed the case meanwhile; the next sweep tries again
            # (its step may be done by then, and the row closed).
            return climbed
        climbed += 1


def _climb(session: Session, row: Escalation, now: datetime) -> None:
    instance = session.get(Instance, row.instance_id)
    above = supervisor(row.level, instance.division_code)
    since, row.climb_at = row.climb_at, None
    if above is None:
        return

    step = {name: getattr(row, name) for name in _OF_THE_STEP}
    higher = _before(above, since, now, **step)
    session.add(higher)
    _record(
        session,
        instance,
        now,
        SYSTEM,
        [_escalated_event(session, higher)],
        escalations_open=instance.escalations_open + 1,
    )


def supervise(sessions, now_of, escalation_id: int, official, data: dict) -> int:
    """Record what a supervisor did about an overdue step; returns the case id.

    ``data`` is the supervision form (``forms/supervision.json``). Only the
    role and division the escalation is for may record it, once: of two
    supervisors saving at the same moment, one wins and the other is told.
    """
    problems = forms.validate(SUPERVISION_FORM, data)
    if problems:
        raise InvalidData(problems)
    action = data["supervision_action"].strip()
    note = (data.get("supervision_note") or "").strip()

    with sessions.begin() as session:
        now = now_of(session)
        row = session.get(Escalation, escalation_id)
        if row is None:
            raise NotFound("no such escalation", "未找到该督办事项")
        if row.role != official.role or not within(
            row.division_code, official.division_code
        ):
            raise NotAllowed("escalation for another office", "此督办事项不属于您")
        if row.closed_at is not None:
            raise Conflict("escalation closed", "该环节已办理，督办已解除")

        # Claimed only while still open and unrecorded: the step may be done,
        # or another supervisor may save, between the read above and here.
        claimed = session.execute(
            update(Escalation)
            .where(
                Escalation.id == row.id,
                Escalation.supervised_at.is_(None),
                Escalation.closed_at.is_(None),
            )
            .values(
                supervised_at=now,
                supervised_by=official.username,
                action=action,
                note=note or None,
            )
        )
        if claimed.rowcount != 1:
            session.refresh(row)
            if row.closed_at is not None:
                raise Conflict("escalation closed", "该环节已办理，督办已解除")
            raise Conflict(
                "escalation already supervised",
                "该督办事项已登记督办措施，不再重复登记",
            )

        instance = session.get(Instance, row.instance_id)
        event = (
            EventKind.SUPERVISED,
            row.step_name,
            {
                "title": row.step_title,
                "deadline": row.deadline_title,
                "action": action,
                "note": note,
            },
        )
        _record(session, instance, now, official.actor, [event])
        return instance.id


def _record(
    session: Session,
    instance: Instance,
    now: datetime,
    actor: Actor,
    events: list,
    escalations_open: int | None = None,
) -> None:
    """Append to the case's history outside an engine command, bumping its version
    (and setting its count of open escalations, when given).

    The bump (checked like a command's) makes every process drop its cached
    copy of the case, whose last history link would now be stale.
    """
    values = {"version": instance.version + 1}
    if escalations_open is not None:
        values["escalations_open"] = escalations_open
    bumped = session.execute(
        update(Instance)
        .where(Instance.id == instance.id, Instance.version == instance.version)
        .values(**values)
    )
    if bumped.rowcount != 1:
        raise Conflict("instance changed meanwhile", "该案件刚被他人处理，请刷新后重试")
    history.append_all(
        session,
        instance.id,
        now,
        [(actor, kind, task_name, data) for kind, task_name, data in events],
    )


def division_name(session: Session, code: str) -> str:
    """A supervising division's name (沂南县), or its code if unknown."""
    division = session.get(Division, code)
    return division.name if division is not None else code


def of_case(session: Session, instance_id: int) -> list:
    return list(
        session.scalars(
            select(Escalation)
            .where(Escalation.instance_id == instance_id)
            .order_by(Escalation.opened_at, Escalation.level.desc(), Escalation.id)
        )
    )
