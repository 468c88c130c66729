"""Risk elimination end to end through the HTTP layer (guide Q19, Q25–Q28, Q37).

A household is identified over HTTP as in ``test_identification_http``; then
the town official proposes its elimination from the household page, and the
officials verify, review, post the notice and approve at their desks.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select

from engine import clock, history
from engine.clock import local_date
from engine.models import Event, Household, Instance, MonitoringLine, OpenTask
from fangfan import measures
from fangfan.demo_data import VILLAGE_CODE

from .desk import case_id
from .identification_steps import (
    OPERATOR,
    identify_household,
    report_new_household,
)


#: Yearly wages of a household of two, in yuan: 20,000 each, far above any line.
ABOVE_LINE = "40000"
#: 2,500 each, far below any line.
BELOW_LINE = "5000"


# -- the steps, as the officials fill them in --------------------------------


def identify(fangfan, desks, new_id_number, wait: bool = True) -> int:
    """Take a new ordinary household through identification; its id.

    With ``wait``, a year of monitoring passes before the test goes on.
    """
    household_id = identify_household(fangfan, desks, new_id_number)
    assert household(fangfan, household_id).status == "monitored"
    if wait:
        fangfan.advance_clock(MONITORED_DAYS, OPERATOR)
    return household_id


#: A year of monitoring before elimination is proposed: income
#: cannot have been stable longer than the household has been monitored (Q27).
MONITORED_DAYS = 375


def proposal(
    kind: str = "normal",
    wages: str = ABOVE_LINE,
    members: str = "2",
    months: str = "8",
    guarantees: bool = True,
    risk_gone: bool = True,
    no_new_risk: bool = True,
) -> dict:
    """The start form of an elimination (elimination_start.json)."""
    fields = {
        "elimination_kind": kind,
        "elimination_income.wages_fen": wages,
        "elimination_income.business_fen": "0",
        "elimination_income.transfer_fen": "1200",
        "elimination_income.property_fen": "0",
        "elimination_income.business_costs_fen": "0",
        "elimination_member_count": members,
        "income_stable_months": months,
        "elimination_note": "户主病愈返岗务工，收入稳定",
    }
    for name, checked in (
        ("guarantees_secure", guarantees),
        ("original_risk_gone", risk_gone),
        ("no_new_risk", no_new_risk),
    ):
        if checked:
            fields[name] = "on"
    return fields


def recheck(
    on: str,
    wages: str = ABOVE_LINE,
    months: str = "8",
    water: bool = True,
    risk_gone: bool = True,
    no_new_risk: bool = True,
) -> dict:
    """The home verification of an elimination (elimination_verification.json)."""
    fields = {
        "recheck_income.wages_fen": wages,
        "recheck_income.business_fen": "0",
        "recheck_income.transfer_fen": "1200",
        "recheck_income.property_fen": "0",
        "recheck_income.business_costs_fen": "0",
        "recheck_member_count": "2",
        "recheck_income_stable_months": months,
        "recheck_guarantees.education": "on",
        "recheck_guarantees.medical": "on",
        "recheck_guarantees.housing": "on",
        "recheck_on": on,
    }
    if water:
        fields["recheck_guarantees.drinking_water"] = "on"
    if risk_gone:
        fields["recheck_original_risk_gone"] = "on"
    if no_new_risk:
        fields["recheck_no_new_risk"] = "on"
    return fields


def review(
    on: str, result: str = "agree", votes_for: str = "23", votes_against: str = "0"
) -> dict:
    """The democratic review (elimination_democratic_review.json)."""
    return {
        "elimination_review_meeting": "representatives_meeting",
        "elimination_review_held_on": on,
        "elimination_review_result": result,
        "elimination_review_votes_for": votes_for,
        "elimination_review_votes_against": votes_against,
    }


TOWN_AGREES = {"elimination_town_decision": "approve"}
COUNTY_APPROVES = {
    "elimination_approval_decision": "approve",
    "elimination_announcement_no": "沂南乡振〔2026〕31号",
}


def today(fangfan) -> str:
    """Today on the simulated clock, as a form's date field holds it."""
    with fangfan.sessions() as session:
        return local_date(clock.now(session)).isoformat()


