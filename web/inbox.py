"""The inbox: the tasks of my role in my division, and the cases around them."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, render_template

from engine import clock

from . import queries
from .auth import fangfan, login_required

blueprint = Blueprint("inbox", __name__)

#: How long before its deadline a task shows as "due soon".
WARNING_LEAD = timedelta(days=1)


@blueprint.route("/")
@login_required
def index():
    with fangfan().reads() as session:
        now = clock.now(session)
        tasks = queries.inbox(session, g.user.role, g.user.division_code)
        cases = queries.cases(session, g.user.division_code, limit=50)
        simulated = clock.is_simulated(session)

    return render_template(
        "inbox.html",
        tasks=tasks,
        cases=cases,
        now=now,
        warning_lead=WARNING_LEAD,
        simulated=simulated,
    )
