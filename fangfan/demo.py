"""Seeding the demo installation: accounts, monitoring lines, households."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import Household

from . import membership
from .demo_data import DEMO_PASSWORD, demo_households, demo_users
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
