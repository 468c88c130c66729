"""Working-day deadlines: weekends and public holidays skipped, 调休 days counted.

The holiday data is the pinned ``chinese-calendar`` release. Its 2026 arrangement:
Mid-Autumn Festival 25–27 September, National Day 1–7 October, and Sunday 20
September and Saturday 10 October made working days.

The engine tests run ``processes/identification.bpmn`` with one change: its
3-day home-verification deadline marked as counting working days. The product
moves the simulated clock forward only; to reach dates in September 2026 from
a template database made later, a test writes the clock's offset directly.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import func, select
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine import clock, specs, workcalendar
from engine.clock import CHINA
from engine.errors import CommandError
from engine.history import EventKind
from engine.models import (
    ClockState,
    Event,
    Household,
    Instance,
    MonitoringLine,
    OpenTask,
    WaitingTimer,
)
from engine.runtime import Official
from fangfan.cli import main
from .identification_steps import OPERATOR, start_directly

TOWN = Official("town", "town_official", "371321101000")

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

HOME_DEADLINE = "deadline_home_verification"
HOME_DEADLINE_NAME = "入户核实3天期限"
CASE_DEADLINE_NAME = "识别认定15天期限"

LAST_COVERED = max(workcalendar.covered_years())
FIRST_COVERED = min(workcalendar.covered_years())


def china(*parts) -> datetime:
    return datetime(*parts, tzinfo=CHINA)


# -- the calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    "start, days, due",
    [
        # Tuesday before National Day: 30 Sep, then 8 and 9 Oct.
        (china(2026, 9, 29, 10), 3, china(2026, 10, 9, 10)),
        # Friday 25 Sep is Mid-Autumn: count from Monday 28 Sep 00:00; the
        # third working day, 30 Sep, ends at 24:00, before the holiday week.
        (china(2026, 9, 25, 10), 3, china(2026, 10, 1, 0)),
        # Thursday: Friday 18, Sunday 20 (调休上班), Monday 21.
        (china(2026, 9, 17, 10), 3, china(2026, 9, 21, 10)),
        # Friday after National Day: Saturday 10 Oct is a working day.
        (china(2026, 10, 9, 10), 1, china(2026, 10, 10, 10)),
        (china(2026, 10, 9, 10), 3, china(2026, 10, 13, 10)),
        # An ordinary week: Monday to Thursday, weekend skipped by Friday + 1.
        (china(2026, 11, 16, 9, 30), 3, china(2026, 11, 19, 9, 30)),
        (china(2026, 11, 20, 16), 1, china(2026, 11, 23, 16)),
        # Two weeks are 14 working days: 16 Nov + 14 = 4 Dec.
        (china(2026, 11, 16, 9), 14, china(2026, 12, 4, 9)),
    ],
)
def test_working_days_skip_weekends_and_holidays_and_count_adjusted_weekends(
    start, days, due
):
    assert workcalendar.add_working_days(start, days) == due
    assert workcalendar.add_working_days(start, days).tzinfo == timezone.utc


def test_the_2026_arrangement_is_the_published_one():
    assert not workcalendar.is_working_day(date(2026, 10, 1))
    assert not workcalendar.is_working_day(date(2026, 10, 7))
    assert not workcalendar.is_working_day(date(2026, 9, 25))
    assert workcalendar.is_working_day(date(2026, 9, 20)), "Sunday, 调休上班"
    assert workcalendar.is_working_day(date(2026, 10, 10)), "Saturday, 调休上班"
    assert workcalendar.is_working_day(date(2026, 10, 8))


@pytest.mark.parametrize(
    "duration, days",
    [("P3D", 3), ("P10D", 10), ("P1W", 7), ("P2W", 14), ("P0D", 0)],
)
def test_working_day_timers_take_whole_days_and_weeks(duration, days):
    assert workcalendar.whole_days(duration) == days


@pytest.mark.parametrize("duration", ["PT36H", "P1M", "P1Y", "P1DT12H", "P1W2D", "3"])
def test_working_day_timers_refuse_other_durations(duration):
    assert workcalendar.whole_days(duration) is None
    with pytest.raises(CommandError):
        workcalendar.working_day_due(duration, china(2026, 9, 29, 10))


def test_a_year_without_holiday_data_is_refused_not_guessed():
    start = china(LAST_COVERED, 12, 29, 10)

    with pytest.raises(workcalendar.HolidaysNotCovered) as refused:
        workcalendar.add_working_days(start, 3)

    assert refused.value.year == LAST_COVERED + 1
    assert f"节假日数据未覆盖{LAST_COVERED + 1}年" in refused.value.message_zh
    assert "chinese-calendar" in str(refused.value)
    with pytest.raises(workcalendar.HolidaysNotCovered):
        workcalendar.is_working_day(date(FIRST_COVERED - 1, 6, 1))


def test_a_deadline_ending_on_the_last_covered_day_needs_no_later_year():
    """Reaching the end of 31 December asks nothing about 1 January."""
    last_working = max(
        day
        for day in (date(LAST_COVERED, 12, 31) - timedelta(n) for n in range(7))
        if workcalendar.is_working_day(day)
    )
    start = datetime.combine(last_working, datetime.min.time(), CHINA)

    due = workcalendar.add_working_days(start, 1)

    assert due == start + timedelta(days=1)


def test_a_missing_next_year_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="fangfan.engine"):
        warned = workcalendar.warn_if_next_year_uncovered(date(LAST_COVERED, 12, 1))
        quiet = workcalendar.warn_if_next_year_uncovered(date(LAST_COVERED - 1, 12, 1))

    assert warned and not quiet
    assert f"not {LAST_COVERED + 1}" in caplog.text


# -- the deploy check --------------------------------------------------------


def _marked(
    value: str = workcalendar.WORKING_DAYS,
    duration: str | None = None,
    element: str = HOME_DEADLINE,
) -> dict[str, str]:
    """The identification model's sources with ``calendar`` set on one element."""
    sources = specs.read_sources("identification")
    root = etree.fromstring(sources["identification.bpmn"].encode())
    node = root.find(f".//*[@id='{element}']")

    extensions = node.find("bpmn:extensionElements", NS)
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        node.insert(len(node.findall("bpmn:documentation", NS)), extensions)
    properties = extensions.find("spiffworkflow:properties", NS)
    if properties is None:
        properties = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties")
    etree.SubElement(
        properties, f"{{{SPIFF_NS}}}property", name="calendar", value=value
    )

    if duration is not None:
        node.find(".//bpmn:timeDuration", NS).text = duration
    sources["identification.bpmn"] = etree.tostring(root, encoding="unicode")
    return sources


