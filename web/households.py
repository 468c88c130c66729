"""Household pages: the record, its state and cases, and starting a procedure."""

from __future__ import annotations

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

from engine import forms
from engine.errors import CommandError, InvalidData
from engine.models import Household, Instance
from fangfan.annual_work import household_years
from fangfan.divisions import full_name
from fangfan.household_states import STATES
from fangfan.procedures import all_procedures, procedure_for
from fangfan.rules import within

from . import formfields, queries
from .auth import current_official, fangfan, login_required
from .cases import FULL_VIEW_ROLES

blueprint = Blueprint("households", __name__)

#: The member columns a household page shows, labelled as home verification
#: collects them; health stays on the case (guide Q38 keeps it private).
MEMBER_COLUMNS = ("relation", "residence_type", "labour_capacity", "safety_net")


def member_labels() -> dict[str, dict[str, str]]:
    """Column → value → Chinese label, from the home verification form."""
    items = forms.load_form("home_verification.json")["properties"]["members"]
    properties = items["items"]["properties"]
    return {
        column: {o["const"]: o["title"] for o in properties[column].get("oneOf", [])}
        for column in MEMBER_COLUMNS
    }


def _household_in_reach(session, household_id: int) -> Household:
    household = session.get(Household, household_id)
    if household is None:
        abort(404)
    if not within(household.division_code, g.user.division_code):
        abort(403)
    return household


@blueprint.route("/households")
@login_required
def index():
    status = request.args.get("status") or None
    if status not in STATES:
        status = None
    with fangfan().reads() as session:
        households = queries.households(session, g.user.division_code, status)
    return render_template("households.html", households=households, status=status)


@blueprint.route("/households/<int:household_id>")
@login_required
def show(household_id: int):
    with fangfan().reads() as session:
        household = _household_in_reach(session, household_id)
        cases = list(
            session.scalars(
                select(Instance)
                .where(Instance.household_id == household.id)
                .order_by(Instance.started_at)
            )
        )
        place = full_name(session, household.division_code, " / ")
        years = household_years(session, household.id)

    startable = [
        p
        for p in all_procedures()
        if p.start_form and p.may_start(household, g.user.role)
    ]
    titles = {p.process_id: p.title for p in all_procedures()}
    return render_template(
        "household.html",
        household=household,
        cases=cases,
        place=place,
        startable=startable,
        titles=titles,
        years=years,
        labels=member_labels(),
        full_view=g.user.role in FULL_VIEW_ROLES,
    )


@blueprint.route(
    "/households/<int:household_id>/start/<process_id>", methods=["GET", "POST"]
)
@login_required
def start(household_id: int, process_id: str):
    try:
        procedure = procedure_for(process_id)
    except CommandError:
        abort(404)
    if not procedure.start_form:
        abort(404)

    with fangfan().reads() as session:
        household = _household_in_reach(session, household_id)
    schema = forms.load_form(procedure.start_form)
    data, errors, status = None, {}, 200
    if request.method == "POST":
        data = formfields.parse(schema, request.form)
        problems = forms.validate(procedure.start_form, data)
        try:
            if problems:
                raise InvalidData(problems)
            instance_id = fangfan().engine.start(
                process_id, household_id, data, current_official()
            )
        except InvalidData as error:
            errors, status = {e.path: e.message for e in error.errors}, 400
        except CommandError as error:
            errors, status = {"": error.message_zh}, 409
        else:
            flash(f"已发起：{procedure.title}")
            return redirect(url_for("cases.show", instance_id=instance_id))

    return (
        render_template(
            "start.html",
            household=household,
            procedure=procedure,
            schema=schema,
            fields=formfields.build(schema, data, errors),
            errors=errors,
        ),
        status,
    )
