"""The inbox: the tasks of my role in my division, and the cases around them."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from engine import clock
from fangfan.annual_work import open_reminders

from . import queries
from .auth import fangfan, login_required

blueprint = Blueprint("inbox", __name__)


@blueprint.route("/")
@login_required
def index():
    with fangfan().reads() as session:
        now = clock.now(session)
        tasks = queries.inbox(session, g.user.role, g.user.division_code)
        escalations = queries.escalations(session, g.user.role, g.user.division_code)
        cases = queries.cases(session, g.user.division_code, limit=50)
        simulated = clock.is_simulated(session)
        reminders = open_reminders(session, g.user.role, g.user.division_code)

    return render_template(
        "inbox.html",
        tasks=tasks,
        cases=cases,
        escalations=escalations,
        now=now,
        simulated=simulated,
        reminders=reminders,
    )
