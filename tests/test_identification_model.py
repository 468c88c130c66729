"""Pure-model tests of the identification procedure (guide Q33, Q34, Q36).

They run ``processes/identification.bpmn`` and ``processes/classification.dmn``
on bare SpiffWorkflow 3.2.0 (spiff parser with its XSD validator, a plain
``BpmnWorkflow``) without the project's engine, so a model change that breaks
the procedure fails here before it is deployed. Every form submission made
here is first validated against the task's JSON Schema, as the server would.

Time: SpiffWorkflow 3.2.0 reads ``datetime.now(timezone.utc)`` inside its timer
module and offers no hook. These tests replace that module's ``datetime`` name
with a subclass whose ``now()`` reads a test clock (the same seam the engine
owns). We chose this over editing a timer task's internal ``event_value``
because it exercises the real path: the due time is computed from the clock
when the timer is reached, and the timer fires when the clock passes it.
"""

from __future__ import annotations

import ast
import copy
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ScriptTask, UserTask
from SpiffWorkflow.util.task import TaskState

from fangfan import rules
from fangfan.roles import role_for_lane

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "processes" / "identification.bpmn"
DMN = ROOT / "processes" / "classification.dmn"
FORMS = ROOT / "forms"

LANES = {"村级", "镇级", "县级乡村振兴部门", "县级审批", "市乡村振兴局"}

#: The stable step names the engine relies on, and the lane each sits in.
USER_TASK_LANES = {
    "home_verification": "镇级",
    "data_cross_check": "县级乡村振兴部门",
    "democratic_review": "村级",
    "town_review": "镇级",
    "public_notice": "村级",
    "county_approval": "县级审批",
    "system_entry": "县级乡村振兴部门",
}

#: Timer id → (duration, interrupting); guide Q34 (3 and 15 days, 5-day notice),
#: Q36 (10 days).
TIMERS = {
    "deadline_home_verification": ("P3D", False),
    "notice_period": ("P5D", True),
    "deadline_system_entry": ("P10D", False),
    # On the receive task that waits for the county's decision: interrupting, so
    # the escalation replaces the wait; the decision arriving first cancels it.
    "deadline_identification": ("P15D", False),
}

#: What each deadline is for, as shown to officials in the inbox and history.
TIMER_NAMES = {
    "deadline_home_verification": "入户核实3天期限",
    "notice_period": "公示5天期满",
    "deadline_system_entry": "公告录入10天期限",
    "deadline_identification": "识别认定15天期限",
}

LINE_FEN = 700_000  # an illustrative monitoring line: 7000 yuan per person per year
CLUE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)

# Valid 18-character resident IDs (GB 11643 check digits).
ID_HEAD = "11010519491231002X"
ID_SPOUSE = "110105195001010012"


# --------------------------------------------------------------------------
# Parsing, engine, clock
# --------------------------------------------------------------------------


def parse():
    parser = SpiffBpmnParser(
        validator=VALIDATOR
    )  # without a validator nothing is XSD-checked
    parser.add_bpmn_file(str(BPMN))
    parser.add_dmn_file(str(DMN))
    return parser, parser.get_spec("identification")


PARSER, SPEC = parse()
ENGINE = PythonScriptEngine(environment=TaskDataEnvironment(rules.script_functions()))


def load_form(name: str) -> dict:
    return json.loads((FORMS / name).read_text(encoding="utf-8"))


def form_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        load_form(name), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    test_clock = Clock(CLUE_TIME)

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return (
                test_clock.now.astimezone(tz)
                if tz
                else test_clock.now.replace(tzinfo=None)
            )

    monkeypatch.setattr(timer_module, "datetime", ClockDatetime)
    return test_clock


# --------------------------------------------------------------------------
# A case driven through the model
# --------------------------------------------------------------------------


def household(lifted_out=False):
    return {
        "id": 42,
        "head_name": "王秀英",
        "lifted_out": lifted_out,
        "division_code": "370102001001",
    }


def home_verification_data(**overrides):
    data = {
        "members": [
            {
                "name": "王秀英",
                "id_number": ID_HEAD,
                "relation": "head",
                "residence_type": "rural",
                "labour_capacity": "weak",
                "health": "长期慢性病",
                "safety_net": "none",
            },
            {
                "name": "李建国",
                "id_number": ID_SPOUSE,
                "relation": "spouse",
                "residence_type": "rural",
                "labour_capacity": "full",
                "safety_net": "none",
            },
        ],
        # 9000 + 2000 + 1500 + 0 − 1000 = 11500 yuan for 2 people: 5750 each,
        # below 7000
        "income": {
            "wages_fen": 900_000,
            "business_fen": 200_000,
            "transfer_fen": 150_000,
            "property_fen": 0,
            "business_costs_fen": 100_000,
        },
        "insurance_payouts_fen": 0,
        "out_of_pocket": {
            "medical_fen": 1_200_000,
            "schooling_fen": 0,
            "disaster_fen": 0,
        },
        "guarantees": {
            "education": True,
            "medical": True,
            "housing": True,
            "drinking_water": True,
        },
        "risk_types": ["illness"],
        "severe_hardship": False,
        "self_reliant": False,
        "already_cross_checked": False,
        "consent": True,
        "verified_on": "2026-03-03",
    }
    data.update(overrides)
    return data


