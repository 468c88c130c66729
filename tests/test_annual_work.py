"""The yearly standing work: the monitoring line (guide Q10) and the annual data
update of monitored and eliminated households (guide Q39, with Q12's items).

Households are identified over HTTP (``identification_steps``) and eliminated
as in ``test_elimination``; the yearly work runs as the scheduler and the CLI
run it, and the officials do the update at their desks.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import delete, func, select

from engine import clock, history
from engine.clock import CHINA, local_date
from engine.errors import Conflict, NotAllowed
from engine.models import (
    Household,
    HouseholdYear,
    Instance,
    MonitoringLine,
    OpenTask,
    Reminder,
    YearlyRun,
)
from engine.runtime import Official
from engine.specs import PROCESSES_DIR, parse, read_sources
from fangfan import annual_work
from fangfan.annual_work import YearError, run_if_due, run_year
from fangfan.cli import main
from fangfan.procedures import procedure_for
from fangfan.service import Fangfan
from scheduler.service import yearly

from .identification_steps import OPERATOR, identify_household
from .test_elimination import eliminate, identify

TOWN = Official("town", "town_official", "371321101000")


# -- helpers -----------------------------------------------------------------


def clock_year(fangfan) -> int:
    return annual_work.current_year(fangfan.engine)


def today(fangfan) -> str:
    with fangfan.sessions() as session:
        return local_date(clock.now(session)).isoformat()


def household(fangfan, household_id: int) -> Household:
    with fangfan.sessions() as session:
        return session.get(Household, household_id)


def updates_of(fangfan, household_id: int) -> list[Instance]:
    with fangfan.sessions() as session:
        return list(
            session.scalars(
                select(Instance).where(
                    Instance.household_id == household_id,
                    Instance.process_id == "annual_update",
                )
            )
        )


def all_updates(fangfan) -> int:
    with fangfan.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(Instance)
            .where(Instance.process_id == "annual_update")
        )


def year_row(fangfan, household_id: int, year: int) -> HouseholdYear | None:
    with fangfan.sessions() as session:
        return session.scalar(
            select(HouseholdYear).where(
                HouseholdYear.household_id == household_id, HouseholdYear.year == year
            )
        )


def village_update(
    fangfan, household_id: int, child_id: str | None = None, **overrides
) -> dict:
    """The village cadre's form (annual_update_village.json), as posted."""
    record = household(fangfan, household_id)
    head, spouse = record.members[0], record.members[1]
    fields = {}
    rows = [head, spouse]
    if child_id:
        rows.append(
            {
                "name": "测试新生儿",
                "id_number": child_id,
                "relation": "child",
                "residence_type": "rural",
                "labour_capacity": "none",
                "safety_net": "none",
            }
        )
    for index, member in enumerate(rows):
        for key in (
            "name",
            "id_number",
            "relation",
            "residence_type",
            "labour_capacity",
            "safety_net",
        ):
            fields[f"members.{index}.{key}"] = member[key]
    fields.update(
        {
            "member_changes": "新增出生1人" if child_id else "",
            "income.wages_fen": "30000",
            "income.business_fen": "0",
            "income.transfer_fen": "1500",
            "income.property_fen": "0",
            "income.business_costs_fen": "0",
            "insurance_payouts_fen": "0",
            "out_of_pocket.medical_fen": "3000",
            "out_of_pocket.schooling_fen": "0",
            "out_of_pocket.disaster_fen": "0",
            "guarantees.education": "on",
            "guarantees.medical": "on",
            "guarantees.housing": "on",
            "guarantees.drinking_water": "on",
            "annual_updated_on": today(fangfan),
            "annual_note": "入户核实，收入较上年增加",
        }
    )
    fields.update(overrides)
    pairs = [(k, v) for k, v in fields.items() if v is not None]
    return pairs + [("risk_types", "none")]


def monitored(fangfan, desks, new_id_number) -> int:
    household_id = identify_household(fangfan, desks, new_id_number)
    assert household(fangfan, household_id).status == "monitored"
    return household_id


