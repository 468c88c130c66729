"""Department alerts (部门预警) from the monthly civil-affairs list (guide Q8).

Every month the county's new minimum-allowance and dispersed extreme-hardship
recipients are screened household by household against the identification
conditions. Each valid row of the list becomes an alert, unless screening it
would be pointless: the household already has a running case or is monitored,
the person already waits in another alert, or this month's alert exists. A
registered ordinary household with an alert becomes 风险线索待核实 (a clue
awaiting screening). The town or village screens an alert once: it starts
identification (which settles the clue), or records why there is no risk
(and the household is ordinary again once none of its alerts waits).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.clock import CHINA, local_date
from engine.errors import Conflict, InvalidData, NotAllowed, NotFound
from engine.forms import FieldError
from engine.models import (
    CivilAffairsImport,
    DepartmentAlert,
    Household,
)
from engine.runtime import Engine, Official
from fangfan import household_states
from fangfan.rules import jurisdiction_prefix, within

from .lists import (
    SKIPPED,
    ListRefused,
    Recipient,
    RowOutcome,
    check_rows,
    content_hash,
    county_problem,
    parse_month,
    read_rows,
)
from .lookups import alerted_ids, by_id, households_of, running_cases

log = logging.getLogger("fangfan.civil_affairs")

#: Who imports the county's list: its departments and the county bureau.
IMPORTERS = frozenset({"county_department", "county_bureau"})
#: Who screens alerts: those who visit the households (Q8, Q34).
SCREENERS = frozenset({"town_official", "village_cadre"})

STATUS_LABELS = {
    "pending": "待研判",
    "identification_started": "已启动识别",
    "no_risk": "研判无风险",
}

#: The longest reason for 研判无风险 a page accepts.
MAX_REASON = 1000


class AlreadyScreened(Conflict):
    """Another official screened the alert first."""


@dataclass
class ImportResult:
    import_id: int
    rows_total: int
    alerts_created: int
    skipped: list[RowOutcome] = field(default_factory=list)
    rejected: list[RowOutcome] = field(default_factory=list)

    @property
    def report(self) -> list[RowOutcome]:
        """Every row that did not become an alert, in file order."""
        return sorted(self.skipped + self.rejected, key=lambda outcome: outcome.row)


def import_monthly(
    sessions: sessionmaker,
    content: bytes,
    file_name: str,
    month: str,
    county_code: str,
    actor: str,
    channel: str,
) -> ImportResult:
    """Import one county's list for ``month``; all its alerts in one transaction.

    The file as a whole is checked first (``ListRefused``, nothing written);
    then every valid row becomes an alert or is skipped with the reason, and
    rejected rows are reported. The result's counts and report are kept with
    the import, so a page can show them again and offer them for download.
    """
    started = time.perf_counter()
    rows = read_rows(content)
    digest = content_hash(content)

    try:
        with sessions.begin() as session:
            now = clock.now(session)
            month = _checked_month(session, month, county_code, now)
            _refuse_imported_file(session, county_code, digest)

            recipients, rejected = check_rows(session, rows, county_code, month)
            alerts, skipped = _alerts_due(session, recipients, month, file_name, now)
            record = CivilAffairsImport(
                county_code=county_code,
                month=month,
                file_name=file_name[:255],
                content_hash=digest,
                channel=channel,
                imported_by=actor,
                imported_at=now,
                rows_total=len(rows),
                alerts_created=len(alerts),
                rows_skipped=len(skipped),
                rows_rejected=len({outcome.row for outcome in rejected}),
                report=[
                    outcome.as_dict()
                    for outcome in sorted(skipped + rejected, key=lambda o: o.row)
                ],
            )
            session.add(record)
            session.flush()
            for alert in alerts:
                alert.import_id = record.id
            session.add_all(alerts)
    except IntegrityError:
        raise ListRefused(
            "a concurrent import wrote the same file or person first",
            "文件未导入：同一文件或同一人员正由其他导入同时处理，请稍后重试",
        ) from None

    log.info(
        "civil-affairs import %d: county %s month %s by %s via %s: %d rows, "
        "%d alerts, %d skipped, %d rejected (%.0f ms)",
        record.id,
        county_code,
        month,
        actor,
        channel,
        record.rows_total,
        record.alerts_created,
        record.rows_skipped,
        record.rows_rejected,
        (time.perf_counter() - started) * 1000,
    )
    return ImportResult(record.id, len(rows), len(alerts), skipped, rejected)


def was_imported(session: Session, county_code: str, content: bytes) -> bool:
    return _imported(session, county_code, content_hash(content)) is not None


def _checked_month(session: Session, month: str, county_code: str, now) -> str:
    problem = county_problem(session, county_code)
    if problem:
        raise ListRefused(f"bad county {county_code!r}", f"文件未导入：{problem}")
    parsed = parse_month(month)
    if parsed is None:
        raise ListRefused(f"bad month {month!r}", "文件未导入：名单月份应为YYYY-MM")
    if parsed > f"{local_date(now):%Y-%m}":
        raise ListRefused(
            f"month {parsed} lies in the future",
            f"文件未导入：名单月份{parsed}尚未到来",
        )
    return parsed


def _imported(session: Session, county_code: str, digest: str):
    return session.scalar(
        select(CivilAffairsImport).where(
            CivilAffairsImport.county_code == county_code,
            CivilAffairsImport.content_hash == digest,
        )
    )


def _refuse_imported_file(session: Session, county_code: str, digest: str) -> None:
    earlier = _imported(session, county_code, digest)
    if earlier is not None:
        raise ListRefused(
            f"file already imported as import {earlier.id}",
            f"文件未导入：同一文件已于{earlier.imported_at.astimezone(CHINA):%Y-%m-%d %H:%M}"
            f"作为{earlier.month}名单导入（第{earlier.id}次导入），不再重复导入",
        )


def _alerts_due(
    session: Session,
    recipients: list[Recipient],
    month: str,
    file_name: str,
    now,
) -> tuple[list[DepartmentAlert], list[RowOutcome]]:
    """New alerts for the recipients that need screening; the others skipped."""
    ids = [recipient.id_number for recipient in recipients]
    household_of = households_of(session, ids)
    # Locked: a case started meanwhile must not slip past the running-case
    # check, nor have its state overwritten with the clue's.
    households = by_id(session, Household, set(household_of.values()), lock=True)
    running = running_cases(session, set(household_of.values()))
    this_month = alerted_ids(session, ids, DepartmentAlert.month == month)
    pending = alerted_ids(session, ids, DepartmentAlert.status == "pending")

    alerts, skipped = [], []
    for recipient in recipients:
        household_id = household_of.get(recipient.id_number)
        household = households.get(household_id)
        reason = _skip_reason(recipient, month, household, running, this_month, pending)
        if reason:
            skipped.append(
                RowOutcome(
                    recipient.row,
                    recipient.id_number,
                    recipient.name,
                    SKIPPED,
                    "",
                    reason,
                )
            )
            continue
        if household is not None and household.status == "ordinary":
            household_states.move(household, "clue")
        alerts.append(
            DepartmentAlert(
                id_number=recipient.id_number,
                name=recipient.name,
                household_id=household_id,
                division_code=recipient.division_code,
                assistance_type=recipient.assistance_type,
                month=month,
                start_month=recipient.start_month,
                source_file=file_name[:255],
                status="pending",
                created_at=now,
            )
        )
    return alerts, skipped


def _skip_reason(recipient, month, household, running, this_month, pending):
    if recipient.id_number in this_month:
        return f"该人员{month}已有部门预警，同月不重复预警"
    if recipient.id_number in pending:
        return "该人员已有待研判的部门预警，不重复预警"
    if household is not None and household.status == "monitored":
        return "该户已是监测对象，不再预警（身份变化在季度比对中核对）"
    if household is not None and household.id in running:
        return f"该户已有正在办理的案件（#{running[household.id]}），不重复预警"
    return None


# -- screening ---------------------------------------------------------------


def record_no_risk(
    sessions: sessionmaker, alert_id: int, reason: str, official: Official
) -> None:
    """研判无风险: the alert is closed with the official's reason."""
    started = time.perf_counter()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidData([FieldError("reason", "研判无风险须填写理由")])
    if len(reason) > MAX_REASON:
        raise InvalidData([FieldError("reason", f"理由不超过{MAX_REASON}字")])

    with sessions.begin() as session:
        alert = _alert_to_screen(session, alert_id, official)
        alert.status = "no_risk"
        alert.no_risk_reason = reason
        alert.screened_by = official.username
        alert.screened_at = clock.now(session)
        _settle_clue(session, alert)

    _log_screening(alert, "no_risk", official, started)