REVIEW = {
    "review_meeting": "representatives_meeting",
    "review_held_on": "2026-03-05",
    "review_result": "agree",
    "review_votes_for": 27,
    "review_votes_against": 2,
}
CROSS_CHECK = {
    "cross_check_departments": ["civil_affairs", "housing", "vehicles"],
    "cross_check_issues_found": False,
    "cross_check_findings": "未发现财政供养、商品房、车辆、经营主体等疑点",
}
TOWN_APPROVE = {"town_decision": "approve"}
OBJECTION = {
    "objection_text": "该户子女在城区经商，收入较高",
    "objection_raised_by": "匿名",
    "objection_received_on": "2026-03-08",
}
ENTRY = {"announcement_no": "历下乡振〔2026〕12号", "entered_on": "2026-03-20"}


class Case:
    """One identification instance, started from a risk clue as the engine does."""

    def __init__(self, lifted_out=False, line_fen=LINE_FEN):
        self.wf = BpmnWorkflow(SPEC, script_engine=ENGINE)
        start = self.wf.get_tasks(state=TaskState.READY)[0]
        start.data.update(
            {
                "household": household(lifted_out),
                "clue": {
                    "source": "application",
                    "description": "户主患病，医疗支出大",
                    "date": "2026-03-02",
                },
                "monitoring_line_fen": line_fen,
            }
        )
        self.wf.do_engine_steps()

    # -- looking
    def ready(self) -> list[str]:
        return sorted(
            t.task_spec.name
            for t in self.wf.get_tasks(state=TaskState.READY)
            if isinstance(t.task_spec, UserTask)
        )

    def task(self, name):
        tasks = [
            t
            for t in self.wf.get_tasks(state=TaskState.READY)
            if t.task_spec.name == name
        ]
        assert len(tasks) == 1, f"{name} should be ready once, ready: {self.ready()}"
        return tasks[0]

    def tasks(self, name, state=TaskState.ANY_MASK):
        return [t for t in self.wf.get_tasks(state=state) if t.task_spec.name == name]

    def waiting_timers(self) -> dict[str, str]:
        """Timer id → due time (ISO) of every waiting timer, from its internal data."""
        return {
            t.task_spec.name: t.internal_data.get("event_value")
            for t in self.wf.get_tasks(state=TaskState.WAITING)
            if isinstance(
                getattr(t.task_spec, "event_definition", None), TimerEventDefinition
            )
        }

    # -- acting
    def complete(self, name, data):
        task = self.task(name)
        form = task.task_spec.extensions["properties"]["form"]
        errors = sorted(form_validator(form).iter_errors(data), key=str)
        assert not errors, f"{name}: {[e.message for e in errors]}"
        for member in data.get("members", []):
            assert rules.id_number_problem(member["id_number"]) is None
        task.data.update(copy.deepcopy(data))
        task.run()
        self.wf.do_engine_steps()

    def wait(self, clock, **delta):
        clock.advance(**delta)
        self.wf.refresh_timers()
        self.wf.do_engine_steps()

    def data(self, name):
        """The data a finished (or ready) task of this step holds."""
        return self.tasks(name)[-1].data

    # -- common stretches
    def through_review(self, clock):
        self.complete("democratic_review", REVIEW)
        self.complete("town_review", TOWN_APPROVE)
        self.wait(clock, days=5, minutes=1)


def run_to_county_approval(clock, lifted_out=False, **verification):
    case = Case(lifted_out=lifted_out)
    case.complete("home_verification", home_verification_data(**verification))
    if "data_cross_check" in case.ready():
        case.complete("data_cross_check", CROSS_CHECK)
    case.through_review(clock)
    assert case.ready() == ["county_approval"]
    return case


# --------------------------------------------------------------------------
# The model as a document
# --------------------------------------------------------------------------


def test_model_parses_with_xsd_validation_into_one_process_with_lanes():
    assert PARSER.get_process_ids() == ["identification"]
    assert (SPEC.name, SPEC.description) == ("identification", "风险识别认定")
    lanes = {ts.lane for ts in SPEC.task_specs.values() if getattr(ts, "lane", None)}
    assert lanes == LANES


def test_every_element_and_flow_has_diagram_interchange():
    # So the model opens cleanly in bpmn.io and Camunda Modeler.
    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    }
    root = etree.parse(str(BPMN)).getroot()
    process = root.find("bpmn:process", ns)
    nodes = {
        e.get("id")
        for e in process
        if e.get("id")
        and etree.QName(e).localname
        not in ("sequenceFlow", "laneSet", "documentation", "extensionElements")
    }
    flows = {e.get("id") for e in process.findall("bpmn:sequenceFlow", ns)}
    lanes = {e.get("id") for e in process.iterfind(".//bpmn:lane", ns)}
    participants = {e.get("id") for e in root.iterfind(".//bpmn:participant", ns)}
    shapes = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    assert nodes | lanes | participants == shapes
    assert flows == edges
    # Every flow node sits in exactly one lane.
    refs = [r.text for r in process.iterfind(".//bpmn:flowNodeRef", ns)]
    assert sorted(refs) == sorted(nodes)