def village_task(desks, household_id: int) -> str | None:
    return desks["village"].task_for(household_id, "update_annual_info")


# -- who gets it (Q39) --------------------------------------------------------


def test_q39_monitored_and_eliminated_households_get_an_annual_update_ordinary_ones_not(
    fangfan, desks, new_id_number
):
    kept = monitored(fangfan, desks, new_id_number)
    eliminated = identify(fangfan, desks, new_id_number)
    eliminate(fangfan, desks, eliminated)
    assert household(fangfan, eliminated).status == "eliminated"
    year = clock_year(fangfan)

    report = run_year(fangfan.engine, year)

    assert report.ran and report.cases_started == 2 and not report.failures
    assert len(updates_of(fangfan, kept)) == 1
    assert len(updates_of(fangfan, eliminated)) == 1
    assert all_updates(fangfan) == 2, "the demo's ordinary households get none"
    assert household(fangfan, kept).status == "monitored"
    assert household(fangfan, eliminated).status == "eliminated"
    assert village_task(desks, kept) and village_task(desks, eliminated)
    with fangfan.sessions() as session:
        run = session.get(YearlyRun, year)
    assert run.finished_at is not None and run.cases_started == 2


def test_q39_a_household_with_another_case_running_still_gets_its_update(
    fangfan, desks, new_id_number
):
    """The assistance plan is still open after identification; the update
    moves no state, so both run side by side."""
    household_id = monitored(fangfan, desks, new_id_number)
    with fangfan.sessions() as session:
        plan = session.scalar(
            select(Instance).where(
                Instance.household_id == household_id,
                Instance.process_id == "assistance_plan",
            )
        )
    assert plan.status == "running"

    run_year(fangfan.engine, clock_year(fangfan))

    assert len(updates_of(fangfan, household_id)) == 1


def test_annual_update_is_not_started_by_hand(fangfan, desks, new_id_number):
    household_id = monitored(fangfan, desks, new_id_number)

    with pytest.raises(NotAllowed) as refused:
        fangfan.engine.start(
            "annual_update", household_id, {"year": clock_year(fangfan)}, TOWN
        )

    assert refused.value.message_zh == "您的岗位不能发起“年度信息更新”"
    page = desks["town"].get(f"/households/{household_id}").text
    assert "start/annual_update" not in page
    assert updates_of(fangfan, household_id) == []


def test_an_ordinary_household_is_refused_an_annual_update(fangfan):
    with fangfan.sessions() as session:
        ordinary = session.scalar(
            select(Household.id).where(Household.status == "ordinary").limit(1)
        )

    with pytest.raises(Exception) as refused:
        fangfan.engine.start_by_system(
            "annual_update", ordinary, {"year": clock_year(fangfan)}
        )

    assert "该农户当前为“一般农户”" in refused.value.message_zh
    assert year_row(fangfan, ordinary, clock_year(fangfan)) is None


def test_a_second_update_of_the_same_year_is_refused(fangfan, desks, new_id_number):
    household_id = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    fangfan.engine.start_by_system("annual_update", household_id, {"year": year})

    with pytest.raises(Conflict) as refused:
        fangfan.engine.start_by_system("annual_update", household_id, {"year": year})

    assert refused.value.message_zh == f"该农户{year}年度信息更新已发起，不重复发起"
    assert len(updates_of(fangfan, household_id)) == 1


def test_the_household_page_shows_a_years_update_still_pending(
    fangfan, desks, new_id_number
):
    """Until the town approves, the year is listed as 更新中 (no figures yet)."""
    household_id = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    fangfan.engine.start_by_system("annual_update", household_id, {"year": year})

    page = desks["village"].get(f"/households/{household_id}")
    assert page.status_code == 200
    assert "更新中" in page.text and f"<td>{year}</td>" in page.text


