"""Who belongs to a household (guide Q7: the household is the unit).

A person is counted in one household only, and once: net income per capita
divides by the members, so a member entered twice, or also counted in another
household, would make a household look poorer than it is.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.forms import FieldError
from engine.models import Household, HouseholdMember

from .rules import name_problem

HEAD = "head"


def problems(session: Session, household: Household, members: list[dict]) -> list:
    """Why these members cannot be the household's, as field errors in Chinese."""
    found = []
    heads = [i for i, m in enumerate(members) if m.get("relation") == HEAD]
    if len(heads) != 1:
        found.append(FieldError("members", "家庭成员中应有且只有一位户主"))
    elif members[heads[0]].get("id_number") != household.head_id_number:
        found.append(
            FieldError(
                f"members.{heads[0]}.id_number", "户主的身份证号应与登记的户主一致"
            )
        )

    seen: dict[str, int] = {}
    for index, member in enumerate(members):
        problem = name_problem(member.get("name", ""))
        if problem:
            found.append(
                FieldError(f"members.{index}.name", f"第{index + 1}位成员：{problem}")
            )
        number = member.get("id_number")
        if number in seen:
            found.append(
                FieldError(
                    f"members.{index}.id_number",
                    f"第{index + 1}位成员与第{seen[number] + 1}位" "成员身份证号重复",
                )
            )
        seen.setdefault(number, index)

    elsewhere = session.scalars(
        select(HouseholdMember.id_number).where(
            HouseholdMember.id_number.in_(list(seen)),
            HouseholdMember.household_id != household.id,
        )
    ).all()
    for number in elsewhere:
        found.append(
            FieldError(
                f"members.{seen[number]}.id_number",
                f"第{seen[number] + 1}位成员已登记在其他农户中",
            )
        )
    return found


def record(session: Session, household: Household, members: list[dict]) -> None:
    """Make the membership rows of the household equal its head and members."""
    numbers = {household.head_id_number}
    numbers |= {m["id_number"] for m in members if m.get("id_number")}
    session.execute(
        delete(HouseholdMember).where(HouseholdMember.household_id == household.id)
    )
    session.execute(
        insert(HouseholdMember),
        [{"id_number": n, "household_id": household.id} for n in numbers],
    )


def belongs_elsewhere(session: Session, id_number: str) -> bool:
    """Whether a person is already counted in some household."""
    return session.get(HouseholdMember, id_number) is not None
