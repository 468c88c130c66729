"""Civil-affairs lists on the workbench: upload, department alerts, cross-check.

County departments and the county bureau upload the monthly list (guide Q8)
and the quarter's list for the cross-check (Q29); town and village screen the
alerts of their division. Uploads may be larger than the app's 1 MB default
(a 20,000-row list is about 1.2 MB), so the two upload pages raise the limit
for their own requests before the CSRF check reads the form.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from engine import clock
from engine.clock import local_date
from engine.errors import CommandError, InvalidData, NotAllowed, NotFound
from engine.models import (
    CivilAffairsCrossCheck,
    CivilAffairsImport,
    DepartmentAlert,
    Division,
)
from fangfan.civil_affairs import (
    HEADER,
    IMPORTERS,
    MAX_ROWS,
    REPORT_COLUMNS,
    SCREENERS,
    STATUS_LABELS,
    TYPE_LABELS,
    ListRefused,
    cross_check,
    import_monthly,
    record_no_risk,
    start_identification,
)
from fangfan.civil_affairs.alerts import PAGE_SIZE, alerts_in, pending_count
from fangfan.civil_affairs.cross_check import COLUMNS, SECTIONS, report_rows
from fangfan.civil_affairs.lists import to_csv
from fangfan.divisions import full_name
from fangfan.procedures import procedure_for
from fangfan.procedures.identification import CLUE_SOURCES
from fangfan.roles import BY_CODE
from fangfan.rules import jurisdiction_prefix, within

from . import queries
from .auth import current_official, fangfan, login_required
from .cases import FULL_VIEW_ROLES, clue_from, household_for_clue

blueprint = Blueprint("civil_affairs", __name__)

#: The largest list upload accepted: 20,000 rows with room to spare.
MAX_UPLOAD = 4 * 1024 * 1024

_UPLOAD_ENDPOINTS = frozenset({"civil_affairs.imports", "civil_affairs.cross_checks"})


@blueprint.before_app_request
def allow_larger_uploads():
    if request.endpoint in _UPLOAD_ENDPOINTS:
        request.max_content_length = MAX_UPLOAD


@blueprint.app_context_processor
def pending_alerts():
    """The nav link's count of alerts waiting for this official's screening."""

    def count() -> int:
        if g.get("user") is None or g.user.role not in SCREENERS:
            return 0
        with fangfan().reads() as session:
            return pending_count(session, g.user.division_code)

    return {"pending_alert_count": count}


# -- department alerts ---------------------------------------------------------


@blueprint.route("/alerts")
@login_required
def alerts():
    return _alerts_page(_status_filter(request.args), _page_number(request.args))


def _status_filter(values) -> str:
    """The status to show: waiting alerts unless another (or all) is chosen."""
    status = values.get("status", "pending")
    return status if status in STATUS_LABELS else ""


def _page_number(values) -> int:
    """The page asked for; anything but a number is the first page."""
    try:
        return int(values.get("page", "1"))
    except ValueError:
        return 1


def _alerts_page(status: str, page: int = 1, errors: dict | None = None, code=200):
    with fangfan().reads() as session:
        rows, total, page = alerts_in(
            session, g.user.division_code, status or None, page
        )
        villages = _names(session, {alert.division_code for alert, _ in rows})
    return (
        render_template(
            "alerts.html",
            rows=rows,
            total=total,
            page=page,
            pages=max(-(-total // PAGE_SIZE), 1),
            villages=villages,
            status=status,
            STATUS_LABELS=STATUS_LABELS,
            TYPE_LABELS=TYPE_LABELS,
            may_screen=g.user.role in SCREENERS,
            may_import=g.user.role in IMPORTERS,
            may_read_reports=_reads_reports(),
            full_view=g.user.role in FULL_VIEW_ROLES,
            errors=errors or {},
        ),
        code,
    )


def _names(session, codes: set[str]) -> dict[str, str]:
    return dict(
        session.execute(
            select(Division.code, Division.name).where(Division.code.in_(sorted(codes)))
        ).all()
    )


@blueprint.route("/alerts/<int:alert_id>/no-risk", methods=["POST"])
@login_required
def no_risk(alert_id: int):
    try:
        record_no_risk(
            fangfan().sessions,
            alert_id,
            request.form.get("reason", ""),
            current_official(),
        )
    except CommandError as error:
        code = 400 if isinstance(error, InvalidData) else _status(error)
        return _alerts_page(
            _status_filter(request.form),
            _page_number(request.form),
            {alert_id: error.message_zh},
            code,
        )
    flash("已记录：研判无风险。")
    return redirect(
        url_for(
            "civil_affairs.alerts",
            status=_status_filter(request.form) or "all",
            page=_page_number(request.form),
        )
    )


@blueprint.route("/alerts/<int:alert_id>/identify", methods=["GET", "POST"])
@login_required
def identify(alert_id: int):
    """The clue page, prefilled from the alert; submitting starts identification."""
    with fangfan().reads() as session:
        alert = session.get(DepartmentAlert, alert_id)
        if alert is None:
            abort(404)
        if g.user.role not in SCREENERS or not within(
            alert.division_code, g.user.division_code
        ):
            abort(403)
        today = local_date(clock.now(session))

    errors, status = {}, 200
    if request.method == "POST":
        try:
            instance_id = start_identification(
                fangfan(),
                alert_id,
                household_for_clue(request.form),
                clue_from(request.form, source="alert"),
                current_official(),
            )
        except InvalidData as error:
            errors, status = {e.path: e.message for e in error.errors}, 400
        except CommandError as error:
            errors, status = {"": error.message_zh}, _status(error)
        else:
            flash("已根据部门预警发起识别认定。")
            return redirect(url_for("cases.show", instance_id=instance_id))

    form = request.form if request.method == "POST" else _prefilled(alert, today)
    with fangfan().reads() as session:
        households = queries.households(session, g.user.division_code)
        villages = queries.villages(session, g.user.division_code)
        place = full_name(session, alert.division_code, " / ")
    return (
        render_template(
            "alerts_identify.html",
            alert=alert,
            place=place,
            households=households,
            villages=villages,
            clue_states=procedure_for("identification").from_states,
            sources={"alert": CLUE_SOURCES["alert"]},
            errors=errors,
            form=form,
            today=today.isoformat(),
            TYPE_LABELS=TYPE_LABELS,
            STATUS_LABELS=STATUS_LABELS,
        ),
        status,
    )


def _prefilled(alert: DepartmentAlert, today: date) -> dict:
    return {
        "household_id": str(alert.household_id) if alert.household_id else "new",
        "head_name": alert.name,
        "head_id_number": alert.id_number,
        "division_code": alert.division_code,
        "source": "alert",
        "date": today.isoformat(),
        "description": (
            f"民政部门{alert.month}名单：{alert.name}自{alert.start_month}起享受"
            f"{TYPE_LABELS[alert.assistance_type]}（部门预警#{alert.id}），"
            "按监测对象认定条件排查研判，需启动识别认定。"
        ),
    }


def _status(error: CommandError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotAllowed):
        return 403
    return 409


# -- the monthly import ----------------------------------------------------------


def _county_of_importer() -> str:
    if g.user.role not in IMPORTERS:
        abort(403)
    return g.user.division_code


@blueprint.route("/civil-affairs/imports", methods=["GET", "POST"])
@login_required
def imports():
    county_code = _county_of_importer()
    result, refusal, status = None, None, 200
    with fangfan().reads() as session:
        this_month = local_date(clock.now(session))
    month = request.form.get("month") or _previous_month(this_month)

    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ListRefused("no file", "文件未导入：请选择要上传的CSV文件")
            result = import_monthly(
                fangfan().sessions,
                upload.read(),
                upload.filename,
                month,
                county_code,
                g.user.username,
                "web",
            )
        except CommandError as error:
            refusal, status = error.message_zh, 400

    with fangfan().reads() as session:
        done = list(
            session.scalars(
                select(CivilAffairsImport)
                .where(CivilAffairsImport.county_code == county_code)
                .order_by(CivilAffairsImport.imported_at.desc())
                .limit(50)
            )
        )
    return (
        render_template(
            "civil_affairs_imports.html",
            result=result,
            refusal=refusal,
            month=month,
            imports=done,
            HEADER=HEADER,
            MAX_ROWS=MAX_ROWS,
        ),
        status,
    )


@blueprint.route("/civil-affairs/imports/<int:import_id>/report.csv")
@login_required
def import_report(import_id: int):
    with fangfan().reads() as session:
        record = session.get(CivilAffairsImport, import_id)
    if record is None:
        abort(404)
    if g.user.role not in IMPORTERS or record.county_code != g.user.division_code:
        abort(403)
    return _csv(
        to_csv(REPORT_COLUMNS, record.report),
        f"import-{record.id}-{record.month}-report.csv",
    )


def _previous_month(today: date) -> str:
    year, month = (
        (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    )
    return f"{year:04d}-{month:02d}"


# -- the quarterly cross-check ---------------------------------------------------


#: The most reports the list page shows, newest first; it says when there are more.
REPORTS_SHOWN = 50


def _reads_reports() -> bool:
    """County-level officials and above read the cross-check reports (and so
    their list) inside their division; only importers upload."""
    return BY_CODE[g.user.role].level <= 3


def _may_read_report(record: CivilAffairsCrossCheck) -> bool:
    return _reads_reports() and within(record.county_code, g.user.division_code)


@blueprint.route("/civil-affairs/cross-checks", methods=["GET", "POST"])
@login_required
def cross_checks():
    may_upload = g.user.role in IMPORTERS
    if not _reads_reports() or (request.method == "POST" and not may_upload):
        abort(403)
    refusal, status = None, 200
    with fangfan().reads() as session:
        today = local_date(clock.now(session))
    quarter = (
        request.form.get("quarter") or f"{today.year}Q{(today.month - 1) // 3 + 1}"
    )

    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ListRefused("no file", "文件未比对：请选择要上传的CSV文件")
            report_id = cross_check(
                fangfan().sessions,
                upload.read(),
                upload.filename,
                quarter,
                g.user.division_code,
                g.user.username,
                "web",
            )
        except CommandError as error:
            refusal, status = error.message_zh, 400
        else:
            return redirect(
                url_for("civil_affairs.cross_check_report", report_id=report_id)
            )

    with fangfan().reads() as session:
        inside = CivilAffairsCrossCheck.county_code.like(
            jurisdiction_prefix(g.user.division_code) + "%"
        )
        total = session.scalar(
            select(func.count()).select_from(CivilAffairsCrossCheck).where(inside)
        )
        done = list(
            session.scalars(
                select(CivilAffairsCrossCheck)
                .where(inside)
                .order_by(CivilAffairsCrossCheck.created_at.desc())
                .limit(REPORTS_SHOWN)
            )
        )
        counties = _names(session, {record.county_code for record in done})
    return (
        render_template(
            "civil_affairs_cross_checks.html",
            refusal=refusal,
            quarter=quarter,
            reports=done,
            total=total,
            counties=counties,
            may_upload=may_upload,
            SECTIONS=SECTIONS,
            HEADER=HEADER,
        ),
        status,
    )


@blueprint.route("/civil-affairs/cross-checks/<int:report_id>")
@login_required
def cross_check_report(report_id: int):
    record = _readable_report(report_id)
    return render_template(
        "civil_affairs_cross_check.html",
        record=record,
        SECTIONS=SECTIONS,
        COLUMNS=COLUMNS,
        full_view=g.user.role in FULL_VIEW_ROLES,
    )


@blueprint.route("/civil-affairs/cross-checks/<int:report_id>.csv")
@login_required
def cross_check_csv(report_id: int):
    record = _readable_report(report_id)
    return _csv(
        to_csv(COLUMNS, report_rows(record.report)),
        f"cross-check-{record.quarter}-{record.county_code}.csv",
    )


def _readable_report(report_id: int) -> CivilAffairsCrossCheck:
    with fangfan().reads() as session:
        record = session.get(CivilAffairsCrossCheck, report_id)
    if record is None:
        abort(404)
    if not _may_read_report(record):
        abort(403)
    return record


def _csv(content: bytes, file_name: str) -> Response:
    return Response(
        content,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "Cache-Control": "no-store",
        },
    )
