"""Statutory deadlines: warned before, escalated to the level above after, and the
escalation climbing village → town → county → city while the step stays undone
(guide Q23, Q24, Q34, Q36; domain.md "Standing work")."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine import clock, history
from engine.errors import Conflict, NotAllowed
from engine.models import Escalation, Instance
from engine.runtime import Official
from engine.deadlines import warn_at
from engine.specs import ModelError, parse, read_sources
from fangfan.demo import seed_deadline_case

from .identification_steps import (
    OPERATOR,
    CROSS_CHECK,
    TOWN_APPROVES,
    democratic_review,
    home_verification,
    identify_household,
    report_new_household,
)

SUPERVISION = {"supervision_action": "电话督促镇村两日内完成入户核实"}


def _household_of(fangfan, case_id: int) -> int:
    with fangfan.sessions() as session:
        return session.get(Instance, case_id).household_id


def _move(fangfan, days: float) -> None:
    """The simulated clock moves on and the scheduler sweeps, as in the demo."""
    fangfan.advance_clock(days, OPERATOR)
    fangfan.engine.fire_due_timers()
    fangfan.climb_escalations()


def _escalations(fangfan, case_id: int) -> list[Escalation]:
    with fangfan.sessions() as session:
        return list(
            session.scalars(
                select(Escalation)
                .where(Escalation.instance_id == case_id)
                .order_by(Escalation.id)
            )
        )


def _today(fangfan) -> str:
    with fangfan.sessions() as session:
        return clock.local_date(clock.now(session)).isoformat()


def _kinds(fangfan, case_id: int) -> list[str]:
    with fangfan.sessions() as session:
        return [event.kind for event in history.events_of(session, case_id)]


# -- warnings ------------------------------------------------------------------


def test_home_verification_is_warned_one_day_before_its_3_day_deadline(
    fangfan, desks, new_id_number
):
    """Q34: home verification within 3 days; the model's default lead is 1 day."""
    case = report_new_household(desks["town"], new_id_number())
    household = _household_of(fangfan, case)
    town = desks["town"]

    _move(fangfan, 1.9)
    row = _inbox_row(town, household, "home_verification")
    assert "即将到期" not in row and "已超期" not in row

    _move(fangfan, 0.2)  # 2.1 days after the clue: less than a day is left
    assert "即将到期" in _inbox_row(town, household, "home_verification")
    assert not _escalations(fangfan, case)


def _inbox_row(desk, household: int, step: str) -> str:
    page = desk.get("/").text
    marker = f'data-step="{step}" data-household="{household}"'
    assert marker in page, f"no {step} for household {household} in the inbox"
    start = page.index(marker)
    return page[start : page.index("</tr>", start)]


# -- escalation ------------------------------------------------------------------


def test_passed_home_verification_deadline_escalates_to_the_county_and_shows_how_long(
    fangfan, desks, new_id_number
):
    """Q34: 3 days passed with the town's step undone: the county supervises."""
    case = report_new_household(desks["town"], new_id_number())
    household = _household_of(fangfan, case)

    _move(fangfan, 3.25)  # six hours late

    assert "已超期 6小时" in _inbox_row(desks["town"], household, "home_verification")
    county = desks["county"]
    escalation = county.escalation_for(household, "home_verification")
    assert escalation, "the county bureau is asked to supervise"
    assert desks["city"].escalation_for(household, "home_verification") is None

    page = desks["town"].get(f"/cases/{case}").text
    assert "超期督办" in page and "县级乡村振兴部门" in page and "已超期 6小时" in page
    assert "escalated" in _kinds(fangfan, case)

    # The step itself is still the town's to do.
    assert desks["town"].task_for(household, "home_verification")


