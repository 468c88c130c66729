"""Projections of a workflow's state into the query tables.

Inbox pages and the scheduler read ``open_tasks`` and ``waiting_timers``; they
never deserialize a workflow. Both are rewritten by the command that changed
the state, in its transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.util.task import TaskState

from fangfan.roles import role_for_lane

from .models import Household, Instance, OpenTask, WaitingTimer


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


def _timer_tasks(workflow: BpmnWorkflow):
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if isinstance(getattr(task.task_spec, "event_definition", None),
                      TimerEventDefinition):
            yield task


def _watched_task(timer_task):
    """The activity a boundary timer is attached to, or None for other timers."""
    parent = timer_task.parent
    if parent is None or "BoundaryEvent" not in type(parent.task_spec).__name__:
        return None
    for sibling in parent.children:
        if sibling is not timer_task and not hasattr(sibling.task_spec,
                                                     "event_definition"):
            return sibling
    return None


def open_tasks(workflow: BpmnWorkflow, instance: Instance, household: Household,
               now: datetime) -> list[OpenTask]:
    """One row per ready human task, with the earliest deadline watching it."""
    deadlines: dict = {}
    for timer_task in _timer_tasks(workflow):
        watched = _watched_task(timer_task)
        due = timer_due(timer_task)
        if watched is not None and due is not None:
            known = deadlines.get(watched.id)
            deadlines[watched.id] = due if known is None else min(known, due)

    rows = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        if not isinstance(spec, UserTaskMixin):
            continue
        role = role_for_lane(spec.lane)
        rows.append(OpenTask(
            task_id=str(task.id),
            instance_id=instance.id,
            household_id=household.id,
            task_name=spec.bpmn_id,
            title=spec.bpmn_name or spec.bpmn_id,
            role=role.code if role else "",
            division_code=instance.division_code,
            form=spec.extensions.get("properties", {}).get("form", ""),
            created_at=now,
            due_at=deadlines.get(task.id),
        ))
    return rows


def replace_open_tasks(session: Session, instance_id: int, rows: list[OpenTask]) -> None:
    """Make the instance's open-task rows equal ``rows``, keeping when each opened."""
    existing = {
        row.task_id: row
        for row in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id))
    }
    wanted = {row.task_id for row in rows}
    gone = [task_id for task_id in existing if task_id not in wanted]
    if gone:
        session.execute(delete(OpenTask).where(OpenTask.task_id.in_(gone)))

    for row in rows:
        kept = existing.get(row.task_id)
        if kept is None:
            session.add(row)
        elif row.due_at is not None and kept.due_at != row.due_at:
            kept.due_at = row.due_at
        # A deadline that has fired leaves no waiting timer, but the task is
        # still late: its row keeps the due time it had.


def waiting_timers(workflow: BpmnWorkflow, instance: Instance) -> list[WaitingTimer]:
    rows = []
    for task in _timer_tasks(workflow):
        due = timer_due(task)
        if due is None:
            continue
        watched = _watched_task(task)
        rows.append(WaitingTimer(
            task_id=str(task.id),
            instance_id=instance.id,
            name=task.task_spec.bpmn_name or task.task_spec.event_definition.name or "",
            due_at=due,
            watched_task_id=str(watched.id) if watched is not None else None,
        ))
    return rows
