"""The green channel end to end through the HTTP layer (guide Q19, Q24, Q36).

Assist first, complete the identification within a month: town and village
confirm a sudden risk, the county enters the household and the departments
assist at once; the county then verifies eligibility, and either the
identification paperwork is completed (identified on the entry date) or the
household leaves the channel and its measures stop.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine import clock, history
from engine.clock import local_date
from engine.forms import load_form
from engine.models import Household, Instance, OpenTask
from fangfan.demo_data import VILLAGE_CODE
from fangfan.procedures import is_registered
from fangfan.rules import CATEGORIES, MEASURE_TYPES

from .desk import Desk, case_id
from .identification_steps import OPERATOR, DEMOCRATIC_REVIEW, report_new_household

TOWN_APPROVES = {"green_town_decision": "approve"}


@pytest.fixture
def household(fangfan) -> int:
    """An ordinary, not lifted-out demo household of the village, members on record."""
    with fangfan.sessions() as session:
        return session.scalar(
            select(Household.id)
            .where(
                Household.division_code == VILLAGE_CODE,
                Household.status == "ordinary",
                Household.lifted_out.is_(False),
            )
            .order_by(Household.id)
            .limit(1)
        )


def _today(fangfan) -> date:
    with fangfan.sessions() as session:
        return local_date(clock.now(session))


def _household(fangfan, household_id: int) -> Household:
    with fangfan.sessions() as session:
        return session.get(Household, household_id)


def _cases(fangfan, household_id: int) -> list[Instance]:
    with fangfan.sessions() as session:
        return list(
            session.scalars(
                select(Instance)
                .where(Instance.household_id == household_id)
                .order_by(Instance.id)
            )
        )


def _open_steps(fangfan, household_id: int) -> set[str]:
    with fangfan.sessions() as session:
        return set(
            session.scalars(
                select(OpenTask.task_name).where(OpenTask.household_id == household_id)
            )
        )


def _risk(today: date, **overrides) -> dict:
    fields = {
        "risk_kind": "disaster",
        "risk_date": (today - timedelta(days=7)).isoformat(),
        "risk_description": "暴雨致房屋倒塌，家庭财产损失严重，暂无住所",
        "risk_severe_and_urgent": "on",
        "risk_town_confirmed": "on",
        "risk_village_confirmed": "on",
        "risk_confirmed_by": "岸堤镇张明、岸堤村李强",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def _start(fangfan, desk: Desk, household_id: int, **overrides):
    return desk.post(
        f"/households/{household_id}/start/green_channel",
        _risk(_today(fangfan), **overrides),
    )


def _entry(entry_date: date, **overrides) -> dict:
    fields = {
        "entry_date": entry_date.isoformat(),
        "entry_measures.0.type": "temporary_assistance",
        "entry_measures.0.department": "civil_affairs",
        "entry_measures.0.start": entry_date.isoformat(),
        "entry_measures.0.note": "临时救助3000元",
        "entry_measures.1.type": "housing_safety",
        "entry_measures.1.department": "housing",
        "entry_measures.1.start": entry_date.isoformat(),
        "entry_measures.1.end": (entry_date + timedelta(days=90)).isoformat(),
        "entry_household_informed": "on",
        "entry_informed_how": "visit",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def _verification(fangfan, decision: str) -> dict:
    return {
        "eligibility_decision": decision,
        "eligibility_checked_on": _today(fangfan).isoformat(),
        "eligibility_basis": "人均纯收入低于监测线，住房安全无保障，民政比对无异常",
    }


def _enter(fangfan, desks, household_id: int, days_ago: int = 0) -> date:
    """Started by the town and entered by the county; returns the entry date."""
    assert _start(fangfan, desks["town"], household_id).status_code == 302
    entered = _today(fangfan) - timedelta(days=days_ago)
    response = desks["county"].complete(
        household_id, "enter_green_channel", _entry(entered)
    )
    assert response.status_code == 302, response.text
    return entered


def _verify(fangfan, desks, household_id: int, decision: str) -> None:
    response = desks["county"].complete(
        household_id, "verify_eligibility", _verification(fangfan, decision)
    )
    assert response.status_code == 302, response.text


def _review(fangfan) -> dict:
    return dict(DEMOCRATIC_REVIEW, review_held_on=_today(fangfan).isoformat())


def _through_review(fangfan, desks, household_id: int) -> None:
    """Democratic review, town approval, five days of notice without objection."""
    assert (
        desks["village"]
        .complete(household_id, "democratic_review", _review(fangfan))
        .status_code
        == 302
    )
    assert (
        desks["town"].complete(household_id, "town_review", TOWN_APPROVES).status_code
        == 302
    )
    fangfan.advance_clock(5.1, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1


def _identify(fangfan, desks, household_id: int, days_ago: int = 2) -> date:
    entered = _enter(fangfan, desks, household_id, days_ago)
    fangfan.advance_clock(3, OPERATOR)
    _verify(fangfan, desks, household_id, "eligible")
    _through_review(fangfan, desks, household_id)
    response = desks["approver"].complete(
        household_id,
        "county_approval",
        {
            "green_approval_decision": "approve",
            "green_category": "marginal",
            "green_announcement_no": "沂南乡振〔2026〕15号",
        },
    )
    assert response.status_code == 302, response.text
    return entered


def _exit(
    desks,
    household_id: int,
    reason: str = "核实后家庭收入稳定，" "房屋已由保险理赔修复，不符合识别条件",
):
    return desks["county"].complete(
        household_id,
        "exit_green_channel",
        {"ineligible_reason": reason, "exit_household_informed": "on"},
    )


def _measure_rows(page_text: str) -> list[str]:
    table = re.search(r'<table id="measures">(.*?)</table>', page_text, re.S)
    assert table, "the household page lists its measures"
    return [
        re.sub(r"<[^>]+>", "|", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    ]


# -- entering the channel ------------------------------------------------------


def test_town_official_starts_the_green_channel_from_the_household_page(
    fangfan, desks, household
):
    """Guide Q24: town and village confirm; the household is not yet monitored."""
    page = desks["town"].get(f"/households/{household}")
    assert 'data-process="green_channel"' in page.text
    assert "发起绿色通道" in page.text
    form = desks["town"].get(f"/households/{household}/start/green_channel")
    assert (
        form.status_code == 200 and "生活陷入严重困难、事实清楚、急需帮扶" in form.text
    )

    response = _start(fangfan, desks["town"], household)

    assert response.status_code == 302
    started = _household(fangfan, household)
    assert started.status == "in_green_channel"
    assert started.identified_on is None and started.category is None
    page = desks["town"].get(f"/households/{household}")
    assert '<span class="badge" id="household-state">绿色通道</span>' in page.text
    assert desks["county"].task_for(household, "enter_green_channel")

    with fangfan.sessions() as session:
        started_event = history.events_of(session, case_id(response))[0]
    risk = started_event.data["data"]["sudden_risk"]
    assert (risk["kind"], risk["town_confirmed"], risk["village_confirmed"]) == (
        "disaster",
        True,
        True,
    )

    # The case's history shows the start form as the town filled it in.
    case = desks["town"].get(f"/cases/{case_id(response)}").text
    start = case.split('id="history"', 1)[1].split('<div class="event', 2)[1]
    assert "否" not in start and start.count("是") >= 3


def test_entry_starts_the_measures_at_once_and_records_the_entry_date(
    fangfan, desks, household
):
    """Guide Q24: the departments assist at once; the household is told."""
    entered = _enter(fangfan, desks, household, days_ago=2)

    found = _household(fangfan, household)
    assert found.green_channel_on == entered, "the date as submitted, not today"
    assert found.status == "in_green_channel"
    rows = _measure_rows(desks["town"].get(f"/households/{household}").text)
    assert len(rows) == 2
    assert "临时救助" in rows[0] and "民政部门" in rows[0] and "实施中" in rows[0]
    assert "住房安全保障" in rows[1] and "住房城乡建设部门" in rows[1]
    assert desks["county"].task_for(household, "verify_eligibility")


def test_entry_date_cannot_be_later_than_today(fangfan, desks, household):
    assert _start(fangfan, desks["town"], household).status_code == 302
    tomorrow = _today(fangfan) + timedelta(days=1)

    response = desks["county"].complete(
        household, "enter_green_channel", _entry(tomorrow)
    )

    assert response.status_code == 400
    assert "录入绿色通道日期：不能晚于今天" in response.text
    found = _household(fangfan, household)
    assert found.green_channel_on is None and found.measures == []
    assert desks["county"].task_for(household, "enter_green_channel")


def test_entry_date_cannot_be_before_the_risk(fangfan, desks, household):
    assert _start(fangfan, desks["town"], household).status_code == 302
    too_early = _today(fangfan) - timedelta(days=8)

    response = desks["county"].complete(
        household, "enter_green_channel", _entry(too_early)
    )

    assert response.status_code == 400
    assert "录入绿色通道日期：不能早于本案开始之日" in response.text
    assert _household(fangfan, household).measures == []


def test_entry_needs_a_measure_and_the_household_informed(fangfan, desks, household):
    """Guide Q24: assistance at once, and the household's right to know."""
    assert _start(fangfan, desks["town"], household).status_code == 302
    today = _today(fangfan)
    bare = {"entry_date": today.isoformat(), "entry_informed_how": "phone"}

    response = desks["county"].complete(household, "enter_green_channel", bare)

    assert response.status_code == 400
    assert "先行实施的帮扶措施：不能为空" in response.text
    assert "已告知农户纳入绿色通道管理及帮扶政策：必须确认此项" in response.text
    assert _household(fangfan, household).green_channel_on is None