def test_supervisor_records_the_action_and_the_step_done_closes_the_escalation(
    fangfan, desks, new_id_number
):
    head = new_id_number()
    case = report_new_household(desks["town"], head)
    household = _household_of(fangfan, case)
    _move(fangfan, 3.1)
    county = desks["county"]
    escalation = county.escalation_for(household, "home_verification")

    refused = county.post(f"/escalations/{escalation}", {"supervision_action": "  "})
    assert refused.status_code == 400 and "督办措施" in refused.text
    assert county.escalation_for(household, "home_verification") == escalation

    done = county.post(f"/escalations/{escalation}", SUPERVISION)
    assert done.status_code == 302
    assert county.escalation_for(household, "home_verification") is None
    [row] = _escalations(fangfan, case)
    assert row.action == SUPERVISION["supervision_action"] and row.closed_at is None

    fields = home_verification(head, new_id_number(), verified_on=_today(fangfan))
    response = desks["town"].complete(household, "home_verification", fields)
    assert response.status_code == 302, response.text
    [row] = _escalations(fangfan, case)
    assert row.closed_at is not None and row.closed_reason == "环节已办理"
    kinds = _kinds(fangfan, case)
    assert kinds.index("supervised") < kinds.index("escalation_closed")


def test_supervision_is_refused_to_other_roles_and_other_divisions(
    fangfan, desks, new_id_number
):
    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 3.1)
    [row] = _escalations(fangfan, case)

    assert desks["town"].post(f"/escalations/{row.id}", SUPERVISION).status_code == 403
    assert (
        desks["village"].post(f"/escalations/{row.id}", SUPERVISION).status_code == 403
    )
    with pytest.raises(NotAllowed) as refused:
        fangfan.supervise(
            row.id, Official("other", "county_bureau", "371322000000"), SUPERVISION
        )
    assert "不属于您" in refused.value.message_zh
    assert _escalations(fangfan, case)[0].supervised_at is None


def test_two_supervisors_recording_at_once_one_wins(fangfan, desks, new_id_number):
    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 3.1)
    [row] = _escalations(fangfan, case)
    official = Official("county", "county_bureau", "371321000000")

    outcomes = []
    barrier = threading.Barrier(2)

    def record(action: str) -> None:
        barrier.wait()
        try:
            fangfan.supervise(row.id, official, {"supervision_action": action})
            outcomes.append("ok")
        except Conflict as error:
            outcomes.append(error.message_zh)

    threads = [threading.Thread(target=record, args=(a,)) for a in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[0] == "ok" and outcomes.count("ok") == 1, outcomes
    assert _kinds(fangfan, case).count("supervised") == 1


def test_plan_not_drafted_in_10_days_climbs_town_county_city_and_stops(
    fangfan, desks, new_id_number
):
    """Q23: the plan within 10 days; a village step undone climbs every 3 days
    from the town to the county to the city, and no higher."""
    household = identify_household(fangfan, desks, new_id_number)
    with fangfan.sessions() as session:
        plan = session.scalar(
            select(Instance.id).where(
                Instance.household_id == household,
                Instance.process_id == "assistance_plan",
            )
        )

    _move(fangfan, 10.1)
    assert [e.role for e in _escalations(fangfan, plan)] == ["town_official"]
    assert desks["town"].escalation_for(household, "draft_plan")

    _move(fangfan, 3)
    assert [e.role for e in _escalations(fangfan, plan)] == [
        "town_official",
        "county_bureau",
    ]
    assert desks["county"].escalation_for(household, "draft_plan")

    _move(fangfan, 3)
    _move(fangfan, 3)
    _move(fangfan, 3)
    rows = _escalations(fangfan, plan)
    assert [(e.role, e.division_code) for e in rows] == [
        ("town_official", "371321101000"),
        ("county_bureau", "371321000000"),
        ("city_bureau", "371300000000"),
    ]
    assert all(e.closed_at is None for e in rows) and rows[-1].climb_at is None
    assert "已超期 12天" in desks["city"].get(f"/escalations/{rows[-1].id}").text
    with fangfan.sessions() as session:
        assert session.get(Instance, plan).escalations_open == 3
        assert not history.verify_chain(history.events_of(session, plan))


def test_identification_not_decided_in_15_days_escalates_to_the_city_until_approved(
    fangfan, desks, new_id_number
):
    """Q34, Q36: 15 days from the clue to the county's approval."""
    case = report_new_household(desks["town"], new_id_number())
    household = _household_of(fangfan, case)
    _move(fangfan, 15.1)

    rows = [
        e
        for e in _escalations(fangfan, case)
        if e.deadline == "deadline_identification"
    ]
    assert [(e.role, e.step_name) for e in rows] == [
        ("city_bureau", "await_identification_decision")
    ]
    assert desks["city"].escalation_for(household, "await_identification_decision")


def test_the_15_days_are_every_open_steps_deadline_up_to_the_approver(
    fangfan, desks, new_id_number
):
    """Q34: the 15 days run over the whole case; the approver, whose step has no
    deadline of its own, is warned and sees it overdue."""
    head = new_id_number()
    case = report_new_household(desks["town"], head)
    household = _household_of(fangfan, case)
    on = _today(fangfan)
    for desk, step, fields in (
        ("town", "home_verification", home_verification(head, new_id_number())),
        ("county", "data_cross_check", CROSS_CHECK),
        ("village", "democratic_review", {**democratic_review(), "review_held_on": on}),
    ):
        assert desks[desk].complete(household, step, fields).status_code == 302
    assert "前" in _inbox_row(desks["town"], household, "town_review")
    approved = desks["town"].complete(household, "town_review", TOWN_APPROVES)
    assert approved.status_code == 302
    _move(fangfan, 5.1)

    approver = desks["approver"]
    assert "即将到期" not in _inbox_row(approver, household, "county_approval")
    _move(fangfan, 9)  # 14.1 days after the clue
    assert "即将到期" in _inbox_row(approver, household, "county_approval")
    _move(fangfan, 1.15)  # 15.25 days
    assert "已超期 6小时" in _inbox_row(approver, household, "county_approval")
    escalation = desks["city"].escalation_for(
        household, "await_identification_decision"
    )
    page = desks["city"].get(f"/escalations/{escalation}").text
    assert "县级批准（县级审批）" in page.split('id="open-steps"', 1)[1]


def test_a_step_long_overdue_climbs_at_once_to_where_it_belongs(
    fangfan, desks, new_id_number
):
    """After a long pause (a scheduler down, a big clock move) a step 20 days
    overdue is before the city at the next sweep, not at the town."""
    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 20)

    home = [
        e for e in _escalations(fangfan, case) if e.step_name == "home_verification"
    ]
    assert [e.role for e in home] == ["county_bureau", "city_bureau"]


