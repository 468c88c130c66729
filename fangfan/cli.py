"""The ``fangfan`` command: init, demo, serve, scheduler, clock, users, lines."""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path

import click

from engine import clock
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

    from .demo import seed

    fangfan = Fangfan(url)
    try:
        fangfan.init(simulated_clock=True)
    except ClockError as error:
        raise click.ClickException(f"{error}; use --fresh for a new demo database")
    created = seed(fangfan, DEMO_LINES)

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
    try:
        for process_id, content_hash, new in Fangfan().deploy_models():
            state = "deployed" if new else "unchanged"
            click.echo(f"{process_id}: {content_hash[:12]} {state}")
    except ModelError as error:
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException("model not deployed") from None


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


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


if __name__ == "__main__":
    sys.exit(main())
