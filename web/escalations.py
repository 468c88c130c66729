"""Supervision of overdue steps (督办): the escalation page and its record.

The rows come from ``engine.deadlines``: a passed deadline puts the overdue
step before the level above, and it climbs while the step stays undone. A
supervisor records what was done about it here; the step itself is still done
by its own assignee on its task page.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for
from sqlalchemy import select

from engine import clock, escalation, forms
from engine.deadlines import overdue_text
from engine.models import Escalation, Household, Instance, OpenTask
from fangfan.divisions import full_name
from fangfan.rules import within

from . import formfields
from .auth import current_official, fangfan, login_required
from .submit import Outcome, submit

blueprint = Blueprint("escalations", __name__)


def _load(escalation_id: int):
    with fangfan().reads() as session:
        row = session.get(Escalation, escalation_id)
        if row is None:
            return None
        instance = session.get(Instance, row.instance_id)
        household = session.get(Household, row.household_id)
        chain = [
            r
            for r in escalation.of_case(session, instance.id)
            if r.step_task_id == row.step_task_id
        ]
        open_steps = list(
            session.scalars(
                select(OpenTask)
                .where(OpenTask.instance_id == instance.id)
                .order_by(OpenTask.created_at)
            )
        )
        place = full_name(session, household.division_code, " / ")
        division_names = {
            r.division_code: escalation.division_name(session, r.division_code)
            for r in chain
        }
        now = clock.now(session)
    return row, instance, household, chain, open_steps, place, now, division_names


def _may_see(instance: Instance) -> bool:
    """Whoever may see the case: officials whose division holds it."""
    return within(instance.division_code, g.user.division_code)


@blueprint.route("/escalations/<int:escalation_id>", methods=["GET", "POST"])
@login_required
def show(escalation_id: int):
    loaded = _load(escalation_id)
    if loaded is None or not _may_see(loaded[1]):
        return (
            render_template(
                "message.html", title="未找到", message="未找到该督办事项。"
            ),
            404,
        )
    row, instance, household, chain, open_steps, place, now, division_names = loaded
    mine = row.role == g.user.role and within(row.division_code, g.user.division_code)

    schema = forms.load_form(escalation.SUPERVISION_FORM)
    outcome = Outcome()
    if request.method == "POST":
        if not mine:
            return (
                render_template(
                    "message.html", title="无权登记", message="此督办事项不属于您。"
                ),
                403,
            )
        outcome = submit(
            schema,
            lambda data: fangfan().supervise(escalation_id, current_official(), data),
            "未能登记",
            f"已登记督办：{row.step_title}",
            url_for("cases.show", instance_id=instance.id),
        )
        if outcome.reply is not None:
            return outcome.reply
    data, errors, status = outcome.data, outcome.errors, outcome.status

    return (
        render_template(
            "escalation.html",
            row=row,
            instance=instance,
            household=household,
            chain=chain,
            open_steps=open_steps,
            division_names=division_names,
            place=place,
            now=now,
            overdue=overdue_text(row.due_at, now),
            mine=mine,
            schema=schema,
            fields=formfields.build(schema, data, errors),
            errors=errors,
        ),
        status,
    )