def start_identification(
    fangfan, alert_id: int, household: int | dict, clue: dict, official: Official
) -> int:
    """Start identification from an alert; the alert names the case. Its id.

    Claiming the alert, starting the case and linking the two are one
    transaction: the engine's own command runs on this transaction's
    connection, so a refused start leaves the alert waiting, and of two
    officials screening at once exactly one wins.
    """
    started = time.perf_counter()
    with fangfan.db.connect() as connection, connection.begin():
        session = Session(bind=connection, expire_on_commit=False)
        alert = _alert_to_screen(session, alert_id, official)
        if alert.household_id is not None and household != alert.household_id:
            raise InvalidData(
                [
                    FieldError(
                        "household_id",
                        "该预警人员属于已登记的农户，请选择该农户发起识别认定",
                    )
                ]
            )

        engine = Engine(
            sessionmaker(bind=connection, expire_on_commit=False),
            models=fangfan.engine.models,
        )
        instance_id = engine.start(
            "identification", household, {"clue": clue}, official
        )
        alert.status = "identification_started"
        alert.instance_id = instance_id
        alert.screened_by = official.username
        alert.screened_at = clock.now(session)
        session.commit()
        session.close()

    _log_screening(alert, "identification_started", official, started)
    return instance_id


def _settle_clue(session: Session, alert: DepartmentAlert) -> None:
    """A household whose last waiting alert is screened as no risk is ordinary
    again (风险线索待核实 → 一般农户)."""
    if alert.household_id is None:
        return
    household = session.get(Household, alert.household_id, with_for_update=True)
    if household.status != "clue":
        return
    session.flush()
    waiting = session.scalar(
        select(func.count())
        .select_from(DepartmentAlert)
        .where(
            DepartmentAlert.household_id == household.id,
            DepartmentAlert.status == "pending",
        )
    )
    if not waiting:
        household_states.move(household, "ordinary")