def test_q39_the_annual_update_starts_with_the_members_on_record(
    fangfan, desks, new_id_number
):
    """The village corrects last year's members instead of typing them again."""
    household_id = monitored(fangfan, desks, new_id_number)
    fangfan.engine.start_by_system(
        "annual_update", household_id, {"year": clock_year(fangfan)}
    )
    with fangfan.sessions() as session:
        members = session.get(Household, household_id).members
    task_id = desks["village"].task_for(household_id, "update_annual_info")

    page = desks["village"].get(f"/tasks/{task_id}").text
    for index, member in enumerate(members):
        assert f'name="members.{index}.id_number"' in page
        assert f'value="{member["id_number"]}"' in page
    assert f'name="members.{len(members)}.name"' not in page


# -- exactly once per year -------------------------------------------------------


def test_q39_yearly_work_happens_once_when_run_twice(fangfan, desks, new_id_number):
    household_id = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)

    first = run_year(fangfan.engine, year)
    second = run_year(fangfan.engine, year)
    again = run_year(fangfan.engine, year, again=True)

    assert first.ran and first.cases_started == 1
    assert not second.ran
    assert again.ran and again.cases_started == 0, "nothing missing to start"
    assert len(updates_of(fangfan, household_id)) == 1


def test_q39_yearly_work_happens_once_when_two_schedulers_run_it_at_once(
    fangfan, desks, new_id_number
):
    """Two scheduler processes, each with its own connections and engine."""
    first = monitored(fangfan, desks, new_id_number)
    second = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    schedulers = [Fangfan(fangfan.url), Fangfan(fangfan.url)]
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run(installation):
        try:
            barrier.wait(timeout=10)
            reports.append(run_year(installation.engine, year))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for installation in schedulers:
        installation.close()

    assert not errors, errors
    assert sorted(r.ran for r in reports) == [False, True]
    assert len(updates_of(fangfan, first)) == 1
    assert len(updates_of(fangfan, second)) == 1
    with fangfan.sessions() as session:
        assert session.scalar(select(func.count()).select_from(YearlyRun)) == 1


def test_q39_two_concurrent_passes_over_one_year_start_each_household_once(
    fangfan, desks, new_id_number
):
    """Even two ``--again`` passes at once: the household's year is unique."""
    household_ids = [monitored(fangfan, desks, new_id_number) for _ in range(2)]
    year = clock_year(fangfan)
    barrier = threading.Barrier(2)
    reports = []

    def run():
        barrier.wait(timeout=10)
        reports.append(run_year(fangfan.engine, year, again=True))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(r.cases_started for r in reports) == 2
    assert not any(r.failures for r in reports)
    for household_id in household_ids:
        assert len(updates_of(fangfan, household_id)) == 1


def test_one_bad_household_does_not_stop_the_others(
    fangfan, desks, new_id_number, monkeypatch
):
    bad = monitored(fangfan, desks, new_id_number)
    good = monitored(fangfan, desks, new_id_number)
    procedure = procedure_for("annual_update")
    original = procedure.start_data

    def failing(session, record, data, now):
        if record.id == bad:
            raise RuntimeError("broken record")
        return original(session, record, data, now)

    monkeypatch.setattr(procedure, "start_data", failing)
    year = clock_year(fangfan)

    report = run_year(fangfan.engine, year)

    assert report.cases_started == 1
    assert report.failures == [
        {"household_id": bad, "error": "RuntimeError: broken record"}
    ]
    assert updates_of(fangfan, bad) == [] and year_row(fangfan, bad, year) is None
    assert len(updates_of(fangfan, good)) == 1
    with fangfan.sessions() as session:
        assert session.get(YearlyRun, year).failures == report.failures

    monkeypatch.setattr(procedure, "start_data", original)
    retried = run_year(fangfan.engine, year, again=True)
    assert retried.cases_started == 1 and not retried.failures
    assert len(updates_of(fangfan, bad)) == 1


def test_yearly_work_is_refused_for_a_year_not_yet_begun(fangfan):
    with pytest.raises(YearError):
        run_year(fangfan.engine, clock_year(fangfan) + 1)


