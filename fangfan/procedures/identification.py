"""Identification (识别认定): guide Q7, Q11, Q13, Q33–Q36.

The flow is ``processes/identification.bpmn``. Here: a risk clue starts it for
an ordinary household; the county approver may override the proposed category
only with a reason; approval makes the household monitored, dated the day of
approval (Q36).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session, object_session

from engine.clock import local_date
from engine.errors import InvalidData, NotFound
from engine.forms import FieldError
from engine.models import Household, MonitoringLine
from fangfan import household_states, membership
from fangfan.roles import CLUE_TAKERS
from fangfan.rules import category_problem

from . import Procedure, household_data, plan_after_approval, register, review_problems

#: Where a risk clue comes from (guide Q34, Q42).
CLUE_SOURCES = {
    "application": "农户申报",
    "screening": "干部排查",
    "alert": "部门预警",
    "hotline": "12317热线",
}


class Identification(Procedure):
    process_id = "identification"
    title = "识别认定"
    starters = CLUE_TAKERS
    #: An eliminated household with a new risk is identified again (Q31).
    from_states = frozenset({"ordinary", "clue", "eliminated"})

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        clue = _clean_clue(data.get("clue"), local_date(now))
        year = int(clue["date"][:4])
        line = session.get(MonitoringLine, year)
        if line is None:
            raise NotFound(
                f"no monitoring line for {year}",
                f"尚未设置{year}年省定防止返贫监测线，请联系省乡村振兴局",
            )

        return {
            "household": household_data(household),
            "clue": clue,
            "monitoring_line_fen": line.amount_fen,
        }

    def case_began(self, workflow_data: dict):
        clue_date = workflow_data.get("clue", {}).get("date")
        return date.fromisoformat(clue_date) if clue_date else None

    def on_start(self, household: Household, now: datetime) -> None:
        household_states.move(household, "in_identification")

    def check_task(
        self, task_name: str, data: dict, workflow_data: dict, task_data: dict
    ) -> list:
        if task_name == "democratic_review":
            return review_problems(data)
        if task_name != "county_approval" or data.get("approval_decision") != "approve":
            return []

        proposed = task_data.get("proposed_category")
        if data.get("approved_category") is None:
            return [FieldError("approved_category", "批准认定时须选择监测对象类别")]
        lifted_out = workflow_data.get("household", {}).get("lifted_out", False)
        unfit = category_problem(data["approved_category"], lifted_out)
        if unfit:
            return [FieldError("approved_category", unfit)]
        if data["approved_category"] != proposed and not data.get("override_reason"):
            return [
                FieldError("override_reason", "所选类别与系统建议不同，须填写调整理由")
            ]
        return []

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        if task_name == "home_verification":
            members = data.get("members", [])
            session = object_session(household)
            problems = membership.problems(session, household, members)
            if problems:
                raise InvalidData(problems)
            household.members = members
            membership.record(session, household, members)
        if (
            task_name == "county_approval"
            and data.get("approval_decision") == "approve"
        ):
            household_states.move(household, "monitored")
            household.category = data["approved_category"]
            household.identified_on = local_date(now)
            household.eliminated_on = None  # identified again after elimination (Q31)
        self.on_engine_steps(household, workflow, now)

    def on_engine_steps(self, household: Household, workflow, now: datetime) -> None:
        if workflow.completed and household.status == "in_identification":
            household_states.move_back(household)

    def follow_ups(
        self, household: Household, workflow, task_name: str | None
    ) -> list[tuple[str, dict]]:
        """The assistance plan starts the day the county approves (Q23, Q34)."""
        return plan_after_approval(household, task_name, "identification")


def _clean_clue(clue, today: date) -> dict:
    """The clue as the model expects it, or the reasons it cannot be recorded."""
    errors = []
    clue = clue if isinstance(clue, dict) else {}
    source = clue.get("source")
    if source not in CLUE_SOURCES:
        errors.append(FieldError("clue.source", "线索来源：取值无效"))

    description = str(clue.get("description") or "").strip()
    if not description:
        errors.append(FieldError("clue.description", "请填写：风险情况"))
    elif len(description) > 2000:
        errors.append(FieldError("clue.description", "风险情况：不超过2000字"))

    try:
        clue_date = date.fromisoformat(str(clue.get("date") or today.isoformat()))
        if clue_date > today:
            errors.append(FieldError("clue.date", "发现日期不能晚于今天"))
        elif (today - clue_date).days > 366:
            errors.append(FieldError("clue.date", "发现日期不能早于一年前，请核对"))
    except ValueError:
        errors.append(FieldError("clue.date", "发现日期格式应为 YYYY-MM-DD"))
        clue_date = today

    if errors:
        raise InvalidData(errors)
    return {"source": source, "description": description, "date": clue_date.isoformat()}


register(Identification())
