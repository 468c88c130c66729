"""Removal, rollback and safety-net status change through the HTTP layer (Q29, Q40).

Households already monitored or eliminated are put straight into the database:
the procedures that get them there are tested elsewhere. The rollback of an
identification runs a real identification first, to undo what it wrote.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine import clock, specs
from engine.clock import local_date
from engine.models import Household, HouseholdMember, Instance
from fangfan import measures, membership
from fangfan.demo_data import VILLAGE_CODE
from fangfan.roles import role_for_lane

from .desk import Desk, case_id
from .identification_steps import (
    OPERATOR,
    identify_household,
)

LOWER_LEVELS = ("county", "approver", "town", "village")
START = "/households/{}/start/status_change"

#: The date each step records; the tests fill in the simulated clock's today.
DATE_FIELDS = {
    "city_collect": "city_collect_checked_on",
    "city_head_review": "city_head_reviewed_on",
    "province_review": "province_reviewed_on",
    "province_apply": "province_apply_sent_on",
    "record_national_consent": "national_consent_on",
}
COLLECT = {
    "city_collect_batch_no": "临乡振汇〔2026〕4批",
    "city_collect_findings": "经核查，申请事实清楚，材料齐全",
}
HEAD_APPROVES = {"city_head_name": "王志强", "city_head_decision": "approve"}
PROVINCE_APPROVES = {"province_review_decision": "approve"}
APPLICATION = {"province_apply_document_no": "鲁乡振字〔2026〕31号"}
CONSENT = {"national_consent": "yes", "national_document_no": "国乡振函〔2026〕77号"}
REFUSAL = {**CONSENT, "national_consent": "no", "national_note": "证明材料不足"}


def _household(
    fangfan,
    id_number: str,
    status: str,
    labour: str = "full",
    safety_net: bool = False,
    status_before: str = "ordinary",
) -> int:
    """A household already in ``status``, as identification or elimination left it."""
    with fangfan.sessions.begin() as session:
        household = Household(
            division_code=VILLAGE_CODE,
            head_name="测试户主",
            head_id_number=id_number,
            lifted_out=False,
            status=status,
            status_before=status_before,
            category="marginal",
            identified_on=date(2026, 1, 10),
            eliminated_on=date(2026, 10, 20) if status == "eliminated" else None,
            safety_net_household=safety_net,
            members=[
                {
                    "name": "测试户主",
                    "id_number": id_number,
                    "relation": "head",
                    "residence_type": "rural",
                    "labour_capacity": labour,
                }
            ],
        )
        session.add(household)
        session.flush()
        membership.record(session, household, household.members)
        return household.id


def _record(fangfan, household_id: int) -> dict:
    with fangfan.sessions() as session:
        h = session.get(Household, household_id)
        return {
            "status": h.status,
            "category": h.category,
            "identified_on": h.identified_on,
            "eliminated_on": h.eliminated_on,
            "safety_net_household": h.safety_net_household,
        }


def _cases(fangfan) -> int:
    with fangfan.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(Instance)
            .where(Instance.process_id == "status_change")
        )


def _instance(fangfan, instance_id: int) -> Instance:
    with fangfan.sessions() as session:
        return session.get(Instance, instance_id)


def _today(desk: Desk) -> str:
    fangfan = desk.client.application.extensions["fangfan"]
    with fangfan.sessions() as session:
        return local_date(clock.now(session)).isoformat()


def _dated(desk: Desk, step: str, fields: dict) -> dict:
    """The step's form, dated today unless it says otherwise (x-past: not later)."""
    return {DATE_FIELDS[step]: _today(desk), **fields}


def _request_fields(kind: str, **more) -> dict:
    return {
        "change_kind": kind,
        "change_reason": "民政部门季度比对发现身份变化，经县乡村振兴局核实",
        "change_documents.0.title": "县乡村振兴局核查报告",
        "change_documents.0.number": "沂南乡振〔2026〕40号",
        "change_documents.0.issued_on": "2026-12-01",
        **more,
    }


