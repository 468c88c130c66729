"""The assistance plan end to end through the HTTP layer (guide Q18, Q20–Q23, Q29).

A household is identified over HTTP as in ``test_identification_http``; the
county's approval starts its plan in the same transaction, and the officials
draft, review and declare it at their desks.
"""

from __future__ import annotations

import importlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock, history
from engine.clock import CHINA, local_date
from engine.errors import NotAllowed
from engine.models import Household, Instance, OpenTask
from engine.runtime import Official
from fangfan.household_states import ForbiddenMove
from fangfan.procedures import procedure_for
from fangfan.rules import MEASURE_TYPES

from .identification_steps import (
    OPERATOR,
    identify_household,
    report_new_household,
)

FORMS = Path(__file__).resolve().parent.parent / "forms"
NO_LABOUR = {"members.0.labour_capacity": "none", "members.1.labour_capacity": "none"}


def _plan(
    *measures, willing: bool = True, unwilling_reason: str = ""
) -> list[tuple[str, str]]:
    """The draft form: measures as (type, department[, end date])."""
    pairs = []
    for index, (kind, department, *end) in enumerate(measures):
        pairs += [
            (f"plan_measures.{index}.type", kind),
            (f"plan_measures.{index}.department", department),
            (f"plan_measures.{index}.start", "2026-12-12"),
            (f"plan_measures.{index}.note", "按户施策"),
        ]
        if end:
            pairs.append((f"plan_measures.{index}.end", end[0]))
    if willing:
        pairs.append(("plan_labour_willing", "on"))
    if unwilling_reason:
        pairs.append(("plan_unwilling_reason", unwilling_reason))
    pairs.append(("plan_risk_analysis", "户主患病，配偶可务工，缺稳定收入来源"))
    return pairs


GOOD_PLAN = _plan(
    ("employment", "human_resources"), ("medical_aid", "health_insurance")
)


def _declaration(fangfan) -> dict:
    """The county declares today (a date to come or before the case is refused)."""
    with fangfan.sessions() as session:
        today = local_date(clock.now(session))
    return {
        "plan_declared_on": today.isoformat(),
        "plan_tracking_note": "已通知人社、医保部门落实",
    }


def _departments() -> dict:
    """The procedure module's departments, read once the registry has loaded it.

    Importing a procedure module at collection time would register it before
    the registry imports the others (see ``fangfan.procedures._load_all``).
    """
    module = type(procedure_for("assistance_plan")).__module__
    return importlib.import_module(module).DEPARTMENTS


def _household(fangfan, household_id: int) -> Household:
    with fangfan.sessions() as session:
        return session.get(Household, household_id)


def _plan_case(fangfan, household_id: int) -> Instance:
    with fangfan.sessions() as session:
        return session.scalars(
            select(Instance).where(
                Instance.household_id == household_id,
                Instance.process_id == "assistance_plan",
            )
        ).one()


def _draft_task(fangfan, household_id: int) -> OpenTask:
    with fangfan.sessions() as session:
        return session.scalars(
            select(OpenTask).where(
                OpenTask.household_id == household_id,
                OpenTask.task_name == "draft_plan",
            )
        ).one()


def _declare(fangfan, desks, household_id: int, plan) -> None:
    """Draft, town approval and the county's declaration, each accepted."""
    village, town, county = desks["village"], desks["town"], desks["county"]
    assert village.complete(household_id, "draft_plan", plan).status_code == 302
    assert (
        town.complete(
            household_id, "review_plan", {"plan_town_decision": "approve"}
        ).status_code
        == 302
    )
    assert (
        county.complete(
            household_id, "declare_measures", _declaration(fangfan)
        ).status_code
        == 302
    )


def test_identification_starts_a_plan_due_within_ten_days(
    fangfan, desks, new_id_number
):
    """Guide Q23: plan and declaration within 10 days of identification."""
    household_id = identify_household(fangfan, desks, new_id_number)

    plan_case = _plan_case(fangfan, household_id)
    with fangfan.sessions() as session:
        events = history.events_of(session, plan_case.id)
    started = events[0]
    assert started.actor == "system"
    assert started.data["data"]["trigger"] == "identification"
    assert (
        started.data["data"]["identified_on"]
        == _household(fangfan, household_id).identified_on.isoformat()
    )
    assert [m["labour_capacity"] for m in started.data["data"]["members"]] == [
        "weak",
        "full",
    ]

    due = _draft_task(fangfan, household_id).due_at
    assert due - plan_case.started_at == timedelta(days=10)
    inbox = desks["village"].get("/").text
    assert desks["village"].task_for(household_id, "draft_plan")
    assert due.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") + " 前" in inbox
    assert desks["village2"].task_for(household_id, "draft_plan") is None


def test_plan_is_only_started_by_another_procedure(fangfan, desks, new_id_number):
    household_id = identify_household(fangfan, desks, new_id_number)

    page = desks["village"].get(f"/households/{household_id}").text
    assert "发起帮扶计划" not in page
    assert (
        desks["village"]
        .get(f"/households/{household_id}/start/assistance_plan")
        .status_code
        == 404
    )
    with pytest.raises(NotAllowed):
        fangfan.engine.start(
            "assistance_plan",
            household_id,
            {},
            Official("village", "village_cadre", "371321101200"),
        )


