"""Removal, rollback and safety-net status change (清退 / 回退 / 兜底身份变更).

Guide Q40: removal and rollback are never delegated downwards. The city bureau
collects and checks the requests, its head reviews them, the provincial bureau
reviews and applies in writing to the national bureau, and only after the
national bureau's consent and filing is the operation carried out. Guide Q29
sends a change in a safety-net household's minimum-allowance or
extreme-hardship status the same way.

The flow is ``processes/status_change.bpmn``. Here: only the city bureau
starts it; the requested change must fit the household as it is; and the
change is applied by the engine when the province records the national
bureau's consent, never earlier. The household keeps its state while the
request climbs, so the change is checked again against it at consent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from engine import forms
from engine.errors import Conflict, InvalidData
from engine.forms import FieldError
from engine.models import Household, HouseholdMember, Instance
from fangfan import household_states, measures
from fangfan.rules import has_labour

from . import Procedure, household_data, register

#: What the city bureau may request, code → Chinese.
CHANGE_KINDS = {
    "removal": "清退",
    "rollback": "回退",
    "safety_net_on": "标识为整户无劳动能力兜底保障户",
    "safety_net_off": "取消整户无劳动能力兜底保障户标识",
}

#: What a rollback undoes: the status change → (state it needs, state it returns to).
ROLLBACKS = {
    "elimination": ("eliminated", "monitored"),
    "identification": ("monitored", "ordinary"),
}


class StatusChange(Procedure):
    process_id = "status_change"
    title = "清退回退和兜底身份变更"
    #: Guide Q40: not opened to counties, towns or villages.
    starters = frozenset({"city_bureau"})
    from_states = frozenset({"monitored", "eliminated"})
    start_form = "status_change_start.json"

    def check_start(
        self, session: Session, household: Household, official, data: dict
    ) -> None:
        super().check_start(session, household, official, data)

        problems = forms.validate(self.start_form, data)
        if problems:
            raise InvalidData(problems)

        problem = change_problem(household, data)
        if problem:
            raise household_states.refuse(
                household, f"申请{_kind_label(data)}", problem
            )

        running = session.scalar(
            select(Instance.id)
            .where(
                Instance.household_id == household.id,
                Instance.process_id == self.process_id,
                Instance.status == "running",
            )
            .limit(1)
        )
        if running is not None:
            raise Conflict(
                f"household {household.id} has status change {running} running",
                f"该农户已有正在办理的清退、回退或兜底身份变更申请（案件#{running}），"
                "请待其办结后再申请",
            )

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        """The request, with the household as it was when the city bureau made it."""
        return {
            **data,
            "household": household_data(household),
            "status_at_request": household.status,
            "safety_net_at_request": bool(household.safety_net_household),
        }

    def check_task(
        self, task_name: str, data: dict, workflow_data: dict, task_data: dict
    ) -> list:
        if task_name != "record_national_consent":
            return []

        applied_on = task_data.get("province_apply_sent_on")
        consent_on = data.get("national_consent_on")
        if applied_on and consent_on and consent_on < applied_on:
            return [
                FieldError(
                    "national_consent_on",
                    f"复函日期不能早于向国家乡村振兴局申请的日期（{applied_on}）",
                )
            ]
        return []

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        """Guide Q29, Q40: carried out once the national bureau agrees, not before."""
        if task_name != "record_national_consent":
            return
        if data.get("national_consent") != "yes":
            return

        request = workflow.data
        problem = change_problem(household, request)
        if problem:
            # Another procedure moved the household while the request climbed.
            raise Conflict(
                f"household {household.id} no longer fits the consented change",
                f"国家乡村振兴局同意的{_kind_label(request)}已不能执行：{problem}。"
                "请核实农户当前状态，待其与申请时一致后再登记",
            )
        apply_change(household, request)

    def closes_others(
        self, household: Household, workflow, task_name: str | None
    ) -> str | None:
        """A removal or a rollback to ordinary ends the household's other cases."""
        if household.status == "removed" or (
            household.status == "ordinary" and task_name == "record_national_consent"
        ):
            return "农户已清退或回退，经国家乡村振兴局同意，其余在办业务随之关闭（指南第40问）"
        return None


def change_problem(household: Household, request: dict) -> str | None:
    """Why the requested change does not fit the household (Chinese), or None."""
    kind = request.get("change_kind")
    state = household_states.label(household.status)

    if household.status not in StatusChange.from_states:
        return f"该农户当前为“{state}”，不是监测对象或已消除风险的监测对象"

    if kind == "rollback":
        needed, _ = ROLLBACKS[request["change_rollback_of"]]
        if household.status != needed:
            return (
                f"该农户当前为“{state}”，"
                f"只有“{household_states.label(needed)}”的农户才能回退此项"
            )
        if household.status == "monitored" and household.status_before == "eliminated":
            # Q31: identified again after elimination; its earlier record is gone.
            return (
                "该农户是风险消除后再次识别的监测对象（指南第31问），撤销本次识别应恢复为"
                "“已消除风险”，原识别时间和类型已不在系统中，请按实际情况申请清退或人工处理"
            )

    if kind == "safety_net_on":
        if household.status != "monitored":
            return (
                "只有未消除风险的监测对象才能标识为整户无劳动能力兜底保障户"
                f"（指南第28、29问），该农户当前为“{state}”"
            )
        if household.safety_net_household:
            return "该农户已标识为整户无劳动能力兜底保障户"
        if not household.members:
            return "该农户未登记家庭成员，无法确认整户无劳动能力"
        if has_labour(household.members):
            return "该农户有家庭成员具有劳动能力，不属于整户无劳动能力兜底保障户（指南第29问）"

    if kind == "safety_net_off" and not household.safety_net_household:
        return "该农户未标识为整户无劳动能力兜底保障户，无需取消"
    return None


def apply_change(household: Household, request: dict) -> None:
    """Carry out a consented change on the household (guide Q29, Q40)."""
    kind = request["change_kind"]

    if kind == "removal":
        household_states.move(household, "removed")
        measures.stop_all(household)
        # A wrong record lets its people go: they may be registered correctly.
        object_session(household).execute(
            delete(HouseholdMember).where(HouseholdMember.household_id == household.id)
        )

    elif kind == "rollback":
        _, back_to = ROLLBACKS[request["change_rollback_of"]]
        household_states.move(household, back_to)
        if back_to == "monitored":
            household.eliminated_on = None
        else:
            household.category = None
            household.identified_on = None
            household.safety_net_household = False
            measures.stop_all(household)  # no assistance outside the system (Q17)

    elif kind == "safety_net_on":
        household.safety_net_household = True

    elif kind == "safety_net_off":
        household.safety_net_household = False


def _kind_label(request: dict) -> str:
    return CHANGE_KINDS.get(request.get("change_kind"), "变更")


register(StatusChange())
