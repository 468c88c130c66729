"""Look-ups shared by the monthly import and the quarterly cross-check.

Each takes a list of ID numbers or ids of any length and asks in chunks, so a
20,000-row list never builds one oversized IN clause.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import DepartmentAlert, HouseholdMember, Instance

from .lists import CHUNK


def households_of(session: Session, ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(ids):
        found.update(
            session.execute(
                select(HouseholdMember.id_number, HouseholdMember.household_id).where(
                    HouseholdMember.id_number.in_(chunk)
                )
            ).all()
        )
    return found


def by_id(session: Session, model, ids: set[int], lock: bool = False) -> dict:
    """Rows by id; ``lock`` takes them FOR UPDATE, in id order (no deadlock
    with the engine, which locks one household per command)."""
    found = {}
    for chunk in chunks(sorted(ids)):
        query = select(model).where(model.id.in_(chunk)).order_by(model.id)
        if lock:
            query = query.with_for_update()
        for row in session.scalars(query):
            found[row.id] = row
    return found


def running_cases(session: Session, household_ids: set[int]) -> dict[int, int]:
    """Household id → the id of one of its running cases."""
    found: dict[int, int] = {}
    for chunk in chunks(sorted(household_ids)):
        for household_id, instance_id in session.execute(
            select(Instance.household_id, Instance.id).where(
                Instance.household_id.in_(chunk), Instance.status == "running"
            )
        ):
            found.setdefault(household_id, instance_id)
    return found


def alerted_ids(session: Session, ids: list[str], condition) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(ids):
        found.update(
            session.scalars(
                select(DepartmentAlert.id_number).where(
                    DepartmentAlert.id_number.in_(chunk), condition
                )
            )
        )
    return found


def chunks(values: list) -> list[list]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]