@pytest.mark.parametrize(
    "value, duration", [("working_days", '"P3D"'), ("working_days", '"P2W"')]
)
def test_deploy_accepts_whole_days_on_a_working_day_timer(value, duration):
    model = specs.parse("identification", _marked(value, duration))

    spec = model.spec.task_specs[HOME_DEADLINE]
    assert workcalendar.calendar_of(spec) == workcalendar.WORKING_DAYS


def test_deploy_accepts_calendar_days_said_explicitly():
    model = specs.parse("identification", _marked(workcalendar.CALENDAR_DAYS))

    spec = model.spec.task_specs[HOME_DEADLINE]
    assert workcalendar.calendar_of(spec) == workcalendar.CALENDAR_DAYS


@pytest.mark.parametrize(
    "value, duration, element, problem",
    [
        ("weekdays", None, HOME_DEADLINE, "calendar 'weekdays' is unknown"),
        ("", None, HOME_DEADLINE, "calendar '' is unknown"),
        ("working_days", '"PT36H"', HOME_DEADLINE, "must be a duration of whole days"),
        ("working_days", '"P1M"', HOME_DEADLINE, "must be a duration of whole days"),
        ("working_days", '"P1DT12H"', HOME_DEADLINE, "whole days"),
        ("working_days", None, "home_verification", "only a timer event has one"),
    ],
)
def test_deploy_rejects_a_bad_calendar_with_a_clear_problem(
    value, duration, element, problem
):
    with pytest.raises(specs.ModelError) as refused:
        specs.parse("identification", _marked(value, duration, element))

    assert any(
        problem in line for line in refused.value.problems
    ), refused.value.problems
    assert any(element in line for line in refused.value.problems)