# -- the scheduler and the CLI --------------------------------------------------


def days_to_next_january(fangfan) -> float:
    with fangfan.sessions() as session:
        now = clock.now(session)
    local = now.astimezone(CHINA)
    january = datetime(local.year + 1, 1, 1, 1, 0, tzinfo=CHINA)
    return (january - local) / timedelta(days=1)


def test_q39_scheduler_starts_the_updates_in_the_first_quarter_of_the_clocks_year(
    fangfan, desks, new_id_number
):
    household_id = monitored(fangfan, desks, new_id_number)
    month = datetime.fromisoformat(today(fangfan)).month
    if month not in annual_work.FIRST_QUARTER_MONTHS:
        yearly(fangfan.engine)
        assert all_updates(fangfan) == 0, "outside the first quarter it waits"

    fangfan.advance_clock(days_to_next_january(fangfan), OPERATOR)
    yearly(fangfan.engine)
    yearly(fangfan.engine)

    assert len(updates_of(fangfan, household_id)) == 1
    with fangfan.sessions() as session:
        assert session.get(YearlyRun, clock_year(fangfan)) is not None
    assert run_if_due(fangfan.engine) is None, "done once for the year"


def test_fangfan_yearly_command_runs_once_per_year(fangfan, desks, new_id_number):
    monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["yearly", *args], env={"DATABASE_URL": fangfan.url})

    first = invoke("--year", str(year))
    second = invoke("--year", str(year))
    future = invoke("--year", str(year + 1))

    assert first.exit_code == 0, first.output
    assert f"yearly work {year}: 1 annual updates started" in first.output
    assert "1/1 households" in first.output
    assert second.exit_code == 0 and "was done already" in second.output
    assert future.exit_code != 0 and "clock's year" in future.output
    assert all_updates(fangfan) == 1


# -- the monitoring line reminder (Q10) -----------------------------------------


def test_q10_province_is_reminded_until_the_years_line_is_set(fangfan, desks):
    year = clock_year(fangfan)
    with fangfan.sessions.begin() as session:
        session.execute(delete(MonitoringLine).where(MonitoringLine.year == year))
    text = f"请在一季度公布{year}年防止返贫监测线"

    report = run_year(fangfan.engine, year)
    run_year(fangfan.engine, year, again=True)

    assert report.reminder
    with fangfan.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == 1
    assert text in desks["province"].get("/").text
    assert text in desks["province"].get("/lines").text
    assert text not in desks["village"].get("/").text
    assert text not in desks["county"].get("/").text

    response = desks["province"].post("/lines", {"year": str(year), "yuan": "8100"})

    assert response.status_code == 302, response.text
    assert text not in desks["province"].get("/").text
    assert text not in desks["province"].get("/lines").text
    with fangfan.sessions() as session:
        assert session.scalar(select(Reminder)).closed_at is not None


def test_q10_no_reminder_when_the_line_is_set_already(fangfan, desks):
    year = clock_year(fangfan)

    report = run_year(fangfan.engine, year)

    assert not report.reminder
    assert "防止返贫监测线" not in desks["province"].get("/").text


# -- the procedure's steps --------------------------------------------------------


