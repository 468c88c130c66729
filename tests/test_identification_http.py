"""Identification end to end through the HTTP layer (guide Q3, Q7, Q11, Q33–Q36)."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import history
from engine.models import Event, Household, Instance, OpenTask

from .desk import Desk
from .identification_steps import (
    OPERATOR,
    ABOVE_LINE_WAGES,
    CROSS_CHECK,
    DEMOCRATIC_REVIEW,
    SYSTEM_ENTRY,
    TOWN_APPROVES,
    approve,
    home_verification,
    report_new_household,
)


def _case(fangfan, case_id: int) -> tuple[Instance, Household]:
    with fangfan.sessions() as session:
        instance = session.get(Instance, case_id)
        return instance, session.get(Household, instance.household_id)


def _pass_notice(fangfan) -> None:
    """Five days of public notice go by without objection (guide Q34)."""
    fangfan.advance_clock(5.1, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1


def _through_notice(
    fangfan, desks, household_id: int, ids, cross_check: bool, **verification
) -> None:
    town, village, county = desks["town"], desks["village"], desks["county"]
    response = town.complete(
        household_id, "home_verification", home_verification(*ids, **verification)
    )
    assert response.status_code == 302, response.text

    if cross_check:
        assert (
            county.complete(household_id, "data_cross_check", CROSS_CHECK).status_code
            == 302
        )
    assert (
        village.complete(
            household_id, "democratic_review", DEMOCRATIC_REVIEW
        ).status_code
        == 302
    )
    assert town.complete(household_id, "town_review", TOWN_APPROVES).status_code == 302
    _pass_notice(fangfan)


def _identify(
    fangfan, desks, new_id_number, category: str, lifted_out: bool, **verification
) -> tuple[Instance, Household]:
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0], lifted_out=lifted_out)
    _, household = _case(fangfan, case_id)

    _through_notice(
        fangfan, desks, household.id, ids, cross_check=not lifted_out, **verification
    )
    page = desks["approver"].get(
        f"/tasks/{desks['approver'].task_for(household.id, 'county_approval')}"
    )
    assert "系统建议类别" in page.text

    assert (
        desks["approver"]
        .complete(household.id, "county_approval", approve(category))
        .status_code
        == 302
    )
    assert (
        desks["county"].complete(household.id, "system_entry", SYSTEM_ENTRY).status_code
        == 302
    )
    return _case(fangfan, case_id)


def test_identified_as_unstable_lifted_out_household(fangfan, desks, new_id_number):
    instance, household = _identify(
        fangfan, desks, new_id_number, "unstable", lifted_out=True
    )

    assert instance.status == "completed"
    assert household.status == "monitored"
    assert household.category == "unstable"
    assert len(household.members) == 2


def test_identified_as_marginal_household(fangfan, desks, new_id_number):
    instance, household = _identify(
        fangfan, desks, new_id_number, "marginal", lifted_out=False
    )

    assert (household.status, household.category) == ("monitored", "marginal")


def test_identified_as_severe_hardship_above_the_line(fangfan, desks, new_id_number):
    """Category 3: above the line, but a collapse makes life severely hard (Q3)."""
    instance, household = _identify(
        fangfan,
        desks,
        new_id_number,
        "severe_hardship",
        lifted_out=False,
        wages=ABOVE_LINE_WAGES,
        severe_hardship=True,
    )

    with fangfan.sessions() as session:
        decisions = [
            e for e in history.events_of(session, instance.id) if e.kind == "decision"
        ]
    assert decisions[-1].data["result"]["proposed_category"] == "severe_hardship"
    assert household.category == "severe_hardship"


def test_identification_date_is_the_county_approval_date(fangfan, desks, new_id_number):
    """Guide Q36: normal identification is dated the day the county approves."""
    instance, household = _identify(
        fangfan, desks, new_id_number, "marginal", lifted_out=False
    )

    with fangfan.sessions() as session:
        approval = session.scalar(
            select(Event).where(
                Event.stream == instance.id, Event.task_name == "county_approval"
            )
        )
    from engine.clock import local_date

    assert household.identified_on == local_date(approval.at)


def test_every_step_is_in_the_hash_chained_history(fangfan, desks, new_id_number):
    instance, _ = _identify(fangfan, desks, new_id_number, "marginal", lifted_out=False)

    with fangfan.sessions() as session:
        events = history.events_of(session, instance.id)
    steps = [e.task_name for e in events if e.kind == "task_completed"]
    assert steps == [
        "home_verification",
        "data_cross_check",
        "democratic_review",
        "town_review",
        "county_approval",
        "system_entry",
    ]
    assert [e.actor for e in events if e.kind == "task_completed"] == [
        "town",
        "county",
        "village",
        "town",
        "approver",
        "county",
    ]
    assert history.verify_chain(events) == []
    assert events[-1].kind == "completed"

    page = desks["county"].get(f"/cases/{instance.id}")
    assert "记录链完整" in page.text
    assert "已认定为监测对象" in page.text


def test_approver_may_override_the_proposed_category_only_with_a_reason(
    fangfan, desks, new_id_number
):
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    _, household = _case(fangfan, case_id)
    _through_notice(fangfan, desks, household.id, ids, cross_check=True)

    approver = desks["approver"]
    refused = approver.complete(
        household.id, "county_approval", approve("severe_hardship")
    )
    assert refused.status_code == 400
    assert "调整理由" in refused.text

    accepted = approver.complete(
        household.id,
        "county_approval",
        approve("severe_hardship", reason="收入骤减，刚性支出大"),
    )
    assert accepted.status_code == 302
    assert _case(fangfan, case_id)[1].category == "severe_hardship"


def test_town_review_can_reject_and_the_household_stays_ordinary(
    fangfan, desks, new_id_number
):
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    _, household = _case(fangfan, case_id)
    town, village = desks["town"], desks["village"]
    town.complete(household.id, "home_verification", home_verification(*ids))
    village.complete(household.id, "democratic_review", DEMOCRATIC_REVIEW)

    without_reason = town.complete(
        household.id, "town_review", {"town_decision": "reject"}
    )
    assert without_reason.status_code == 400

    response = town.complete(
        household.id,
        "town_review",
        {"town_decision": "reject", "town_reasons": "家庭收入稳定，无返贫致贫风险"},
    )
    assert response.status_code == 302

    instance, household = _case(fangfan, case_id)
    assert instance.status == "completed"
    assert household.status == "ordinary"
    with fangfan.sessions() as session:
        left = session.scalar(
            select(func.count())
            .select_from(OpenTask)
            .where(OpenTask.instance_id == case_id)
        )
    assert left == 0, "rejection ends every branch, cross-check included"


def test_town_review_can_send_back_to_democratic_review(fangfan, desks, new_id_number):
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    _, household = _case(fangfan, case_id)
    desks["town"].complete(household.id, "home_verification", home_verification(*ids))
    desks["village"].complete(household.id, "democratic_review", DEMOCRATIC_REVIEW)

    desks["town"].complete(
        household.id,
        "town_review",
        {"town_decision": "return", "town_reasons": "评议记录不全"},
    )

    assert desks["village"].task_for(household.id, "democratic_review")


def test_objection_during_notice_returns_the_case_to_town_review(
    fangfan, desks, new_id_number
):
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    _, household = _case(fangfan, case_id)
    town, village = desks["town"], desks["village"]
    town.complete(household.id, "home_verification", home_verification(*ids))
    village.complete(household.id, "democratic_review", DEMOCRATIC_REVIEW)
    town.complete(household.id, "town_review", TOWN_APPROVES)

    response = village.complete(
        household.id,
        "public_notice",
        {"objection_text": "该户有经营性收入未申报", "objection_raised_by": "村民代表"},
    )

    assert response.status_code == 302
    assert town.task_for(household.id, "town_review")
    assert not village.task_for(household.id, "public_notice")


def test_lifted_out_household_skips_the_data_cross_check(fangfan, desks, new_id_number):
    """Guide Q34: no repeated cross-check for lifted-out households."""
    ids = (new_id_number(), new_id_number())
    lifted = report_new_household(desks["town"], ids[0], lifted_out=True)
    ordinary_ids = (new_id_number(), new_id_number())
    ordinary = report_new_household(desks["town"], ordinary_ids[0])
    lifted_household = _case(fangfan, lifted)[1]
    ordinary_household = _case(fangfan, ordinary)[1]

    desks["town"].complete(
        lifted_household.id, "home_verification", home_verification(*ids)
    )
    desks["town"].complete(
        ordinary_household.id, "home_verification", home_verification(*ordinary_ids)
    )

    county = desks["county"]
    assert county.task_for(lifted_household.id, "data_cross_check") is None
    assert county.task_for(ordinary_household.id, "data_cross_check")


def test_already_cross_checked_members_skip_the_data_cross_check(
    fangfan, desks, new_id_number
):
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    household = _case(fangfan, case_id)[1]

    desks["town"].complete(
        household.id,
        "home_verification",
        home_verification(*ids, already_cross_checked=True),
    )

    assert desks["county"].task_for(household.id, "data_cross_check") is None


def test_home_verification_deadline_passes_and_is_escalated(
    fangfan, desks, new_id_number
):
    """Guide Q34: home verification within 3 days, else the county supervises."""
    case_id = report_new_household(desks["town"], new_id_number())
    household = _case(fangfan, case_id)[1]
    assert "办理时限" in desks["town"].get("/").text

    fangfan.advance_clock(3.5, OPERATOR)
    assert fangfan.engine.fire_due_timers() == 1

    inbox = desks["town"].get("/").text
    assert "已超期" in inbox
    assert desks["county"].escalation_for(household.id, "home_verification")
    assert desks["town"].task_for(
        household.id, "home_verification"
    ), "a passed deadline escalates; the work itself stays open"

    with fangfan.sessions() as session:
        fired = [
            e for e in history.events_of(session, case_id) if e.kind == "timer_fired"
        ]
    assert fired and fired[0].actor == "system"


def test_whole_procedure_deadline_of_fifteen_days_is_escalated_to_the_city(
    fangfan, desks, new_id_number
):
    """Guide Q34: 15 days from the clue to the county's decision; the county is
    late, so the city supervises."""
    case_id = report_new_household(desks["town"], new_id_number())
    household = _case(fangfan, case_id)[1]

    fangfan.advance_clock(15.5, OPERATOR)
    fangfan.engine.fire_due_timers()

    assert desks["city"].escalation_for(household.id, "await_identification_decision")


def test_clock_moves_are_recorded_in_history(fangfan):
    fangfan.advance_clock(2, OPERATOR)

    with fangfan.sessions() as session:
        events = history.events_of(session, history.SYSTEM_STREAM)
    moves = [e for e in events if e.kind == "clock_advanced"]
    assert moves[-1].data["days"] == 2
    assert moves[-1].actor == "trainer"
    assert history.verify_chain(events) == []


def test_the_12317_hotline_records_a_clue_for_the_town_to_verify(
    app, fangfan, new_id_number
):
    """Guide Q42: the hotline takes applications by phone; the town then visits."""
    hotline = Desk(app, "hotline")

    response = hotline.report_clue(
        {
            "household_id": "new",
            "head_name": "来电户",
            "head_id_number": new_id_number(),
            "division_code": "371321101200",
            "source": "hotline",
            "description": "农户来电：家中失火，房屋受损",
        }
    )

    assert response.status_code == 302
    _, household = _case(fangfan, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert Desk(app, "town").task_for(household.id, "home_verification")


def test_an_escalation_closed_by_the_step_being_done_is_recorded(
    fangfan, desks, new_id_number
):
    """An escalation must not vanish from the record when its step is done."""
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    _, household = _case(fangfan, case_id)
    fangfan.advance_clock(3.5, OPERATOR)
    fangfan.engine.fire_due_timers()
    assert desks["county"].escalation_for(household.id, "home_verification")

    desks["town"].complete(household.id, "home_verification", home_verification(*ids))
    assert desks["county"].escalation_for(household.id, "home_verification") is None
    desks["village"].complete(household.id, "democratic_review", DEMOCRATIC_REVIEW)
    desks["town"].complete(
        household.id,
        "town_review",
        {"town_decision": "reject", "town_reasons": "家庭收入稳定"},
    )

    with fangfan.sessions() as session:
        closed = [
            e.task_name
            for e in history.events_of(session, case_id)
            if e.kind == "escalation_closed"
        ]
    assert closed == ["home_verification"]
    page = desks["county"].get(f"/cases/{case_id}").text
    assert "督办解除" in page and "已解除：环节已办理" in page


def test_unstable_category_is_only_for_lifted_out_households(
    fangfan, desks, new_id_number
):
    """Guide Q3: 脱贫不稳定户 are lifted-out households, 边缘易致贫户 ordinary ones."""
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    _, household = _case(fangfan, case_id)
    _through_notice(fangfan, desks, household.id, ids, cross_check=True)

    refused = desks["approver"].complete(
        household.id, "county_approval", approve("unstable", reason="家庭困难")
    )

    assert refused.status_code == 400
    assert "脱贫不稳定户仅适用于脱贫户" in refused.text
    assert _case(fangfan, case_id)[1].status == "in_identification"


def test_the_household_page_lists_the_members_on_record_without_health(
    fangfan, desks, new_id_number
):
    """After home verification officials see who is counted in the household;
    the village sees the ID numbers it works with, the city masked ones, and
    nobody health on this page (Q38)."""
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    household = _case(fangfan, case_id)[1]
    fields = home_verification(*ids, **{"members.1.health": "慢性病"})
    done = desks["town"].complete(household.id, "home_verification", fields)
    assert done.status_code == 302, done.text

    def members(desk) -> str:
        page = desks[desk].get(f"/households/{household.id}").text
        assert "慢性病" not in page
        return page.split('id="members"', 1)[1].split("</table>", 1)[0]

    assert "测试配偶" in members("village") and "配偶" in members("village")
    assert ids[1] in members("village")
    assert ids[1] not in members("city") and ids[1][-4:] in members("city")


def test_home_verification_starts_with_the_head_of_a_new_household(
    fangfan, desks, new_id_number
):
    """The form's first member row is the head as registered with the clue."""
    head = new_id_number()
    case_id = report_new_household(desks["town"], head, name="预填户主")
    household = _case(fangfan, case_id)[1]
    task_id = desks["town"].task_for(household.id, "home_verification")

    page = desks["town"].get(f"/tasks/{task_id}").text
    assert 'name="members.0.name" id="f-members.0.name" value="预填户主"' in page
    assert f'value="{head}"' in page
    assert 'name="members.1.name"' not in page


def test_a_member_row_taken_out_of_the_form_leaves_a_gap_that_is_fine(
    fangfan, desks, new_id_number
):
    """删除此行 leaves indices 0 and 2: the rows are read in order, gaps ignored."""
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(desks["town"], ids[0])
    household = _case(fangfan, case_id)[1]
    fields = [
        (name.replace("members.1.", "members.2.", 1), value)
        for name, value in home_verification(*ids)
    ]

    response = desks["town"].complete(household.id, "home_verification", fields)

    assert response.status_code == 302, response.text
    assert [m["id_number"] for m in _case(fangfan, case_id)[1].members] == list(ids)