#: A timer after an event-based gateway: SpiffWorkflow 3.2.0 moves its definition
#: to the gateway, so the timer's own ``calendar`` could never apply.
_GATEWAY_TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="definitions_gateway" targetNamespace="http://fangfan.local/test">
  <bpmn:message id="message_answer" name="answer" />
  <bpmn:process id="gateway_timer" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>to_gateway</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="to_gateway" sourceRef="start" targetRef="wait" />
    <bpmn:eventBasedGateway id="wait">
      <bpmn:incoming>to_gateway</bpmn:incoming>
      <bpmn:outgoing>to_timer</bpmn:outgoing>
      <bpmn:outgoing>to_answer</bpmn:outgoing>
    </bpmn:eventBasedGateway>
    <bpmn:sequenceFlow id="to_timer" sourceRef="wait" targetRef="three_days" />
    <bpmn:sequenceFlow id="to_answer" sourceRef="wait" targetRef="answered" />
    <bpmn:intermediateCatchEvent id="three_days">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="calendar" value="working_days" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>to_timer</bpmn:incoming>
      <bpmn:outgoing>to_late</bpmn:outgoing>
      <bpmn:timerEventDefinition id="three_days_definition">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P3D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="answered">
      <bpmn:incoming>to_answer</bpmn:incoming>
      <bpmn:outgoing>to_done</bpmn:outgoing>
      <bpmn:messageEventDefinition id="answer_definition" messageRef="message_answer" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="to_late" sourceRef="three_days" targetRef="late" />
    <bpmn:sequenceFlow id="to_done" sourceRef="answered" targetRef="done" />
    <bpmn:endEvent id="late"><bpmn:incoming>to_late</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="done"><bpmn:incoming>to_done</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_deploy_rejects_working_days_on_a_timer_behind_an_event_based_gateway():
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(_GATEWAY_TIMER.encode(), filename="gateway_timer.bpmn")

    problems = specs.check_spec(parser.get_spec("gateway_timer"))

    assert any(
        "three_days" in line and "event-based gateway" in line for line in problems
    ), problems


def test_init_and_deploy_warn_when_next_years_holidays_are_missing(
    tmp_path, monkeypatch, caplog
):
    this_year = date.today().year
    monkeypatch.setattr(
        workcalendar, "covered_years", lambda: frozenset(range(2004, this_year + 1))
    )
    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}"}

    with caplog.at_level(logging.WARNING, logger="fangfan.engine"):
        initialised = runner.invoke(main, ["init"], env=env)
        warned_on_init = caplog.text.count(f"not {this_year + 1}")
        deployed = runner.invoke(main, ["deploy"], env=env)

    assert initialised.exit_code == 0, initialised.output
    assert deployed.exit_code == 0, deployed.output
    assert warned_on_init == 1
    assert caplog.text.count(f"not {this_year + 1}") == 2


# -- a real model on the engine ----------------------------------------------


@pytest.fixture
def working_day_model(fangfan):
    """Identification with its home-verification deadline in working days,
    deployed as the newest version (before any test moves the clock back)."""
    model = specs.parse("identification", _marked())
    with fangfan.sessions.begin() as session:
        specs.deploy(session, model, fangfan.engine.models, clock.now(session), "test")
    return model.content_hash


def _set_clock(fangfan, moment: datetime) -> None:
    with fangfan.sessions.begin() as session:
        state = session.get(ClockState, 1)
        offset = moment - datetime.now(timezone.utc)
        state.offset_seconds = round(offset.total_seconds())


def _advance_to(fangfan, moment: datetime) -> None:
    with fangfan.sessions() as session:
        now = clock.now(session)
    fangfan.advance_clock((moment - now).total_seconds() / 86400, OPERATOR)


def _timers(fangfan, case_id: int) -> dict[str, datetime]:
    with fangfan.sessions() as session:
        return dict(
            session.execute(
                select(WaitingTimer.name, WaitingTimer.due_at).where(
                    WaitingTimer.instance_id == case_id
                )
            ).all()
        )


def _case(fangfan, case_id: int) -> tuple[Instance, datetime | None]:
    with fangfan.sessions() as session:
        instance = session.get(Instance, case_id)
        task_due = session.scalar(
            select(OpenTask.due_at).where(
                OpenTask.instance_id == case_id,
                OpenTask.task_name == "home_verification",
            )
        )
        return instance, task_due


def _close(moment: datetime, expected: datetime) -> bool:
    """Equal but for the second the real clock ticked while the test ran."""
    return abs(moment - expected) < timedelta(seconds=5)


