"""The scheduler fires due BPMN timers within seconds, on the one clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.models import Escalation
from scheduler.service import start_in_background
from .identification_steps import OPERATOR, start_directly

ROOT = Path(__file__).resolve().parent.parent


def _escalated(fangfan, case_id: int) -> bool:
    with fangfan.sessions() as session:
        return (
            session.scalar(
                select(Escalation.id).where(
                    Escalation.instance_id == case_id,
                    Escalation.step_name == "home_verification",
                )
            )
            is not None
        )


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_in_process_scheduler_fires_the_home_verification_deadline(
    fangfan, new_id_number
):
    case_id = start_directly(fangfan, new_id_number())
    scheduler = start_in_background(fangfan.engine)
    try:
        time.sleep(1.2)
        assert not _escalated(fangfan, case_id), "nothing is due before 3 days"

        fangfan.advance_clock(3.01, OPERATOR)

        assert _wait_for(lambda: _escalated(fangfan, case_id), seconds=5)
    finally:
        scheduler.shutdown()


def test_scheduler_process_fires_timers_that_fell_due_while_it_was_down(
    fangfan, new_id_number
):
    """A timer overdue at start fires at once: ``fangfan scheduler`` sweeps first."""
    case_id = start_directly(fangfan, new_id_number())
    fangfan.advance_clock(4, OPERATOR)
    environment = {**os.environ, "DATABASE_URL": fangfan.url, "PYTHONPATH": str(ROOT)}

    process = subprocess.Popen(
        [sys.executable, "-m", "fangfan.cli", "scheduler"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for(lambda: _escalated(fangfan, case_id), seconds=20)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert b"Traceback" not in errors, errors.decode()[-2000:]


@pytest.mark.parametrize("days", [2.9])
def test_a_timer_not_yet_due_does_not_fire(fangfan, new_id_number, days):
    case_id = start_directly(fangfan, new_id_number())
    fangfan.advance_clock(days, OPERATOR)

    assert fangfan.engine.fire_due_timers() == 0
    assert not _escalated(fangfan, case_id)
