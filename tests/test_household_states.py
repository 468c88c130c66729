"""The household life cycle: only its edges are allowed, each with a reason."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from fangfan import household_states
from fangfan.household_states import MOVES, STATES, ForbiddenMove


class _Household:
    def __init__(self, status: str):
        self.id, self.status, self.status_before = 1, status, None


@pytest.mark.parametrize(
    "start, end",
    [
        pair
        for pair in itertools.product(STATES, STATES)
        if pair not in MOVES and pair[0] != pair[1]
    ],
)
def test_every_move_outside_the_life_cycle_is_refused_with_a_reason(start, end):
    household = _Household(start)

    with pytest.raises(ForbiddenMove) as refused:
        household_states.move(household, end)

    assert household.status == start
    assert STATES[start] in refused.value.message_zh


def test_every_move_names_its_cause_and_known_states():
    for (start, end), cause in MOVES.items():
        assert start in STATES and end in STATES and cause


@pytest.mark.parametrize(
    "before, after",
    [("ordinary", "ordinary"), ("eliminated", "eliminated"), ("clue", "ordinary")],
)
def test_a_failed_identification_returns_the_household_where_it_was(before, after):
    """Not identified: back where it was; a clue it started from is settled."""
    household = _Household(before)

    household_states.move(household, "in_identification")
    household_states.move_back(household)

    assert household.status == after


def test_a_household_in_the_green_channel_is_not_yet_monitored():
    household = _Household("ordinary")
    household_states.move(household, "in_green_channel")

    assert household.status != "monitored"
    household_states.move(household, "monitored")


def test_a_removed_household_goes_nowhere():
    assert not [end for start, end in MOVES if start == "removed"]


def test_every_procedure_is_registered_whatever_is_imported_first():
    """The web imports one procedure module early; the registry still has them all."""
    root = Path(__file__).resolve().parent.parent
    script = (
        "import web.facts\nfrom fangfan.procedures import all_process_ids\n"
        "print(','.join(all_process_ids()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )

    registered = set(out.stdout.strip().split(","))
    assert {"identification", "assistance_plan", "status_change"} <= registered