def test_climbing_with_two_sweeps_at_once_adds_each_level_once(
    fangfan, desks, new_id_number
):
    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 3.1)
    fangfan.advance_clock(3.1, OPERATOR)

    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        fangfan.climb_escalations()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    home = [
        e for e in _escalations(fangfan, case) if e.step_name == "home_verification"
    ]
    assert [e.role for e in home] == ["county_bureau", "city_bureau"]


def test_a_cancelled_case_closes_its_escalations(fangfan, desks, new_id_number):
    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 3.1)
    with fangfan.sessions.begin() as session:
        instance = session.get(Instance, case)
        fangfan.engine._close(session, instance, instance.updated_at, "测试关闭")
    assert all(e.closed_at is not None for e in _escalations(fangfan, case))
    assert (
        desks["county"].escalation_for(
            _household_of(fangfan, case), "home_verification"
        )
        is None
    )


def test_demo_case_is_warned_overdue_and_escalated_on_the_simulated_clock(
    fangfan, desks
):
    """What the README's demo walk-through shows a new user."""
    case = seed_deadline_case(fangfan)
    household = _household_of(fangfan, case)
    town = desks["town"]
    assert "即将到期" not in _inbox_row(town, household, "home_verification")

    _move(fangfan, 2.1)
    assert "即将到期" in _inbox_row(town, household, "home_verification")

    _move(fangfan, 1)
    assert "已超期" in _inbox_row(town, household, "home_verification")
    assert desks["county"].escalation_for(household, "home_verification")
    assert desks["city"].escalation_for(household, "home_verification") is None

    _move(fangfan, 3)
    assert desks["city"].escalation_for(household, "home_verification")
    with fangfan.sessions() as session:
        moves = [
            e
            for e in history.events_of(session, history.SYSTEM_STREAM)
            if e.kind == "clock_advanced"
        ]
    assert [m.data["days"] for m in moves][-3:] == [2.1, 1, 3]