def test_plan_is_refused_for_a_household_that_is_not_monitored(
    fangfan, desks, new_id_number
):
    case_id = report_new_household(desks["town"], new_id_number())
    with fangfan.sessions() as session:
        household = session.get(Household, session.get(Instance, case_id).household_id)
        with pytest.raises(ForbiddenMove) as refused:
            procedure_for("assistance_plan").check_start(session, household, None, {})
    assert "不能发起“帮扶计划”" in refused.value.message_zh


def test_cash_handouts_are_no_development_measure_for_willing_labour(
    fangfan, desks, new_id_number
):
    """Guide Q20, Q21: handouts, dividends, useless training do not count."""
    household_id = identify_household(fangfan, desks, new_id_number)
    task_before = _draft_task(fangfan, household_id)
    version_before = _plan_case(fangfan, household_id).version

    refused = desks["village"].complete(
        household_id,
        "draft_plan",
        _plan(
            ("cash_or_goods", "civil_affairs"),
            ("shares_and_dividends", "agriculture"),
            ("training_without_capacity", "human_resources"),
        ),
    )

    assert refused.status_code == 400
    assert "至少落实一项产业就业等开发式帮扶措施" in refused.text
    assert "指南第20、21问" in refused.text
    assert _draft_task(fangfan, household_id).task_id == task_before.task_id
    assert _plan_case(fangfan, household_id).version == version_before
    assert desks["town"].task_for(household_id, "review_plan") is None
    assert _household(fangfan, household_id).measures == []


def test_development_measure_is_asked_only_of_willing_labour(
    fangfan, desks, new_id_number
):
    """Guide Q20: 有劳动能力、有意愿的 — without the will, the rule does not bind."""
    household_id = identify_household(fangfan, desks, new_id_number)
    village = desks["village"]

    no_reason = village.complete(
        household_id,
        "draft_plan",
        _plan(("medical_aid", "health_insurance"), willing=False),
    )
    response = village.complete(
        household_id,
        "draft_plan",
        _plan(
            ("medical_aid", "health_insurance"),
            willing=False,
            unwilling_reason="配偶需全职照护患病户主，暂无外出务工意愿",
        ),
    )

    assert no_reason.status_code == 400 and "请写明原因" in no_reason.text
    assert response.status_code == 302
    assert desks["town"].task_for(household_id, "review_plan")


def test_plan_needs_at_least_one_measure(fangfan, desks, new_id_number):
    """Guide Q18: every monitored household gets measures."""
    household_id = identify_household(fangfan, desks, new_id_number)

    refused = desks["village"].complete(household_id, "draft_plan", _plan())

    assert refused.status_code == 400
    assert "至少包含一项帮扶措施" in refused.text


def test_household_without_labour_gets_the_safety_net(fangfan, desks, new_id_number):
    """Guide Q20: no labour → safety net; Q29: it is a safety-net household."""
    household_id = identify_household(fangfan, desks, new_id_number, **NO_LABOUR)

    refused = desks["village"].complete(
        household_id,
        "draft_plan",
        _plan(
            ("medical_aid", "health_insurance"),
            ("temporary_assistance", "civil_affairs"),
            willing=False,
        ),
    )
    assert refused.status_code == 400
    assert "兜底保障" in refused.text
    assert desks["town"].task_for(household_id, "review_plan") is None

    safety_net = _plan(
        ("minimum_allowance", "civil_affairs"),
        ("medical_aid", "health_insurance"),
        willing=False,
    )
    _declare(fangfan, desks, household_id, safety_net)

    household = _household(fangfan, household_id)
    assert household.safety_net_household
    page = desks["village"].get(f"/households/{household_id}").text
    assert "整户无劳动能力兜底保障户" in page


def test_household_with_labour_is_no_safety_net_household(
    fangfan, desks, new_id_number
):
    """Guide Q29: only a household where no member can work."""
    household_id = identify_household(fangfan, desks, new_id_number)

    _declare(
        fangfan,
        desks,
        household_id,
        _plan(
            ("public_welfare_job", "human_resources"),
            ("minimum_allowance", "civil_affairs"),
        ),
    )

    assert not _household(fangfan, household_id).safety_net_household


def test_measure_cannot_end_before_it_starts(fangfan, desks, new_id_number):
    household_id = identify_household(fangfan, desks, new_id_number)

    refused = desks["village"].complete(
        household_id, "draft_plan", _plan(("microcredit", "finance", "2026-01-01"))
    )

    assert refused.status_code == 400
    assert "不能早于开始日期" in refused.text