def _request(desk: Desk, household_id: int, kind: str, **more):
    return desk.post(START.format(household_id), _request_fields(kind, **more))


def _start(desks, household_id: int, kind: str, **more) -> int:
    response = _request(desks["city"], household_id, kind, **more)
    assert response.status_code == 302, response.text
    return case_id(response)


def _complete(desk: Desk, household_id: int, step: str, fields: dict) -> None:
    response = desk.complete(household_id, step, _dated(desk, step, fields))
    assert response.status_code == 302, response.text


def _up_to_national_bureau(fangfan, desks, household_id: int) -> None:
    """City collects, its head approves, the province approves and applies (Q40)."""
    before = _record(fangfan, household_id)
    for desk, step, fields in (
        ("city", "city_collect", COLLECT),
        ("city", "city_head_review", HEAD_APPROVES),
        ("province", "province_review", PROVINCE_APPROVES),
        ("province", "province_apply", APPLICATION),
    ):
        _complete(desks[desk], household_id, step, fields)
        assert _record(fangfan, household_id) == before, f"changed after {step}"


# -- who may ask: never delegated downwards (Q40) ---------------------------------


def test_only_the_city_bureau_is_offered_the_status_change(
    fangfan, desks, new_id_number
):
    household_id = _household(fangfan, new_id_number(), "monitored")

    page = desks["city"].get(f"/households/{household_id}")
    assert 'data-process="status_change"' in page.text
    assert "发起清退回退和兜底身份变更" in page.text
    for name in LOWER_LEVELS:
        page = desks[name].get(f"/households/{household_id}")
        assert page.status_code == 200
        assert 'data-process="status_change"' not in page.text, name


@pytest.mark.parametrize("name", ["county", "town", "village"])
def test_removal_and_rollback_are_not_opened_to_lower_levels(
    fangfan, desks, new_id_number, name
):
    household_id = _household(fangfan, new_id_number(), "monitored")
    before = _record(fangfan, household_id)

    response = _request(desks[name], household_id, "removal")

    assert response.status_code == 409
    assert "您的岗位不能发起“清退回退和兜底身份变更”" in response.text
    assert _cases(fangfan) == 0
    assert _record(fangfan, household_id) == before


def test_lower_levels_never_see_or_do_its_tasks(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "eliminated")
    _start(desks, household_id, "removal")
    _complete(desks["city"], household_id, "city_collect", COLLECT)
    _complete(desks["city"], household_id, "city_head_review", HEAD_APPROVES)
    province_task = desks["province"].task_for(household_id, "province_review")
    assert province_task

    for name in LOWER_LEVELS:
        assert not [t for t in desks[name].inbox() if t[2] == household_id], name
    fields = _dated(desks["province"], "province_review", PROVINCE_APPROVES)
    refused = desks["county"].post(f"/tasks/{province_task}", fields)
    assert refused.status_code == 403
    assert "此任务不属于您的岗位" in refused.text
    # The city bureau cannot take the province's step either.
    assert desks["city"].post(f"/tasks/{province_task}", fields).status_code == 403
    assert desks["province"].task_for(household_id, "province_review") == province_task


# -- each kind, applied only after national consent -------------------------------


