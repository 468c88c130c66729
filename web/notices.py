"""Village public notices (公示, guide Q33–Q38), printable, never leaking privacy.

A household is in its notice period while a notice step of its case is open;
the period runs from the step's opening to its deadline (5 days). Guide Q38:
notices never show ID numbers, phone numbers, bank accounts or health; the
template receives none of them, so none can slip into the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, g, render_template
from sqlalchemy import func, select

from engine import clock
from engine.clock import local_date
from engine.models import Division, Household, Instance, OpenTask
from fangfan.procedures import all_procedures
from fangfan.rules import CATEGORIES, within

from .auth import fangfan, login_required
from .queries import in_jurisdiction

blueprint = Blueprint("notices", __name__)

#: Notice steps are named ``public_notice`` or end in ``_notice`` in the models.
_IS_NOTICE = OpenTask.task_name.like("%notice")


@dataclass(frozen=True)
class NoticeLine:
    """What a notice may say of one household: nothing that Q38 forbids."""

    head_name: str
    member_count: int
    lifted_out: bool
    procedure: str
    category: str
    starts: date
    ends: date | None


@blueprint.route("/notices")
@login_required
def index():
    with fangfan().reads() as session:
        villages = session.execute(
            select(Division.code, Division.name, func.count(OpenTask.task_id))
            .join(OpenTask, OpenTask.division_code == Division.code)
            .where(
                _IS_NOTICE,
                in_jurisdiction(OpenTask.division_code, g.user.division_code),
            )
            .group_by(Division.code, Division.name)
            .order_by(Division.code)
        ).all()
    return render_template("notices.html", villages=villages)


@blueprint.route("/notices/<village_code>")
@login_required
def village(village_code: str):
    if len(village_code) != 12 or not village_code.isdigit():
        abort(404)
    if not within(village_code, g.user.division_code):
        abort(403)

    titles = {p.process_id: p.title for p in all_procedures()}
    with fangfan().reads() as session:
        division = session.get(Division, village_code)
        if division is None:
            abort(404)
        rows = session.execute(
            select(
                OpenTask.created_at,
                OpenTask.due_at,
                Instance.process_id,
                Household.head_name,
                Household.members,
                Household.lifted_out,
                Household.category,
            )
            .join(Instance, Instance.id == OpenTask.instance_id)
            .join(Household, Household.id == OpenTask.household_id)
            .where(_IS_NOTICE, OpenTask.division_code == village_code)
            .order_by(OpenTask.created_at)
        ).all()
        today = local_date(clock.now(session))

    lines = [
        NoticeLine(
            head_name=row.head_name,
            member_count=len(row.members or []),
            lifted_out=row.lifted_out,
            procedure=titles.get(row.process_id, row.process_id),
            category=CATEGORIES.get(row.category or "", ""),
            starts=local_date(row.created_at),
            ends=local_date(row.due_at) if row.due_at else None,
        )
        for row in rows
    ]
    return render_template("notice.html", division=division, lines=lines, today=today)