def test_town_returns_the_plan_and_the_redraft_is_declared(
    fangfan, desks, new_id_number
):
    """Guide Q23: the town guides the village; the county declares and follows up."""
    household_id = identify_household(fangfan, desks, new_id_number)
    village, town, county = desks["village"], desks["town"], desks["county"]
    departments = _departments()
    assert village.complete(household_id, "draft_plan", GOOD_PLAN).status_code == 302

    without_reason = town.complete(
        household_id, "review_plan", {"plan_town_decision": "return"}
    )
    assert without_reason.status_code == 400
    assert "退回理由" in without_reason.text
    returned = town.complete(
        household_id,
        "review_plan",
        {
            "plan_town_decision": "return",
            "plan_town_reasons": "配偶有养殖经验，可发展产业并申请小额信贷",
        },
    )
    assert returned.status_code == 302
    assert town.task_for(household_id, "review_plan") is None

    redraft = _plan(
        ("industry", "agriculture"),
        ("microcredit", "finance", "2029-12-11"),
        ("medical_aid", "health_insurance"),
    )
    _declare(fangfan, desks, household_id, redraft)

    plan_case = _plan_case(fangfan, household_id)
    assert plan_case.status == "completed"
    page = village.get(f"/households/{household_id}").text
    table = page[
        page.index('id="measures"') : page.index(
            "</table>", page.index('id="measures"')
        )
    ]
    assert MEASURE_TYPES["industry"][0] in table
    assert MEASURE_TYPES["microcredit"][0] in table
    assert departments["finance"] in table and "2029-12-11" in table
    assert "实施中" in table
    assert (
        MEASURE_TYPES["employment"][0] not in table
    ), "the returned draft is not declared"

    with fangfan.sessions() as session:
        events = history.events_of(session, plan_case.id)
    steps = [(e.task_name, e.actor) for e in events if e.kind == "task_completed"]
    assert steps == [
        ("draft_plan", "village"),
        ("review_plan", "town"),
        ("draft_plan", "village"),
        ("review_plan", "town"),
        ("declare_measures", "county"),
    ]
    assert history.verify_chain(events) == []
    assert county.task_for(household_id, "declare_measures") is None
    case_page = county.get(f"/cases/{plan_case.id}").text
    assert "帮扶措施已申报" in case_page and "记录链完整" in case_page


def test_declaration_cannot_be_dated_ahead(fangfan, desks, new_id_number):
    household_id = identify_household(fangfan, desks, new_id_number)
    desks["village"].complete(household_id, "draft_plan", GOOD_PLAN)
    desks["town"].complete(
        household_id, "review_plan", {"plan_town_decision": "approve"}
    )
    tomorrow = date.fromisoformat(
        _declaration(fangfan)["plan_declared_on"]
    ) + timedelta(days=1)

    refused = desks["county"].complete(
        household_id, "declare_measures", {"plan_declared_on": tomorrow.isoformat()}
    )

    assert refused.status_code == 400
    assert "申报日期：不能晚于今天" in refused.text
    assert _household(fangfan, household_id).measures == []
    assert desks["county"].task_for(household_id, "declare_measures")


def test_missed_ten_day_deadline_is_escalated_to_the_town(
    fangfan, desks, new_id_number
):
    """Guide Q23: 原则上10天内; past it the level above the village supervises."""
    household_id = identify_household(fangfan, desks, new_id_number)
    assert desks["town"].escalation_for(household_id, "draft_plan") is None

    fangfan.advance_clock(9.5, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert desks["town"].escalation_for(household_id, "draft_plan") is None

    fangfan.advance_clock(1, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1
    assert desks["town"].escalation_for(household_id, "draft_plan")
    assert "已超期" in desks["village"].get("/").text
    assert desks["village"].task_for(
        household_id, "draft_plan"
    ), "a passed deadline escalates; the plan itself stays open"

    supervised = desks["town"].supervise(
        household_id,
        "draft_plan",
        {"supervision_action": "约谈岸堤村，限3日内完成帮扶计划"},
    )
    assert supervised.status_code == 302
    _declare(fangfan, desks, household_id, GOOD_PLAN)
    assert len(_household(fangfan, household_id).measures) == 2


def test_declaring_the_plan_ends_an_open_escalation(fangfan, desks, new_id_number):
    household_id = identify_household(fangfan, desks, new_id_number)
    fangfan.advance_clock(10.5, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert desks["town"].escalation_for(household_id, "draft_plan")

    _declare(fangfan, desks, household_id, GOOD_PLAN)

    assert desks["town"].escalation_for(household_id, "draft_plan") is None
    assert _plan_case(fangfan, household_id).status == "completed"


def test_draft_form_offers_every_measure_type_of_the_rules(fangfan):
    """The form's options and ``rules.MEASURE_TYPES`` must not drift apart."""
    schema = json.loads((FORMS / "plan_draft.json").read_text(encoding="utf-8"))
    item = schema["properties"]["plan_measures"]["items"]["properties"]
    assert {o["const"]: o["title"] for o in item["type"]["oneOf"]} == {
        code: kind[0] for code, kind in MEASURE_TYPES.items()
    }
    departments = item["department"]["oneOf"]
    assert {o["const"]: o["title"] for o in departments} == _departments()
