"""Read-only queries of the pages, over the projection tables.

A jurisdiction is a code prefix, so "everything in this town" is one indexed
range query; no page deserializes a workflow.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import (
    Division,
    Escalation,
    Household,
    Instance,
    OpenTask,
    User,
)
from fangfan.rules import jurisdiction_prefix


def in_jurisdiction(column, division_code: str):
    return column.like(jurisdiction_prefix(division_code) + "%")


def inbox(session: Session, role: str, division_code: str):
    """The open tasks of this role inside this division, most urgent first."""
    return session.execute(
        select(OpenTask, Household, Division.name)
        .join(Household, Household.id == OpenTask.household_id)
        .join(Division, Division.code == OpenTask.division_code)
        .where(
            OpenTask.role == role,
            in_jurisdiction(OpenTask.division_code, division_code),
        )
        .order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.created_at)
        .limit(500)
    ).all()


def escalations(session: Session, role: str, division_code: str):
    """Overdue steps this role supervises in this division (督办), most overdue
    first, with their household and village."""
    return session.execute(
        select(Escalation, Household, Division.name)
        .join(Household, Household.id == Escalation.household_id)
        .join(Division, Division.code == Household.division_code)
        .where(
            Escalation.role == role,
            in_jurisdiction(Escalation.division_code, division_code),
            Escalation.closed_at.is_(None),
            Escalation.supervised_at.is_(None),
        )
        .order_by(Escalation.due_at, Escalation.id)
        .limit(500)
    ).all()


def cases(session: Session, division_code: str, limit: int = 100):
    return session.execute(
        select(Instance, Household, Division.name)
        .join(Household, Household.id == Instance.household_id)
        .join(Division, Division.code == Instance.division_code)
        .where(in_jurisdiction(Instance.division_code, division_code))
        .order_by(Instance.status != "running", Instance.updated_at.desc())
        .limit(limit)
    ).all()


def households(session: Session, division_code: str, status: str | None = None):
    query = (
        select(Household)
        .where(in_jurisdiction(Household.division_code, division_code))
        .order_by(Household.division_code, Household.head_name)
    )
    if status:
        query = query.where(Household.status == status)
    return list(session.scalars(query.limit(1000)))


def villages(session: Session, division_code: str):
    """The villages an official may register a household in."""
    return list(
        session.scalars(
            select(Division)
            .where(Division.level == 5, in_jurisdiction(Division.code, division_code))
            .order_by(Division.code)
            .limit(2000)
        )
    )


def display_names(session: Session, events) -> dict[str, str]:
    """Login name → display name of the officials who appear in ``events``."""
    usernames = {event.actor for event in events}
    return dict(
        session.execute(
            select(User.username, User.display_name).where(User.username.in_(usernames))
        ).all()
    )