def test_q39_village_updates_town_approves_and_the_household_keeps_the_year(
    fangfan, desks, new_id_number
):
    household_id = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    run_year(fangfan.engine, year)
    child = new_id_number()

    due = desks["village"].get(f"/tasks/{village_task(desks, household_id)}")
    assert "村级更新年度基础信息" in due.text and "指南第39问" in due.text
    response = desks["village"].complete(
        household_id, "update_annual_info", village_update(fangfan, household_id, child)
    )
    assert response.status_code == 302, response.text
    assert year_row(fangfan, household_id, year).status == "pending"
    assert len(household(fangfan, household_id).members) == 2, "not before approval"

    check = desks["town"].task_for(household_id, "check_annual_info")
    page = desks["town"].get(f"/tasks/{check}").text
    assert "人均纯收入" in page and "10500.00" in page  # 31,500 yuan over 3
    response = desks["town"].complete(
        household_id, "check_annual_info", {"annual_town_decision": "approve"}
    )
    assert response.status_code == 302, response.text

    row = year_row(fangfan, household_id, year)
    assert row.status == "updated" and row.updated_on is not None
    assert row.data["income_year"] == year - 1
    assert row.data["member_count"] == 3
    assert row.data["per_capita_net_income_fen"] == 1050000
    assert row.data["income"]["wages_fen"] == 3000000
    assert row.data["risk_labels"] == ["未发现返贫致贫风险"]
    record = household(fangfan, household_id)
    assert [m["id_number"] for m in record.members][-1] == child
    assert record.status == "monitored"
    [case] = updates_of(fangfan, household_id)
    assert case.status == "completed"
    with fangfan.sessions() as session:
        events = history.events_of(session, case.id)
    assert events[-1].data["end"] == "年度信息已更新"
    page = desks["town"].get(f"/households/{household_id}").text
    assert "年度基础信息（指南第39问）" in page and "10500.00" in page


def test_town_sends_the_annual_update_back_only_with_a_reason(
    fangfan, desks, new_id_number
):
    household_id = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    run_year(fangfan.engine, year)
    desks["village"].complete(
        household_id, "update_annual_info", village_update(fangfan, household_id)
    )

    bare = desks["town"].complete(
        household_id, "check_annual_info", {"annual_town_decision": "return"}
    )
    assert bare.status_code == 400
    assert "退回理由：请填写" in bare.text

    returned = desks["town"].complete(
        household_id,
        "check_annual_info",
        {"annual_town_decision": "return", "annual_town_reasons": "工资收入未附证明"},
    )
    assert returned.status_code == 302
    assert village_task(desks, household_id), "back at the village"
    assert year_row(fangfan, household_id, year).status == "pending"

    desks["village"].complete(
        household_id,
        "update_annual_info",
        village_update(fangfan, household_id, **{"income.wages_fen": "28000"}),
    )
    desks["town"].complete(
        household_id, "check_annual_info", {"annual_town_decision": "approve"}
    )
    row = year_row(fangfan, household_id, year)
    assert row.status == "updated" and row.data["income"]["wages_fen"] == 2800000


def test_annual_update_deadline_is_60_days_and_keeps_the_step_open(
    fangfan, desks, new_id_number
):
    household_id = monitored(fangfan, desks, new_id_number)
    run_year(fangfan.engine, clock_year(fangfan))
    [case] = updates_of(fangfan, household_id)
    with fangfan.sessions() as session:
        task = session.scalar(select(OpenTask).where(OpenTask.instance_id == case.id))
    assert task.due_at - case.started_at == timedelta(days=60)

    fangfan.advance_clock(60.1, OPERATOR)
    assert fangfan.engine.fire_due_timers() >= 1

    assert village_task(desks, household_id), "non-interrupting: still to do"
    with fangfan.sessions() as session:
        events = history.events_of(session, case.id)
    assert any(e.task_name == "deadline_annual_update" for e in events)


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"income.wages_fen": "-5"}, "工资性收入：不能小于 0"),
        ({"income.wages_fen": "abc"}, "金额应为数字"),
        ({"members.1.id_number": "371322194001010000"}, "校验"),
        ({"members.0.relation": "spouse"}, "家庭成员中应有且只有一位户主"),
        ({"annual_updated_on": "2999-01-01"}, "入户更新日期：不能晚于今天"),
        ({"guarantees.education": None, "annual_updated_on": None}, "请填写"),
    ],
)
def test_bad_input_to_the_annual_update_is_refused_in_chinese(
    fangfan, desks, new_id_number, overrides, message
):
    household_id = monitored(fangfan, desks, new_id_number)
    year = clock_year(fangfan)
    run_year(fangfan.engine, year)
    members_before = household(fangfan, household_id).members

    response = desks["village"].complete(
        household_id,
        "update_annual_info",
        village_update(fangfan, household_id, **overrides),
    )

    assert response.status_code == 400
    assert message in response.text
    assert village_task(desks, household_id), "nothing submitted"
    assert household(fangfan, household_id).members == members_before
    assert year_row(fangfan, household_id, year).status == "pending"