def test_every_user_task_has_a_known_lane_and_existing_form():
    user_tasks = {
        name: ts for name, ts in SPEC.task_specs.items() if isinstance(ts, UserTask)
    }
    assert set(user_tasks) == set(USER_TASK_LANES)
    for name, ts in user_tasks.items():
        assert ts.lane == USER_TASK_LANES[name], name
        assert role_for_lane(ts.lane) is not None, name
        assert re.search(
            r"[\u4e00-\u9fff]", ts.bpmn_name
        ), f"{name} needs a Chinese title"
        form = ts.extensions["properties"]["form"]
        assert (FORMS / form).is_file(), f"{name}: forms/{form} is missing"
        Draft202012Validator.check_schema(load_form(form))


def test_no_call_activities_or_subprocesses():
    # Tasks inside them lose their lane in SpiffWorkflow 3.2.0.
    text = BPMN.read_text(encoding="utf-8")
    assert "callActivity" not in text and "subProcess" not in text


def test_timer_expressions_are_quoted_iso_durations():
    timers = {
        name: ts
        for name, ts in SPEC.task_specs.items()
        if isinstance(getattr(ts, "event_definition", None), TimerEventDefinition)
    }
    assert set(timers) == set(TIMERS)
    for name, ts in timers.items():
        duration, interrupting = TIMERS[name]
        definition = ts.event_definition
        assert isinstance(definition, DurationTimerEventDefinition), name
        # Evaluated as Python: the expression must be a quoted string literal.
        value = ast.literal_eval(definition.expression)
        assert value == duration, name
        assert re.fullmatch(r"P\d+D", value), name
        TimerEventDefinition.parse_iso_duration(value)
        assert ts.cancel_activity is interrupting, name
        assert ts.bpmn_name == TIMER_NAMES[name], name


def test_business_rule_task_calls_the_classification_decision():
    [classify] = [
        ts for ts in SPEC.task_specs.values() if isinstance(ts, BusinessRuleTask)
    ]
    assert classify.name == "classify"
    assert classify.extensions["calledDecisionId"] == "classification"
    assert classify.dmnEngine.decision_table.hit_policy == "UNIQUE"


ALLOWED_CALLS = {
    "len",
    "any",
    "all",
    "min",
    "max",
    "sum",
    "int",
    "str",
    "bool",
    "abs",
    "round",
    *rules.script_functions(),
}
ALLOWED_NODES = (
    ast.Module,
    ast.Expression,
    ast.Assign,
    ast.Expr,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.BinOp,
    ast.BoolOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Call,
    ast.Attribute,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.operator,
    ast.boolop,
    ast.unaryop,
    ast.cmpop,
)


def assert_restricted(source: str):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        assert isinstance(node, ALLOWED_NODES), f"{type(node).__name__} in {source!r}"
        if isinstance(node, ast.Name):
            assert not node.id.startswith("_"), source
        if isinstance(node, ast.Attribute):
            assert node.attr == "get", source
        if isinstance(node, ast.Call):
            func = node.func
            assert (isinstance(func, ast.Name) and func.id in ALLOWED_CALLS) or (
                isinstance(func, ast.Attribute) and func.attr == "get"
            ), source


def test_scripts_conditions_and_decision_cells_stay_in_the_restricted_subset():
    sources = []
    for ts in SPEC.task_specs.values():
        if isinstance(ts, ScriptTask):
            sources.append(ts.script)
        for condition, _ in getattr(ts, "cond_task_specs", []) or []:
            if condition is not None:  # None marks the default flow
                sources.append(condition.args[0])
        if isinstance(getattr(ts, "event_definition", None), TimerEventDefinition):
            sources.append(ts.event_definition.expression)
    table = SPEC.task_specs["classify"].dmnEngine.decision_table
    sources += [i.expression for i in table.inputs]
    for rule in table.rules:
        sources += [
            lhs.replace("?", "value") for e in rule.inputEntries for lhs in e.lhs if lhs
        ]
        sources += [o.text for o in rule.outputEntries]
    assert len(sources) > 20
    for source in sources:
        assert_restricted(source)


def test_no_task_data_name_shadows_a_script_function():
    # SpiffWorkflow's TaskDataEnvironment drops a script result named like a
    # function and refuses later scripts when data shadows one; that is why the
    # computed net income is ``per_capita_net_income_fen``, not the function's name.
    names = set()
    for form in FORMS.glob("*.json"):
        names |= set(load_form(form.name)["properties"])
    script = SPEC.task_specs["compute_indicators"].script
    names |= {line.split("=")[0].strip() for line in script.splitlines() if "=" in line}
    assert "per_capita_net_income_fen" in names
    assert not names & ALLOWED_CALLS


