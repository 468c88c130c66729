"""Projections of a workflow's state into the query tables.

Inbox pages and the scheduler read ``open_tasks`` and ``waiting_timers``; they
never deserialize a workflow. Both are brought up to date by the command that
changed the state, in its transaction: ``project`` computes the rows the state
implies, ``write`` changes the stored rows into those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.util.task import TaskState

from fangfan.roles import role_for_lane

from . import deadlines
from .models import OpenTask, WaitingTimer

OPEN_TASKS = OpenTask.__table__
WAITING_TIMERS = WaitingTimer.__table__

# Built once; every command runs some of them.
_STORED_TASKS = select(OPEN_TASKS.c.task_id, OPEN_TASKS.c.due_at).where(
    OPEN_TASKS.c.instance_id == bindparam("instance_id")
)
_DELETE_TASKS = delete(OPEN_TASKS).where(
    OPEN_TASKS.c.task_id.in_(bindparam("task_ids", expanding=True))
)
_SET_TASK_DUE = (
    update(OPEN_TASKS)
    .where(OPEN_TASKS.c.task_id == bindparam("task"))
    .values(due_at=bindparam("due"), warn_at=bindparam("warn"))
)
_INSERT_TASKS = insert(OPEN_TASKS)
_DELETE_TIMERS = delete(WAITING_TIMERS).where(
    WAITING_TIMERS.c.task_id.in_(bindparam("task_ids", expanding=True))
)
_DELETE_ALL_TIMERS = delete(WAITING_TIMERS).where(
    WAITING_TIMERS.c.instance_id == bindparam("instance_id")
)
_INSERT_TIMERS = insert(WAITING_TIMERS)


def all_tasks(workflow: BpmnWorkflow):
    """Every task of the workflow and its subprocesses, in a flat scan.

    SpiffWorkflow's tree iterator costs several times more, and every command
    needs only the tasks in a given state.
    """
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def timer_due(task) -> datetime | None:
    """When a waiting timer task fires, from the value SpiffWorkflow computed."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        value = value.get("next") if isinstance(value, dict) else None
        if value is None:
            return None
        return datetime.fromisoformat(value)
    return TimerEventDefinition.get_datetime(value)


def watched_task(timer_task):
    """The activity a boundary timer is attached to, or None for other timers."""
    parent = timer_task.parent
    if parent is None or "BoundaryEvent" not in type(parent.task_spec).__name__:
        return None
    # The boundary events are its siblings; the activity may have an event
    # definition of its own (a receive task waits for a message).
    for sibling in parent.children:
        if "BoundaryEvent" not in type(sibling.task_spec).__name__:
            return sibling
    return None


def _note_passed_deadline(task, due_by_task: dict, case_deadlines: list) -> None:
    """A fired deadline whose step is still open stays that step's deadline
    (or the case's, for a wait): the step is late, and shows by how long."""
    if not deadlines.is_deadline(task.task_spec):
        return
    watched = watched_task(task)
    if watched is None or watched.state not in (TaskState.READY, TaskState.WAITING):
        return
    due = timer_due(task)
    if due is None:
        return
    deadline = (due, deadlines.warn_at(task.task_spec, due))
    if isinstance(watched.task_spec, UserTaskMixin):
        known = due_by_task.get(watched.id)
        if known is None or due < known[0]:
            due_by_task[watched.id] = deadline
    else:
        case_deadlines.append(deadline)


@dataclass
class Projection:
    """What the query tables hold for one instance at one stored version.

    ``tasks`` maps each open task's id to the due time its row carries;
    ``timers`` maps each waiting timer's id to its row's (name, due, watched
    task, warning time). A command that restored its workflow from the live
    cache gets the projection of exactly that version with it, so it can write
    only what changed instead of reading the rows back first.
    """

    tasks: dict[str, datetime | None]
    timers: dict[str, tuple]


