"""The steps of an identification, as the officials fill them in (guide Q33).

Shared by the HTTP tests and the browser test so both speak of the same case.
"""

from __future__ import annotations

from datetime import datetime

from engine.clock import CHINA
from engine.models import Household
from engine.runtime import Official
from fangfan.demo_data import TOWN_CODE, VILLAGE_CODE

from .desk import Desk, case_id

#: Who moves the simulated clock in the tests, as a trainer would in the demo.
OPERATOR = Official("trainer", "process_owner", "370000000000")
TOWN = Official("town", "town_official", TOWN_CODE)

#: The simulated demo year's monitoring line is 8,000 yuan per person (2026).
BELOW_LINE_WAGES = "5000"  # yuan for the whole household of two: 2,500 each
ABOVE_LINE_WAGES = "40000"  # 20,000 each


def start_directly(fangfan, id_number: str, name: str = "计时户") -> int:
    """An identification for a household registered straight in the database,
    for tests of the engine and its timers rather than of the pages."""
    with fangfan.sessions.begin() as session:
        household = Household(
            division_code=VILLAGE_CODE,
            head_name=name,
            head_id_number=id_number,
            members=[],
        )
        session.add(household)
    return fangfan.engine.start(
        "identification",
        household.id,
        {"clue": {"source": "screening", "description": "排查"}},
        TOWN,
    )


def report_new_household(
    town: Desk, id_number: str, lifted_out: bool = False, name: str = "测试户主"
) -> int:
    """The town official records a risk clue about a household new to the system."""
    fields = {
        "household_id": "new",
        "head_name": name,
        "head_id_number": id_number,
        "phone": "13912345678",
        "division_code": VILLAGE_CODE,
        "source": "screening",
        "description": "户主突发重病，住院费用较高",
    }
    if lifted_out:
        fields["lifted_out"] = "on"
    response = town.report_clue(fields)
    assert response.status_code == 302, response.text
    return case_id(response)


def home_verification(
    head_id: str,
    spouse_id: str,
    wages: str = BELOW_LINE_WAGES,
    risks=("illness",),
    severe_hardship: bool = False,
    self_reliant: bool = False,
    already_cross_checked: bool = False,
    **overrides,
) -> list[tuple[str, str]]:
    fields = {
        "members.0.name": "测试户主",
        "members.0.id_number": head_id,
        "members.0.relation": "head",
        "members.0.residence_type": "rural",
        "members.0.labour_capacity": "weak",
        "members.0.safety_net": "none",
        "members.1.name": "测试配偶",
        "members.1.id_number": spouse_id,
        "members.1.relation": "spouse",
        "members.1.residence_type": "rural",
        "members.1.labour_capacity": "full",
        "members.1.safety_net": "none",
        "income.wages_fen": wages,
        "income.business_fen": "0",
        "income.transfer_fen": "1200.50",
        "income.property_fen": "0",
        "income.business_costs_fen": "0",
        "insurance_payouts_fen": "0",
        "out_of_pocket.medical_fen": "18000",
        "out_of_pocket.schooling_fen": "0",
        "out_of_pocket.disaster_fen": "0",
        "guarantees.education": "on",
        "guarantees.medical": "on",
        "guarantees.housing": "on",
        "guarantees.drinking_water": "on",
        "consent": "on",
        "verified_on": today(),
    }
    if severe_hardship:
        fields["severe_hardship"] = "on"
    if self_reliant:
        fields["self_reliant"] = "on"
    if already_cross_checked:
        fields["already_cross_checked"] = "on"
    fields.update(overrides)
    pairs = [(k, v) for k, v in fields.items() if v is not None]
    pairs += [("risk_types", risk) for risk in risks]
    return pairs


def parsed_home_verification(ids) -> dict:
    """The same form as posted, parsed as the workbench parses it."""
    from werkzeug.datastructures import MultiDict

    from engine.forms import load_form
    from web.formfields import parse

    return parse(
        load_form("home_verification.json"), MultiDict(home_verification(*ids))
    )


def today() -> str:
    """Today in China, as the forms' date fields take it.

    Dates are computed when a step is filled in, not when this module is
    imported: a case begun after midnight in China must not get yesterday.
    """
    return datetime.now(CHINA).date().isoformat()


def democratic_review() -> dict:
    return {
        "review_meeting": "representatives_meeting",
        "review_held_on": today(),
        "review_result": "agree",
        "review_votes_for": "21",
        "review_votes_against": "2",
    }


def system_entry() -> dict:
    return {"announcement_no": "沂南乡振〔2026〕12号", "entered_on": today()}


#: Kept for tests that take a fixed dict; the dates are today's at import.
DEMOCRATIC_REVIEW = democratic_review()

TOWN_APPROVES = {"town_decision": "approve"}

CROSS_CHECK = {
    "cross_check_departments": "civil_affairs",
    "cross_check_findings": "未发现异常",
}

SYSTEM_ENTRY = system_entry()


def approve(category: str, reason: str | None = None) -> dict:
    fields = {"approval_decision": "approve", "approved_category": category}
    if reason:
        fields["override_reason"] = reason
    return fields


def identify_household(fangfan, desks, new_id_number, **verification) -> int:
    """Take a new ordinary household through the whole identification; its id.

    The household is approved as 边缘易致贫户; ``verification`` changes the
    home verification's fields (e.g. labour capacity). Forms are dated on the
    simulated clock, which earlier steps of a test may have moved.
    """
    from engine import clock
    from engine.models import Instance

    def simulated_today() -> str:
        with fangfan.sessions() as session:
            return clock.local_date(clock.now(session)).isoformat()

    ids = (new_id_number(), new_id_number())
    with fangfan.sessions() as session:
        household_id = session.get(
            Instance, report_new_household(desks["town"], ids[0])
        ).household_id

    on = simulated_today()
    steps = (
        (
            "town",
            "home_verification",
            home_verification(*ids, **{"verified_on": on, **verification}),
        ),
        ("county", "data_cross_check", CROSS_CHECK),
        ("village", "democratic_review", {**democratic_review(), "review_held_on": on}),
        ("town", "town_review", TOWN_APPROVES),
    )
    for desk, step, fields in steps:
        response = desks[desk].complete(household_id, step, fields)
        assert response.status_code == 302, response.text

    fangfan.advance_clock(5.1, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1, "the 5-day notice passes"

    entry = {**system_entry(), "entered_on": simulated_today()}
    for desk, step, fields in (
        ("approver", "county_approval", approve("marginal")),
        ("county", "system_entry", entry),
    ):
        response = desks[desk].complete(household_id, step, fields)
        assert response.status_code == 302, response.text
    return household_id
