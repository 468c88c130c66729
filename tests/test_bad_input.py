"""Bad input gets a clear error in Chinese and changes nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import clock, history
from engine.clock import local_date
from engine.errors import Conflict, NotAllowed
from engine.models import Household, Instance, OpenTask
from engine.runtime import Official
from fangfan.household_states import ForbiddenMove
from fangfan.rules import id_check_digit

from .desk import Desk
from .identification_steps import (
    DEMOCRATIC_REVIEW,
    home_verification,
    parsed_home_verification,
    report_new_household,
)

TOWN = Official("town", "town_official", "371321101000")


@pytest.fixture
def town(app):
    return Desk(app, "town")


def snapshot(fangfan, case_id: int) -> tuple:
    """Everything a refused command must leave as it was."""
    with fangfan.sessions() as session:
        instance = session.get(Instance, case_id)
        household = session.get(Household, instance.household_id)
        tasks = sorted(
            session.scalars(
                select(OpenTask.task_id).where(OpenTask.instance_id == case_id)
            )
        )
        return (
            instance.version,
            instance.state,
            history.count(session, case_id),
            tuple(tasks),
            household.status,
            tuple(map(str, household.members)),
        )


def _wrong_check_digit(id_number: str) -> str:
    right = id_check_digit(id_number[:17])
    wrong = "0" if right != "0" else "1"
    return id_number[:17] + wrong


def _new_case(fangfan, town, new_id_number):
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(town, ids[0])
    with fangfan.sessions() as session:
        household_id = session.get(Instance, case_id).household_id
    return case_id, household_id, ids


def _refused_and_unchanged(fangfan, case_id: int, response, status: int, text: str):
    before = snapshot(fangfan, case_id)
    assert response.status_code == status, response.text[:400]
    assert text in response.text
    assert snapshot(fangfan, case_id) == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"members.0.name": None}, "姓名：请填写"),
        ({"income.wages_fen": None}, "工资性收入：请填写"),
        ({"consent": None}, "必须确认此项"),
        ({"income.wages_fen": "-100"}, "不能小于 0"),
        ({"income.business_fen": "12.345"}, "金额应为数字"),
        ({"out_of_pocket.medical_fen": "一千"}, "金额应为数字"),
        ({"income.wages_fen": "99999999999"}, "金额过大"),
        ({"verified_on": "2099-01-01"}, "不能晚于今天"),
        ({"verified_on": "2001-01-01"}, "不能早于本案开始之日"),
        ({"members.1.relation": "head"}, "应有且只有一位户主"),
        ({"members.0.relation": "spouse"}, "应有且只有一位户主"),
        ({"verified_on": "2026-13-40"}, "日期格式应为"),
        ({"risks": ("none", "illness")}, "不能与其他风险类型同时选择"),
    ],
)
def test_home_verification_refuses_bad_data_and_keeps_the_task(
    fangfan, town, new_id_number, change, message
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    before = snapshot(fangfan, case_id)

    response = town.complete(
        household_id, "home_verification", home_verification(*ids, **change)
    )

    assert response.status_code == 400
    assert message in response.text
    assert snapshot(fangfan, case_id) == before
    assert town.task_for(household_id, "home_verification")


def test_a_member_counted_twice_or_in_another_household_is_refused(
    fangfan, town, new_id_number
):
    """Q7, Q12: income per capita divides by members, each counted once."""
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    other_case, other_household, other_ids = _new_case(fangfan, town, new_id_number)
    town.complete(other_household, "home_verification", home_verification(*other_ids))
    before = snapshot(fangfan, case_id)

    twice = town.complete(
        household_id, "home_verification", home_verification(ids[0], ids[0])
    )
    elsewhere = town.complete(
        household_id, "home_verification", home_verification(ids[0], other_ids[1])
    )
    not_the_head = town.complete(
        household_id, "home_verification", home_verification(new_id_number(), ids[1])
    )

    assert twice.status_code == 400 and "身份证号重复" in twice.text
    assert elsewhere.status_code == 400 and "已登记在其他农户中" in elsewhere.text
    assert not_the_head.status_code == 400 and "应与登记的户主一致" in not_the_head.text
    assert snapshot(fangfan, case_id) == before


def test_a_new_household_headed_by_a_member_of_another_is_refused(
    fangfan, town, new_id_number
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    town.complete(household_id, "home_verification", home_verification(*ids))

    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "配偶另立户",
            "division_code": "371321101200",
            "head_id_number": ids[1],
            "source": "application",
            "description": "申报",
        }
    )

    assert response.status_code == 400
    assert "已登记在其他农户中" in response.text


@pytest.mark.parametrize(
    "votes, result",
    [(("1", "30"), "agree"), (("0", "0"), "agree"), (("30", "1"), "disagree")],
)
def test_democratic_review_result_must_agree_with_its_vote(
    fangfan, app, town, new_id_number, votes, result
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    town.complete(household_id, "home_verification", home_verification(*ids))
    before = snapshot(fangfan, case_id)

    response = Desk(app, "village").complete(
        household_id,
        "democratic_review",
        {
            **DEMOCRATIC_REVIEW,
            "review_votes_for": votes[0],
            "review_votes_against": votes[1],
            "review_result": result,
        },
    )

    assert response.status_code == 400
    assert snapshot(fangfan, case_id) == before


@pytest.mark.parametrize(
    "division_code",
    [
        "371321101000",  # the town itself: no village cadre would see the case
        "371321000000",  # the county
        "371321101999",  # no such village
    ],
)
def test_a_clue_must_name_a_real_village_of_the_jurisdiction(
    fangfan, town, new_id_number, division_code
):
    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "测试",
            "division_code": division_code,
            "head_id_number": new_id_number(),
            "source": "application",
            "description": "申报",
        }
    )

    assert response.status_code == 400
    assert "请选择您辖区内的村" in response.text
    with fangfan.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_member_id_number_with_a_wrong_check_digit_is_refused(
    fangfan, town, new_id_number
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    before = snapshot(fangfan, case_id)

    response = town.complete(
        household_id,
        "home_verification",
        home_verification(ids[0], _wrong_check_digit(ids[1])),
    )

    assert response.status_code == 400
    assert "身份证号校验位错误" in response.text
    assert snapshot(fangfan, case_id) == before


def test_clue_with_a_wrong_check_digit_registers_nothing(fangfan, town, new_id_number):
    with fangfan.sessions() as session:
        households = session.scalar(select(func.count()).select_from(Household))

    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "测试",
            "division_code": "371321101200",
            "head_id_number": _wrong_check_digit(new_id_number()),
            "source": "application",
            "description": "申报",
        }
    )

    assert response.status_code == 400
    assert "校验位错误" in response.text
    with fangfan.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == households
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_clue_dated_in_the_future_or_without_source_is_refused(
    fangfan, town, new_id_number
):
    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "测试",
            "division_code": "371321101200",
            "head_id_number": new_id_number(),
            "source": "rumour",
            "description": "",
            "date": "2099-01-01",
        }
    )

    assert response.status_code == 400
    for message in ("线索来源：取值无效", "请填写：风险情况", "发现日期不能晚于今天"):
        assert message in response.text
    with fangfan.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_clue_for_a_village_outside_the_officials_town_is_refused(
    fangfan, town, new_id_number
):
    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "测试",
            "division_code": "371321102268",
            "head_id_number": new_id_number(),
            "source": "application",
            "description": "申报",
        }
    )

    assert response.status_code == 400
    assert "请选择您辖区内的村" in response.text


def test_official_outside_the_households_division_can_neither_see_nor_act(
    fangfan, app, town, new_id_number
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    town.complete(household_id, "home_verification", home_verification(*ids))
    task_id = Desk(app, "village").task_for(household_id, "democratic_review")
    other_village = Desk(app, "village2")

    assert other_village.task_for(household_id, "democratic_review") is None
    assert other_village.get(f"/tasks/{task_id}").status_code == 403
    assert other_village.get(f"/cases/{case_id}").status_code == 403
    _refused_and_unchanged(
        fangfan,
        case_id,
        other_village.post(f"/tasks/{task_id}", DEMOCRATIC_REVIEW),
        403,
        "此任务不在您的辖区内",
    )


def test_official_of_another_role_cannot_complete_the_task(
    fangfan, town, new_id_number
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    town.complete(household_id, "home_verification", home_verification(*ids))
    with fangfan.sessions() as session:
        task_id = session.scalar(
            select(OpenTask.task_id).where(
                OpenTask.instance_id == case_id,
                OpenTask.task_name == "democratic_review",
            )
        )

    _refused_and_unchanged(
        fangfan,
        case_id,
        town.post(f"/tasks/{task_id}", DEMOCRATIC_REVIEW),
        403,
        "此任务不属于您的岗位",
    )
    with pytest.raises(NotAllowed):
        fangfan.engine.complete_task(task_id, {}, TOWN)


def test_a_post_without_the_csrf_token_changes_nothing(fangfan, town, new_id_number):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    task_id = town.task_for(household_id, "home_verification")
    before = snapshot(fangfan, case_id)

    response = town.client.post(f"/tasks/{task_id}", data=dict(home_verification(*ids)))

    assert response.status_code == 400
    assert snapshot(fangfan, case_id) == before


def test_completing_a_task_twice_at_once_lets_exactly_one_win(
    fangfan, app, town, new_id_number
):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    task_id = town.task_for(household_id, "home_verification")
    desks = [Desk(app, "town") for _ in range(4)]
    barrier = threading.Barrier(len(desks))
    statuses = []

    def submit(desk):
        barrier.wait()
        statuses.append(
            desk.post(f"/tasks/{task_id}", home_verification(*ids)).status_code
        )

    threads = [threading.Thread(target=submit, args=(desk,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [302, 409, 409, 409]
    with fangfan.sessions() as session:
        done = [
            e
            for e in history.events_of(session, case_id)
            if e.task_name == "home_verification" and e.kind == "task_completed"
        ]
        assert len(done) == 1
        assert history.verify_chain(history.events_of(session, case_id)) == []


def test_engine_refuses_a_stale_second_completion(fangfan, town, new_id_number):
    case_id, household_id, ids = _new_case(fangfan, town, new_id_number)
    task_id = town.task_for(household_id, "home_verification")
    data = parsed_home_verification(ids)

    fangfan.engine.complete_task(task_id, data, TOWN)

    with pytest.raises(Conflict) as refused:
        fangfan.engine.complete_task(task_id, data, TOWN)
    assert "已办理" in refused.value.message_zh


def test_two_clues_for_one_household_at_once_start_one_identification(
    fangfan, new_id_number
):
    with fangfan.sessions.begin() as session:
        household = Household(
            division_code="371321101200",
            head_name="并发户",
            head_id_number=new_id_number(),
            members=[],
        )
        session.add(household)
    clue = {"clue": {"source": "application", "description": "申报"}}
    barrier = threading.Barrier(3)
    outcomes = []

    def start():
        barrier.wait()
        try:
            fangfan.engine.start("identification", household.id, clue, TOWN)
            outcomes.append("started")
        except ForbiddenMove:
            outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "refused", "started"]


def test_no_monitoring_line_for_the_year_is_a_clear_refusal(
    fangfan, town, new_id_number
):
    from engine.models import MonitoringLine

    with fangfan.sessions.begin() as session:
        session.query(MonitoringLine).delete()

    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "测试",
            "division_code": "371321101200",
            "head_id_number": new_id_number(),
            "source": "application",
            "description": "申报",
        }
    )

    with fangfan.sessions() as session:
        year = local_date(clock.now(session)).year
    assert response.status_code == 409
    assert f"尚未设置{year}年省定防止返贫监测线" in response.text
    with fangfan.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Household)
                .where(Household.head_name == "测试")
            )
            == 0
        )


def test_a_name_with_digits_is_refused_so_no_number_reaches_a_notice(
    fangfan, town, new_id_number
):
    """Guide Q38: names go on public notices; numbers in them would leak IDs."""
    response = town.report_clue(
        {
            "household_id": "new",
            "head_name": "王建国13912345678",
            "division_code": "371321101200",
            "head_id_number": new_id_number(),
            "source": "application",
            "description": "申报",
        }
    )

    assert response.status_code == 400
    assert "姓名中不能含数字" in response.text
