"""The quarterly cross-check of monitored households with civil affairs (Q29, Q17).

Three lists come out of one recipient list (same file format as the monthly
one):

- consistent: monitored households with members on the list; the allowance
  and the household's record must agree (a member recorded without the
  allowance, or with the other kind, is noted);
- missed: recipients whose household is not monitored and who have neither a
  waiting alert nor a running case, possible missed inclusion (应纳未纳, Q17);
- lost: members of monitored households recorded at home verification as
  receiving the allowance who are not on this quarter's list.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.clock import local_date
from engine.models import CivilAffairsCrossCheck, DepartmentAlert, Division, Household
from fangfan.household_states import label
from fangfan.rules import jurisdiction_prefix

from .lookups import alerted_ids, by_id, households_of, running_cases
from .lists import (
    TYPE_LABELS,
    ListRefused,
    check_rows,
    content_hash,
    county_problem,
    parse_quarter,
    read_rows,
)

log = logging.getLogger("fangfan.civil_affairs")

#: Section code → Chinese, in the report's order.
SECTIONS = {
    "consistent": "监测对象在民政名单中（核对一致性）",
    "missed": "民政名单人员未纳入监测（可能应纳未纳）",
    "lost": "监测对象登记的低保特困人员不在名单中（可能已退出）",
    "problems": "名单错误行",
}

#: Columns of a report row, with their Chinese headings for the CSV.
COLUMNS = {
    "section": "类别",
    "id_number": "身份证号",
    "name": "姓名",
    "division_code": "村级区划代码",
    "village": "村",
    "assistance": "救助类别",
    "household_id": "农户编号",
    "head_name": "户主",
    "household_status": "农户状态",
    "note": "说明",
}


def cross_check(
    sessions: sessionmaker,
    content: bytes,
    file_name: str,
    quarter: str,
    county_code: str,
    actor: str,
    channel: str,
) -> int:
    """Compare the county's monitored households with the list; the report's id."""
    started = time.perf_counter()
    rows = read_rows(content)

    with sessions.begin() as session:
        problem = county_problem(session, county_code)
        if problem:
            raise ListRefused(f"bad county {county_code!r}", f"文件未比对：{problem}")
        now = clock.now(session)
        parsed = _checked_quarter(quarter, now)

        last_month = f"{parsed[:4]}-{int(parsed[5]) * 3:02d}"
        recipients, rejected = check_rows(session, rows, county_code, last_month)
        report = _report(session, recipients, county_code)
        report["problems"] = [
            {
                "id_number": outcome.id_number,
                "name": outcome.name,
                "note": f"第{outcome.row}行 {outcome.field}：{outcome.message}",
            }
            for outcome in rejected
        ]
        record = CivilAffairsCrossCheck(
            county_code=county_code,
            quarter=parsed,
            file_name=file_name[:255],
            content_hash=content_hash(content),
            channel=channel,
            created_by=actor,
            created_at=now,
            report=report,
        )
        session.add(record)
        session.flush()

    log.info(
        "civil-affairs cross-check %d: county %s quarter %s by %s via %s: %s (%.0f ms)",
        record.id,
        county_code,
        parsed,
        actor,
        channel,
        ", ".join(f"{len(report[key])} {key}" for key in SECTIONS),
        (time.perf_counter() - started) * 1000,
    )
    return record.id


def _checked_quarter(quarter: str, now) -> str:
    """The quarter as written, if it has begun on the installation's clock.

    A quarter still to come has no recipients yet: its report would list
    every monitored household's allowance as possibly lost.
    """
    parsed = parse_quarter(quarter)
    if parsed is None:
        raise ListRefused(f"bad quarter {quarter!r}", "文件未比对：季度应写作如2026Q4")
    first_month = f"{parsed[:4]}-{(int(parsed[5]) - 1) * 3 + 1:02d}"
    if first_month > f"{local_date(now):%Y-%m}":
        raise ListRefused(
            f"quarter {parsed} lies in the future",
            f"文件未比对：季度{parsed}尚未到来",
        )
    return parsed


def report_rows(report: dict) -> list[dict]:
    """Every row of every section, with its section's Chinese name first."""
    return [
        {**row, "section": SECTIONS[section]}
        for section in SECTIONS
        for row in report.get(section, [])
    ]


