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
    UniqueConstraint,
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
    #: Open escalations of its steps; a command reads them only when there are any.
    escalations_open: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )


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
    #: From when the assignee is warned: the deadline less its lead time.
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    #: A deadline's warning time (None for periods and other timers).
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    #: ``open`` while the timer fails; ``retried`` once the county bureau
    #: asked for another try, until it fails again.
    status: Mapped[str] = mapped_column(
        String(16), default="open", server_default="open"
    )
    #: The last retry: when and by whom; ``retries`` counts them all.
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retried_by: Mapped[str | None] = mapped_column(String(64))
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Escalation(Base):
    """An overdue step, put before the level above (督办).

    Opened when a deadline passes with its step still undone, for the role one
    level above the step's; while the step stays undone it climbs a level at
    ``climb_at`` (village → town → county → city), each level a row of its own.
    All rows of a step close when the step is done or its case ends.
    """

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_role_division", "role", "division_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("instances.id"), index=True
    )
    household_id: Mapped[int] = mapped_column(Integer, ForeignKey("households.id"))
    #: The deadline timer (BPMN id) and its name, e.g. 入户核实3天期限.
    deadline: Mapped[str] = mapped_column(String(64))
    deadline_title: Mapped[str] = mapped_column(String(128))
    #: The overdue step: SpiffWorkflow task id, BPMN id and title.
    step_task_id: Mapped[str] = mapped_column(String(36))
    step_name: Mapped[str] = mapped_column(String(64))
    step_title: Mapped[str] = mapped_column(String(128))
    #: The role that had the step, and when its deadline passed.
    step_role: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Who supervises: a role and the division it supervises from.
    role: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the step, still undone, goes one level higher (None at the top).
    climb_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    climb_every_seconds: Mapped[int] = mapped_column(Integer)
    #: What the supervisor did about it (督办措施), once recorded.
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    supervised_by: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_reason: Mapped[str | None] = mapped_column(String(128))


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


class CivilAffairsImport(Base):
    """One civil-affairs list imported for a county and month (guide Q8).

    A file is imported once per county: its content hash is remembered, so the
    scheduler can sweep a drop folder again and again. The report keeps every
    row that did not become an alert, with the reason, for download.
    """

    __tablename__ = "civil_affairs_imports"
    __table_args__ = (
        UniqueConstraint("county_code", "content_hash", name="uq_civil_import_file"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), index=True)
    #: The month the list reports, YYYY-MM.
    month: Mapped[str] = mapped_column(String(7))
    file_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    #: web, cli or scheduler.
    channel: Mapped[str] = mapped_column(String(16))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rows_total: Mapped[int] = mapped_column(Integer)
    alerts_created: Mapped[int] = mapped_column(Integer)
    rows_skipped: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    #: Skipped and rejected rows: row, id_number, name, outcome, field, message.
    report: Mapped[list] = mapped_column(JSON, default=list)


class DepartmentAlert(Base):
    """部门预警: a new minimum-allowance or extreme-hardship recipient to screen.

    Town and village screen it against the identification conditions (Q8):
    either identification starts (and ``instance_id`` names the case) or the
    risk is ruled out with a reason. An alert is screened once.
    """

    __tablename__ = "department_alerts"
    __table_args__ = (
        UniqueConstraint("id_number", "month", name="uq_department_alert_month"),
        Index("ix_department_alerts_division_status", "division_code", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("civil_affairs_imports.id"), index=True
    )
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(64))
    #: The registered household of this person, if any (HouseholdMember).
    household_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("households.id"), index=True
    )
    division_code: Mapped[str] = mapped_column(String(12))
    #: minimum_allowance (农村低保) or extreme_hardship (特困供养).
    assistance_type: Mapped[str] = mapped_column(String(24))
    #: The list's month, YYYY-MM, and the month the assistance began.
    month: Mapped[str] = mapped_column(String(7))
    start_month: Mapped[str] = mapped_column(String(7))
    source_file: Mapped[str] = mapped_column(String(255))
    #: pending (待研判), identification_started (已启动识别), no_risk (研判无风险).
    status: Mapped[str] = mapped_column(String(24), default="pending")
    no_risk_reason: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("instances.id")
    )
    screened_by: Mapped[str | None] = mapped_column(String(64))
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CivilAffairsCrossCheck(Base):
    """A quarterly cross-check of monitored households with a civil-affairs list
    (guide Q29, Q17), kept so the report can be read and downloaded later."""

    __tablename__ = "civil_affairs_cross_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), index=True)
    #: YYYYQn, e.g. 2026Q4.
    quarter: Mapped[str] = mapped_column(String(6))
    file_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Sections: consistent, missed, lost, problems; each a list of row dicts.
    report: Mapped[dict] = mapped_column(JSON, default=dict)


class HouseholdYear(Base):
    """A household's yearly basic information (年度基础信息, guide Q39, Q12).

    The row is made when the year's annual update starts, which is what keeps
    one update per household and year; it is filled when the town approves.
    """

    __tablename__ = "household_years"
    __table_args__ = (UniqueConstraint("household_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("households.id"), index=True
    )
    #: The year of the update; its income figures are those of the year before.
    year: Mapped[int] = mapped_column(Integer)
    #: pending (更新中) until the town approves, then updated (已更新).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_on: Mapped[date | None] = mapped_column(Date)
    #: Income, costs, guarantees, risk types and members as approved.
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class YearlyRun(Base):
    """The yearly standing work of one year, done once (guide Q10, Q39).

    The year is the key: of two schedulers that start the same year's work,
    the second one's insert fails and it leaves the work to the first.
    """

    __tablename__ = "yearly_runs"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cases_started: Mapped[int] = mapped_column(Integer, default=0)
    #: Households whose start was refused or failed: id and reason (English).
    failures: Mapped[list] = mapped_column(JSON, default=list)


class Reminder(Base):
    """A standing reminder for a role, shown until what it asks for is done.

    One per kind and year, e.g. the provincial bureau's reminder to publish
    the year's monitoring line in the first quarter (guide Q10).
    """

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("kind", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    division_code: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