def project(
    workflow: BpmnWorkflow, division_code: str, household_id: int, now: datetime
) -> tuple[list[dict], list[dict]]:
    """The open-task rows and waiting-timer rows of the workflow, in one walk.

    An open task is a ready human task, with the earliest deadline watching it;
    a waiting timer is any waiting timer event with a due time. The rows lack
    ``instance_id``, which ``write`` fills in (a new instance has none yet).

    A deadline on a wait rather than on a human task (the 15 days from the
    clue to the county's approval, on a receive task) is the whole case's: a
    ready task without a deadline of its own carries it, so its assignee is
    warned and sees it overdue. It stays the case's after it fired, while the
    wait goes on.
    """
    ready, timer_tasks, case_deadlines = [], [], []
    due_by_task: dict = {}
    for task in all_tasks(workflow):
        if task.state == TaskState.COMPLETED:
            _note_passed_deadline(task, due_by_task, case_deadlines)
            continue
        if task.state not in (TaskState.READY, TaskState.WAITING):
            continue
        if task.state == TaskState.READY:
            if isinstance(task.task_spec, UserTaskMixin):
                ready.append(task)
        elif isinstance(
            getattr(task.task_spec, "event_definition", None), TimerEventDefinition
        ):
            timer_tasks.append(task)

    timers = []
    for timer_task in timer_tasks:
        due = timer_due(timer_task)
        if due is None:
            continue
        spec = timer_task.task_spec
        warn = deadlines.warn_at(spec, due)
        watched = watched_task(timer_task)
        if watched is not None:
            known = due_by_task.get(watched.id)
            if known is None or due < known[0]:
                due_by_task[watched.id] = (due, warn)
            if warn is not None and not isinstance(watched.task_spec, UserTaskMixin):
                case_deadlines.append((due, warn))
        timers.append(
            {
                "task_id": str(timer_task.id),
                "name": spec.bpmn_name or spec.event_definition.name or "",
                "due_at": due,
                "watched_task_id": str(watched.id) if watched is not None else None,
                "warn_at": warn,
            }
        )

    case_deadline = min(case_deadlines, default=(None, None))
    tasks = []
    for task in ready:
        spec = task.task_spec
        role = role_for_lane(spec.lane)
        deadline = due_by_task.get(task.id, case_deadline)
        tasks.append(
            {
                "task_id": str(task.id),
                "household_id": household_id,
                "task_name": spec.bpmn_id,
                "title": spec.bpmn_name or spec.bpmn_id,
                "role": role.code if role else "",
                "division_code": division_code,
                "form": spec.extensions.get("properties", {}).get("form", ""),
                "created_at": now,
                "due_at": deadline[0],
                "warn_at": deadline[1],
            }
        )
    return tasks, timers


def write(
    session: Session,
    instance_id: int,
    tasks: list[dict],
    timers: list[dict],
    known: Projection | None,
) -> Projection:
    """Make the instance's query rows equal ``tasks`` and ``timers``.

    ``known`` is what the rows hold now, when the caller knows it for the stored
    version it is replacing; without it they are read (open tasks) or rewritten
    whole (timers). An open task that stays open keeps the time it opened, and
    a deadline that has fired leaves no waiting timer but the task is still
    late: its row keeps the due time it had. Returns what the rows hold after.
    """
    if known is None:
        stored_tasks = dict(
            session.execute(_STORED_TASKS, {"instance_id": instance_id}).all()
        )
    else:
        stored_tasks = known.tasks

    wanted = {row["task_id"] for row in tasks}
    gone = [task_id for task_id in stored_tasks if task_id not in wanted]
    if gone:
        session.execute(_DELETE_TASKS, {"task_ids": gone})

    after_tasks, added = {}, []
    for row in tasks:
        task_id, due = row["task_id"], row["due_at"]
        if task_id not in stored_tasks:
            added.append(row)
            after_tasks[task_id] = due
        elif due is not None and stored_tasks[task_id] != due:
            session.execute(
                _SET_TASK_DUE, {"task": task_id, "due": due, "warn": row["warn_at"]}
            )
            after_tasks[task_id] = due
        else:
            after_tasks[task_id] = stored_tasks[task_id]
    if added:
        session.execute(
            _INSERT_TASKS, [dict(row, instance_id=instance_id) for row in added]
        )

    after_timers = {
        row["task_id"]: (
            row["name"],
            row["due_at"],
            row["watched_task_id"],
            row["warn_at"],
        )
        for row in timers
    }
    if known is None:
        session.execute(_DELETE_ALL_TIMERS, {"instance_id": instance_id})
        if timers:
            session.execute(
                _INSERT_TIMERS, [dict(row, instance_id=instance_id) for row in timers]
            )
    else:
        stale = [
            task_id
            for task_id, value in known.timers.items()
            if after_timers.get(task_id) != value
        ]
        if stale:
            session.execute(_DELETE_TIMERS, {"task_ids": stale})
        fresh = [
            row
            for row in timers
            if known.timers.get(row["task_id"]) != after_timers[row["task_id"]]
        ]
        if fresh:
            session.execute(
                _INSERT_TIMERS, [dict(row, instance_id=instance_id) for row in fresh]
            )

    return Projection(after_tasks, after_timers)