def was_cross_checked(session: Session, county_code: str, content: bytes) -> bool:
    return (
        session.scalar(
            select(CivilAffairsCrossCheck.id).where(
                CivilAffairsCrossCheck.county_code == county_code,
                CivilAffairsCrossCheck.content_hash == content_hash(content),
            )
        )
        is not None
    )


def _report(session: Session, recipients, county_code: str) -> dict:
    listed = {recipient.id_number: recipient for recipient in recipients}
    household_of = households_of(session, list(listed))
    households = by_id(session, Household, set(household_of.values()))
    monitored = list(
        session.scalars(
            select(Household)
            .where(
                Household.division_code.like(jurisdiction_prefix(county_code) + "%"),
                Household.status == "monitored",
            )
            .order_by(Household.division_code, Household.id)
        )
    )
    villages = _village_names(
        session,
        {r.division_code for r in recipients} | {h.division_code for h in monitored},
    )

    consistent, missed = [], []
    running = running_cases(session, set(household_of.values()))
    pending = alerted_ids(session, list(listed), DepartmentAlert.status == "pending")
    for recipient in recipients:
        household = households.get(household_of.get(recipient.id_number))
        row = _recipient_row(recipient, household, villages)
        if household is not None and household.status == "monitored":
            recorded = _recorded_safety_net(household, recipient.id_number)
            row["note"] = _consistency_note(recorded, recipient.assistance_type)
            consistent.append(row)
        elif household is not None and household.id in running:
            continue
        elif recipient.id_number not in pending:
            row["note"] = "可能应纳未纳（第17问）：请按监测对象认定条件排查研判"
            missed.append(row)

    lost = []
    for household in monitored:
        for member in household.members or []:
            recorded = member.get("safety_net")
            if recorded in TYPE_LABELS and member.get("id_number") not in listed:
                lost.append(
                    {
                        "id_number": member.get("id_number", ""),
                        "name": member.get("name", ""),
                        "division_code": household.division_code,
                        "village": villages.get(household.division_code, ""),
                        "assistance": TYPE_LABELS[recorded],
                        "household_id": household.id,
                        "head_name": household.head_name,
                        "household_status": label(household.status)
                        + ("（兜底保障户）" if household.safety_net_household else ""),
                        "note": f"登记为{TYPE_LABELS[recorded]}，本季度民政名单中没有："
                        "请核实是否已退出（第29问）",
                    }
                )
    return {"consistent": consistent, "missed": missed, "lost": lost}


def _recipient_row(recipient, household, villages: dict[str, str]) -> dict:
    return {
        "id_number": recipient.id_number,
        "name": recipient.name,
        "division_code": recipient.division_code,
        "village": villages.get(recipient.division_code, ""),
        "assistance": TYPE_LABELS[recipient.assistance_type],
        "household_id": household.id if household else None,
        "head_name": household.head_name if household else "",
        "household_status": (
            label(household.status)
            + ("（兜底保障户）" if household.safety_net_household else "")
            if household
            else "未登记"
        ),
        "note": "",
    }


def _recorded_safety_net(household: Household, id_number: str) -> str | None:
    for member in household.members or []:
        if member.get("id_number") == id_number:
            return member.get("safety_net")
    return None


def _consistency_note(recorded: str | None, listed: str) -> str:
    if recorded == listed:
        return "一致"
    if recorded in TYPE_LABELS:
        return f"登记为{TYPE_LABELS[recorded]}，名单为{TYPE_LABELS[listed]}：请核对"
    return f"入户核实未登记{TYPE_LABELS[listed]}：请更新兜底保障信息"


def _village_names(session: Session, codes: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    codes = sorted(codes)
    for start in range(0, len(codes), 500):
        found.update(
            session.execute(
                select(Division.code, Division.name).where(
                    Division.code.in_(codes[start : start + 500])
                )
            ).all()
        )
    return found
