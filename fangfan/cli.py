"""The ``fangfan`` command: init, demo, serve, scheduler, clock, users, lines."""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path

import click

from engine import clock, workcalendar
from engine.clock import ClockError
from engine.runtime import Official
from engine.specs import ModelError

from .service import Fangfan, SetupError

ROOT = Path(__file__).resolve().parent.parent
DEMO_URL = f"sqlite:///{ROOT / 'instance' / 'demo.sqlite'}"

#: Made-up monitoring lines for the demo (yuan per person per year), 2023 to
#: next year; the real ones are set by the provincial bureau each first quarter
#: (guide Q10).
DEMO_LINES = {2023: 7200, 2024: 7500, 2025: 7800, 2026: 8000}
DEMO_LINES.update(
    {year: 8000 + 200 * (year - 2026) for year in range(2027, date.today().year + 2)}
)


def _logging() -> None:
    logging.basicConfig(
        level=os.environ.get("FANGFAN_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("spiff", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group()
def main() -> None:
    """防返 Fangfan: the monitoring-and-assistance procedures as BPMN."""
    _logging()


@main.command()
@click.option(
    "--simulated-clock",
    is_flag=True,
    help="Run this database on a simulated clock (demo, training).",
)
def init(simulated_clock: bool) -> None:
    """Create or upgrade the database, load divisions, deploy the models."""
    fangfan = Fangfan()
    try:
        fangfan.init(simulated_clock=simulated_clock)
    except (ClockError, ModelError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"database ready: {_safe_url(fangfan.url)}")
    _warn_about_holidays(fangfan)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--fresh", is_flag=True, help="Delete the demo database and start over.")
def demo(host: str, port: int, fresh: bool) -> None:
    """Seed a demo county and run web and scheduler on a simulated clock."""
    url = os.environ.get("DATABASE_URL") or DEMO_URL
    if fresh and url == DEMO_URL:
        for suffix in ("", "-wal", "-shm"):
            Path(DEMO_URL.split("///", 1)[1] + suffix).unlink(missing_ok=True)

    from .demo import seed, seed_deadline_case

    fangfan = Fangfan(url)
    try:
        fangfan.init(simulated_clock=True)
    except ClockError as error:
        raise click.ClickException(f"{error}; use --fresh for a new demo database")
    created = seed(fangfan, DEMO_LINES)
    if created:
        seed_deadline_case(fangfan)

    from .demo import print_welcome

    print_welcome(host, port, created)
    _serve(fangfan, host, port, with_scheduler=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also sweep timers in this process (single-process installs).",
)
def serve(host: str, port: int, with_scheduler: bool) -> None:
    """Run the web workbench (for several workers use gunicorn, see README)."""
    _serve(Fangfan(), host, port, with_scheduler)


def _serve(fangfan: Fangfan, host: str, port: int, with_scheduler: bool) -> None:
    from werkzeug.serving import run_simple

    from scheduler.service import start_in_background
    from web import create_app

    if with_scheduler:
        start_in_background(fangfan.engine)
    run_simple(host, port, create_app(fangfan), threaded=True, use_reloader=False)


@main.command()
def scheduler() -> None:
    """Run the timer sweep; any number of these may run against one database."""
    from scheduler.service import run_forever

    run_forever(Fangfan().engine)


@main.group(name="clock")
def clock_group() -> None:
    """Show or move the clock."""


@clock_group.command("show")
def clock_show() -> None:
    fangfan = Fangfan()
    with fangfan.sessions() as session:
        now = clock.now(session)
        mode = "simulated" if clock.is_simulated(session) else "real"
    click.echo(f"{now.astimezone(clock.CHINA).isoformat(timespec='seconds')} ({mode})")


@clock_group.command("advance")
@click.option("--days", type=float, default=0.0)
@click.option("--hours", type=float, default=0.0)
@click.option(
    "--by",
    "actor",
    default="operator",
    show_default=True,
    help="Who moves it, for the history.",
)
def clock_advance(days: float, hours: float, actor: str) -> None:
    """Move a simulated clock forward; the move is recorded in history."""
    fangfan = Fangfan()
    try:
        before, after = fangfan.advance_clock(
            days + hours / 24, Official(actor, "operator", "")
        )
    except ClockError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{before.astimezone(clock.CHINA):%Y-%m-%d %H:%M} → "
        f"{after.astimezone(clock.CHINA):%Y-%m-%d %H:%M}"
    )


@main.command()
def deploy() -> None:
    """Check and deploy the models in processes/ (unchanged ones are kept)."""
    fangfan = Fangfan()
    try:
        for process_id, content_hash, new in fangfan.deploy_models():
            state = "deployed" if new else "unchanged"
            click.echo(f"{process_id}: {content_hash[:12]} {state}")
    except ModelError as error:
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException("model not deployed") from None
    _warn_about_holidays(fangfan)


@main.command("add-user")
@click.argument("username")
@click.option("--role", required=True)
@click.option("--division", "division_code", required=True)
@click.option("--name", "display_name", required=True)
@click.password_option()
def add_user(username, role, division_code, display_name, password) -> None:
    """Create an official's account."""
    try:
        Fangfan().add_user(username, password, display_name, role, division_code)
    except SetupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"user {username} created")