@pytest.mark.parametrize(
    "start, due",
    [
        (china(2026, 9, 29, 10), china(2026, 10, 9, 10)),
        (china(2026, 9, 25, 10), china(2026, 10, 1, 0)),
        (china(2026, 10, 9, 10), china(2026, 10, 13, 10)),
    ],
    ids=["across-national-day", "clue-on-mid-autumn", "adjusted-saturday"],
)
def test_a_working_day_deadline_is_due_on_the_working_day_due_time(
    fangfan, working_day_model, new_id_number, start, due
):
    _set_clock(fangfan, start)

    case_id = start_directly(fangfan, new_id_number(), "工作日户")

    instance, task_due = _case(fangfan, case_id)
    timers = _timers(fangfan, case_id)
    assert instance.model_hash == working_day_model
    assert _close(timers[HOME_DEADLINE_NAME], due), timers[HOME_DEADLINE_NAME]
    assert task_due == timers[HOME_DEADLINE_NAME], "the inbox shows the same due time"
    assert timers[CASE_DEADLINE_NAME] == instance.started_at + timedelta(
        days=15
    ), "the 15 days are calendar days: unmarked timers are unchanged"


def test_a_working_day_deadline_fires_after_the_national_day_week_not_before(
    fangfan, working_day_model, new_id_number
):
    _set_clock(fangfan, china(2026, 9, 29, 10))
    case_id = start_directly(fangfan, new_id_number(), "工作日户")
    due = _timers(fangfan, case_id)[HOME_DEADLINE_NAME]

    _advance_to(fangfan, due - timedelta(minutes=1))
    fired_early = fangfan.engine.fire_due_timers()
    still_waiting = _timers(fangfan, case_id)
    _advance_to(fangfan, due + timedelta(minutes=1))
    fired = fangfan.engine.fire_due_timers()

    assert fired_early == 0, "ten calendar days on, the third working day has not ended"
    assert HOME_DEADLINE_NAME in still_waiting
    assert fired >= 1
    assert HOME_DEADLINE_NAME not in _timers(fangfan, case_id)
    with fangfan.sessions() as session:
        noted = session.scalars(
            select(Event).where(
                Event.stream == case_id,
                Event.kind == EventKind.TIMER_FIRED,
                Event.task_name == HOME_DEADLINE,
            )
        ).all()
    assert len(noted) == 1
    assert datetime.fromisoformat(noted[0].data["due"]) == due


def test_calendar_day_deadlines_still_count_calendar_days(fangfan, new_id_number):
    """The shipped model is unmarked: its 3 days run into the holiday week."""
    _set_clock(fangfan, china(2026, 9, 29, 10))

    case_id = start_directly(fangfan, new_id_number(), "工作日户")

    instance, _ = _case(fangfan, case_id)
    timers = _timers(fangfan, case_id)
    assert timers[HOME_DEADLINE_NAME] == instance.started_at + timedelta(days=3)
    assert timers[CASE_DEADLINE_NAME] == instance.started_at + timedelta(days=15)


def test_an_uncovered_year_refuses_the_clue_and_writes_nothing(
    fangfan, working_day_model, new_id_number
):
    _set_clock(fangfan, china(LAST_COVERED, 12, 29, 10))
    with fangfan.sessions() as session:
        assert session.get(MonitoringLine, LAST_COVERED) is not None
    tables = (Household, Instance, Event, WaitingTimer, OpenTask)

    def counts():
        with fangfan.sessions() as session:
            return [
                session.scalar(select(func.count()).select_from(table))
                for table in tables
            ]

    before = counts()
    household = {
        "division_code": "371321101200",
        "head_name": "跨年户",
        "head_id_number": new_id_number(),
        "phone": None,
        "lifted_out": False,
        "members": [],
    }

    with pytest.raises(workcalendar.HolidaysNotCovered) as refused:
        fangfan.engine.start(
            "identification",
            household,
            {"clue": {"source": "screening", "description": "排查"}},
            TOWN,
        )

    assert isinstance(refused.value, CommandError)
    assert f"节假日数据未覆盖{LAST_COVERED + 1}年" in refused.value.message_zh
    assert counts() == before, "no household, case, event, timer or task is kept"


def test_the_working_day_hook_wraps_spiffworkflow_once():
    """Installing the seam again (another engine in the process) adds no layer."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module

    clock.install_timer_seam()
    clock.install_timer_seam()

    hook = timer_module.DurationTimerEventDefinition.has_fired
    assert hook.without_working_days.__qualname__ == (
        "DurationTimerEventDefinition.has_fired"
    )