def test_verification_cannot_be_dated_before_the_entry(fangfan, desks, household):
    _enter(fangfan, desks, household)
    fields = dict(_verification(fangfan, "eligible"))
    fields["eligibility_checked_on"] = (_today(fangfan) - timedelta(days=1)).isoformat()

    response = desks["county"].complete(household, "verify_eligibility", fields)

    assert response.status_code == 400
    assert "核实日期：不能早于录入绿色通道日期" in response.text
    assert desks["county"].task_for(household, "verify_eligibility")


# -- verified eligible: the identification is completed -------------------------


def test_eligible_household_is_identified_on_its_green_channel_entry_date(
    fangfan, desks, household
):
    """Guide Q36: identified on the entry date, though approved days later."""
    entered = _identify(fangfan, desks, household, days_ago=2)

    found = _household(fangfan, household)
    assert (found.status, found.category) == ("monitored", "marginal")
    assert found.identified_on == entered
    assert _today(fangfan) - entered >= timedelta(days=10)
    assert all(
        m["status"] == "active" for m in found.measures
    ), "the measures started on entry go on"

    green = [c for c in _cases(fangfan, household) if c.process_id == "green_channel"]
    assert green[0].status == "completed"
    with fangfan.sessions() as session:
        events = history.events_of(session, green[0].id)
    assert [e.task_name for e in events if e.kind == "task_completed"] == [
        "enter_green_channel",
        "verify_eligibility",
        "democratic_review",
        "town_review",
        "county_approval",
    ]
    assert history.verify_chain(events) == []
    assert "已认定为监测对象" in desks["county"].get(f"/cases/{green[0].id}").text
    page = desks["county"].get(f"/households/{household}")
    assert f"<dt>识别时间</dt><dd>{entered.isoformat()}</dd>" in page.text