@main.command("set-line")
@click.argument("year", type=int)
@click.argument("yuan", type=int)
def set_line(year: int, yuan: int) -> None:
    """Set the provincial monitoring line of YEAR, in yuan per person (guide Q10)."""
    try:
        Fangfan().set_monitoring_line(year, yuan * 100)
    except SetupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"monitoring line {year}: {yuan} yuan")


@main.command()
@click.option(
    "--year", type=int, default=None, help="The year of the work; default: this year."
)
@click.option(
    "--again",
    is_flag=True,
    help="Go over a year already run: start the updates still missing.",
)
def yearly(year: int | None, again: bool) -> None:
    """The yearly work (guide Q10, Q39), once per year: remind the province of a
    missing monitoring line, start the annual update of every monitored and
    eliminated household."""
    from .annual_work import YearError, current_year, run_year

    engine = Fangfan().engine
    year = year or current_year(engine)

    def progress(done: int, total: int) -> None:
        click.echo(f"  {done}/{total} households")

    try:
        report = run_year(engine, year, by="cli", again=again, progress=progress)
    except YearError as error:
        raise click.ClickException(str(error)) from None
    if not report.ran:
        click.echo(f"yearly work {year} was done already (--again to go over it)")
        return
    click.echo(
        f"yearly work {year}: {report.cases_started} annual updates started, "
        f"{report.skipped} skipped, {len(report.failures)} failed"
    )
    if report.reminder:
        click.echo(f"  the {year} monitoring line is not set: province reminded")
    for failure in report.failures:
        click.echo(f"  household {failure['household_id']}: {failure['error']}")
    if report.failures:
        raise click.ClickException(
            f"{len(report.failures)} household(s) not started; "
            f"fix them and run again with --again"
        )


def _warn_about_holidays(fangfan: Fangfan) -> None:
    """Log a warning when next year's holidays are missing (working-day deadlines)."""
    with fangfan.sessions() as session:
        today = clock.local_date(clock.now(session))
    workcalendar.warn_if_next_year_uncovered(today)


# -- civil-affairs lists (guide Q8, Q29) --------------------------------------


@main.group(name="civil-affairs")
def civil_affairs_group() -> None:
    """Import the monthly civil-affairs list; cross-check a quarter's list."""


def _county_option(code: str) -> str:
    """A county given as 6 digits (371321) or 12 (371321000000)."""
    return code + "000000" if len(code) == 6 and code.isdigit() else code


@civil_affairs_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--month", required=True, help="The list's month, YYYY-MM.")
@click.option("--county", "county_code", required=True, help="County division code.")
@click.option("--by", "actor", default="cli", show_default=True, help="Who imports.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the per-row report (CSV) here.",
)
def civil_affairs_import(file, month, county_code, actor, report_path) -> None:
    """Turn FILE's new recipients into department alerts (guide Q8)."""
    from .civil_affairs import REPORT_COLUMNS, ListRefused, import_monthly
    from .civil_affairs.lists import to_csv

    try:
        result = import_monthly(
            Fangfan().sessions,
            file.read_bytes(),
            file.name,
            month,
            _county_option(county_code),
            actor,
            "cli",
        )
    except ListRefused as error:
        raise click.ClickException(f"{error} ({error.message_zh})") from None

    for outcome in result.report:
        click.echo(
            f"  row {outcome.row} {outcome.outcome} {outcome.field}: {outcome.message}"
        )
    if report_path:
        rows = [outcome.as_dict() for outcome in result.report]
        report_path.write_bytes(to_csv(REPORT_COLUMNS, rows))
    click.echo(
        f"import {result.import_id}: {result.rows_total} rows, "
        f"{result.alerts_created} alerts, {len(result.skipped)} skipped, "
        f"{len({outcome.row for outcome in result.rejected})} rejected"
    )


@civil_affairs_group.command("cross-check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quarter", required=True, help="The quarter, e.g. 2026Q4.")
@click.option("--county", "county_code", required=True, help="County division code.")
@click.option("--by", "actor", default="cli", show_default=True, help="Who runs it.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report (CSV) here; default: standard output.",
)
def civil_affairs_cross_check(file, quarter, county_code, actor, output) -> None:
    """Cross-check monitored households with FILE's recipients (guide Q29, Q17)."""
    from engine.models import CivilAffairsCrossCheck

    from .civil_affairs import ListRefused, cross_check
    from .civil_affairs.cross_check import COLUMNS, SECTIONS, report_rows
    from .civil_affairs.lists import to_csv

    fangfan = Fangfan()
    try:
        report_id = cross_check(
            fangfan.sessions,
            file.read_bytes(),
            file.name,
            quarter,
            _county_option(county_code),
            actor,
            "cli",
        )
    except ListRefused as error:
        raise click.ClickException(f"{error} ({error.message_zh})") from None

    with fangfan.sessions() as session:
        report = session.get(CivilAffairsCrossCheck, report_id).report
    content = to_csv(COLUMNS, report_rows(report))
    if output:
        output.write_bytes(content)
    else:
        click.echo(content.decode("utf-8-sig"), nl=False)
    counts = ", ".join(f"{len(report[key])} {key}" for key in SECTIONS)
    click.echo(f"cross-check {report_id}: {counts}", err=True)


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


if __name__ == "__main__":
    sys.exit(main())
