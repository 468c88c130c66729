"""A new risk after elimination: identification again (guide Q31, Q39).

The household stays in the system as eliminated (Q39); a new clue about it is
recorded on the clue page and starts identification as for any household. Not
identified again, it returns to eliminated, never to ordinary.
"""

from __future__ import annotations

import re


from engine.models import Instance

from .desk import case_id
from .identification_steps import (
    CROSS_CHECK,
    DEMOCRATIC_REVIEW,
    SYSTEM_ENTRY,
    TOWN_APPROVES,
    approve,
    home_verification,
)
from .test_elimination import eliminate, household, identify, pass_notice, today


def _eliminated_household(fangfan, desks, new_id_number) -> int:
    household_id = identify(fangfan, desks, new_id_number)
    eliminate(fangfan, desks, household_id)
    assert household(fangfan, household_id).status == "eliminated"
    return household_id


def _new_clue(fangfan, desks, household_id: int) -> int:
    """The village cadre records a new risk of the known household (Q31, Q34)."""
    response = desks["village"].report_clue(
        {
            "household_id": str(household_id),
            "source": "application",
            "description": "家中房屋因暴雨受损，需重建",
        }
    )
    assert response.status_code == 302, response.text
    return case_id(response)


def _verify_and_review(fangfan, desks, household_id: int) -> None:
    ids = [m["id_number"] for m in household(fangfan, household_id).members]
    town, village, on = desks["town"], desks["village"], today(fangfan)
    assert (
        town.complete(
            household_id,
            "home_verification",
            home_verification(*ids, risks=("disaster", "housing"), verified_on=on),
        ).status_code
        == 302
    )
    assert (
        desks["county"]
        .complete(household_id, "data_cross_check", CROSS_CHECK)
        .status_code
        == 302
    )
    assert (
        village.complete(
            household_id,
            "democratic_review",
            {**DEMOCRATIC_REVIEW, "review_held_on": on},
        ).status_code
        == 302
    )


def _case_rows(page: str) -> list[tuple[str, str]]:
    """(procedure, state) of each row of the household's case table."""
    table = re.search(r'<table id="household-cases">(.*?)</table>', page, re.S).group(1)
    return re.findall(
        r"</a></td>\s*<td>([^<]*)</td>.*?<td>([^<]*)</td></tr>", table, re.S
    )


def test_eliminated_household_can_be_chosen_for_a_new_clue(
    fangfan, desks, new_id_number
):
    household_id = _eliminated_household(fangfan, desks, new_id_number)

    page = desks["village"].get("/clues/new").text

    option = re.search(rf'<option value="{household_id}"[^>]*>', page).group(0)
    assert "disabled" not in option


def test_new_risk_after_elimination_means_identification_again(
    fangfan, desks, new_id_number
):
    """Guide Q31: 应按程序重新识别为监测帮扶对象."""
    household_id = _eliminated_household(fangfan, desks, new_id_number)
    first_eliminated_on = household(fangfan, household_id).eliminated_on

    second = _new_clue(fangfan, desks, household_id)
    assert household(fangfan, household_id).status == "in_identification"
    _verify_and_review(fangfan, desks, household_id)
    assert (
        desks["town"].complete(household_id, "town_review", TOWN_APPROVES).status_code
        == 302
    )
    pass_notice(fangfan)
    assert (
        desks["approver"]
        .complete(household_id, "county_approval", approve("marginal"))
        .status_code
        == 302
    )
    assert (
        desks["county"]
        .complete(
            household_id, "system_entry", {**SYSTEM_ENTRY, "entered_on": today(fangfan)}
        )
        .status_code
        == 302
    )

    again = household(fangfan, household_id)
    with fangfan.sessions() as session:
        assert session.get(Instance, second).status == "completed"
    assert (again.status, again.category) == ("monitored", "marginal")
    assert again.identified_on > first_eliminated_on

    page = desks["town"].get(f"/households/{household_id}").text
    rows = _case_rows(page)
    assert [r for r in rows if r[0] == "识别认定"] == [("识别认定", "已办结")] * 2
    assert [r for r in rows if r[0] == "风险消除"] == [("风险消除", "已办结")]
    procedures = [r[0] for r in rows if r[0] in ("识别认定", "风险消除")]
    assert procedures == ["识别认定", "风险消除", "识别认定"], "in the order they ran"
    assert "/start/elimination" in page, "monitored again: it may be eliminated again"


def test_household_not_identified_again_returns_to_eliminated(
    fangfan, desks, new_id_number
):
    """Guide Q31: a second identification that is not approved changes nothing."""
    household_id = _eliminated_household(fangfan, desks, new_id_number)
    before = household(fangfan, household_id)

    second = _new_clue(fangfan, desks, household_id)
    _verify_and_review(fangfan, desks, household_id)
    response = desks["town"].complete(
        household_id,
        "town_review",
        {"town_decision": "reject", "town_reasons": "房屋已由保险理赔修缮，可自行解决"},
    )
    assert response.status_code == 302

    after = household(fangfan, household_id)
    with fangfan.sessions() as session:
        assert session.get(Instance, second).status == "completed"
    assert after.status == "eliminated"
    assert (after.eliminated_on, after.identified_on, after.category) == (
        before.eliminated_on,
        before.identified_on,
        before.category,
    )
    assert after.measures == before.measures
    assert "已消除风险" in desks["town"].get(f"/households/{household_id}").text