# --------------------------------------------------------------------------
# The forms
# --------------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


def walk_properties(schema, path=""):
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}{name}", name, prop
        if prop.get("type") == "object":
            yield from walk_properties(prop, f"{path}{name}.")
        if (
            prop.get("type") == "array"
            and prop.get("items", {}).get("type") == "object"
        ):
            yield from walk_properties(prop["items"], f"{path}{name}[].")


@pytest.mark.parametrize("form", sorted(p.name for p in FORMS.glob("*.json")))
def test_form_follows_the_conventions(form):
    schema = load_form(form)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert CJK.search(schema["title"]) and re.search(
        r"第\d+", schema["description"]
    ), "cite the guide"
    assert set(schema["required"]) <= set(schema["properties"])
    for path, name, prop in walk_properties(schema):
        assert CJK.search(
            prop.get("title", "")
        ), f"{form}: {path} needs a Chinese title"
        if prop.get("type") == "object":
            assert prop["additionalProperties"] is False, path
        if name.endswith("_fen"):
            assert (
                prop["type"] == "integer"
                and prop["x-money"] is True
                and prop["minimum"] == 0
            ), path
        if name.endswith(("_on", "_date")):
            assert prop == {**prop, "type": "string", "format": "date"}, path
        for options in (prop.get("oneOf"), prop.get("items", {}).get("oneOf")):
            if options:
                assert all(
                    set(o) == {"const", "title"} and CJK.search(o["title"])
                    for o in options
                ), path


def test_form_field_names_do_not_collide_across_tasks():
    # Task data is merged within an instance. Other procedures' forms (another
    # instance, another data dictionary) may reuse a name such as
    # ``approval_decision``.
    forms = sorted(
        {
            ts.extensions["properties"]["form"]
            for ts in SPEC.task_specs.values()
            if isinstance(ts, UserTask)
        }
    )
    assert "home_verification.json" in forms
    owners = {}
    for form in forms:
        for name in load_form(form)["properties"]:
            assert name not in owners, f"{name} in {form} and {owners.get(name)}"
            owners[name] = form
    assert not set(owners) & {
        "household",
        "clue",
        "monitoring_line_fen",
        "proposed_category",
    }


def test_home_verification_form_requires_consent_and_a_member():
    validator = form_validator("home_verification.json")
    assert validator.is_valid(home_verification_data())
    assert not validator.is_valid(home_verification_data(consent=False))
    assert not validator.is_valid(home_verification_data(members=[]))
    assert not validator.is_valid(
        home_verification_data(risk_types=["illness", "illness"])
    )
    # At least one risk type; "none" says so explicitly (guide Q11) and stands alone.
    assert not validator.is_valid(home_verification_data(risk_types=[]))
    assert validator.is_valid(home_verification_data(risk_types=["none"]))
    assert not validator.is_valid(
        home_verification_data(risk_types=["none", "illness"])
    )
    assert validator.is_valid(home_verification_data(risk_types=["illness", "housing"]))
    bad_money = home_verification_data()
    bad_money["income"] = {**bad_money["income"], "wages_fen": 12.5}
    assert not validator.is_valid(bad_money)
    bad_id = home_verification_data()
    bad_id["members"] = [{**bad_id["members"][0], "id_number": "1101051949123100"}]
    assert not validator.is_valid(bad_id)


IDENTIFICATION_DATES = {
    "home_verification.json": "verified_on",
    "democratic_review.json": "review_held_on",
    "public_notice.json": "objection_received_on",
    "system_entry.json": "entered_on",
}


@pytest.mark.parametrize("form, field", sorted(IDENTIFICATION_DATES.items()))
def test_recorded_dates_may_not_lie_in_the_future(form, field):
    # The engine enforces x-past: not after today, not before the case began.
    prop = load_form(form)["properties"][field]
    assert prop["format"] == "date" and prop["x-past"] is True


def test_every_date_in_the_identification_forms_is_marked_past():
    forms = {
        ts.extensions["properties"]["form"]
        for ts in SPEC.task_specs.values()
        if isinstance(ts, UserTask)
    }
    dates = {
        (form, path)
        for form in forms
        for path, _, prop in walk_properties(load_form(form))
        if prop.get("format") == "date"
    }
    assert dates == set(IDENTIFICATION_DATES.items())


def test_democratic_review_votes_are_bounded():
    validator = form_validator("democratic_review.json")
    assert validator.is_valid({**REVIEW, "review_votes_for": 100_000})
    assert not validator.is_valid({**REVIEW, "review_votes_for": 100_001})
    assert not validator.is_valid({**REVIEW, "review_votes_against": 100_001})
    assert not validator.is_valid({**REVIEW, "review_votes_against": -1})


