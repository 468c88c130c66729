"""The annual data update (年度信息更新): guide Q39, with Q12's items.

The flow is ``processes/annual_update.bpmn``: the village cadre updates the
household's yearly basic information (members, last year's income and costs,
the guarantees, risk types), the town checks it and approves or sends it back.
Nobody starts it by hand: the yearly work (``fangfan.annual_work``) starts one
per monitored and eliminated household each January. It never moves the
household through its life cycle; a new risk found on the way is a new risk
clue (Q31), recorded as such.

One update per household and year: the start reserves the household's row in
``household_years``, whose unique key refuses a second one even from a
concurrent start; the town's approval fills the row and the members on record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from SpiffWorkflow.util.task import TaskState

from engine.clock import local_date
from engine.errors import Conflict, InvalidData
from engine.forms import FieldError, load_form
from engine.models import Household, HouseholdYear, MonitoringLine
from fangfan import membership
from fangfan.rules import net_income_per_capita_fen

from . import Procedure, household_data, register

#: The village's step and the town's, by BPMN id.
VILLAGE_STEP = "update_annual_info"
TOWN_STEP = "check_annual_info"
VILLAGE_FORM = "annual_update_village.json"

#: What the village's form records and the household's year keeps.
RECORDED_FIELDS = (
    "member_changes",
    "income",
    "insurance_payouts_fen",
    "out_of_pocket",
    "guarantees",
    "risk_types",
    "annual_updated_on",
    "annual_note",
)


class AnnualUpdate(Procedure):
    process_id = "annual_update"
    title = "年度信息更新"
    #: Started by the yearly work only (guide Q39), never by hand.
    starters = frozenset()
    from_states = frozenset({"monitored", "eliminated"})

    def check_start(
        self, session: Session, household: Household, official, data: dict
    ) -> None:
        super().check_start(session, household, official, data)

        year = update_year(data)
        started = session.scalar(
            select(HouseholdYear.id).where(
                HouseholdYear.household_id == household.id,
                HouseholdYear.year == year,
            )
        )
        if started is not None:
            raise Conflict(
                f"household {household.id} has its {year} annual update already",
                f"该农户{year}年度信息更新已发起，不重复发起",
            )

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        """The year, and last year's line to read last year's income against.

        The household's row for the year is reserved here, in the start's own
        transaction: a second start for the same year fails on its unique key.
        """
        year = update_year(data)
        line = session.get(MonitoringLine, year - 1)
        session.add(HouseholdYear(household_id=household.id, year=year, started_at=now))
        session.flush()
        return {
            "household": household_data(household),
            "household_status": household.status,
            "annual_year": year,
            "income_year": year - 1,
            "monitoring_line_fen": line.amount_fen if line else None,
        }

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        """Members are checked when the village submits them and again when the
        town approves (someone may have been counted elsewhere meanwhile); only
        the approval writes them and the year onto the household."""
        if task_name == VILLAGE_STEP:
            _check_members(household, data.get("members", []))
            return
        if task_name != TOWN_STEP or data.get("annual_town_decision") != "approve":
            return

        submitted = _submitted(workflow)
        members = submitted.get("members", [])
        _check_members(household, members)
        session = object_session(household)
        household.members = members
        membership.record(session, household, members)

        year = workflow.data["annual_year"]
        row = session.scalar(
            select(HouseholdYear).where(
                HouseholdYear.household_id == household.id, HouseholdYear.year == year
            )
        )
        row.status = "updated"
        row.updated_on = local_date(now)
        row.data = yearly_record(submitted, workflow.data)


def update_year(data: dict) -> int:
    """The year of the update, as the yearly work passes it."""
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise InvalidData([FieldError("year", "年度应为2000至2100之间的整数")])
    return year


def yearly_record(submitted: dict, workflow_data: dict) -> dict:
    """The year as the household keeps it: the village's figures as approved,
    with the income per capita of guide Q12 and the line it is read against."""
    record = {name: submitted.get(name) for name in RECORDED_FIELDS}
    members = submitted.get("members", [])
    record["income_year"] = workflow_data["income_year"]
    record["member_count"] = len(members)
    record["per_capita_net_income_fen"] = net_income_per_capita_fen(
        submitted["income"], len(members)
    )
    record["monitoring_line_fen"] = workflow_data.get("monitoring_line_fen")
    labels = _risk_labels()
    record["risk_labels"] = [labels.get(r, r) for r in submitted.get("risk_types", [])]
    return record


def _risk_labels() -> dict[str, str]:
    """Risk type code → Chinese, as the village's form offers them."""
    schema = load_form(VILLAGE_FORM)
    options = schema["properties"]["risk_types"]["items"]["oneOf"]
    return {option["const"]: option["title"] for option in options}


def _check_members(household: Household, members: list) -> None:
    problems = membership.problems(object_session(household), household, members)
    if problems:
        raise InvalidData(problems)


def _submitted(workflow) -> dict:
    """The village's last submission: a returned update is submitted again."""
    done = workflow.get_tasks(spec_name=VILLAGE_STEP, state=TaskState.COMPLETED)
    return dict(done[-1].data) if done else {}


register(AnnualUpdate())