# -- the model properties -----------------------------------------------------------


def _identification_with(timer: str, name: str, value: str):
    """The shipped identification model with one property added to a timer."""
    sources = read_sources("identification")
    text = sources["identification.bpmn"]
    start = text.index(f'<bpmn:boundaryEvent id="{timer}"')
    end = text.index(">", start) + 1
    extension = (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        f'<spiffworkflow:property name="{name}" value="{value}" />'
        "</spiffworkflow:properties></bpmn:extensionElements>"
    )
    sources["identification.bpmn"] = text[:end] + extension + text[end:]
    return parse("identification", sources)


def test_a_models_warning_lead_is_its_own_and_periods_have_none():
    model = _identification_with("deadline_system_entry", "warn_before", "P3D")
    specs = model.spec.task_specs
    due = datetime(2026, 10, 20, tzinfo=timezone.utc)

    assert warn_at(specs["deadline_system_entry"], due) == due - timedelta(days=3)
    assert warn_at(specs["deadline_home_verification"], due) == due - timedelta(days=1)
    assert warn_at(specs["notice_period"], due) is None


@pytest.mark.parametrize(
    "timer, name, value, problem",
    [
        ("deadline_system_entry", "warn_before", "one day", "not an ISO 8601 duration"),
        ("deadline_system_entry", "escalate_every", "PT0S", "longer than zero"),
        ("notice_period", "warn_before", "P1D", "only for non-interrupting"),
    ],
)
def test_deploy_refuses_bad_deadline_properties(timer, name, value, problem):
    with pytest.raises(ModelError) as refused:
        _identification_with(timer, name, value)
    assert problem in str(refused.value.problems)


def test_the_sweep_still_climbs_when_firing_timers_fails(
    fangfan, desks, new_id_number, monkeypatch
):
    from scheduler.service import sweep

    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 3.1)
    fangfan.advance_clock(3.1, OPERATOR)

    def database_away(*args, **kwargs):
        raise OSError("database away")

    monkeypatch.setattr(fangfan.engine, "fire_due_timers", database_away)
    assert sweep(fangfan.engine) == 0
    assert [e.role for e in _escalations(fangfan, case)] == [
        "county_bureau",
        "city_bureau",
    ]


def test_an_unknown_or_foreign_escalation_page_is_not_found(
    fangfan, desks, app, new_id_number
):
    case = report_new_household(desks["town"], new_id_number())
    _move(fangfan, 3.1)
    [row] = _escalations(fangfan, case)

    assert desks["county"].get("/escalations/987654").status_code == 404
    assert desks["village2"].get(f"/escalations/{row.id}").status_code == 404
    assert desks["county"].get(f"/escalations/{row.id}").status_code == 200


def test_firing_one_deadline_leaves_the_cases_other_timer_rows_as_they_are(
    fangfan, desks, new_id_number
):
    """The batch firing reads the stored rows instead of the live cache; rows
    that did not change (the 15 days, with their warning time) stay untouched."""
    from engine.models import WaitingTimer
    from engine.runtime import LiveWorkflows

    case = report_new_household(desks["town"], new_id_number())
    with fangfan.sessions.begin() as session:
        fifteen = session.scalars(
            select(WaitingTimer).where(
                WaitingTimer.instance_id == case,
                WaitingTimer.name == "识别认定15天期限",
            )
        ).one()
        assert fifteen.warn_at == fifteen.due_at - timedelta(days=1)
        fifteen.attempts = 3  # a mark that a rewritten row would lose

    fangfan.engine.live = LiveWorkflows()
    _move(fangfan, 3.1)

    with fangfan.sessions() as session:
        rows = session.scalars(
            select(WaitingTimer).where(WaitingTimer.instance_id == case)
        ).all()
    assert [(row.name, row.attempts) for row in rows] == [("识别认定15天期限", 3)]
