"""The ``fangfan`` command: init, users, lines, clock; bad input refused plainly."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.models import Division, ModelVersion
from fangfan.cli import main
from fangfan.procedures import all_process_ids
from fangfan.service import Fangfan


@pytest.fixture
def run(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), env={"DATABASE_URL": url}, input=input)

    invoke.url = url
    return invoke


def test_init_creates_the_database_and_is_repeatable(run):
    first = run("init")
    second = run("init")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    installation = Fangfan(run.url)
    with installation.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Division)) == 64095
        deployed = session.scalar(select(func.count()).select_from(ModelVersion))
        assert deployed == len(all_process_ids())
    installation.close()


def test_a_real_clock_database_refuses_to_be_moved_or_simulated(run):
    run("init")

    moved = run("clock", "advance", "--days", "3")
    simulated = run("init", "--simulated-clock")

    assert moved.exit_code != 0 and "real clock cannot be moved" in moved.output
    assert simulated.exit_code != 0 and "cannot switch" in simulated.output


def test_the_simulated_clock_moves_and_shows(run):
    run("init", "--simulated-clock")

    moved = run("clock", "advance", "--days", "2")
    shown = run("clock", "show")

    assert moved.exit_code == 0 and "→" in moved.output
    assert "simulated" in shown.output


@pytest.mark.parametrize(
    "args, message",
    [
        (("--role", "mayor", "--division", "371321101000"), "unknown role"),
        (("--role", "town_official", "--division", "999999999999"), "unknown division"),
        (("--role", "town_official", "--division", "371321000000"), "works at level 4"),
    ],
)
def test_add_user_refuses_unknown_roles_and_divisions(run, args, message):
    run("init")

    result = run(
        "add-user",
        "someone",
        "--name",
        "某人",
        *args,
        input="long-enough-password\nlong-enough-password\n",
    )

    assert result.exit_code != 0
    assert message in result.output


def test_add_user_then_refuses_the_same_name(run):
    run("init")
    args = (
        "add-user",
        "town1",
        "--name",
        "岸堤镇干部",
        "--role",
        "town_official",
        "--division",
        "371321101000",
    )

    created = run(*args, input="long-enough-password\nlong-enough-password\n")
    again = run(*args, input="long-enough-password\nlong-enough-password\n")

    assert created.exit_code == 0, created.output
    assert again.exit_code != 0 and "exists already" in again.output


def test_set_line_refuses_nonsense(run):
    run("init")

    assert run("set-line", "2026", "8000").exit_code == 0
    assert "between" in run("set-line", "2026", "0").output
    assert "out of range" in run("set-line", "1800", "8000").output
