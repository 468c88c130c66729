"""Case pages and the risk-clue intake that opens a case."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from engine import clock, escalation, history
from engine.clock import local_date
from engine.errors import CommandError, InvalidData
from engine.models import Household, Instance, ModelVersion, OpenTask, WaitingTimer
from fangfan.divisions import full_name
from fangfan.procedures import procedure_for
from fangfan.procedures.identification import CLUE_SOURCES
from fangfan.roles import CLUE_TAKERS
from fangfan.rules import division_level, id_number_problem, name_problem, within

from . import queries
from .auth import current_official, fangfan, login_required
from .facts import case_facts, timeline

blueprint = Blueprint("cases", __name__)

#: Roles that see ID numbers and phones in full (guide Q38): those who visit.
FULL_VIEW_ROLES = frozenset({"village_cadre", "town_official", "county_bureau"})


@blueprint.route("/cases/<int:instance_id>")
@login_required
def show(instance_id: int):
    with fangfan().reads() as session:
        instance = session.get(Instance, instance_id)
        if instance is None:
            abort(404)
        if not within(instance.division_code, g.user.division_code):
            return (
                render_template(
                    "message.html", title="无权查看", message="该案件不在您的辖区内。"
                ),
                403,
            )

        household = session.get(Household, instance.household_id)
        events = history.events_of(session, instance.id)
        tasks = list(
            session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id))
        )
        timers = list(
            session.scalars(
                select(WaitingTimer)
                .where(WaitingTimer.instance_id == instance.id)
                .order_by(WaitingTimer.due_at)
            )
        )
        escalations = escalation.of_case(session, instance.id)
        division_names = {
            e.division_code: escalation.division_name(session, e.division_code)
            for e in escalations
        }
        place = full_name(session, household.division_code, " / ")
        now = clock.now(session)
        names = queries.display_names(session, events)

    return render_template(
        "case.html",
        instance=instance,
        household=household,
        place=place,
        tasks=tasks,
        timers=timers,
        escalations=escalations,
        division_names=division_names,
        now=now,
        facts=case_facts(events),
        timeline=timeline(events, names),
        chain_breaks=history.verify_chain(events),
        full_view=g.user.role in FULL_VIEW_ROLES,
        done_steps=sorted({e.task_name for e in events if e.task_name}),
    )


@blueprint.route("/cases/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    """The BPMN of the model version this case runs on, for the bpmn-js viewer."""
    with fangfan().reads() as session:
        instance = session.get(Instance, instance_id)
        if instance is None or not within(instance.division_code, g.user.division_code):
            abort(404)
        version = session.get(ModelVersion, instance.model_hash)
    bpmn = version.sources.get(f"{instance.process_id}.bpmn", "")
    return bpmn, 200, {"Content-Type": "application/xml; charset=utf-8"}


@blueprint.route("/clues/new", methods=["GET", "POST"])
@login_required
def new_clue():
    """A risk clue (guide Q34) about a known or newly registered household."""
    if g.user.role not in CLUE_TAKERS:
        return (
            render_template(
                "message.html",
                title="无权登记",
                message="只有村级、镇级、县级乡村振兴部门、县级行业部门和12317热线可以登记风险线索。",
            ),
            403,
        )

    errors, status = {}, 200
    if request.method == "POST":
        try:
            instance_id = fangfan().engine.start(
                "identification",
                household_for_clue(request.form),
                {"clue": clue_from(request.form)},
                current_official(),
            )
        except InvalidData as error:
            errors, status = {e.path: e.message for e in error.errors}, 400
        except CommandError as error:
            errors, status = {"": error.message_zh}, 409
        else:
            flash("风险线索已登记，识别认定流程已发起。")
            return redirect(url_for("cases.show", instance_id=instance_id))

    with fangfan().reads() as session:
        households = queries.households(session, g.user.division_code)
        villages = queries.villages(session, g.user.division_code)
        today = local_date(clock.now(session)).isoformat()
    return (
        render_template(
            "clue.html",
            households=households,
            villages=villages,
            clue_states=procedure_for("identification").from_states,
            sources=CLUE_SOURCES,
            errors=errors,
            form=request.form,
            today=today,
        ),
        status,
    )


def clue_from(form, source: str | None = None) -> dict:
    """The risk clue of a posted clue page; ``source`` when the page fixes it."""
    return {
        "source": source or form.get("source"),
        "description": form.get("description", ""),
        "date": form.get("date") or None,
    }


def household_for_clue(form) -> int | dict:
    """The chosen household, or a new one registered from the form's fields."""
    chosen = form.get("household_id", "")
    if chosen and chosen != "new":
        if not chosen.isdigit():
            raise InvalidData([_error("household_id", "请选择农户")])
        return int(chosen)

    errors = []
    head_name = form.get("head_name", "").strip()
    id_number = form.get("head_id_number", "").strip().upper()
    phone = form.get("phone", "").strip()
    division_code = form.get("division_code", "")
    if name_problem(head_name):
        errors.append(_error("head_name", f"户主姓名：{name_problem(head_name)}"))
    problem = id_number_problem(id_number)
    if problem:
        errors.append(_error("head_id_number", problem))
    if phone and not re.fullmatch(r"1[3-9][0-9]{9}", phone):
        errors.append(_error("phone", "联系电话应为11位手机号码"))
    if (
        not re.fullmatch(r"[0-9]{12}", division_code)
        or division_level(division_code) != 5
        or not within(division_code, g.user.division_code)
    ):
        errors.append(_error("division_code", "请选择您辖区内的村"))
    if errors:
        raise InvalidData(errors)

    return {
        "division_code": division_code,
        "head_name": head_name,
        "head_id_number": id_number,
        "phone": phone or None,
        "lifted_out": form.get("lifted_out") == "on",
        "members": [],
    }


def _error(path: str, message: str):
    from engine.forms import FieldError

    return FieldError(path, message)