def test_removal_is_applied_only_after_national_consent(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    instance_id = _start(desks, household_id, "removal")
    assert _record(fangfan, household_id)["status"] == "monitored"

    _up_to_national_bureau(fangfan, desks, household_id)
    assert desks["province"].task_for(household_id, "record_national_consent")
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    assert _record(fangfan, household_id)["status"] == "removed"
    assert _instance(fangfan, instance_id).status == "completed"
    with fangfan.sessions() as session:
        members_left = session.scalar(
            select(func.count())
            .select_from(HouseholdMember)
            .where(HouseholdMember.household_id == household_id)
        )
    assert members_left == 0, "a removed record lets its people be registered again"
    page = desks["city"].get(f"/cases/{instance_id}")
    assert "同意备案，统一操作" in page.text
    assert "国乡振函〔2026〕77号" in page.text


def test_removal_of_an_eliminated_household(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "eliminated")
    _start(desks, household_id, "removal")
    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    assert _record(fangfan, household_id)["status"] == "removed"


def test_rollback_of_elimination_returns_the_household_to_monitoring(
    fangfan, desks, new_id_number
):
    household_id = _household(fangfan, new_id_number(), "eliminated")
    _start(desks, household_id, "rollback", change_rollback_of="elimination")
    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    record = _record(fangfan, household_id)
    assert record["status"] == "monitored"
    assert record["eliminated_on"] is None
    assert record["category"] == "marginal"
    assert record["identified_on"] == date(2026, 1, 10)


def test_rollback_of_identification_returns_the_household_to_ordinary(
    fangfan, desks, new_id_number
):
    household_id = identify_household(fangfan, desks, new_id_number)
    identified = _record(fangfan, household_id)
    assert (identified["status"], identified["category"]) == ("monitored", "marginal")
    assert identified["identified_on"] is not None

    _start(desks, household_id, "rollback", change_rollback_of="identification")
    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    record = _record(fangfan, household_id)
    assert record["status"] == "ordinary"
    assert record["category"] is None and record["identified_on"] is None
    page = desks["city"].get(f"/households/{household_id}")
    assert "一般农户" in page.text and "识别时间" not in page.text


def test_safety_net_household_is_marked_after_national_consent(
    fangfan, desks, new_id_number
):
    """Q29: a whole household without labour living on the safety net is marked."""
    household_id = _household(fangfan, new_id_number(), "monitored", labour="none")
    _start(
        desks,
        household_id,
        "safety_net_on",
        change_safety_net_support="extreme_hardship_dispersed",
    )
    _up_to_national_bureau(fangfan, desks, household_id)
    assert _record(fangfan, household_id)["safety_net_household"] is False

    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    record = _record(fangfan, household_id)
    assert record["safety_net_household"] is True and record["status"] == "monitored"
    assert (
        "整户无劳动能力兜底保障户"
        in desks["city"].get(f"/households/{household_id}").text
    )


def test_safety_net_mark_is_removed_when_its_allowance_status_changes(
    fangfan, desks, new_id_number
):
    """Q29: the minimum-allowance or extreme-hardship status changed."""
    household_id = _household(
        fangfan, new_id_number(), "monitored", labour="none", safety_net=True
    )
    _start(desks, household_id, "safety_net_off")
    _up_to_national_bureau(fangfan, desks, household_id)
    assert _record(fangfan, household_id)["safety_net_household"] is True

    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    record = _record(fangfan, household_id)
    assert record["safety_net_household"] is False and record["status"] == "monitored"


# -- refusals and endings without a change ------------------------------------


def test_national_refusal_changes_nothing(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    before = _record(fangfan, household_id)
    instance_id = _start(desks, household_id, "removal")
    _up_to_national_bureau(fangfan, desks, household_id)

    _complete(desks["province"], household_id, "record_national_consent", REFUSAL)

    assert _record(fangfan, household_id) == before
    assert _instance(fangfan, instance_id).status == "completed"
    assert (
        "国家乡村振兴局不同意，不作变更"
        in desks["city"].get(f"/cases/{instance_id}").text
    )


def test_city_head_sends_the_request_back_to_collection(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "eliminated")
    _start(desks, household_id, "rollback", change_rollback_of="elimination")
    city = desks["city"]

    for _ in range(2):
        _complete(city, household_id, "city_collect", COLLECT)
        _complete(
            city,
            household_id,
            "city_head_review",
            {
                **HEAD_APPROVES,
                "city_head_decision": "return",
                "city_head_reasons": "缺少原风险消除公告",
            },
        )
        assert city.task_for(household_id, "city_collect")
        assert not desks["province"].task_for(household_id, "province_review")

    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)
    assert _record(fangfan, household_id)["status"] == "monitored"


def test_province_sends_the_request_back_to_the_city(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    _start(desks, household_id, "removal")
    _complete(desks["city"], household_id, "city_collect", COLLECT)
    _complete(desks["city"], household_id, "city_head_review", HEAD_APPROVES)
    _complete(
        desks["province"],
        household_id,
        "province_review",
        {
            **PROVINCE_APPROVES,
            "province_review_decision": "return",
            "province_review_reasons": "请补充错误录入的原始凭证",
        },
    )

    assert desks["city"].task_for(household_id, "city_collect")
    assert not desks["province"].inbox()
    # Back through the city bureau and its head, then on to the province again.
    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)
    assert _record(fangfan, household_id)["status"] == "removed"


@pytest.mark.parametrize(
    "desk, step, fields, end",
    [
        (
            "city",
            "city_head_review",
            {
                **HEAD_APPROVES,
                "city_head_decision": "reject",
                "city_head_reasons": "不属于错误录入",
            },
            "市级审核不同意",
        ),
        (
            "province",
            "province_review",
            {
                **PROVINCE_APPROVES,
                "province_review_decision": "reject",
                "province_review_reasons": "依据不足",
            },
            "省级审定不同意",
        ),
    ],
)
def test_rejection_ends_the_request_without_a_change(
    fangfan, desks, new_id_number, desk, step, fields, end
):
    household_id = _household(fangfan, new_id_number(), "monitored")
    before = _record(fangfan, household_id)
    instance_id = _start(desks, household_id, "removal")
    _complete(desks["city"], household_id, "city_collect", COLLECT)
    if step == "province_review":
        _complete(desks["city"], household_id, "city_head_review", HEAD_APPROVES)

    _complete(desks[desk], household_id, step, fields)

    assert _instance(fangfan, instance_id).status == "completed"
    assert _record(fangfan, household_id) == before
    assert end in desks["city"].get(f"/cases/{instance_id}").text


def test_city_head_review_records_the_heads_name(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    _start(desks, household_id, "removal")
    _complete(desks["city"], household_id, "city_collect", COLLECT)

    city = desks["city"]
    unnamed = {k: v for k, v in HEAD_APPROVES.items() if k != "city_head_name"}
    refused = city.complete(
        household_id, "city_head_review", _dated(city, "city_head_review", unnamed)
    )
    assert refused.status_code == 400
    assert "主要负责同志姓名" in refused.text
    returned = city.complete(
        household_id,
        "city_head_review",
        _dated(
            city, "city_head_review", {**HEAD_APPROVES, "city_head_decision": "return"}
        ),
    )
    assert returned.status_code == 400 and "理由" in returned.text

    assert desks["city"].task_for(household_id, "city_head_review")
    assert not desks["province"].task_for(household_id, "province_review")


def test_national_consent_cannot_predate_the_application(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    _start(desks, household_id, "removal")
    began = date.fromisoformat(_today(desks["city"]))
    next_day = (began + timedelta(days=1)).isoformat()
    fangfan.advance_clock(2, OPERATOR)
    _up_to_national_bureau(fangfan, desks, household_id)

    early = {**CONSENT, "national_consent_on": next_day}
    refused = desks["province"].complete(household_id, "record_national_consent", early)

    assert refused.status_code == 400
    assert "复函日期不能早于向国家乡村振兴局申请的日期" in refused.text
    assert _record(fangfan, household_id)["status"] == "monitored"
    assert desks["province"].task_for(household_id, "record_national_consent")


@pytest.mark.parametrize(
    "status, labour, safety_net, kind, more, reason",
    [
        (
            "monitored",
            "full",
            False,
            "rollback",
            {"change_rollback_of": "elimination"},
            "只有“已消除风险”的农户才能回退此项",
        ),
        (
            "eliminated",
            "full",
            False,
            "rollback",
            {"change_rollback_of": "identification"},
            "只有“监测对象”的农户才能回退此项",
        ),
        (
            "monitored",
            "full",
            False,
            "safety_net_on",
            {"change_safety_net_support": "minimum_allowance_full"},
            "有家庭成员具有劳动能力",
        ),
        (
            "eliminated",
            "none",
            False,
            "safety_net_on",
            {"change_safety_net_support": "minimum_allowance_full"},
            "只有未消除风险的监测对象",
        ),
        (
            "monitored",
            "none",
            True,
            "safety_net_on",
            {"change_safety_net_support": "minimum_allowance_full"},
            "已标识为整户无劳动能力兜底保障户",
        ),
        (
            "monitored",
            "none",
            False,
            "safety_net_off",
            {},
            "未标识为整户无劳动能力兜底保障户",
        ),
    ],
)
def test_the_change_must_fit_the_household(
    fangfan, desks, new_id_number, status, labour, safety_net, kind, more, reason
):
    household_id = _household(
        fangfan, new_id_number(), status, labour=labour, safety_net=safety_net
    )
    before = _record(fangfan, household_id)

    response = _request(desks["city"], household_id, kind, **more)

    assert response.status_code == 409
    assert reason in response.text
    assert _cases(fangfan) == 0 and _record(fangfan, household_id) == before


def test_rollback_of_a_second_identification_after_elimination_is_refused(
    fangfan, desks, new_id_number
):
    """Q31: the earlier record of an eliminated household identified again is gone."""
    household_id = _household(
        fangfan, new_id_number(), "monitored", status_before="eliminated"
    )

    response = _request(
        desks["city"], household_id, "rollback", change_rollback_of="identification"
    )

    assert response.status_code == 409 and "风险消除后再次识别" in response.text
    assert _cases(fangfan) == 0


def test_ordinary_household_has_nothing_to_remove_or_roll_back(
    fangfan, desks, new_id_number
):
    household_id = _household(fangfan, new_id_number(), "ordinary")

    assert (
        'data-process="status_change"'
        not in desks["city"].get(f"/households/{household_id}").text
    )
    response = _request(desks["city"], household_id, "removal")
    assert response.status_code == 409 and "一般农户" in response.text


def test_request_needs_reason_and_documents(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    fields = {"change_kind": "rollback", "change_reason": " "}

    response = desks["city"].post(START.format(household_id), fields)

    assert response.status_code == 400
    for message in ("申请理由", "证明材料", "回退的状态变更"):
        assert message in response.text
    assert _cases(fangfan) == 0


def test_one_request_at_a_time_per_household(fangfan, desks, new_id_number):
    household_id = _household(fangfan, new_id_number(), "monitored")
    first = _start(desks, household_id, "removal")

    response = _request(
        desks["city"], household_id, "rollback", change_rollback_of="identification"
    )

    assert response.status_code == 409
    assert (
        f"已有正在办理的清退、回退或兜底身份变更申请（案件#{first}）" in response.text
    )
    assert _cases(fangfan) == 1


def test_consent_is_not_applied_when_the_household_changed_meanwhile(
    fangfan, desks, new_id_number
):
    household_id = _household(fangfan, new_id_number(), "monitored")
    _start(desks, household_id, "rollback", change_rollback_of="identification")
    _up_to_national_bureau(fangfan, desks, household_id)
    with fangfan.sessions.begin() as session:  # elimination ran in the meantime
        household = session.get(Household, household_id)
        household.status, household.eliminated_on = "eliminated", date(2026, 12, 20)

    refused = desks["province"].complete(
        household_id,
        "record_national_consent",
        _dated(desks["province"], "record_national_consent", CONSENT),
    )

    assert refused.status_code == 409
    assert "国家乡村振兴局同意的回退已不能执行" in refused.text
    assert _record(fangfan, household_id)["status"] == "eliminated"
    assert desks["province"].task_for(household_id, "record_national_consent")
    with fangfan.sessions.begin() as session:  # the elimination is undone
        household = session.get(Household, household_id)
        household.status, household.eliminated_on = "monitored", None
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)
    assert _record(fangfan, household_id)["status"] == "ordinary"


def test_no_deadline_applies_a_change_by_itself(fangfan, desks, new_id_number):
    """Q29, Q40 set no time limit: a year without national consent changes nothing."""
    household_id = _household(fangfan, new_id_number(), "monitored")
    before = _record(fangfan, household_id)
    instance_id = _start(desks, household_id, "removal")
    _up_to_national_bureau(fangfan, desks, household_id)

    fangfan.advance_clock(366, OPERATOR)
    assert fangfan.engine.fire_due_timers() == 0

    assert _record(fangfan, household_id) == before
    assert _instance(fangfan, instance_id).status == "running"
    assert desks["province"].task_for(household_id, "record_national_consent")


# -- the model ---------------------------------------------------------------------


def test_model_keeps_every_step_at_city_or_province_level():
    """Q40: the lanes are the city and provincial bureaus only, every step drawn."""
    sources = specs.read_sources("status_change")
    model = specs.parse("status_change", sources)
    user_tasks = {
        name: ts.lane
        for name, ts in model.spec.task_specs.items()
        if ts.__class__.__name__ == "UserTask"
    }
    assert user_tasks == {
        "city_collect": "市乡村振兴局",
        "city_head_review": "市乡村振兴局",
        "province_review": "省乡村振兴局",
        "province_apply": "省乡村振兴局",
        "record_national_consent": "省乡村振兴局",
    }
    assert {role_for_lane(lane).code for lane in user_tasks.values()} == {
        "city_bureau",
        "province_bureau",
    }

    tree = etree.fromstring(sources["status_change.bpmn"].encode())
    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    }
    drawn = set(
        tree.xpath(
            "//bpmndi:BPMNShape/@bpmnElement" " | //bpmndi:BPMNEdge/@bpmnElement",
            namespaces=ns,
        )
    )
    process = tree.xpath("//bpmn:process", namespaces=ns)[0]
    elements = {e.get("id") for e in process if e.get("id")} - {"laneset_status_change"}
    assert elements <= drawn
    text = sources["status_change.bpmn"]
    assert "callActivity" not in text and "subProcess" not in text
    assert "timerEventDefinition" not in text  # the guide sets no time limit here


def test_rollback_of_identification_closes_the_running_plan_and_stops_measures(
    fangfan, desks, new_id_number
):
    """Guide Q17, Q40: no assistance goes on outside the system after a rollback."""
    household_id = identify_household(fangfan, desks, new_id_number)
    with fangfan.sessions() as session:
        plan = session.scalar(
            select(Instance).where(
                Instance.household_id == household_id,
                Instance.process_id == "assistance_plan",
            )
        )
    assert plan.status == "running"

    _start(desks, household_id, "rollback", change_rollback_of="identification")
    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    assert _instance(fangfan, plan.id).status == "cancelled"
    assert desks["village"].task_for(household_id, "draft_plan") is None
    page = desks["county"].get(f"/cases/{plan.id}").text
    assert "案件关闭" in page and "指南第40问" in page


def test_removal_closes_the_households_other_cases_and_stops_measures(
    fangfan, desks, new_id_number
):
    household_id = identify_household(fangfan, desks, new_id_number)
    with fangfan.sessions.begin() as session:
        record = session.get(Household, household_id)
        measures.add(
            record, [{"type": "cash_or_goods", "department": "民政"}], date.today()
        )

    _start(desks, household_id, "removal")
    _up_to_national_bureau(fangfan, desks, household_id)
    _complete(desks["province"], household_id, "record_national_consent", CONSENT)

    with fangfan.sessions() as session:
        running = session.scalars(
            select(Instance.process_id).where(
                Instance.household_id == household_id, Instance.status == "running"
            )
        ).all()
        statuses = {m["status"] for m in session.get(Household, household_id).measures}
    assert running == []
    assert statuses == {"stopped"}
