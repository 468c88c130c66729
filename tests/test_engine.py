"""The engine's promises: checked models, versions, the cache, the clock, history."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine import clock, history, specs
from engine.clock import ClockError
from engine.models import Event, Instance, OpenTask
from engine.runtime import Engine, Official
from engine.scripting import UnsafeScript, check_source
from engine.specs import ModelError
from web import create_app

from .desk import Desk
from .identification_steps import (
    DEMOCRATIC_REVIEW,
    parsed_home_verification,
    report_new_household,
)

TOWN = Official("town", "town_official", "371321101000")
VILLAGE = Official("village", "village_cadre", "371321101200")


@pytest.mark.parametrize(
    "source",
    [
        "().__class__.__bases__[0].__subclasses__()",
        "__import__('os').system('true')",
        "open('/etc/passwd').read()",
        "'{0.__class__}'.format(1)",
        "(lambda: 1)()",
        "getattr(1, 'real')",
        "[c for c in ().__class__.__mro__]",
    ],
)
def test_scripts_cannot_reach_outside_their_data(source):
    with pytest.raises(UnsafeScript):
        check_source(source, "eval")


def test_scripts_may_compute_with_data_and_rules():
    check_source(
        "x = net_income_per_capita_fen(income, len(members))\n"
        "y = any(m.get('labour_capacity') == 'full' for m in members)",
        "exec",
    )


def _model_with(old: str, new: str) -> dict:
    sources = specs.read_sources("identification")
    bpmn = sources["identification.bpmn"]
    assert old in bpmn
    sources["identification.bpmn"] = bpmn.replace(old, new, 1)
    return sources


@pytest.mark.parametrize(
    "old, new, problem",
    [
        ('"P3D"', "P3D", "quoted ISO 8601"),
        ('"P5D"', '"five days"', "neither an ISO 8601 duration"),
        ('"P10D"', '"2026-12-31T00:00:00"', "needs its UTC offset"),
        ('value="county_approval.json"', 'value="missing.json"', "does not exist"),
        ('name="村级"', 'name="村委会主任"', "is not a known role"),
    ],
)
def test_a_model_that_breaks_the_rules_is_not_deployed(old, new, problem):
    with pytest.raises(ModelError) as refused:
        specs.parse("identification", _model_with(old, new))
    assert problem in str(refused.value)


def test_a_model_with_a_script_escaping_its_data_is_not_deployed():
    sources = specs.read_sources("identification")
    bpmn = sources["identification.bpmn"]
    start = bpmn.index("<bpmn:script>") + len("<bpmn:script>")
    sources["identification.bpmn"] = (
        bpmn[:start] + "x = ().__class__.__bases__[0]\n" + bpmn[start:]
    )

    with pytest.raises(ModelError) as refused:
        specs.parse("identification", sources)
    assert "__class__" in str(refused.value)


def test_a_model_that_fails_xsd_validation_is_not_deployed():
    with pytest.raises(ModelError):
        specs.parse("identification", _model_with("<bpmn:userTask ", "<bpmn:userTusk "))


def test_deploying_the_same_files_twice_keeps_one_version(fangfan):
    first = fangfan.deploy_models()
    second = fangfan.deploy_models()

    assert not any(new for _, _, new in first + second)
    assert dict((p, h) for p, h, _ in first)["identification"] == specs.content_hash(
        specs.read_sources("identification")
    )


def test_a_running_case_stays_on_the_model_version_it_started_with(
    fangfan, new_id_number
):
    from engine.models import Household

    with fangfan.sessions.begin() as session:
        household = Household(
            division_code="371321101200",
            head_name="版本户",
            head_id_number=new_id_number(),
            members=[],
        )
        session.add(household)
    case_id = fangfan.engine.start(
        "identification",
        household.id,
        {"clue": {"source": "hotline", "description": "来电"}},
        TOWN,
    )
    changed = specs.parse(
        "identification", _model_with("超期，转上级督办", "超期，转上一级督办")
    )
    with fangfan.sessions.begin() as session:
        later = clock.now(session)
        specs.deploy(session, changed, fangfan.engine.models, later, "owner")

    with fangfan.sessions() as session:
        assert session.get(Instance, case_id).model_hash != changed.content_hash


def test_a_second_process_never_acts_on_a_stale_cached_workflow(fangfan, new_id_number):
    """Two workers on one database: each restores whenever the stored version moved."""
    app = create_app(fangfan, secret_key="test", testing=True)
    town = Desk(app, "town")
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(town, ids[0])
    other_worker = Engine(fangfan.sessions)

    task_id = _open_task(fangfan, case_id, "home_verification")
    other_worker.complete_task(task_id, parsed_home_verification(ids), TOWN)

    review = _open_task(fangfan, case_id, "democratic_review")
    fangfan.engine.complete_task(
        review,
        {**DEMOCRATIC_REVIEW, "review_votes_for": 21, "review_votes_against": 2},
        VILLAGE,
    )

    with fangfan.sessions() as session:
        steps = [
            e.task_name
            for e in history.events_of(session, case_id)
            if e.kind == "task_completed"
        ]
    assert steps == ["home_verification", "democratic_review"]
    assert _open_task(fangfan, case_id, "town_review")


def _open_task(fangfan, case_id: int, step: str) -> str:
    with fangfan.sessions() as session:
        return session.scalar(
            select(OpenTask.task_id).where(
                OpenTask.instance_id == case_id, OpenTask.task_name == step
            )
        )


def test_an_altered_event_is_reported_with_its_place(fangfan, new_id_number):
    app = create_app(fangfan, secret_key="test", testing=True)
    town = Desk(app, "town")
    case_id = report_new_household(town, new_id_number())

    with fangfan.sessions.begin() as session:
        session.execute(
            update(Event)
            .where(Event.stream == case_id, Event.seq == 1)
            .values(actor="someone-else")
        )

    with fangfan.sessions() as session:
        breaks = history.verify_chain(history.events_of(session, case_id))
    assert [b.seq for b in breaks] == [1]
    assert "记录链校验失败" in Desk(app, "county").get(f"/cases/{case_id}").text


def test_a_removed_event_breaks_the_chain_where_it_was(fangfan, new_id_number):
    app = create_app(fangfan, secret_key="test", testing=True)
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(Desk(app, "town"), ids[0])
    fangfan.engine.complete_task(
        _open_task(fangfan, case_id, "home_verification"),
        parsed_home_verification(ids),
        TOWN,
    )
    with fangfan.sessions.begin() as session:
        assert history.count(session, case_id) >= 3
        session.delete(session.get(Event, (case_id, 2)))

    with fangfan.sessions() as session:
        breaks = history.verify_chain(history.events_of(session, case_id))
    assert breaks and breaks[0].seq == 3


def test_the_simulated_clock_only_moves_forward(fangfan):
    with fangfan.sessions.begin() as session:
        with pytest.raises(ClockError):
            clock.advance(session, days=-1)


def test_a_simulated_database_never_switches_to_the_real_clock(fangfan):
    with fangfan.sessions.begin() as session:
        with pytest.raises(ClockError):
            clock.choose_mode(session, simulated=False)


def test_a_database_on_the_real_clock_never_accepts_a_simulated_one(tmp_path):
    from fangfan.service import Fangfan

    real = Fangfan(f"sqlite:///{tmp_path / 'real.sqlite'}")
    real.init(simulated_clock=False, progress=False)

    with pytest.raises(ClockError):
        real.advance_clock(1, TOWN)
    with pytest.raises(ClockError):
        real.init(simulated_clock=True, progress=False)
    real.close()


def test_timers_are_due_on_the_databases_clock(fangfan, new_id_number):
    from engine.models import Household, WaitingTimer

    with fangfan.sessions.begin() as session:
        household = Household(
            division_code="371321101200",
            head_name="时钟户",
            head_id_number=new_id_number(),
            members=[],
        )
        session.add(household)
    case_id = fangfan.engine.start(
        "identification",
        household.id,
        {"clue": {"source": "alert", "description": "预警"}},
        TOWN,
    )
    with fangfan.sessions() as session:
        started = clock.now(session)
        dues = sorted(
            session.scalars(
                select(WaitingTimer.due_at).where(WaitingTimer.instance_id == case_id)
            )
        )

    assert [round((due - started).total_seconds() / 86400) for due in dues] == [3, 15]
    assert fangfan.engine.fire_due_timers() == 0


def test_stored_state_equals_spiffworkflows_own_serialization(fangfan, new_id_number):
    """The fast task conversion must write exactly what SpiffWorkflow 3.2.0 writes."""
    import gzip
    import json

    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    from engine.serialization import load_state

    app = create_app(fangfan, secret_key="test", testing=True)
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(Desk(app, "town"), ids[0])
    fangfan.engine.complete_task(
        _open_task(fangfan, case_id, "home_verification"),
        parsed_home_verification(ids),
        TOWN,
    )

    with fangfan.sessions() as session:
        instance = session.get(Instance, case_id)
        spec, subprocess_specs = fangfan.engine.models.specs(
            session, instance.model_hash
        )
        stored = json.loads(gzip.decompress(instance.state))
    workflow = load_state(instance.state, spec, subprocess_specs)
    stock = BpmnWorkflowSerializer.configure(SPIFF_CONFIG).convert(workflow)

    assert json.loads(json.dumps(stock["tasks"])) == stored["tasks"]
    assert stock["data"] == stored["data"]