def test_town_review_form_requires_reasons_unless_approved():
    validator = form_validator("town_review.json")
    assert validator.is_valid({"town_decision": "approve"})
    for decision in ("return", "reject"):
        assert not validator.is_valid({"town_decision": decision})
        assert not validator.is_valid({"town_decision": decision, "town_reasons": "  "})
        assert validator.is_valid(
            {"town_decision": decision, "town_reasons": "评议票数未过半"}
        )


def test_county_approval_form_requires_a_category_when_approved():
    validator = form_validator("county_approval.json")
    assert not validator.is_valid({"approval_decision": "approve"})
    assert validator.is_valid(
        {"approval_decision": "approve", "approved_category": "marginal"}
    )
    assert validator.is_valid(
        {"approval_decision": "reject", "approval_note": "比对发现车辆"}
    )
    assert not validator.is_valid(
        {"approval_decision": "approve", "approved_category": "not_identified"}
    )


def test_county_approval_form_requires_a_reason_when_rejected():
    validator = form_validator("county_approval.json")
    assert not validator.is_valid({"approval_decision": "reject"})
    assert not validator.is_valid({"approval_decision": "reject", "approval_note": ""})
    assert not validator.is_valid(
        {"approval_decision": "reject", "approval_note": " \n "}
    )
    assert validator.is_valid(
        {"approval_decision": "reject", "approval_note": "家庭有经营主体，收入稳定"}
    )
    # An approval needs no note.
    assert validator.is_valid(
        {"approval_decision": "approve", "approved_category": "unstable"}
    )


def test_public_notice_form_records_an_objection_only():
    validator = form_validator("public_notice.json")
    assert not validator.is_valid({})
    assert not validator.is_valid({"objection_text": "", "objection_raised_by": "村民"})
    assert validator.is_valid(OBJECTION)


def test_public_notice_tells_the_village_that_no_objection_needs_no_action():
    form = load_form("public_notice.json")
    assert "5天" in form["title"] and "异议" in form["title"]
    assert (
        "无需任何操作" in form["description"]
        and "自动进入下一步" in form["description"]
    )
    assert "只有收到异议时" in form["description"]
    assert SPEC.task_specs["public_notice"].bpmn_name == "村级公示（5天）：登记异议"


# --------------------------------------------------------------------------
# The procedure
# --------------------------------------------------------------------------


def test_clue_starts_home_verification_with_3_and_15_day_deadlines(clock):
    case = Case()
    assert case.ready() == ["home_verification"]
    due = {
        name: datetime.fromisoformat(value)
        for name, value in case.waiting_timers().items()
    }
    assert due == {
        "deadline_home_verification": CLUE_TIME + timedelta(days=3),
        "deadline_identification": CLUE_TIME + timedelta(days=15),
    }
    # waiting_events() has the same due times but names them by the event's
    # Chinese name, not its id (the receive task's message event is listed too).
    events = {
        (e.name, e.value)
        for e in case.wf.waiting_events()
        if e.event_type == "DurationTimerEventDefinition"
    }
    assert events == {
        ("入户核实3天期限", due["deadline_home_verification"].isoformat()),
        ("识别认定15天期限", due["deadline_identification"].isoformat()),
    }


def test_indicators_follow_guide_q12(clock):
    case = Case()
    case.complete(
        "home_verification",
        home_verification_data(
            guarantees={
                "education": True,
                "medical": True,
                "housing": False,
                "drinking_water": True,
            },
            risk_types=["none"],
        ),
    )
    data = case.data("democratic_review")
    assert (
        data["per_capita_net_income_fen"]
        == (900_000 + 200_000 + 150_000 - 100_000) // 2
    )
    assert data["income_below_line"] is True
    assert data["guarantee_gap"] is True
    assert data["at_risk"] is True  # a guarantee gap is a risk even without a risk type
    assert data["lifted_out"] is False and data["cross_check_needed"] is True


def test_no_risk_found_is_not_a_risk(clock):
    # Guide Q11: below the line, but stable, guarantees secure and no risk found.
    case = Case()
    case.complete("home_verification", home_verification_data(risk_types=["none"]))
    assert case.data("democratic_review")["at_risk"] is False


