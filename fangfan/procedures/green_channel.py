"""The green channel (绿色通道): guide Q24, Q36.

The flow is ``processes/green_channel.bpmn``. A sudden, clear and urgent risk
(disaster, accident) that town and village have confirmed lets the county enter
the household at once and the departments assist it before it is identified.
Here: the town official starts it for a household that is not monitored; the
entry records the measures and the entry date; eligibility verified and the
identification paperwork completed makes the household monitored, identified
on the entry date (Q36); any other end takes it out of the channel and stops
its measures (Q24).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from engine.clock import local_date
from engine.errors import InvalidData
from engine.forms import FieldError, load_form, validate
from engine.models import Household
from fangfan import household_states, measures
from fangfan.rules import category_problem

from . import Procedure, household_data, plan_after_approval, register, review_problems

#: The form a town official fills in to start it: the confirmed sudden risk.
START_FORM = "green_start.json"
ENTRY_FORM = "green_entry.json"


class GreenChannel(Procedure):
    process_id = "green_channel"
    title = "绿色通道"
    #: Town and village confirm the risk (Q24); the town official records it.
    starters = frozenset({"town_official"})
    #: Not yet monitored; an eliminated household with a new risk too (Q31).
    from_states = frozenset({"ordinary", "clue", "eliminated"})
    start_form = START_FORM

    def check_start(
        self, session: Session, household: Household, official, data: dict
    ) -> None:
        """Refuse as every procedure does, telling a monitored household's why."""
        try:
            super().check_start(session, household, official, data)
        except household_states.ForbiddenMove:
            if household.status != "monitored":
                raise
            raise household_states.refuse(
                household,
                f"发起“{self.title}”",
                "该农户已是监测对象：“绿色通道”用于先帮扶、后补充识别程序"
                "（指南第24问），已识别的农户出现新的风险应直接调整帮扶措施",
            ) from None

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        return {
            "household": household_data(household),
            "sudden_risk": _clean_risk(data, local_date(now)),
        }

    def case_began(self, workflow_data: dict):
        """The day of the sudden risk: the county may have entered the household
        in the national system before the town recorded the case here."""
        risk_date = workflow_data.get("sudden_risk", {}).get("date")
        return date.fromisoformat(risk_date) if risk_date else None

    def on_start(self, household: Household, now: datetime) -> None:
        household_states.move(household, "in_green_channel")

    def check_task(
        self, task_name: str, data: dict, workflow_data: dict, task_data: dict
    ) -> list:
        if task_name == "enter_green_channel":
            return _entry_problems(data)
        if task_name == "democratic_review":
            return review_problems(data)
        if task_name == "county_approval" and data.get("green_category"):
            lifted_out = workflow_data.get("household", {}).get("lifted_out", False)
            unfit = category_problem(data["green_category"], lifted_out)
            if unfit:
                return [FieldError("green_category", unfit)]
        if task_name == "verify_eligibility":
            entered = task_data.get("entry_date", "")
            if data.get("eligibility_checked_on", "") < entered:
                return [
                    FieldError(
                        "eligibility_checked_on", "核实日期：不能早于录入绿色通道日期"
                    )
                ]
        return []

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        if task_name == "enter_green_channel":
            _enter(household, data)
        approved = data.get("green_approval_decision") == "approve"
        if task_name == "county_approval" and approved:
            household_states.move(household, "monitored")
            household.category = data["green_category"]
            household.identified_on = household.green_channel_on  # guide Q36
        self.on_engine_steps(household, workflow, now)

    def on_engine_steps(self, household: Household, workflow, now: datetime) -> None:
        """A case that ends without approval takes the household out (Q24)."""
        if workflow.completed and household.status == "in_green_channel":
            measures.stop_all(household)
            household.green_channel_on = None
            household_states.move_back(household)

    def follow_ups(
        self, household: Household, workflow, task_name: str | None
    ) -> list[tuple[str, dict]]:
        """The assistance plan starts the day the county approves (Q23)."""
        return plan_after_approval(household, task_name, "green_channel")


def _clean_risk(data: dict, today: date) -> dict:
    """The confirmed risk as the model keeps it; its date cannot be in the future."""
    errors = validate(START_FORM, data)
    if errors:
        raise InvalidData(errors)

    happened = date.fromisoformat(data["risk_date"])
    if happened > today:
        raise InvalidData([FieldError("risk_date", "风险发生日期：不能晚于今天")])

    return {
        "kind": data["risk_kind"],
        "date": happened.isoformat(),
        "description": data["risk_description"].strip(),
        "severe_and_urgent": True,
        "town_confirmed": True,
        "village_confirmed": True,
        "confirmed_by": data["risk_confirmed_by"].strip(),
    }


def _entry_problems(data: dict) -> list[FieldError]:
    """Measures that end before they start.

    The entry date itself is held between the day of the risk and today by
    its form (``x-past`` and ``case_began``).
    """
    errors = []
    for index, measure in enumerate(data.get("entry_measures", [])):
        if measure.get("end") and measure["end"] < measure.get("start", ""):
            errors.append(
                FieldError(
                    f"entry_measures.{index}.end",
                    f"先行实施的帮扶措施 / 第{index + 1}项 / "
                    "结束日期：不能早于开始日期",
                )
            )
    return errors


def _enter(household: Household, data: dict) -> None:
    """Record the entry date and start the measures (Q24, Q36).

    The date is the one submitted, the day the county entered the household
    in the national system, which may be before today.
    """
    entered = date.fromisoformat(data["entry_date"])
    household.green_channel_on = entered
    departments = _department_titles()
    measures.add(
        household,
        [
            dict(m, department=departments.get(m["department"], m["department"]))
            for m in data["entry_measures"]
        ],
        entered,
    )


def _department_titles() -> dict[str, str]:
    """Department code → Chinese, as the entry form offers them."""
    row = load_form(ENTRY_FORM)["properties"]["entry_measures"]["items"]
    return {o["const"]: o["title"] for o in row["properties"]["department"]["oneOf"]}


register(GreenChannel())
