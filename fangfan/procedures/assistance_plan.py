"""The assistance plan (帮扶计划): guide Q18, Q20–Q23, Q29.

The flow is ``processes/assistance_plan.bpmn``: the village drafts the plan
under the town's guidance within 10 days of identification, the town approves
or returns it, the county bureau declares the measures and follows up the
departments. Nobody starts it by hand: identification starts it the day the
county approves, and so does the green channel for a household it verifies
(Q24).

Here: the plan rule of Q20/Q21 (``rules.plan_problems``) refuses a draft with
the reasons; the declaration records the measures as running, and marks a
household where no member can work and the safety net is declared as a
safety-net household (Q29).
"""

from __future__ import annotations

from datetime import date, datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.clock import local_date
from engine.forms import FieldError
from engine.models import Household
from fangfan import measures, rules

from . import Procedure, household_data, register

#: Responsible departments of a measure (guide Q22, Q23), code → Chinese; the
#: codes are the ``department`` options of ``forms/plan_draft.json``.
DEPARTMENTS = {
    "human_resources": "人力资源社会保障部门",
    "agriculture": "农业农村部门",
    "rural_revitalization": "乡村振兴部门",
    "civil_affairs": "民政部门",
    "health_insurance": "医疗保障部门",
    "health": "卫生健康部门",
    "education": "教育部门",
    "housing": "住房城乡建设部门",
    "water": "水利部门",
    "finance": "金融机构（小额信贷）",
    "disabled_persons": "残疾人联合会",
    "town": "乡镇人民政府",
    "other": "其他部门或社会帮扶力量",
}


class AssistancePlan(Procedure):
    process_id = "assistance_plan"
    title = "帮扶计划"
    #: Started by identification and the green channel, never by hand.
    starters = frozenset()
    from_states = frozenset({"monitored", "in_green_channel"})

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        """What the plan is made from: the members and their labour (Q20).

        The identification date is the county approval date, or the
        green-channel entry date for a household entered there (Q36); the
        10 days of Q23 run from it.
        """
        identified_on = household.identified_on or household.green_channel_on
        return {
            "trigger": str(data.get("trigger") or ""),
            "household": household_data(household),
            "members": list(household.members or []),
            "lifted_out": bool(household.lifted_out),
            "category": household.category,
            "identified_on": (identified_on or local_date(now)).isoformat(),
        }

    def check_task(
        self, task_name: str, data: dict, workflow_data: dict, task_data: dict
    ) -> list:
        if task_name != "draft_plan":
            return []

        plan = data.get("plan_measures", [])
        errors = _date_errors(plan)
        members = workflow_data.get("members") or []
        problems = _plan_problems(plan, members, data.get("plan_labour_willing"))
        full_labour = any(m.get("labour_capacity") == "full" for m in members)
        if full_labour and not data.get("plan_labour_willing"):
            if not (data.get("plan_unwilling_reason") or "").strip():
                errors.append(
                    FieldError(
                        "plan_unwilling_reason",
                        "家庭有全劳动力成员却未勾选有发展意愿，请写明原因（指南第20问）",
                    )
                )
        if problems:
            # One error per field: the pages key errors by field path.
            errors.append(FieldError("plan_measures", "；".join(problems)))
        return errors

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        if task_name != "declare_measures":
            return

        plan = _declared_plan(workflow)
        declared_on = date.fromisoformat(data["plan_declared_on"])
        measures.add(household, [_named_department(m) for m in plan], declared_on)
        if household.status == "monitored":
            mark_safety_net_household(household, plan)


def mark_safety_net_household(household: Household, plan: list[dict]) -> None:
    """Guide Q29: no member can work and the safety net carries the household.

    Town and village determine it; here it follows from the plan they made
    and approved. Nothing here clears it: a change of the household's
    minimum-allowance or extreme-hardship status goes through the city and the
    province (Q29).
    """
    members = household.members or []
    declared = {m.get("type") for m in plan}
    no_labour = bool(members) and not rules.has_labour(members)
    if no_labour and declared & rules.SAFETY_NET_MEASURES:
        household.safety_net_household = True


def _plan_problems(plan: list[dict], members: list[dict], willing) -> list[str]:
    """The plan rule of Q18/Q20/Q21, or only Q18 while no member is recorded.

    A green-channel household may be assisted before its home verification
    (Q24: assist first); with no members on record their labour is unknown,
    and the rule cannot say which measures the household needs.
    """
    if members:
        return rules.plan_problems(plan, members, bool(willing))
    # Labour unknown: a member who can but will not work asks for no measure
    # in particular, which leaves the rule that there is at least one.
    return rules.plan_problems(plan, [{"labour_capacity": "full"}], willing=False)


def _date_errors(plan: list[dict]) -> list[FieldError]:
    errors = []
    for index, measure in enumerate(plan):
        start, end = measure.get("start"), measure.get("end")
        if start and end and end < start:
            errors.append(
                FieldError(
                    f"plan_measures.{index}.end",
                    f"帮扶措施 / 第{index + 1}项 / 结束日期：" "不能早于开始日期",
                )
            )
    return errors


def _named_department(measure: dict) -> dict:
    department = measure.get("department", "")
    return dict(measure, department=DEPARTMENTS.get(department, department))


def _declared_plan(workflow) -> list[dict]:
    """The measures as the town approved them, from the declaration's data.

    A returned draft is drafted again; the declaration's data holds the last.
    """
    declared = workflow.get_tasks(
        spec_name="declare_measures", state=TaskState.COMPLETED
    )
    return declared[-1].data.get("plan_measures", []) if declared else []


register(AssistancePlan())
