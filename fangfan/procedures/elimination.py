"""Risk elimination (风险消除): guide Q19, Q25–Q28, Q37.

The flow is ``processes/elimination.bpmn``. Here: the town official proposes
it for a monitored household, and the start is refused, with the guide's
reason, unless income is above this year's monitoring line, stably for half a
year (the half year is waived for natural elimination, Q27), the guarantees
hold, the risk found at identification is gone and no new one has appeared
(Q25, Q27). A safety-net
household is not eliminated (Q28), and one household has one elimination at a
time. There is no quota anywhere (Q26). County approval marks the household
eliminated on the day; measures with a term run on to their end (Q19), and the
household stays in the system as eliminated (Q39) until a new risk brings it
back to identification (Q31).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, forms
from engine.clock import local_date
from engine.errors import InvalidData, NotFound
from engine.forms import FieldError
from engine.models import Household, Instance, MonitoringLine
from fangfan import household_states, measures
from fangfan.rules import net_income_per_capita_fen, yuan

from . import Procedure, household_data, register, review_problems

#: Guide Q27: in the transition period income counts as stable after half a year.
STABLE_MONTHS = 6


class Elimination(Procedure):
    process_id = "elimination"
    title = "风险消除"
    starters = frozenset({"town_official"})
    from_states = frozenset({"monitored"})
    start_form = "elimination_start.json"

    def check_start(
        self, session: Session, household: Household, official, data: dict
    ) -> None:
        super().check_start(session, household, official, data)
        wanted = f"发起“{self.title}”"

        if household.safety_net_household:
            raise household_states.refuse(
                household, wanted, "整户无劳动能力兜底保障户暂不消除风险（指南第28问）"
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
            raise household_states.refuse(
                household,
                wanted,
                f"该农户已有正在办理的风险消除（案件 #{running}），不能重复发起",
            )

        problems = forms.validate(self.start_form, data)
        if problems:
            raise InvalidData(problems)

        today = local_date(clock.now(session))
        line_fen = _monitoring_line(session, today.year)
        problems = _record_problems(household, data, today)
        problems += _unmet_conditions(data, today.year, line_fen)
        if problems:
            raise InvalidData(problems)

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        year = local_date(now).year
        line_fen = _monitoring_line(session, year)
        return {
            "household": household_data(household),
            "elimination_kind": data["elimination_kind"],
            "elimination_income": dict(data["elimination_income"]),
            "elimination_member_count": data["elimination_member_count"],
            "income_stable_months": data["income_stable_months"],
            "guarantees_secure": data["guarantees_secure"],
            "original_risk_gone": data["original_risk_gone"],
            "no_new_risk": data["no_new_risk"],
            "elimination_note": data.get("elimination_note", ""),
            "monitoring_line_fen": line_fen,
            "monitoring_line_year": year,
            "declared_per_capita_income_fen": _per_capita(data),
            "stable_months_required": STABLE_MONTHS,
        }

    def check_task(
        self, task_name: str, data: dict, workflow_data: dict, task_data: dict
    ) -> list:
        if task_name == "elimination_democratic_review":
            return review_problems(data, prefix="elimination_")
        return []

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        """County approval marks the risk eliminated on the day (Q37, Q19, Q39).

        A household marked as a safety-net household while the case ran is
        still not eliminated (Q28): the approval is refused and may only reject.
        """
        if (
            task_name == "elimination_approval"
            and data.get("elimination_approval_decision") == "approve"
        ):
            if household.safety_net_household:
                raise InvalidData(
                    [
                        FieldError(
                            "elimination_approval_decision",
                            "该户已认定为整户无劳动能力兜底保障户，暂不消除风险（指南第28问），"
                            "请选择不予批准",
                        )
                    ]
                )
            today = local_date(now)
            household_states.move(household, "eliminated")
            household.eliminated_on = today
            measures.on_elimination(household, today)


def _monitoring_line(session: Session, year: int) -> int:
    line = session.get(MonitoringLine, year)
    if line is None:
        raise NotFound(
            f"no monitoring line for {year}",
            f"尚未设置{year}年省定防止返贫监测线，无法判断收入是否稳定超过当年监测线"
            f"（指南第10、25问），请联系省乡村振兴局",
        )
    return line.amount_fen


def _months_between(start: date, end: date) -> int:
    return (
        (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    )


def _record_problems(household: Household, data: dict, today: date) -> list:
    """What the proposal claims that the household's record contradicts.

    The members counted are the ones on record (income per capita divides by
    them, Q12), and income cannot have been stable above the line for longer
    than the household has been monitored (Q27, Q41: no rushed elimination).
    """
    problems = []
    recorded = len(household.members or [])
    if recorded and data.get("elimination_member_count") != recorded:
        problems.append(
            FieldError(
                "elimination_member_count",
                f"家庭人口：应与登记的家庭成员一致（{recorded}人）；成员有变化的，"
                "请先核实更新家庭成员",
            )
        )

    if data.get("elimination_kind") != "natural" and household.identified_on:
        monitored = _months_between(household.identified_on, today)
        if data.get("income_stable_months", 0) > monitored:
            problems.append(
                FieldError(
                    "income_stable_months",
                    f"收入持续稳定的月数：该户{household.identified_on}识别为监测对象，"
                    f"至今仅{monitored}个月，不能多于此数（指南第27、41问）",
                )
            )
    return problems


def _per_capita(data: dict) -> int:
    return net_income_per_capita_fen(
        data["elimination_income"], data["elimination_member_count"]
    )


def _unmet_conditions(data: dict, year: int, line_fen: int) -> list[FieldError]:
    """Every condition of guide Q25/Q27 the proposal fails, each with its reason."""
    problems = []
    per_capita = _per_capita(data)
    if per_capita <= line_fen:
        problems.append(
            FieldError(
                "elimination_income",
                f"当前家庭年收入：人均纯收入{yuan(per_capita)}元，未超过{year}年省定"
                f"防止返贫监测线{yuan(line_fen)}元；收入须稳定超过当年监测线方可标注"
                f"风险消除（指南第25问）",
            )
        )
    if data["elimination_kind"] != "natural":
        months = data["income_stable_months"]
        if months < STABLE_MONTHS:
            problems.append(
                FieldError(
                    "income_stable_months",
                    f"收入持续稳定超过监测线的月数：仅{months}个月；除风险自然消除外，"
                    f"收入持续稳定原则上不少于半年（指南第27问）",
                )
            )

    if not data["guarantees_secure"]:
        problems.append(
            FieldError(
                "guarantees_secure",
                "“三保障”和饮水安全持续巩固：尚未持续巩固的，不能标注风险消除（指南第25问）",
            )
        )
    if not data["original_risk_gone"]:
        problems.append(
            FieldError(
                "original_risk_gone",
                "识别时的返贫致贫风险：尚未稳定消除或自然消除，不能标注风险消除（指南第25问）",
            )
        )
    if not data["no_new_risk"]:
        problems.append(
            FieldError(
                "no_new_risk",
                "新增返贫致贫风险：存在新增风险的不能标注风险消除，应继续落实帮扶（指南第25问）",
            )
        )
    return problems


register(Elimination())