def _alert_to_screen(
    session: Session, alert_id: int, official: Official
) -> DepartmentAlert:
    """The alert, locked, if this official may screen it and nobody has."""
    alert = session.get(DepartmentAlert, alert_id, with_for_update=True)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", "未找到该部门预警")
    if official.role not in SCREENERS:
        raise NotAllowed(
            f"role {official.role} does not screen alerts",
            "只有镇级、村级干部可以研判部门预警",
        )
    if not within(alert.division_code, official.division_code):
        raise NotAllowed(
            "alert outside the official's division", "该预警不在您的辖区内"
        )
    if alert.status != "pending":
        raise AlreadyScreened(
            f"alert {alert_id} was screened already ({alert.status})",
            f"该预警已由{alert.screened_by}于"
            f"{alert.screened_at.astimezone(CHINA):%Y-%m-%d %H:%M}研判"
            f"（{STATUS_LABELS[alert.status]}），不能重复研判",
        )
    return alert


def _log_screening(alert, outcome: str, official: Official, started: float) -> None:
    log.info(
        "alert %d screened: %s, household %s, instance %s, by %s (%.0f ms)",
        alert.id,
        outcome,
        alert.household_id,
        alert.instance_id,
        official.username,
        (time.perf_counter() - started) * 1000,
    )


# -- pages -------------------------------------------------------------------


#: Alerts on one page of the list: a village's month fits on a few pages.
PAGE_SIZE = 100


def alerts_in(
    session: Session,
    division_code: str,
    status: str | None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list, int, int]:
    """One page of (alert, household or None) inside the division, oldest
    first; with how many alerts match in all and the page shown.

    The count lets the page say how many there are and link to the others
    instead of silently dropping them. A page before the first or past the
    last shows the first or last, so no link or typed URL ends in an error.
    """
    conditions = [
        DepartmentAlert.division_code.like(jurisdiction_prefix(division_code) + "%")
    ]
    if status:
        conditions.append(DepartmentAlert.status == status)
    total = session.scalar(
        select(func.count()).select_from(DepartmentAlert).where(*conditions)
    )
    page = min(max(page, 1), max(-(-total // page_size), 1))

    query = (
        select(DepartmentAlert, Household)
        .outerjoin(Household, Household.id == DepartmentAlert.household_id)
        .where(*conditions)
        .order_by(DepartmentAlert.created_at, DepartmentAlert.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return session.execute(query).all(), total, page


def pending_count(session: Session, division_code: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(DepartmentAlert)
        .where(
            DepartmentAlert.division_code.like(
                jurisdiction_prefix(division_code) + "%"
            ),
            DepartmentAlert.status == "pending",
        )
    )