def test_approval_starts_the_assistance_plan(fangfan, desks, household):
    """Guide Q23: a newly identified household gets its plan."""
    if not is_registered("assistance_plan"):
        pytest.skip("the assistance plan procedure is not built yet")

    _identify(fangfan, desks, household)

    started = [c.process_id for c in _cases(fangfan, household)]
    assert started == ["green_channel", "assistance_plan"]


def test_town_review_can_send_back_to_democratic_review(fangfan, desks, household):
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "eligible")
    desks["village"].complete(household, "democratic_review", _review(fangfan))

    response = desks["town"].complete(
        household,
        "town_review",
        {"green_town_decision": "return", "green_town_reasons": "评议记录缺少参会人数"},
    )

    assert response.status_code == 302
    assert desks["village"].task_for(household, "democratic_review")
    assert _household(fangfan, household).status == "in_green_channel"


def test_objection_during_notice_returns_the_case_to_town_review(
    fangfan, desks, household
):
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "eligible")
    desks["village"].complete(household, "democratic_review", _review(fangfan))
    desks["town"].complete(household, "town_review", TOWN_APPROVES)

    response = desks["village"].complete(
        household,
        "public_notice",
        {
            "objection_text": "该户房屋已获保险全额理赔",
            "objection_raised_by": "村民代表",
        },
    )

    assert response.status_code == 302
    assert desks["town"].task_for(household, "town_review")
    assert not desks["village"].task_for(household, "public_notice")
    fangfan.advance_clock(6, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert not desks["approver"].task_for(
        household, "county_approval"
    ), "the objection ended the notice: no approval without a new one"


# -- not eligible: the household leaves the channel -------------------------------


def test_not_eligible_household_leaves_the_channel_and_its_measures_stop(
    fangfan, desks, household
):
    """Guide Q24: the county records why; the measures stop."""
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "ineligible")
    assert (
        _household(fangfan, household).status == "in_green_channel"
    ), "still in the channel until the county has recorded why"

    response = _exit(desks, household)

    assert response.status_code == 302
    found = _household(fangfan, household)
    assert found.status == "ordinary"
    assert found.green_channel_on is None and found.identified_on is None
    assert [m["status"] for m in found.measures] == ["stopped", "stopped"]
    rows = _measure_rows(desks["town"].get(f"/households/{household}").text)
    assert all("已中止" in row for row in rows)
    assert _cases(fangfan, household)[0].status == "completed"
    assert _open_steps(fangfan, household) == set()


