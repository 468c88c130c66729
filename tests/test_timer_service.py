"""The timer service: on time, exactly once across schedulers, failures retried.

A tiny test-only model (start, one timer, one script, end) is deployed under a
procedure registered only while a test runs. Many due timers are made cheaply
by cloning one started instance with fresh task ids (see :func:`clone_timers`),
so the PostgreSQL tests can fire 10,000 of them with two scheduler processes.
``bench/timers.py`` uses the same helpers.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from engine import clock, specs
from engine.models import Event, Household, Instance, TimerIncident, WaitingTimer
from engine.runtime import Official
from engine.timers import TIMER_ATTEMPTS, timer_backoff, timer_incidents
from fangfan import procedures
from fangfan.procedures import Procedure
from .identification_steps import OPERATOR

ROOT = Path(__file__).resolve().parent.parent
TOWN = Official("town", "town_official", "371321101000")
VILLAGE = "371321101200"
COUNTY = "371321000000"
PROBE = "timer_probe"
FAILING = "timer_probe_failing"

_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="definitions_{pid}" \
targetNamespace="http://fangfan.local/bpmn/test">
  <bpmn:process id="{pid}" name="timer probe" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="probe timer">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="timerdef_wait">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="after" name="after the timer" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after" />
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
#: Process id -> the script its timer's path runs.
SCRIPTS = {PROBE: "done = 1", FAILING: "done = 1 / 0"}


class _Probe(Procedure):
    title = "计时测试"
    starters = frozenset({"town_official"})
    from_states = frozenset({"ordinary"})

    def __init__(self, process_id: str):
        self.process_id = process_id


def register_probes() -> None:
    """Register the test-only procedures (in this process only)."""
    for process_id in SCRIPTS:
        procedures.register(_Probe(process_id))


def unregister_probes() -> None:
    for process_id in SCRIPTS:
        procedures._REGISTRY.pop(process_id, None)


@contextmanager
def probes(installation):
    """The probe procedures registered and their models deployed."""
    register_probes()
    try:
        with installation.sessions.begin() as session:
            now = clock.now(session)
            for process_id, script in SCRIPTS.items():
                model = specs.parse(
                    process_id,
                    {
                        f"{process_id}.bpmn": _MODEL.format(
                            pid=process_id, script=script
                        )
                    },
                )
                specs.deploy(session, model, installation.engine.models, now, "test")
        yield
    finally:
        unregister_probes()


def run_scheduler() -> None:
    """``fangfan scheduler`` with the probe procedures known (subprocess entry)."""
    register_probes()
    from fangfan.cli import main

    main(["scheduler"])


_serial = iter(range(10**9))


def start_probe(installation, process_id: str = PROBE) -> int:
    """One probe instance of a household of its own; its timer is due in 1 h."""
    with installation.sessions.begin() as session:
        household = Household(
            division_code=VILLAGE,
            head_name="计时户",
            head_id_number=f"T{os.getpid() % 10**6:06d}{next(_serial):011d}",
            members=[],
        )
        session.add(household)
    return installation.engine.start(process_id, household.id, {}, TOWN)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def clone_timers(installation, count: int, due_at, process_id: str = PROBE) -> int:
    """``count`` more probe instances, each waiting on its own timer.

    One instance is started through the engine; the others copy its state
    with fresh task ids and are written with a few multi-row INSERTs (a
    household each, so that firings do not queue on one household's lock).
    ``due_at(i)`` gives the i-th timer's due time (aware UTC). Returns the
    id of the instance started through the engine, whose timer stays due
    in an hour.
    """
    first = start_probe(installation, process_id)
    with installation.sessions() as session:
        stored = session.get(Instance, first)
        template = gzip.decompress(stored.state).decode()
        timer = session.scalars(
            select(WaitingTimer).where(WaitingTimer.instance_id == first)
        ).one()
        old_due = json.loads(template)["tasks"][timer.task_id]["internal_data"][
            "event_value"
        ]
        model_hash, timer_name = stored.model_hash, timer.name
        household_base = session.scalar(select(func.max(Household.id)))
        instance_base = session.scalar(select(func.max(Instance.id)))
    tag = uuid.uuid4().hex[:6]

    households, instances, timers = [], [], []
    for i in range(count):
        mapping: dict[str, str] = {}
        state = _UUID.sub(
            lambda m: mapping.setdefault(m.group(0), str(uuid.uuid4())), template
        )
        due = due_at(i)
        state = state.replace(old_due, due.isoformat())
        household_id, instance_id = household_base + 1 + i, instance_base + 1 + i
        households.append(
            {
                "id": household_id,
                "division_code": VILLAGE,
                "head_name": "计时户",
                "head_id_number": f"C{tag}{i:011d}",
                "members": [],
                "measures": [],
                "lifted_out": False,
                "status": "ordinary",
                "safety_net_household": False,
            }
        )
        instances.append(
            {
                "id": instance_id,
                "process_id": process_id,
                "model_hash": model_hash,
                "household_id": household_id,
                "division_code": VILLAGE,
                "status": "running",
                "current_step": "等待中",
                "started_at": due - timedelta(hours=1),
                "updated_at": due - timedelta(hours=1),
                "version": 1,
                "state": gzip.compress(state.encode(), compresslevel=1),
            }
        )
        timers.append(
            {
                "task_id": mapping[timer.task_id],
                "instance_id": instance_id,
                "name": timer_name,
                "due_at": due,
                "watched_task_id": None,
            }
        )

    with installation.sessions.begin() as session:
        for table, rows in (
            (Household.__table__, households),
            (Instance.__table__, instances),
            (WaitingTimer.__table__, timers),
        ):
            for start in range(0, len(rows), 2000):
                session.execute(insert(table), rows[start : start + 2000])
        if session.bind.dialect.name == "postgresql":
            for table in ("households", "instances"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return first


def fired_counts(installation, process_id: str = PROBE) -> dict[int, int]:
    """timer_fired events per instance (each probe instance has one timer)."""
    with installation.sessions() as session:
        return dict(
            session.execute(
                select(Event.stream, func.count())
                .join(Instance, Instance.id == Event.stream)
                .where(Instance.process_id == process_id, Event.kind == "timer_fired")
                .group_by(Event.stream)
            ).all()
        )


def _instances(installation, process_id: str = PROBE) -> set[int]:
    with installation.sessions() as session:
        return set(
            session.scalars(
                select(Instance.id).where(Instance.process_id == process_id)
            )
        )


def _waiting(installation) -> int:
    with installation.sessions() as session:
        return session.scalar(select(func.count()).select_from(WaitingTimer))


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _scheduler(installation, log: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": installation.url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import tests.test_timer_service as t; t.run_scheduler()",
        ],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _overdue(installation):
    with installation.sessions() as session:
        now = clock.now(session)
    return lambda i: now - timedelta(seconds=1) - timedelta(microseconds=i)


# -- on time, and once after downtime ------------------------------------------


def test_a_timer_fires_within_two_seconds_of_its_due_time(fangfan):
    from scheduler.service import start_in_background

    with probes(fangfan):
        case_id = start_probe(fangfan)
        # Due in an hour: bring it to two seconds from now.
        _later(fangfan, 3600 - 2)
        scheduler = start_in_background(fangfan.engine)
        try:
            assert _wait_for(lambda: fired_counts(fangfan).get(case_id), seconds=8)
        finally:
            scheduler.shutdown()
        with fangfan.sessions() as session:
            fired = session.scalars(
                select(Event).where(
                    Event.stream == case_id, Event.kind == "timer_fired"
                )
            ).one()
        lateness = (
            fired.at - datetime.fromisoformat(fired.data["due"])
        ).total_seconds()
        assert 0 <= lateness <= 2, lateness


def test_timers_that_fell_due_while_no_scheduler_ran_fire_once_at_start(
    fangfan, tmp_path
):
    with probes(fangfan):
        clone_timers(fangfan, 20, _overdue(fangfan))
        fangfan.advance_clock(0.05, OPERATOR)  # the engine-started one too
        expected = _instances(fangfan)
        process = _scheduler(fangfan, tmp_path / "scheduler.log")
        try:
            assert _wait_for(lambda: set(fired_counts(fangfan)) == expected, 20)
            time.sleep(2.5)  # two more sweeps find nothing left to fire
        finally:
            _stop(process)
        assert fired_counts(fangfan) == {case: 1 for case in expected}
        assert _waiting(fangfan) == 0
    assert b"Traceback" not in (tmp_path / "scheduler.log").read_bytes()


# -- failures: retried with back-off, then an incident ---------------------------


def _due_rows(installation, case_id: int) -> list[WaitingTimer]:
    with installation.sessions() as session:
        return session.scalars(
            select(WaitingTimer).where(WaitingTimer.instance_id == case_id)
        ).all()


def _later(installation, seconds: float) -> None:
    with installation.sessions.begin() as session:
        clock.advance(session, hours=seconds / 3600)


def test_a_failing_timer_is_retried_with_back_off_then_becomes_an_incident(
    fangfan,
):
    with probes(fangfan):
        case_id = start_probe(fangfan, FAILING)
        with fangfan.sessions() as session:
            version = session.get(Instance, case_id).version
        _later(fangfan, 3601)

        for attempt in range(1, TIMER_ATTEMPTS + 1):
            assert fangfan.engine.fire_due_timers() == 0
            (row,) = _due_rows(fangfan, case_id)
            assert row.attempts == attempt
            # Not tried again before its back-off has passed.
            assert fangfan.engine.fire_due_timers() == 0
            assert _due_rows(fangfan, case_id)[0].attempts == attempt
            _later(fangfan, timer_backoff(attempt) + 1)

        with fangfan.sessions() as session:
            incidents = timer_incidents(session, COUNTY)
            assert timer_incidents(session, "371322000000") == []
            stored = session.get(Instance, case_id)
            assert stored.version == version, "every failed firing rolled back"
        assert fired_counts(fangfan, FAILING) == {}
        ((incident, instance),) = incidents
        assert instance.id == case_id
        assert incident.timer_task_id == row.task_id
        assert incident.attempts == TIMER_ATTEMPTS
        assert "division by zero" in incident.error
        assert incident.first_failed_at == incident.last_failed_at

        # Still not lost: tried again later, and the incident says so.
        assert fangfan.engine.fire_due_timers() == 0
        with fangfan.sessions() as session:
            incident = session.scalars(select(TimerIncident)).one()
        assert incident.attempts == TIMER_ATTEMPTS + 1
        assert incident.last_failed_at > incident.first_failed_at


def test_a_failing_timer_does_not_block_other_timers(fangfan):
    with probes(fangfan):
        failing = start_probe(fangfan, FAILING)
        healthy = [start_probe(fangfan) for _ in range(3)]
        _later(fangfan, 3601)

        assert fangfan.engine.fire_due_timers() == 3
        assert fired_counts(fangfan) == {case: 1 for case in healthy}
        (row,) = _due_rows(fangfan, failing)
        assert row.attempts == 1 and row.next_attempt_at is not None


# -- several schedulers on PostgreSQL ------------------------------------------

MANY = 10_000


def _race(installation, tmp_path, kill: bool) -> None:
    with probes(installation):
        clone_timers(installation, MANY - 1, _overdue(installation))
        _later(installation, 3601)  # the engine-started instance too
        expected = _instances(installation)
        assert len(expected) == MANY
        log = tmp_path / "schedulers.log"
        running = [_scheduler(installation, log) for _ in range(2)]
        try:
            if kill:
                assert _wait_for(lambda: len(fired_counts(installation)) > 1500, 90)
                victim = running.pop(0)
                victim.send_signal(signal.SIGKILL)  # mid-sweep: it fires non-stop
                victim.wait()
                running.append(_scheduler(installation, log))
            assert _wait_for(lambda: _waiting(installation) == 0, 110)
            time.sleep(1.5)  # one more sweep each: nothing left to fire
        finally:
            for process in running:
                _stop(process)

        counts = fired_counts(installation)
        assert set(counts) == expected, f"{len(expected - set(counts))} lost"
        assert {case: n for case, n in counts.items() if n != 1} == {}
        with installation.sessions() as session:
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(Instance)
                    .where(Instance.process_id == PROBE, Instance.status != "completed")
                )
                == 0
            )
    errors = log.read_text(errors="replace")
    assert "Traceback" not in errors, errors[-3000:]


@pytest.mark.postgres
def test_two_schedulers_fire_ten_thousand_timers_each_exactly_once(fangfan, tmp_path):
    _race(fangfan, tmp_path, kill=False)


@pytest.mark.postgres
def test_a_scheduler_killed_mid_sweep_loses_no_timer_and_fires_none_twice(
    fangfan, tmp_path
):
    _race(fangfan, tmp_path, kill=True)
