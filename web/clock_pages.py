"""The simulated clock, for demos and training: see it, move it forward."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import clock, history
from engine.history import EventKind
from engine.runtime import Official

from .auth import fangfan, login_required

blueprint = Blueprint("clock", __name__)

#: Who may move a simulated clock: those who run the demo or the training.
CLOCK_ROLES = frozenset({"process_owner", "county_bureau"})


@blueprint.route("/clock", methods=["GET", "POST"])
@login_required
def page():
    error = None
    if request.method == "POST":
        if g.user.role not in CLOCK_ROLES:
            return (
                render_template(
                    "message.html",
                    title="无权操作",
                    message="只有流程管理员和县级乡村振兴部门可以拨动模拟时钟。",
                ),
                403,
            )
        try:
            days = float(request.form.get("days", "0"))
            if not 0.01 <= days <= 366:
                raise ValueError
            days = round(days, 2)
        except ValueError:
            error = "请输入 0.01 到 366 之间的天数"
        else:
            try:
                fangfan().advance_clock(
                    days, Official(g.user.username, g.user.role, g.user.division_code)
                )
            except clock.ClockError as refused:
                error = str(refused)
            else:
                flash(f"模拟时钟已向前拨动 {days:g} 天；到期的时限将在数秒内触发。")
                return redirect(url_for("clock.page"))

    with fangfan().reads() as session:
        now = clock.now(session)
        simulated = clock.is_simulated(session)
        moves = [
            e
            for e in history.events_of(session, history.SYSTEM_STREAM)
            if e.kind == EventKind.CLOCK_ADVANCED
        ][-20:]
    return render_template(
        "clock.html",
        now=now,
        simulated=simulated,
        moves=moves,
        error=error,
        may_move=g.user.role in CLOCK_ROLES,
    ), (400 if error else 200)
