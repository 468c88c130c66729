"""The tables. Engine state, its query projections, and the append-only history.

Instances hold the SpiffWorkflow state without its spec (the spec is stored once
per deployed model, in ``model_versions``); ``open_tasks``, ``waiting_timers`` and
the status columns of ``instances`` are projections of that state, rewritten in
the same transaction as the state itself, so the pages read them without ever
deserializing a workflow.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A moment in UTC, aware on the way out whatever the database keeps.

    SQLite stores no offset; PostgreSQL does. Both give back aware UTC times, so
    comparing a due time with the clock never mixes naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Fangfan stores aware UTC times")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Division(Base):
    """An administrative division, by its 12-digit national statistical code."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: 1 province, 2 city, 3 county, 4 town, 5 village.
    level: Mapped[int] = mapped_column(Integer)
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


class User(Base):
    """An official: one role in one division."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(String(12), ForeignKey("divisions.code"))
    #: Bumped at logout: sessions signed before it are no longer accepted.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Household(Base):
    """A rural household, the unit of monitoring (guide Q7)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("divisions.code"), index=True
    )
    head_name: Mapped[str] = mapped_column(String(64))
    head_id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    bank_account: Mapped[str | None] = mapped_column(String(32))
    #: Lifted out of poverty before 2021 (脱贫户); otherwise an ordinary household.
    lifted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    #: See fangfan.household_states for the life cycle.
    status: Mapped[str] = mapped_column(String(32), default="ordinary", index=True)
    #: Where a passing state (identification, green channel) returns to.
    status_before: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    #: Guide Q36: the county approval date, or the green-channel entry date.
    identified_on: Mapped[date | None] = mapped_column(Date)
    green_channel_on: Mapped[date | None] = mapped_column(Date)
    eliminated_on: Mapped[date | None] = mapped_column(Date)
    #: 整户无劳动能力兜底保障户 (guide Q28, Q29): its risk is not eliminated.
    safety_net_household: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Members as collected by the last home verification.
    members: Mapped[list] = mapped_column(JSON, default=list)
    #: Assistance measures: type, department, start, end, status (guide Q18–Q23).
    measures: Mapped[list] = mapped_column(JSON, default=list)


class HouseholdMember(Base):
    """Who belongs to which household: a person is a member of one household only.

    A projection of ``Household.members`` (and the head), kept so that the same
    ID number cannot be counted in two households or twice in one.
    """

    __tablename__ = "household_members"

    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    household_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("households.id"), index=True
    )


class MonitoringLine(Base):
    """The provincial monitoring line of a year, in fen per person (guide Q10)."""

    __tablename__ = "monitoring_lines"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class ModelVersion(Base):
    """A deployed BPMN model, versioned by the hash of its files' content."""

    __tablename__ = "model_versions"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64), index=True)
    #: The BPMN and DMN files as deployed, by file name.
    sources: Mapped[dict] = mapped_column(JSON)
    #: The serialized spec (and subprocess specs), stored once for every instance.
    spec_json: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deployed_by: Mapped[str] = mapped_column(String(64))


class Instance(Base):
    """A running or finished procedure for one household."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64))
    model_hash: Mapped[str] = mapped_column(
        String(64), ForeignKey("model_versions.content_hash")
    )
    household_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("households.id"), index=True
    )
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    #: running, completed, cancelled
    status: Mapped[str] = mapped_column(String(16), default="running")
    #: Comma-separated names of the open steps, for lists.
    current_step: Mapped[str] = mapped_column(String(255), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Optimistic lock: every command bumps it, a stale writer is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The SpiffWorkflow serialization without the spec (gzip of JSON).
    state: Mapped[bytes] = mapped_column(LargeBinary)


class OpenTask(Base):
    """A human task that is ready, projected for inboxes."""

    __tablename__ = "open_tasks"
    __table_args__ = (Index("ix_open_tasks_role_division", "role", "division_code"),)

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("instances.id"), index=True
    )
    household_id: Mapped[int] = mapped_column(Integer, ForeignKey("households.id"))
    task_name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(String(12))
    form: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WaitingTimer(Base):
    """A BPMN timer that is waiting, projected so the scheduler finds due ones."""

    __tablename__ = "waiting_timers"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("instances.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: The human task this timer watches (boundary timers), if any.
    watched_task_id: Mapped[str | None] = mapped_column(String(36))
    #: Failed firings so far; a firing that succeeds rewrites the row.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: After a failed firing, the earliest moment of the next try (back-off).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TimerIncident(Base):
    """A timer whose firing kept failing, for the county bureau to look into.

    One row per timer task; later failures update it. The timer itself stays
    in ``waiting_timers`` and is still tried, at the longest back-off.
    """

    __tablename__ = "timer_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("instances.id"), index=True
    )
    timer_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    timer_name: Mapped[str] = mapped_column(String(128))
    #: The last failure, in English, for logs and the bureau's page.
    error: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer)


class Event(Base):
    """One change, appended and never updated: the history auditors replay.

    ``stream`` 0 is the system stream (clock moves, deployments); every other
    stream is an instance id. Each event's hash covers the previous one's.
    """

    __tablename__ = "events"

    stream: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    task_name: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ClockState(Base):
    """The one clock. Simulated time is real time plus an offset that only grows."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    simulated: Mapped[bool] = mapped_column(Boolean)
    offset_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