def start_elimination(desks, household_id: int, **fields):
    return desks["town"].post(
        f"/households/{household_id}/start/elimination", proposal(**fields)
    )


def pass_notice(fangfan) -> None:
    """Five days of public notice go by without objection (guide Q34, Q37)."""
    fangfan.advance_clock(5.1, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1


def to_notice(fangfan, desks, household_id: int) -> int:
    """Start, verify, review and approve at town: the case is in its notice."""
    response = start_elimination(desks, household_id)
    assert response.status_code == 302, response.text
    case = case_id(response)
    assert (
        desks["town"]
        .complete(household_id, "elimination_verification", recheck(today(fangfan)))
        .status_code
        == 302
    )
    assert (
        desks["village"]
        .complete(household_id, "elimination_democratic_review", review(today(fangfan)))
        .status_code
        == 302
    )
    assert (
        desks["town"]
        .complete(household_id, "elimination_town_review", TOWN_AGREES)
        .status_code
        == 302
    )
    assert desks["village"].task_for(household_id, "elimination_notice")
    return case


def eliminate(fangfan, desks, household_id: int) -> int:
    """The whole elimination, approved; the case id."""
    case = to_notice(fangfan, desks, household_id)
    pass_notice(fangfan)
    assert (
        desks["approver"]
        .complete(household_id, "elimination_approval", COUNTY_APPROVES)
        .status_code
        == 302
    )
    return case


# -- reading back ---------------------------------------------------------------


def household(fangfan, household_id: int) -> Household:
    with fangfan.sessions() as session:
        return session.get(Household, household_id)


def instance(fangfan, instance_id: int) -> Instance:
    with fangfan.sessions() as session:
        return session.get(Instance, instance_id)


def eliminations(fangfan, household_id: int) -> int:
    with fangfan.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(Instance)
            .where(
                Instance.household_id == household_id,
                Instance.process_id == "elimination",
            )
        )


def current_line_fen(fangfan) -> tuple[int, int]:
    with fangfan.sessions() as session:
        year = local_date(clock.now(session)).year
        return year, session.get(MonitoringLine, year).amount_fen


def assert_refused(fangfan, response, household_id: int, *reasons: str) -> None:
    """Refused on the start page with the reasons; nothing started or changed."""
    assert response.status_code in (400, 409)
    assert "未能发起" in response.text
    for reason in reasons:
        assert reason in response.text
    assert eliminations(fangfan, household_id) == 0
    assert household(fangfan, household_id).status == "monitored"


def end_of(fangfan, instance_id: int) -> str | None:
    with fangfan.sessions() as session:
        events = history.events_of(session, instance_id)
    return events[-1].data.get("end") if events[-1].kind == "completed" else None


# -- who may start it, and from which state --------------------------------


def test_town_official_is_offered_elimination_of_a_monitored_household(
    fangfan, desks, new_id_number
):
    household_id = identify(fangfan, desks, new_id_number)
    link = f"/households/{household_id}/start/elimination"

    assert link in desks["town"].get(f"/households/{household_id}").text
    assert link not in desks["village"].get(f"/households/{household_id}").text

    form = desks["town"].get(link)
    assert form.status_code == 200
    assert "发起风险消除" in form.text and "指南第25至28问" in form.text


def test_only_the_town_official_may_propose_elimination(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)

    response = desks["village"].post(
        f"/households/{household_id}/start/elimination", proposal()
    )

    assert_refused(fangfan, response, household_id, "您的岗位不能发起“风险消除”")


