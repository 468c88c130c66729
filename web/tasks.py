"""A task page: the case at a glance, the step's form, and its submission."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for

from engine import clock, forms, history
from engine.models import Household, Instance, OpenTask
from fangfan.divisions import full_name
from fangfan.rules import within

from . import formfields, queries
from .auth import current_official, fangfan, login_required
from .facts import case_facts, timeline
from .submit import Outcome, submit

blueprint = Blueprint("tasks", __name__)


def _load(task_id: str):
    with fangfan().reads() as session:
        open_task = session.get(OpenTask, task_id)
        if open_task is None:
            return None
        instance = session.get(Instance, open_task.instance_id)
        household = session.get(Household, open_task.household_id)
        events = history.events_of(session, instance.id)
        place = full_name(session, household.division_code, " / ")
        now = clock.now(session)
        names = queries.display_names(session, events)
    return open_task, instance, household, events, place, now, names


def _refusal(open_task: OpenTask) -> str | None:
    if open_task.role != g.user.role:
        return "此任务不属于您的岗位。"
    if not within(open_task.division_code, g.user.division_code):
        return "此任务不在您的辖区内。"
    return None


def members_on_record(schema: dict, household: Household) -> dict | None:
    """A form that collects the members starts with those on record (or the
    head, for a household new to the system), so the official corrects them
    instead of typing everyone again."""
    members = schema.get("properties", {}).get("members")
    if not members:
        return None

    columns = members["items"]["properties"]
    on_record = household.members or [
        {
            "name": household.head_name,
            "id_number": household.head_id_number,
            "relation": "head",
        }
    ]
    return {
        "members": [{k: v for k, v in m.items() if k in columns} for m in on_record]
    }


@blueprint.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def show(task_id: str):
    loaded = _load(task_id)
    if loaded is None:
        status = 409 if request.method == "POST" else 404
        return (
            render_template(
                "message.html",
                title="任务已办理",
                message="该任务已办理或已不存在，请返回待办列表刷新。",
            ),
            status,
        )
    open_task, instance, household, events, place, now, names = loaded
    refusal = _refusal(open_task)
    if refusal:
        return render_template("message.html", title="无权办理", message=refusal), 403

    schema = forms.load_form(open_task.form)
    outcome = Outcome()
    if request.method == "POST":
        outcome = submit(
            schema,
            lambda data: fangfan().engine.complete_task(
                task_id, data, current_official()
            ),
            "未能提交",
            f"已提交：{open_task.title}",
            url_for("cases.show", instance_id=instance.id),
        )
        if outcome.reply is not None:
            return outcome.reply
    data, errors, status = outcome.data, outcome.errors, outcome.status
    if request.method == "GET":
        data = members_on_record(schema, household)

    fields = formfields.build(schema, data, errors)
    return (
        render_template(
            "task.html",
            task=open_task,
            instance=instance,
            household=household,
            place=place,
            schema=schema,
            fields=fields,
            errors=errors,
            now=now,
            facts=case_facts(events),
            timeline=timeline(events, names),
        ),
        status,
    )
