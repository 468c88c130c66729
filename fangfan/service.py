"""One Fangfan installation: its database, its engine, and the set-up steps.

The CLI, the web app, the scheduler, the tests and the benchmark all build on
this, so each of them starts the system the same way.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from engine import clock, escalation, history, specs
from engine.clock import local_date
from engine.db import create_db_engine, database_url, session_factory, upgrade
from engine.history import SYSTEM, EventKind
from engine.models import Division, MonitoringLine, User
from engine.runtime import Engine
from fangfan import annual_work
from fangfan.divisions import load_divisions
from fangfan.procedures import all_process_ids
from fangfan.roles import BY_CODE
from fangfan.rules import division_level

log = logging.getLogger("fangfan")


class SetupError(ValueError):
    """A set-up step refused: English for logs and the CLI, Chinese for pages."""

    def __init__(self, message: str, message_zh: str | None = None):
        super().__init__(message)
        self.message_zh = message_zh or message


#: A monitoring line outside these bounds (yuan per person per year) is a typo.
LINE_BOUNDS_YUAN = (1_000, 100_000)


class Fangfan:
    def __init__(self, url: str | None = None):
        self.url = url or database_url()
        self.db = create_db_engine(self.url)
        self.sessions = session_factory(self.db)
        #: For pages: on SQLite, read transactions that never take the write lock.
        self.reads = (
            session_factory(create_db_engine(self.url, for_reads=True))
            if self.url.startswith("sqlite")
            else self.sessions
        )
        self.engine = Engine(self.sessions)

    def init(self, simulated_clock: bool = False, progress: bool = True) -> None:
        """Create or upgrade the schema, load divisions, fix the clock, deploy."""
        upgrade(self.url)
        with self.sessions.begin() as session:
            clock.choose_mode(session, simulated_clock)
            load_divisions(session, progress=progress)
        self.deploy_models()

    def deploy_models(self, by: str = "system") -> list[tuple[str, str, bool]]:
        """Deploy every procedure's model from ``processes/``; unchanged ones stay."""
        deployed = []
        for process_id in all_process_ids():
            model = specs.parse(process_id, specs.read_sources(process_id))
            with self.sessions.begin() as session:
                now = clock.now(session)
                version, new = specs.deploy(session, model, self.engine.models, now, by)
                if new:
                    history.append(
                        session,
                        history.SYSTEM_STREAM,
                        now,
                        SYSTEM,
                        EventKind.MODEL_DEPLOYED,
                        {"process": process_id, "hash": version.content_hash},
                        task_name=process_id,
                    )
            deployed.append((process_id, model.content_hash, new))
        return deployed

    def add_user(
        self,
        username: str,
        password: str,
        display_name: str,
        role: str,
        division_code: str,
    ) -> User:
        if role not in BY_CODE:
            raise SetupError(f"unknown role {role!r}; known: {', '.join(BY_CODE)}")
        if len(password) < 8:
            raise SetupError("password must have at least 8 characters")

        with self.sessions.begin() as session:
            if session.get(Division, division_code) is None:
                raise SetupError(f"unknown division code {division_code!r}")
            if division_level(division_code) != BY_CODE[role].level:
                raise SetupError(
                    f"role {role} works at level {BY_CODE[role].level}, "
                    f"but {division_code} is level {division_level(division_code)}"
                )
            if session.scalar(select(User).where(User.username == username)):
                raise SetupError(f"user {username!r} exists already")

            user = User(
                username=username,
                password_hash=generate_password_hash(password),
                display_name=display_name,
                role=role,
                division_code=division_code,
            )
            session.add(user)
        return user

    def set_monitoring_line(self, year: int, amount_fen: int, official=None) -> None:
        """The province's line for a year (guide Q10), in fen per person per year.

        Every change is recorded in the system history with who made it.
        """
        low, high = LINE_BOUNDS_YUAN
        if not low * 100 <= amount_fen <= high * 100:
            raise SetupError(
                f"a monitoring line must lie between {low} and {high} yuan",
                f"监测线应在{low}至{high}元/人·年之间，请核对",
            )
        actor = official.actor if official is not None else SYSTEM
        with self.sessions.begin() as session:
            line = session.get(MonitoringLine, year)
            _check_line_year(year, line, local_date(clock.now(session)))
            before = line.amount_fen if line else None
            if line is None:
                session.add(MonitoringLine(year=year, amount_fen=amount_fen))
            else:
                line.amount_fen = amount_fen
            history.append(
                session,
                history.SYSTEM_STREAM,
                clock.now(session),
                actor,
                EventKind.LINE_SET,
                {"year": year, "amount_fen": amount_fen, "before": before},
            )
            annual_work.close_line_reminder(session, year, clock.now(session))

    def advance_clock(self, days: float, official) -> tuple:
        """Move the simulated clock and record the move in the system history."""
        with self.sessions.begin() as session:
            before, after = clock.advance(session, days=days)
            history.append(
                session,
                history.SYSTEM_STREAM,
                after,
                official.actor,
                EventKind.CLOCK_ADVANCED,
                {"from": before.isoformat(), "to": after.isoformat(), "days": days},
            )
        return before, after

    def supervise(self, escalation_id: int, official, data: dict) -> int:
        """Record a supervisor's action on an overdue step (督办); the case id."""
        return escalation.supervise(
            self.sessions, clock.now, escalation_id, official, data
        )

    def climb_escalations(self) -> int:
        """Put still-undone overdue steps before the next level up."""
        return escalation.climb_due(self.sessions, clock.now)

    def close(self) -> None:
        self.db.dispose()
        if self.reads is not self.sessions:
            self.reads.kw["bind"].dispose()

    def user_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0


def _check_line_year(year: int, line, today) -> None:
    """Guide Q10: the line is adjusted in the first quarter of its year.

    A year's line may be entered once when it is missing, and the current
    year's line may be changed during its first quarter; a line in force since
    then, or of a past year, is history. Next year's may be announced ahead.
    """
    if not 2000 <= year <= today.year + 1:
        raise SetupError(
            f"year {year} is out of range", f"年度应在2000年至{today.year + 1}年之间"
        )
    if line is None:
        return
    if year < today.year or (year == today.year and today.month > 3):
        raise SetupError(
            f"the {year} line is in force since its first quarter",
            f"{year}年监测线已于当年一季度公布施行，不能再修改（指南第10问）",
        )
