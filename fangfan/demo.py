"""Seeding the demo installation: accounts, monitoring lines, households."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import Household
from engine.runtime import Official

from . import membership
from .demo_data import (
    DEMO_PASSWORD,
    TOWN_CODE,
    VILLAGE_CODE,
    demo_households,
    demo_users,
)
from .roles import BY_CODE
from .service import Fangfan


def seed(fangfan: Fangfan, lines_yuan: dict[int, int]) -> bool:
    """Fill an empty demo database; leave a seeded one as it is. True if seeded."""
    if fangfan.user_count() > 0:
        return False

    for year, yuan in lines_yuan.items():
        fangfan.set_monitoring_line(year, yuan * 100)
    for user in demo_users():
        fangfan.add_user(
            user["username"],
            user["password"],
            user["display_name"],
            user["role"],
            user["division_code"],
        )

    with fangfan.sessions.begin() as session:
        if not session.scalar(select(func.count()).select_from(Household)):
            households = [Household(**columns) for columns in demo_households()]
            session.add_all(households)
            session.flush()
            for household in households:
                membership.record(session, household, household.members)
    return True


def seed_deadline_case(fangfan: Fangfan) -> int:
    """One identification waiting for its home verification, so that a new user
    can watch it warned, overdue and escalated by moving the simulated clock.

    Only the demo has it: the tests' installations start without cases.
    """
    with fangfan.sessions() as session:
        household = session.scalar(
            select(Household)
            .where(
                Household.division_code == VILLAGE_CODE, Household.status == "ordinary"
            )
            .order_by(Household.id)
            .limit(1)
        )
    town = Official("town", "town_official", TOWN_CODE)
    clue = {"source": "screening", "description": "排查发现：户主务工受伤，收入骤减"}
    return fangfan.engine.start("identification", household.id, {"clue": clue}, town)


def print_welcome(host: str, port: int, created: bool) -> None:
    print()
    print(f"  防返 Fangfan demo: http://{host}:{port}/")
    print(
        f"  {'seeded a new' if created else 'reusing the'} demo database; "
        f"simulated clock (move it on the 时钟 page)"
    )
    print(f"  every account's password: {DEMO_PASSWORD}")
    for user in demo_users():
        label = BY_CODE[user["role"]].label
        print(f"    {user['username']:<9} {label:<10} {user['display_name']}")
    print()