def test_a_member_counted_in_another_household_is_refused_in_the_update(
    fangfan, desks, new_id_number
):
    household_id = monitored(fangfan, desks, new_id_number)
    other = monitored(fangfan, desks, new_id_number)
    run_year(fangfan.engine, clock_year(fangfan))
    elsewhere = household(fangfan, other).members[1]["id_number"]

    response = desks["village"].complete(
        household_id,
        "update_annual_info",
        village_update(fangfan, household_id, child_id=elsewhere),
    )

    assert response.status_code == 400
    assert "第3位成员已登记在其他农户中" in response.text


def test_risk_none_cannot_go_with_another_risk_type(fangfan, desks, new_id_number):
    household_id = monitored(fangfan, desks, new_id_number)
    run_year(fangfan.engine, clock_year(fangfan))

    response = desks["village"].complete(
        household_id,
        "update_annual_info",
        village_update(fangfan, household_id) + [("risk_types", "illness")],
    )

    assert response.status_code == 400
    assert "风险类型" in response.text


# -- the model ----------------------------------------------------------------------

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"


def test_annual_update_model_deploys_and_every_element_is_drawn():
    sources = read_sources("annual_update")
    parse("annual_update", sources)  # XSD, lanes, forms, timers, scripts
    tree = etree.parse(str(PROCESSES_DIR / "annual_update.bpmn"))
    process = tree.find(f"{BPMN}process")
    drawn = {e.get("bpmnElement") for e in tree.iter(f"{DI}BPMNShape", f"{DI}BPMNEdge")}

    elements = [e for e in process if e.get("id") and e.tag != f"{BPMN}laneSet"]
    assert {e.get("id") for e in elements} <= drawn

    user_tasks = process.findall(f"{BPMN}userTask")
    assert [t.get("id") for t in user_tasks] == [
        "update_annual_info",
        "check_annual_info",
    ]
    timer = process.find(f"{BPMN}boundaryEvent")
    assert timer.get("name") == "年度信息更新60天期限"
    assert timer.get("cancelActivity") == "false"
    assert '"P60D"' in etree.tostring(timer, encoding="unicode")
    flow = process.find(f"{BPMN}sequenceFlow[@sourceRef='{timer.get('id')}']")
    end = process.find(f"{BPMN}endEvent[@id='{flow.get('targetRef')}']")
    assert end.get("name") == "已督办", "no supervision task of its own"


@pytest.mark.browser
def test_annual_update_diagram_draws_in_the_browser_with_the_village_step_open(
    fangfan, desks, new_id_number
):
    """bpmn-js draws the model from its DI, the open step marked on the case page."""
    sync_api = pytest.importorskip("playwright.sync_api")
    import os
    import re

    from werkzeug.serving import make_server

    from web import create_app

    from .test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, log_in

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    household_id = monitored(fangfan, desks, new_id_number)
    run_year(fangfan.engine, clock_year(fangfan))
    [case] = updates_of(fangfan, household_id)

    httpd = make_server("127.0.0.1", 0, create_app(fangfan, secret_key="test"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(
                base_url=f"http://127.0.0.1:{httpd.server_port}",
                viewport={"width": 1280, "height": 900},
            )
            log_in(page, "village")
            page.goto(f"/cases/{case.id}")
            diagram = page.locator("#diagram[data-rendered=yes]")
            sync_api.expect(diagram).to_be_attached()
            opened = diagram.locator(
                'g.djs-element[data-element-id="update_annual_info"]'
            )
            sync_api.expect(opened).to_have_class(re.compile(r"\bhighlight-open\b"))
            page.screenshot(
                path=os.path.join(SCREENSHOTS, "annual_update_case.png"),
                full_page=True,
            )
            browser.close()
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