def test_data_cross_check_runs_in_parallel_with_review(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    assert case.ready() == ["data_cross_check", "democratic_review"]
    case.through_review(clock)
    # The notice has passed but the county has not finished the cross-check:
    # the join waits.
    assert case.ready() == ["data_cross_check"]
    assert case.tasks("join_cross_check", TaskState.WAITING)
    case.complete("data_cross_check", CROSS_CHECK)
    assert case.ready() == ["county_approval"]
    assert (
        case.data("county_approval")["cross_check_departments"]
        == CROSS_CHECK["cross_check_departments"]
    )


def test_lifted_out_household_skips_data_cross_check(clock):
    case = Case(lifted_out=True)
    case.complete("home_verification", home_verification_data())
    assert case.ready() == ["democratic_review"]
    case.through_review(clock)
    assert case.ready() == ["county_approval"]
    assert not case.tasks("data_cross_check", TaskState.READY | TaskState.COMPLETED)
    assert case.data("county_approval")["proposed_category"] == "unstable"


def test_members_already_cross_checked_skip_data_cross_check(clock):
    case = Case()
    case.complete(
        "home_verification", home_verification_data(already_cross_checked=True)
    )
    assert case.ready() == ["democratic_review"]


def test_town_review_can_return_to_democratic_review(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("democratic_review", REVIEW)
    case.complete(
        "town_review", {"town_decision": "return", "town_reasons": "未写明评议到会人数"}
    )
    assert case.ready() == ["data_cross_check", "democratic_review"]
    case.complete("democratic_review", {**REVIEW, "review_note": "补记到会31人"})
    case.complete("town_review", TOWN_APPROVE)
    assert "public_notice" in case.ready()
    assert len(case.tasks("democratic_review", TaskState.COMPLETED)) == 2


def test_town_review_can_reject(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete(
        "democratic_review",
        {
            **REVIEW,
            "review_result": "disagree",
            "review_votes_for": 3,
            "review_votes_against": 25,
        },
    )
    case.complete(
        "town_review",
        {"town_decision": "reject", "town_reasons": "评议未通过，家庭收入稳定"},
    )
    assert case.wf.is_completed()
    assert case.tasks("end_town_rejected", TaskState.COMPLETED)
    # The terminate end cancels the open cross-check and the 15-day deadline.
    assert case.tasks("data_cross_check", TaskState.CANCELLED)
    assert case.tasks("deadline_identification", TaskState.CANCELLED)
    assert case.ready() == [] and case.waiting_timers() == {}


def test_objection_during_notice_returns_to_town_review(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("data_cross_check", CROSS_CHECK)
    case.complete("democratic_review", REVIEW)
    case.complete("town_review", TOWN_APPROVE)
    assert "notice_period" in case.waiting_timers()
    case.wait(clock, days=2)
    case.complete("public_notice", OBJECTION)
    assert case.ready() == ["town_review"]
    assert "notice_period" not in case.waiting_timers()
    # After the objection is handled the notice starts again with a fresh 5 days.
    case.complete(
        "town_review", {"town_decision": "approve", "town_reasons": "经核实异议不成立"}
    )
    restarted = datetime.fromisoformat(case.waiting_timers()["notice_period"])
    assert restarted == clock.now + timedelta(days=5)
    case.wait(clock, days=5, minutes=1)
    assert case.ready() == ["county_approval"]


def test_notice_passes_after_five_days(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("data_cross_check", CROSS_CHECK)
    case.complete("democratic_review", REVIEW)
    case.complete("town_review", TOWN_APPROVE)
    assert case.ready() == ["public_notice"]
    case.wait(clock, days=4, hours=23)
    assert case.ready() == ["public_notice"]
    case.wait(clock, hours=1, minutes=1)
    assert case.ready() == ["county_approval"]
    assert case.tasks(
        "public_notice", TaskState.CANCELLED
    )  # interrupting: the objection task closes
    assert case.tasks("notice_period", TaskState.COMPLETED)


def test_loops_before_the_join_still_reach_county_approval_once(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("democratic_review", REVIEW)
    case.complete(
        "town_review", {"town_decision": "return", "town_reasons": "材料不全"}
    )
    case.complete("democratic_review", REVIEW)
    case.complete("town_review", TOWN_APPROVE)
    case.complete("public_notice", OBJECTION)
    case.complete("town_review", TOWN_APPROVE)
    case.wait(clock, days=5, minutes=1)
    assert case.ready() == ["data_cross_check"]
    case.complete("data_cross_check", CROSS_CHECK)
    assert case.ready() == ["county_approval"]
    assert len(case.tasks("classify", TaskState.COMPLETED)) == 1


@pytest.mark.parametrize(
    "lifted_out, verification, expected",
    [
        # Q3/Q7 case one: below the line and at risk, cannot solve it alone.
        (True, {}, "unstable"),
        (False, {}, "marginal"),
        # Q3/Q7 case two: above the line, rigid costs or an income collapse.
        (
            False,
            {
                "income": {
                    "wages_fen": 3_000_000,
                    "business_fen": 0,
                    "transfer_fen": 0,
                    "property_fen": 0,
                    "business_costs_fen": 0,
                },
                "severe_hardship": True,
            },
            "severe_hardship",
        ),
        # Q7/Q13: above the line, a guarantee not secure, cannot solve it alone.
        (
            False,
            {
                "income": {
                    "wages_fen": 3_000_000,
                    "business_fen": 0,
                    "transfer_fen": 0,
                    "property_fen": 0,
                    "business_costs_fen": 0,
                },
                "risk_types": ["housing"],
                "guarantees": {
                    "education": True,
                    "medical": True,
                    "housing": False,
                    "drinking_water": True,
                },
            },
            "severe_hardship",
        ),
        # Q13: a well-off household that can fix the gap itself is only followed.
        (
            False,
            {
                "income": {
                    "wages_fen": 3_000_000,
                    "business_fen": 0,
                    "transfer_fen": 0,
                    "property_fen": 0,
                    "business_costs_fen": 0,
                },
                "risk_types": ["housing"],
                "self_reliant": True,
                "guarantees": {
                    "education": True,
                    "medical": True,
                    "housing": False,
                    "drinking_water": True,
                },
            },
            "not_identified",
        ),
        # Q11: below the line but stable income and no risk.
        (True, {"risk_types": ["none"]}, "not_identified"),
    ],
)
def test_classification_proposes_each_category(
    clock, lifted_out, verification, expected
):
    case = run_to_county_approval(clock, lifted_out=lifted_out, **verification)
    assert case.data("county_approval")["proposed_category"] == expected


def reference_category(
    lifted_out, income_below_line, at_risk, severe_hardship, guarantee_gap, self_reliant
):
    """The rule as the brief states it from guide Q3, Q7, Q11, Q13."""
    if income_below_line and at_risk and not self_reliant:
        return "unstable" if lifted_out else "marginal"
    if (
        not income_below_line
        and (severe_hardship or guarantee_gap)
        and not self_reliant
    ):
        return "severe_hardship"
    return "not_identified"


def test_classification_table_has_exactly_one_rule_for_every_case():
    # SpiffWorkflow's UNIQUE stops at the first match and never checks
    # uniqueness, so the table's rules must be exclusive and complete: check
    # all 64 inputs with every rule evaluated (COLLECT on a copy).
    table = copy.copy(SPEC.task_specs["classify"].dmnEngine.decision_table)
    table.hit_policy = "COLLECT"
    engine = DMNEngine(table)
    names = [
        "lifted_out",
        "income_below_line",
        "at_risk",
        "severe_hardship",
        "guarantee_gap",
        "self_reliant",
    ]
    assert [i.expression for i in table.inputs] == names
    for values in itertools.product([False, True], repeat=6):
        data = dict(zip(names, values))
        task = SimpleNamespace(
            data=data, workflow=SimpleNamespace(script_engine=ENGINE)
        )
        matched = engine.decide(task)
        assert len(matched) == 1, (data, [r.row_number for r in matched])
        assert matched[0].output_as_dict(task) == {
            "proposed_category": reference_category(*values)
        }, data


def test_county_can_reject(clock):
    case = run_to_county_approval(clock)
    assert "deadline_identification" in case.waiting_timers()
    case.complete(
        "county_approval",
        {"approval_decision": "reject", "approval_note": "家庭有经营主体，收入稳定"},
    )
    assert case.wf.is_completed()
    assert case.tasks("end_county_rejected", TaskState.COMPLETED)
    assert not case.tasks("system_entry")
    # The terminate end cancels the wait for the decision and its 15-day timer.
    assert case.tasks("await_identification_decision", TaskState.CANCELLED)
    assert case.tasks("deadline_identification", TaskState.CANCELLED)
    assert case.ready() == [] and case.waiting_timers() == {}


def test_county_approval_then_system_entry_identifies_the_household(clock):
    case = run_to_county_approval(clock)
    case.complete(
        "county_approval",
        {"approval_decision": "approve", "approved_category": "marginal"},
    )
    assert case.ready() == ["system_entry"]
    assert datetime.fromisoformat(
        case.waiting_timers()["deadline_system_entry"]
    ) == clock.now + timedelta(days=10)
    case.complete("system_entry", ENTRY)
    assert case.wf.is_completed()
    assert case.tasks("end_identified", TaskState.COMPLETED)
    assert case.wf.data["approved_category"] == "marginal"


def test_home_verification_overdue_passes_its_deadline_without_interrupting(clock):
    # The engine escalates a passed deadline (engine/deadlines.py); the model
    # only marks it: the step stays open, the timer's branch ends.
    case = Case()
    case.wait(clock, days=2, hours=23)
    assert case.ready() == ["home_verification"]
    case.wait(clock, hours=1, minutes=1)
    assert case.ready() == ["home_verification"]
    assert case.tasks("deadline_home_verification", TaskState.COMPLETED)
    assert case.tasks("escalate_home_verification", TaskState.COMPLETED)
    case.complete("home_verification", home_verification_data(verified_on="2026-03-06"))
    assert case.ready() == ["data_cross_check", "democratic_review"]


def test_system_entry_overdue_passes_its_deadline_and_stays_open(clock):
    case = run_to_county_approval(clock)
    case.complete(
        "county_approval",
        {"approval_decision": "approve", "approved_category": "marginal"},
    )
    case.wait(clock, days=10, minutes=1)
    assert case.ready() == ["system_entry"]
    assert case.tasks("escalate_system_entry", TaskState.COMPLETED)
    case.complete("system_entry", ENTRY)
    assert case.wf.is_completed()


def test_identification_overdue_after_15_days_escalates_until_the_case_ends(clock):
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("data_cross_check", CROSS_CHECK)
    case.wait(clock, days=14)
    assert "escalate_identification" not in case.ready()
    case.wait(clock, days=1, minutes=1)
    assert case.ready() == ["democratic_review"]
    assert case.tasks("escalate_identification", TaskState.COMPLETED)
    # Non-interrupting: the case still waits for the county's decision.
    assert case.tasks("await_identification_decision", TaskState.WAITING)
    case.through_review(clock)
    case.complete(
        "county_approval",
        {"approval_decision": "approve", "approved_category": "marginal"},
    )
    case.complete("system_entry", ENTRY)
    assert case.wf.is_completed()


def to_county_approval_on_day(clock, day):
    """A case whose county approval becomes ready ``day`` days after the clue."""
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("data_cross_check", CROSS_CHECK)
    case.complete("democratic_review", REVIEW)
    case.complete("town_review", TOWN_APPROVE)
    case.wait(clock, days=5, minutes=1)
    assert case.ready() == ["county_approval"]
    case.wait(clock, days=day - 5)
    assert case.ready() == ["county_approval"]
    assert clock.now - CLUE_TIME == timedelta(days=day, minutes=1)
    return case


def test_county_approval_stops_the_15_day_deadline(clock):
    # Guide Q34, Q36: identification is complete when the county approves; the
    # 15 days run from the clue to that approval, not to system entry.
    case = to_county_approval_on_day(clock, 12)
    # While the county decides, the deadline is a waiting timer task with its due
    # time in the task's internal "event_value": what the engine's projection
    # (engine/projections.py) and scheduler read.
    due = datetime.fromisoformat(case.waiting_timers()["deadline_identification"])
    assert due == CLUE_TIME + timedelta(days=15)
    [timer] = case.tasks("deadline_identification", TaskState.WAITING)
    assert isinstance(timer.task_spec.event_definition, DurationTimerEventDefinition)
    assert timer._get_internal_data("event_value") == due.isoformat()

    case.complete(
        "county_approval",
        {"approval_decision": "approve", "approved_category": "marginal"},
    )
    assert case.ready() == ["system_entry"]
    assert case.tasks("notify_identification_decided", TaskState.COMPLETED)
    assert case.tasks("await_identification_decision", TaskState.COMPLETED)
    assert case.tasks("deadline_identification", TaskState.CANCELLED)
    assert set(case.waiting_timers()) == {"deadline_system_entry"}
    assert not case.wf.bpmn_events  # the decision was caught inside the instance

    case.wait(clock, days=3, hours=1)  # day 15 passes during system entry
    assert case.ready() == ["system_entry"]
    assert not case.tasks("escalate_identification")
    case.complete("system_entry", ENTRY)
    assert case.wf.is_completed()
    assert case.tasks("end_identified", TaskState.COMPLETED)
    assert not case.tasks("escalate_identification")


def test_no_county_decision_by_day_15_passes_the_deadline_and_still_waits(clock):
    case = to_county_approval_on_day(clock, 12)
    case.wait(clock, days=2, hours=23)
    assert case.ready() == ["county_approval"]
    case.wait(clock, hours=1)
    assert case.ready() == ["county_approval"]
    # Non-interrupting: the timer has fired and the wait for the decision goes on,
    # so the engine can tell when the overdue identification is finally decided.
    assert case.tasks("await_identification_decision", TaskState.WAITING)
    assert case.tasks("deadline_identification", TaskState.COMPLETED)
    assert case.tasks("escalate_identification", TaskState.COMPLETED)
    assert "deadline_identification" not in case.waiting_timers()
    case.complete(
        "county_approval",
        {"approval_decision": "approve", "approved_category": "marginal"},
    )
    assert case.ready() == ["system_entry"]
    assert case.tasks("await_identification_decision", TaskState.COMPLETED)
    case.complete("system_entry", ENTRY)
    assert case.wf.is_completed()


def test_15_day_deadline_survives_a_restore_and_still_stops_on_approval(clock):
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    case = to_county_approval_on_day(clock, 12)
    due = case.waiting_timers()
    case.wf = serializer.deserialize_json(serializer.serialize_json(case.wf))
    case.wf.script_engine = ENGINE
    assert case.waiting_timers() == due
    case.complete(
        "county_approval",
        {"approval_decision": "approve", "approved_category": "marginal"},
    )
    assert case.tasks("deadline_identification", TaskState.CANCELLED)
    case.wait(clock, days=4)
    assert case.ready() == ["system_entry"]


def test_instance_round_trips_through_the_spiff_serializer(clock):
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    case = Case()
    case.complete("home_verification", home_verification_data())
    case.complete("democratic_review", REVIEW)
    case.complete("town_review", TOWN_APPROVE)
    due = case.waiting_timers()

    restored = serializer.deserialize_json(serializer.serialize_json(case.wf))
    restored.script_engine = ENGINE
    case.wf = restored
    assert case.waiting_timers() == due
    assert (
        case.task("public_notice").task_spec.extensions["properties"]["form"]
        == "public_notice.json"
    )
    assert case.task("data_cross_check").task_spec.lane == "县级乡村振兴部门"
    case.complete("data_cross_check", CROSS_CHECK)
    case.wait(clock, days=5, minutes=1)
    assert case.data("county_approval")["proposed_category"] == "marginal"