def test_household_not_monitored_cannot_be_eliminated(fangfan, desks, new_id_number):
    first = report_new_household(desks["town"], new_id_number())
    household_id = instance(fangfan, first).household_id

    response = start_elimination(desks, household_id)

    assert response.status_code == 409
    assert "该农户当前为“识别认定中”，不能发起“风险消除”" in response.text
    assert eliminations(fangfan, household_id) == 0
    assert household(fangfan, household_id).status == "in_identification"


def test_safety_net_household_is_not_eliminated(fangfan, desks, new_id_number):
    """Guide Q28: 整户无劳动能力兜底保障户暂不消除风险."""
    household_id = identify(fangfan, desks, new_id_number)
    with fangfan.sessions.begin() as session:
        session.get(Household, household_id).safety_net_household = True

    response = start_elimination(desks, household_id)

    assert_refused(
        fangfan,
        response,
        household_id,
        "整户无劳动能力兜底保障户暂不消除风险（指南第28问）",
    )


# -- the conditions of Q25 and Q27 -------------------------------------------------


def test_elimination_needs_income_above_this_years_line(fangfan, desks, new_id_number):
    """Guide Q25: income stably above the line of the current year."""
    household_id = identify(fangfan, desks, new_id_number)
    year, line_fen = current_line_fen(fangfan)

    below = start_elimination(desks, household_id, wages=BELOW_LINE)
    assert_refused(
        fangfan,
        below,
        household_id,
        f"未超过{year}年省定防止返贫监测线{line_fen // 100}.00元",
        "指南第25问",
    )

    # Exactly at the line is not above it: two members, 1,200 yuan transfers.
    at_line = str((line_fen * 2 - 120000) // 100)
    response = start_elimination(desks, household_id, wages=at_line)
    assert_refused(
        fangfan, response, household_id, f"人均纯收入{line_fen // 100}.00元，未超过"
    )

    above = start_elimination(desks, household_id, wages=str(int(at_line) + 1))
    assert above.status_code == 302


def test_elimination_waits_six_months_of_stable_income(fangfan, desks, new_id_number):
    """Guide Q27: income stable for half a year at least, natural elimination aside."""
    household_id = identify(fangfan, desks, new_id_number)

    response = start_elimination(desks, household_id, months="5")
    assert_refused(
        fangfan,
        response,
        household_id,
        "仅5个月",
        "收入持续稳定原则上不少于半年（指南第27问）",
    )

    assert start_elimination(desks, household_id, months="6").status_code == 302


@pytest.mark.parametrize(
    "unmet, reason",
    [
        ({"guarantees": False}, "“三保障”和饮水安全持续巩固：尚未持续巩固"),
        ({"risk_gone": False}, "识别时的返贫致贫风险：尚未稳定消除或自然消除"),
        ({"no_new_risk": False}, "存在新增风险的不能标注风险消除"),
    ],
)
def test_elimination_needs_guarantees_and_no_risk_left(
    fangfan, desks, new_id_number, unmet, reason
):
    """Guide Q25: guarantees secure, the original risk gone, no new risk."""
    household_id = identify(fangfan, desks, new_id_number)

    response = start_elimination(desks, household_id, **unmet)

    assert_refused(fangfan, response, household_id, reason, "指南第25问")


def test_every_unmet_condition_is_named_at_once(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)

    response = start_elimination(
        desks,
        household_id,
        wages=BELOW_LINE,
        months="2",
        guarantees=False,
        risk_gone=False,
        no_new_risk=False,
    )

    assert_refused(
        fangfan,
        response,
        household_id,
        "指南第25问",
        "指南第27问",
        "尚未持续巩固",
        "尚未稳定消除",
        "存在新增风险",
    )


def test_natural_elimination_waives_only_the_half_year(fangfan, desks, new_id_number):
    """Guide Q25, Q27: income above this year's line always; the half year is waived
    when the risk went away by itself."""
    household_id = identify(fangfan, desks, new_id_number)

    below_line = start_elimination(
        desks, household_id, kind="natural", wages=BELOW_LINE, months="0"
    )
    assert_refused(fangfan, below_line, household_id, "未超过")
    still_at_risk = start_elimination(
        desks,
        household_id,
        kind="natural",
        wages=ABOVE_LINE,
        months="0",
        risk_gone=False,
    )
    assert_refused(fangfan, still_at_risk, household_id, "尚未稳定消除或自然消除")

    response = start_elimination(
        desks, household_id, kind="natural", wages=ABOVE_LINE, months="0"
    )
    assert response.status_code == 302
    verified = desks["town"].complete(
        household_id,
        "elimination_verification",
        recheck(today(fangfan), wages=ABOVE_LINE, months="0"),
    )
    assert verified.status_code == 302
    assert desks["village"].task_for(
        household_id, "elimination_democratic_review"
    ), "the verification's own check also waives the half year"


def test_elimination_is_refused_without_this_years_monitoring_line(
    fangfan, desks, new_id_number
):
    """Guide Q10, Q25: the line of the current year, published in its first quarter."""
    household_id = identify(fangfan, desks, new_id_number)
    year, _ = current_line_fen(fangfan)
    with fangfan.sessions.begin() as session:
        session.execute(delete(MonitoringLine).where(MonitoringLine.year == year))

    response = start_elimination(desks, household_id)

    assert_refused(
        fangfan, response, household_id, f"尚未设置{year}年省定防止返贫监测线"
    )


def test_form_errors_are_shown_and_nothing_starts(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)

    response = start_elimination(desks, household_id, kind="", members="0")

    assert response.status_code == 400
    assert "消除方式：请填写" in response.text
    assert "家庭人口：不能小于 1" in response.text
    assert eliminations(fangfan, household_id) == 0


def test_cannot_start_two_eliminations_at_once(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)
    first = start_elimination(desks, household_id)
    assert first.status_code == 302

    second = start_elimination(desks, household_id)

    assert second.status_code == 409
    assert (
        f"已有正在办理的风险消除（案件 #{case_id(first)}），不能重复发起" in second.text
    )
    assert eliminations(fangfan, household_id) == 1


def test_no_quota_limits_eliminations_in_a_village(fangfan, desks, new_id_number):
    """Guide Q26: 不得设置风险消除比例要求 — every household that qualifies may go."""
    households = [identify(fangfan, desks, new_id_number, wait=False) for _ in range(3)]
    fangfan.advance_clock(MONITORED_DAYS, OPERATOR)

    for household_id in households:
        assert start_elimination(desks, household_id).status_code == 302
    assert all(eliminations(fangfan, h) == 1 for h in households)


# -- the flow of Q37 ---------------------------------------------------------------


def test_whole_path_marks_the_household_eliminated_and_terms_run_on(
    fangfan, desks, new_id_number
):
    """Guide Q37 steps; Q19 measures with a term continue; Q39 the household stays."""
    household_id = identify(fangfan, desks, new_id_number)
    with fangfan.sessions.begin() as session:
        today = local_date(clock.now(session))
        measures.add(
            session.get(Household, household_id),
            [
                {
                    "type": "microcredit",
                    "department": "finance",
                    "end": (today + timedelta(days=700)).isoformat(),
                },
                {"type": "cash_or_goods", "department": "civil_affairs"},
            ],
            since=today,
        )

    case = eliminate(fangfan, desks, household_id)

    eliminated = household(fangfan, household_id)
    assert instance(fangfan, case).status == "completed"
    assert eliminated.status == "eliminated"
    with fangfan.sessions() as session:
        approval = session.scalar(
            select(Event).where(
                Event.stream == case, Event.task_name == "elimination_approval"
            )
        )
    assert eliminated.eliminated_on == local_date(approval.at)
    assert eliminated.category == "marginal", "the record is kept, not deleted (Q39)"
    statuses = {m["type"]: m["status"] for m in eliminated.measures}
    assert statuses == {"microcredit": "continuing", "cash_or_goods": "ended"}

    page = desks["town"].get(f"/households/{household_id}").text
    assert "已消除风险" in page
    assert f"风险消除时间</dt><dd>{eliminated.eliminated_on}" in page
    rows = re.findall(r"<tr><td>([^<]*)</td>.*?<td>([^<]*)</td></tr>", page)
    assert ("小额信贷", "风险消除后延续至期满") in rows
    assert ("直接发放钱物", "已结束") in rows
    assert "/start/elimination" not in page, "an eliminated household is not offered it"

    with fangfan.sessions() as session:
        events = history.events_of(session, case)
    assert [e.task_name for e in events if e.kind == "task_completed"] == [
        "elimination_verification",
        "elimination_democratic_review",
        "elimination_town_review",
        "elimination_approval",
    ]
    assert [e.actor for e in events if e.kind == "task_completed"] == [
        "town",
        "village",
        "town",
        "approver",
    ]
    assert history.verify_chain(events) == []
    assert end_of(fangfan, case) == "已标注风险消除"
    assert "已标注风险消除" in desks["county"].get(f"/cases/{case}").text


def test_approval_page_shows_the_verified_income_against_the_line(
    fangfan, desks, new_id_number
):
    household_id = identify(fangfan, desks, new_id_number)
    to_notice(fangfan, desks, household_id)
    pass_notice(fangfan)

    approver = desks["approver"]
    task_id = approver.task_for(household_id, "elimination_approval")
    page = approver.get(f"/tasks/{task_id}")

    assert "人均纯收入" in page.text and "20600.00 元" in page.text
    assert "（不低于监测线）" in page.text


def test_verification_that_finds_the_conditions_unmet_ends_the_case(
    fangfan, desks, new_id_number
):
    """The home visit re-checks Q25/Q27; failing, the household stays monitored."""
    household_id = identify(fangfan, desks, new_id_number)
    case = case_id(start_elimination(desks, household_id))

    response = desks["town"].complete(
        household_id,
        "elimination_verification",
        recheck(today(fangfan), wages=BELOW_LINE),
    )

    assert response.status_code == 302
    assert instance(fangfan, case).status == "completed"
    assert end_of(fangfan, case) == "核实不符合消除条件，继续监测帮扶"
    assert household(fangfan, household_id).status == "monitored"
    assert not desks["village"].task_for(household_id, "elimination_democratic_review")


@pytest.mark.parametrize(
    "finding",
    [
        {"months": "3"},
        {"water": False},
        {"risk_gone": False},
        {"no_new_risk": False},
    ],
)
def test_verification_rechecks_each_condition(fangfan, desks, new_id_number, finding):
    household_id = identify(fangfan, desks, new_id_number)
    case = case_id(start_elimination(desks, household_id))

    desks["town"].complete(
        household_id, "elimination_verification", recheck(today(fangfan), **finding)
    )

    assert end_of(fangfan, case) == "核实不符合消除条件，继续监测帮扶"


def test_town_review_rejects_and_the_household_stays_monitored(
    fangfan, desks, new_id_number
):
    household_id = identify(fangfan, desks, new_id_number)
    case = case_id(start_elimination(desks, household_id))
    town = desks["town"]
    town.complete(household_id, "elimination_verification", recheck(today(fangfan)))
    desks["village"].complete(
        household_id, "elimination_democratic_review", review(today(fangfan))
    )

    without_reason = town.complete(
        household_id, "elimination_town_review", {"elimination_town_decision": "reject"}
    )
    assert without_reason.status_code == 400
    assert "理由：请填写" in without_reason.text

    response = town.complete(
        household_id,
        "elimination_town_review",
        {
            "elimination_town_decision": "reject",
            "elimination_town_reasons": "务工收入尚不稳定，继续帮扶",
        },
    )
    assert response.status_code == 302

    assert instance(fangfan, case).status == "completed"
    assert end_of(fangfan, case) == "镇级不予消除，继续监测帮扶"
    assert household(fangfan, household_id).status == "monitored"
    assert household(fangfan, household_id).eliminated_on is None
    assert (
        start_elimination(desks, household_id).status_code == 302
    ), "a closed case does not block a later proposal"


def test_town_review_sends_back_to_democratic_review(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)
    start_elimination(desks, household_id)
    desks["town"].complete(
        household_id, "elimination_verification", recheck(today(fangfan))
    )
    desks["village"].complete(
        household_id, "elimination_democratic_review", review(today(fangfan))
    )

    desks["town"].complete(
        household_id,
        "elimination_town_review",
        {
            "elimination_town_decision": "return",
            "elimination_town_reasons": "评议票数与到会人数不符",
        },
    )

    assert desks["village"].task_for(household_id, "elimination_democratic_review")
    assert not desks["village"].task_for(household_id, "elimination_notice")


def test_democratic_review_result_must_agree_with_its_vote(
    fangfan, desks, new_id_number
):
    """Guide Q35: the result recorded is the one the meeting voted for."""
    household_id = identify(fangfan, desks, new_id_number)
    start_elimination(desks, household_id)
    desks["town"].complete(
        household_id, "elimination_verification", recheck(today(fangfan))
    )
    village = desks["village"]

    outvoted = village.complete(
        household_id,
        "elimination_democratic_review",
        review(today(fangfan), votes_for="5", votes_against="9"),
    )
    no_votes = village.complete(
        household_id,
        "elimination_democratic_review",
        review(today(fangfan), votes_for="0"),
    )

    assert outvoted.status_code == 400 and "赞成票未过半" in outvoted.text
    assert no_votes.status_code == 400 and "评议票数不能全为0" in no_votes.text
    assert village.task_for(household_id, "elimination_democratic_review")
    assert not desks["town"].task_for(household_id, "elimination_town_review")


def test_verification_cannot_be_dated_in_the_future(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)
    start_elimination(desks, household_id)
    tomorrow = (date.fromisoformat(today(fangfan)) + timedelta(days=1)).isoformat()

    response = desks["town"].complete(
        household_id, "elimination_verification", recheck(tomorrow)
    )

    assert response.status_code == 400
    assert "入户核实日期：不能晚于今天" in response.text
    assert desks["town"].task_for(household_id, "elimination_verification")


def test_objection_during_notice_returns_the_case_to_town_review(
    fangfan, desks, new_id_number
):
    household_id = identify(fangfan, desks, new_id_number)
    to_notice(fangfan, desks, household_id)

    response = desks["village"].complete(
        household_id,
        "elimination_notice",
        {
            "elimination_objection_text": "该户家庭成员仍在住院治疗",
            "elimination_objection_raised_by": "村民代表",
        },
    )

    assert response.status_code == 302
    assert desks["town"].task_for(household_id, "elimination_town_review")
    assert not desks["village"].task_for(household_id, "elimination_notice")
    fangfan.advance_clock(5.1, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert not desks["approver"].task_for(
        household_id, "elimination_approval"
    ), "the notice's deadline went with the objection"


def test_notice_lasts_five_days_on_the_simulated_clock(fangfan, desks, new_id_number):
    """Guide Q34, Q37: 村内公示5天; approval waits for the notice to pass."""
    household_id = identify(fangfan, desks, new_id_number)
    to_notice(fangfan, desks, household_id)

    fangfan.advance_clock(4.5, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert desks["village"].task_for(household_id, "elimination_notice")
    assert not desks["approver"].task_for(household_id, "elimination_approval")

    fangfan.advance_clock(0.6, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1
    assert not desks["village"].task_for(household_id, "elimination_notice")
    assert desks["approver"].task_for(household_id, "elimination_approval")
    assert (
        household(fangfan, household_id).status == "monitored"
    ), "only the county's approval marks the risk eliminated"


def test_notice_is_posted_in_the_village_without_private_data(
    fangfan, desks, new_id_number
):
    """Guide Q37, Q38: the village notice names the household and the matter only."""
    household_id = identify(fangfan, desks, new_id_number)
    to_notice(fangfan, desks, household_id)
    record = household(fangfan, household_id)

    page = desks["village"].get(f"/notices/{VILLAGE_CODE}").text

    assert "风险消除" in page and record.head_name in page
    assert record.head_id_number not in page and record.phone not in page


def test_county_rejects_and_the_household_stays_monitored(
    fangfan, desks, new_id_number
):
    household_id = identify(fangfan, desks, new_id_number)
    with fangfan.sessions.begin() as session:
        today = local_date(clock.now(session))
        measures.add(
            session.get(Household, household_id),
            [
                {
                    "type": "microcredit",
                    "department": "finance",
                    "end": (today + timedelta(days=700)).isoformat(),
                }
            ],
            since=today,
        )
    case = to_notice(fangfan, desks, household_id)
    pass_notice(fangfan)
    approver = desks["approver"]

    without_reason = approver.complete(
        household_id,
        "elimination_approval",
        {"elimination_approval_decision": "reject"},
    )
    assert without_reason.status_code == 400
    approve_without_notice_no = approver.complete(
        household_id,
        "elimination_approval",
        {"elimination_approval_decision": "approve"},
    )
    assert approve_without_notice_no.status_code == 400
    assert "公告编号：请填写" in approve_without_notice_no.text

    response = approver.complete(
        household_id,
        "elimination_approval",
        {
            "elimination_approval_decision": "reject",
            "elimination_approval_note": "家庭成员慢性病支出仍大，暂不消除",
        },
    )
    assert response.status_code == 302

    kept = household(fangfan, household_id)
    assert end_of(fangfan, case) == "县级不予批准，继续监测帮扶"
    assert (kept.status, kept.eliminated_on) == ("monitored", None)
    assert [m["status"] for m in kept.measures] == ["active"]


def test_household_found_to_be_safety_net_meanwhile_is_not_eliminated(
    fangfan, desks, new_id_number
):
    """Guide Q28, Q29: marked a safety-net household while the case ran."""
    household_id = identify(fangfan, desks, new_id_number)
    to_notice(fangfan, desks, household_id)
    pass_notice(fangfan)
    with fangfan.sessions.begin() as session:
        session.get(Household, household_id).safety_net_household = True

    refused = desks["approver"].complete(
        household_id, "elimination_approval", COUNTY_APPROVES
    )

    assert refused.status_code == 400
    assert "暂不消除风险（指南第28问）" in refused.text
    assert household(fangfan, household_id).status == "monitored"
    assert desks["approver"].task_for(household_id, "elimination_approval")


def test_no_open_task_is_left_when_the_case_ends(fangfan, desks, new_id_number):
    household_id = identify(fangfan, desks, new_id_number)
    case = eliminate(fangfan, desks, household_id)

    with fangfan.sessions() as session:
        left = session.scalar(
            select(func.count())
            .select_from(OpenTask)
            .where(OpenTask.instance_id == case)
        )
    assert left == 0


def test_stable_months_cannot_exceed_the_time_since_identification(
    fangfan, desks, new_id_number
):
    """Guide Q27, Q41: no elimination rushed through on a typed-in half year."""
    household_id = identify(fangfan, desks, new_id_number)
    with fangfan.sessions.begin() as session:
        record = session.get(Household, household_id)
        record.identified_on = local_date(clock.now(session)) - timedelta(days=40)

    response = start_elimination(desks, household_id, months="6")

    assert_refused(fangfan, response, household_id, "不能多于此数")


def test_members_counted_are_the_ones_on_record(fangfan, desks, new_id_number):
    """Guide Q12: income per capita divides by the household's recorded members."""
    household_id = identify(fangfan, desks, new_id_number)

    response = start_elimination(desks, household_id, members="1")

    assert_refused(fangfan, response, household_id, "应与登记的家庭成员一致（2人）")
