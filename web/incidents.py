"""Timer incidents (定时任务异常): timers that kept failing, for the county bureau.

A timer whose firing failed ``TIMER_ATTEMPTS`` times in a row is listed here
with the error as the engine stored it (English, for the process owner) and a
Chinese explanation. The county bureau sees those of its own county and can
ask for another try once the cause is fixed; auditors of the county see the
same list and cannot retry. The incident row is kept after a retry, with who
retried and when, so the record of what failed stays.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import defer

from engine import clock
from engine.models import Household, Instance, TimerIncident, WaitingTimer
from engine.timers import INCIDENT_RETRIED, retry_incident
from fangfan.procedures import all_procedures
from fangfan.rules import within

from .auth import fangfan, login_required
from .queries import in_jurisdiction

blueprint = Blueprint("incidents", __name__)
log = logging.getLogger("fangfan.web")

#: Who may see the page (the process owner, to mend a failing model); only
#: the county bureau may retry.
READERS = frozenset({"county_bureau", "auditor", "process_owner"})
RETRIERS = frozenset({"county_bureau"})

#: Known failures, by a piece of their English text, and what they mean.
_EXPLANATIONS = (
    ("division by zero", "流程脚本在定时任务之后的步骤中出现了除以零的计算"),
    ("is not defined", "流程脚本引用了案件数据中不存在的数据项"),
    ("KeyError", "流程脚本引用了案件数据中不存在的数据项"),
    ("not allowed", "流程脚本使用了不允许的写法，未通过安全检查"),
    ("OperationalError", "数据库暂时不可用或繁忙"),
    ("the model failed", "流程模型在定时任务到期后的自动步骤中执行出错"),
)
_DEFAULT_EXPLANATION = "定时任务到期后推进案件时出错"


def explain(error: str) -> str:
    """A Chinese explanation of an incident's English error text."""
    for needle, meaning in _EXPLANATIONS:
        if needle in error:
            return meaning
    return _DEFAULT_EXPLANATION


@blueprint.route("/incidents")
@login_required
def index():
    if g.user.role not in READERS:
        abort(403)

    titles = {p.process_id: p.title for p in all_procedures()}
    with fangfan().reads() as session:
        rows = session.execute(
            select(TimerIncident, Instance, Household)
            .join(Instance, Instance.id == TimerIncident.instance_id)
            .join(Household, Household.id == Instance.household_id)
            .where(in_jurisdiction(Instance.division_code, g.user.division_code))
            .options(defer(Instance.state))
            .order_by(TimerIncident.last_failed_at.desc(), TimerIncident.id)
            .limit(500)
        ).all()
        waiting = set(
            session.scalars(
                select(WaitingTimer.task_id).where(
                    WaitingTimer.task_id.in_([i.timer_task_id for i, _, _ in rows])
                )
            )
        )

    incidents = [
        {
            "incident": incident,
            "instance": instance,
            "household": household,
            "procedure": titles.get(instance.process_id, instance.process_id),
            "explanation": explain(incident.error),
            "state": _state(incident, incident.timer_task_id in waiting),
            "may_retry": incident.timer_task_id in waiting,
        }
        for incident, instance, household in rows
    ]
    return render_template(
        "incidents.html",
        incidents=incidents,
        may_retry=g.user.role in RETRIERS,
    )


def _state(incident: TimerIncident, still_waiting: bool) -> str:
    if not still_waiting:
        return "已恢复"
    if incident.status == INCIDENT_RETRIED:
        return "已重试，等待下次执行"
    return "待处理"


@blueprint.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@login_required
def retry(incident_id: int):
    if g.user.role not in RETRIERS:
        return (
            render_template(
                "message.html",
                title="无权操作",
                message="只有县级乡村振兴部门可以重试定时任务；审计督查只能查看。",
            ),
            403,
        )

    with fangfan().sessions.begin() as session:
        found = session.execute(
            select(TimerIncident, Instance.division_code)
            .join(Instance, Instance.id == TimerIncident.instance_id)
            .where(TimerIncident.id == incident_id)
            .with_for_update(of=TimerIncident)
        ).first()
        if found is None:
            abort(404)
        incident, division_code = found
        if not within(division_code, g.user.division_code):
            abort(403)
        reset = retry_incident(session, incident, clock.now(session), g.user.username)

    if not reset:
        flash("该定时任务已不再等待（已执行或案件已关闭），无需重试。")
    else:
        log.info(
            "timer incident retried incident=%s instance=%s actor=%s",
            incident_id,
            incident.instance_id,
            g.user.username,
        )
        flash(f"已重试：{incident.timer_name}，将在下一次定时扫描（约1秒内）执行。")
    return redirect(url_for("incidents.index"))