def test_leaving_the_channel_requires_the_reason(fangfan, desks, household):
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "ineligible")

    response = desks["county"].complete(
        household, "exit_green_channel", {"exit_household_informed": "on"}
    )
    assert response.status_code == 400
    assert "不符合条件的情况说明：请填写" in response.text

    blank = _exit(desks, household, reason="   ")
    assert blank.status_code == 400

    found = _household(fangfan, household)
    assert found.status == "in_green_channel"
    assert all(m["status"] == "active" for m in found.measures)
    assert desks["county"].task_for(household, "exit_green_channel")


def test_town_rejection_takes_the_household_out_of_the_channel(
    fangfan, desks, household
):
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "eligible")
    desks["village"].complete(household, "democratic_review", _review(fangfan))

    without_reason = desks["town"].complete(
        household, "town_review", {"green_town_decision": "reject"}
    )
    assert without_reason.status_code == 400
    assert "理由：请填写" in without_reason.text

    desks["town"].complete(
        household,
        "town_review",
        {
            "green_town_decision": "reject",
            "green_town_reasons": "家庭有稳定务工收入，可自行恢复",
        },
    )
    assert _household(fangfan, household).status == "in_green_channel"
    assert _exit(desks, household).status_code == 302

    found = _household(fangfan, household)
    assert found.status == "ordinary"
    assert {m["status"] for m in found.measures} == {"stopped"}


def test_county_rejection_takes_the_household_out_of_the_channel(
    fangfan, desks, household
):
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "eligible")
    _through_review(fangfan, desks, household)

    response = desks["approver"].complete(
        household,
        "county_approval",
        {
            "green_approval_decision": "reject",
            "green_approval_note": "理赔后收入高于监测线",
        },
    )
    assert response.status_code == 302
    assert _exit(desks, household).status_code == 302

    found = _household(fangfan, household)
    assert (found.status, found.category, found.identified_on) == (
        "ordinary",
        None,
        None,
    )
    assert {m["status"] for m in found.measures} == {"stopped"}


def test_democratic_review_result_must_agree_with_its_vote(fangfan, desks, household):
    """Guide Q35: the same democratic review as in identification."""
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "eligible")

    response = desks["village"].complete(
        household,
        "democratic_review",
        {**_review(fangfan), "review_votes_for": "1", "review_votes_against": "30"},
    )

    assert response.status_code == 400
    assert desks["village"].task_for(household, "democratic_review")


def test_county_approval_needs_a_category(fangfan, desks, household):
    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "eligible")
    _through_review(fangfan, desks, household)

    response = desks["approver"].complete(
        household, "county_approval", {"green_approval_decision": "approve"}
    )

    assert response.status_code == 400
    assert "认定类型：请填写" in response.text
    assert _household(fangfan, household).status == "in_green_channel"


def test_eliminated_household_returns_to_eliminated_with_its_continuing_measures(
    fangfan, desks, household
):
    """Guide Q19, Q24, Q31: only the channel's measures stop; a term runs on."""
    microcredit = {
        "type": "microcredit",
        "title": "小额信贷",
        "department": "金融机构",
        "start": "2025-03-01",
        "end": "2028-02-28",
        "note": "",
        "status": "continuing",
        "status_label": "风险消除后延续至期满",
        "case": None,
    }
    with fangfan.sessions.begin() as session:
        eliminated = session.get(Household, household)
        eliminated.status, eliminated.measures = "eliminated", [microcredit]

    _enter(fangfan, desks, household)
    _verify(fangfan, desks, household, "ineligible")
    assert _exit(desks, household).status_code == 302

    found = _household(fangfan, household)
    assert found.status == "eliminated"
    assert [m["status"] for m in found.measures] == ["continuing", "stopped", "stopped"]


# -- the one-month deadline --------------------------------------------------------


