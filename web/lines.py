"""The provincial monitoring line per year (防止返贫监测线, guide Q10).

The provincial bureau sets the line of each year in its first quarter; every
rule reads the line of the year it concerns. Everyone may see the lines.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine import history
from engine.history import EventKind
from engine.models import MonitoringLine
from fangfan.annual_work import open_reminders
from fangfan.service import SetupError

from . import queries
from .auth import current_official, fangfan, login_required

blueprint = Blueprint("lines", __name__)

#: Only the provincial bureau sets the line (guide Q10: 省定防止返贫监测线).
LINE_SETTERS = frozenset({"province_bureau"})


@blueprint.route("/lines", methods=["GET", "POST"])
@login_required
def page():
    error = None
    if request.method == "POST":
        if g.user.role not in LINE_SETTERS:
            return (
                render_template(
                    "message.html",
                    title="无权操作",
                    message="监测线由省乡村振兴局设定。",
                ),
                403,
            )
        try:
            year = int(request.form.get("year", ""))
            yuan = int(request.form.get("yuan", ""))
        except ValueError:
            error = "年度和监测线应为整数（元/人·年）"
        else:
            try:
                fangfan().set_monitoring_line(year, yuan * 100, current_official())
            except SetupError as refused:
                error = refused.message_zh
            else:
                flash(f"已设定{year}年省定防止返贫监测线：{yuan} 元/人·年")
                return redirect(url_for("lines.page"))

    with fangfan().reads() as session:
        lines = list(
            session.scalars(select(MonitoringLine).order_by(MonitoringLine.year.desc()))
        )
        changes = [
            e
            for e in history.events_of(session, history.SYSTEM_STREAM)
            if e.kind == EventKind.LINE_SET
        ][-20:]
        names = queries.display_names(session, changes)
        reminders = open_reminders(session, g.user.role, g.user.division_code)
    return render_template(
        "lines.html",
        lines=lines,
        changes=changes,
        error=error,
        may_set=g.user.role in LINE_SETTERS,
        names=names,
        reminders=reminders,
    ), (400 if error else 200)