def test_verification_deadline_of_one_month_is_escalated_to_the_city(
    fangfan, desks, household
):
    """Guide Q24: verified within a month of entry, else the city supervises."""
    _enter(fangfan, desks, household)

    fangfan.advance_clock(27, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert not desks["city"].escalation_for(household, "verify_eligibility")

    fangfan.advance_clock(5, OPERATOR)
    assert fangfan.engine.fire_due_timers() == 1

    assert desks["city"].escalation_for(household, "verify_eligibility")
    assert "已超期" in desks["county"].get("/").text
    assert desks["county"].task_for(
        household, "verify_eligibility"
    ), "a passed deadline escalates; the verification itself stays open"
    response = desks["city"].supervise(
        household,
        "verify_eligibility",
        {"supervision_action": "电话督促县乡村振兴局三日内完成核实"},
    )
    assert response.status_code == 302
    _verify(fangfan, desks, household, "eligible")
    assert desks["village"].task_for(household, "democratic_review")


def test_verification_in_time_is_not_escalated(fangfan, desks, household):
    _enter(fangfan, desks, household)
    fangfan.advance_clock(10, OPERATOR)
    _verify(fangfan, desks, household, "eligible")

    fangfan.advance_clock(25, OPERATOR)
    fangfan.engine.fire_due_timers()

    assert not desks["city"].escalation_for(household, "verify_eligibility")


def test_the_end_of_the_case_closes_an_open_escalation(fangfan, desks, household):
    _enter(fangfan, desks, household)
    fangfan.advance_clock(32, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert desks["city"].escalation_for(household, "verify_eligibility")

    _verify(fangfan, desks, household, "ineligible")
    _exit(desks, household)

    assert _open_steps(fangfan, household) == set()


# -- who may start it, and from which state ----------------------------------------


def test_monitored_household_cannot_enter_the_green_channel(fangfan, desks, household):
    """Guide Q24: a temporary emergency measure for households not yet monitored."""
    _identify(fangfan, desks, household)
    cases_before = len(_cases(fangfan, household))
    assert "发起绿色通道" not in desks["town"].get(f"/households/{household}").text

    response = _start(fangfan, desks["town"], household)

    assert response.status_code == 409
    assert "该农户已是监测对象" in response.text
    assert _household(fangfan, household).status == "monitored"
    assert len(_cases(fangfan, household)) == cases_before


def test_household_in_identification_cannot_enter_the_green_channel(
    fangfan, desks, new_id_number
):
    case = report_new_household(desks["town"], new_id_number())
    with fangfan.sessions() as session:
        household = session.get(Instance, case).household_id

    response = _start(fangfan, desks["town"], household)

    assert response.status_code == 409
    assert "识别认定中" in response.text
    assert len(_cases(fangfan, household)) == 1


def test_village_cadre_cannot_start_the_green_channel(fangfan, desks, household):
    """Guide Q24: town and village confirm; the town official records it."""
    page = desks["village"].get(f"/households/{household}")
    assert "发起绿色通道" not in page.text

    response = _start(fangfan, desks["village"], household)

    assert response.status_code == 409
    assert "您的岗位不能发起“绿色通道”" in response.text
    assert _household(fangfan, household).status == "ordinary"
    assert _cases(fangfan, household) == []


def test_start_needs_town_and_village_confirmation(fangfan, desks, household):
    response = _start(fangfan, desks["town"], household, risk_village_confirmed=None)

    assert response.status_code == 400
    assert "村级已确认：必须确认此项" in response.text
    assert _household(fangfan, household).status == "ordinary"
    assert _cases(fangfan, household) == []


def test_sudden_risk_cannot_be_dated_in_the_future(fangfan, desks, household):
    tomorrow = _today(fangfan) + timedelta(days=1)

    response = _start(fangfan, desks["town"], household, risk_date=tomorrow.isoformat())

    assert response.status_code == 400
    assert "风险发生日期：不能晚于今天" in response.text
    assert _household(fangfan, household).status == "ordinary"


# -- the forms agree with the rules ---------------------------------------------------


def test_entry_form_offers_every_measure_type_of_the_rules():
    row = load_form("green_entry.json")["properties"]["entry_measures"]["items"]
    offered = {o["const"]: o["title"] for o in row["properties"]["type"]["oneOf"]}
    assert offered == {code: kind[0] for code, kind in MEASURE_TYPES.items()}


def test_approval_form_offers_the_three_categories():
    schema = load_form("green_county_approval.json")
    offered = {
        o["const"]: o["title"] for o in schema["properties"]["green_category"]["oneOf"]
    }
    assert offered == CATEGORIES
