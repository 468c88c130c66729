"""Identification with persistence against the same model in memory, in one run.

Persisted side: a fresh installation (SQLite file in a temp dir, or a database
of its own on the PostgreSQL server given by ``--database-url``), and every
step a command of its own, as a web request runs it: ``engine.start`` for the
risk clue, ``engine.complete_task`` for each of the six user tasks, and
``engine.fire_due_timers`` once the 5-day public notice has passed. Each command
reads the case from the database, and commits its new state, open tasks,
waiting timers and history before the next one starts.

In-memory side: a bare SpiffWorkflow ``BpmnWorkflow`` on the same parsed spec
and the same (checked) script engine, completing the same tasks with the same
data, its timers fired through the same clock seam.

Both sides count the same steps: per identification, 1 start + 6 task
completions + 1 timer sweep = 8 steps. The sides alternate batch by batch, in
ABBA order, so drift in the machine's speed hits both. The last line is
``persisted/in-memory ratio: R``: the persisted rate over the in-memory rate,
both from the total time of all batches.

    python bench/identification.py --quick        # 40 cases, a few seconds
    python bench/identification.py                # 200 cases
    python bench/identification.py --profile 100  # and where the time goes
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import json
import math
import pstats
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, func, select  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from tqdm import tqdm  # noqa: E402

from engine import clock, forms, history  # noqa: E402
from engine.clock import CHINA  # noqa: E402
from engine.models import (
    Event,
    Household,
    Instance,
    OpenTask,
    WaitingTimer,
)  # noqa: E402
from engine.runtime import Official  # noqa: E402
from engine.serialization import new_workflow  # noqa: E402
from fangfan.demo_data import VILLAGE_CODE, valid_id_number  # noqa: E402
from fangfan.procedures import procedure_for  # noqa: E402
from fangfan.service import Fangfan  # noqa: E402
from scratch import Postgres  # noqa: E402

TOWN = Official("town", "town_official", "371321101000")
VILLAGE = Official("village", "village_cadre", "371321101200")
COUNTY = Official("county", "county_bureau", "371321000000")
APPROVER = Official("approver", "county_approver", "371321000000")
OPERATOR = Official("bench", "process_owner", "370000000000")

#: The simulated demo line: 8,000 yuan per person per year, in fen.
LINE_FEN = 800_000
NOTICE_DAYS = 5.1  # the 5-day public notice passes without objection
STEPS_PER_CASE = 8  # start, six task completions, one timer sweep


#: The forms' dates must lie between the clue and today (x-past): the bench's
#: cases all start and end today.
TODAY = datetime.now(CHINA).date().isoformat()


def home_verification(head_id: str, spouse_id: str) -> dict:
    """What ``tests/identification_steps.home_verification`` posts, as parsed data."""
    return {
        "members": [
            {
                "name": "测试户主",
                "id_number": head_id,
                "relation": "head",
                "residence_type": "rural",
                "labour_capacity": "weak",
                "safety_net": "none",
            },
            {
                "name": "测试配偶",
                "id_number": spouse_id,
                "relation": "spouse",
                "residence_type": "rural",
                "labour_capacity": "full",
                "safety_net": "none",
            },
        ],
        "income": {
            "wages_fen": 500_000,
            "business_fen": 0,
            "transfer_fen": 120_050,
            "property_fen": 0,
            "business_costs_fen": 0,
        },
        "insurance_payouts_fen": 0,
        "out_of_pocket": {
            "medical_fen": 1_800_000,
            "schooling_fen": 0,
            "disaster_fen": 0,
        },
        "guarantees": {
            "education": True,
            "medical": True,
            "housing": True,
            "drinking_water": True,
        },
        "consent": True,
        "verified_on": TODAY,
        "risk_types": ["illness"],
        "severe_hardship": False,
        "self_reliant": False,
        "already_cross_checked": False,
    }


CROSS_CHECK = {
    "cross_check_departments": ["civil_affairs"],
    "cross_check_findings": "未发现异常",
    "cross_check_issues_found": False,
}
DEMOCRATIC_REVIEW = {
    "review_meeting": "representatives_meeting",
    "review_held_on": TODAY,
    "review_result": "agree",
    "review_votes_for": 21,
    "review_votes_against": 2,
}
TOWN_APPROVES = {"town_decision": "approve"}
APPROVE_MARGINAL = {"approval_decision": "approve", "approved_category": "marginal"}
SYSTEM_ENTRY = {"announcement_no": "沂南乡振〔2026〕12号", "entered_on": TODAY}


class Case:
    """One made-up household and the data its officials submit."""

    def __init__(self, serial: int):
        birth = date(1940, 1, 1) + timedelta(days=serial // 500)
        self.head_id = valid_id_number("371322", birth, f"{(serial % 500) * 2:03d}")
        self.spouse_id = valid_id_number(
            "371322", birth, f"{(serial % 500) * 2 + 1:03d}"
        )
        self.name = f"测试户主{serial}"

    def household(self) -> dict:
        return {
            "division_code": VILLAGE_CODE,
            "head_name": self.name,
            "head_id_number": self.head_id,
            "phone": "13912345678",
            "lifted_out": False,
            "members": [],
        }

    def clue(self) -> dict:
        return {
            "clue": {
                "source": "screening",
                "description": "户主突发重病，住院费用较高",
                "date": TODAY,
            }
        }

    def before_notice(self):
        return [
            (
                "home_verification",
                TOWN,
                home_verification(self.head_id, self.spouse_id),
            ),
            ("data_cross_check", COUNTY, CROSS_CHECK),
            ("democratic_review", VILLAGE, DEMOCRATIC_REVIEW),
            ("town_review", TOWN, TOWN_APPROVES),
        ]

    def after_notice(self):
        return [
            ("county_approval", APPROVER, APPROVE_MARGINAL),
            ("system_entry", COUNTY, SYSTEM_ENTRY),
        ]


def check_forms() -> None:
    """The bench submits only data the server would accept."""
    case = Case(0)
    for name, _, data in case.before_notice() + case.after_notice():
        errors = forms.validate(f"{name}.json", data)
        if errors:
            raise SystemExit(f"bench data for {name} does not pass its form: {errors}")


# -- persisted ----------------------------------------------------------------


_TASK_OF_CASE = select(OpenTask.task_id).where(
    OpenTask.instance_id == bindparam("instance_id"),
    OpenTask.task_name == bindparam("step"),
)


def identification_alone() -> None:
    """Measure identification as the in-memory side runs it.

    In the product the county's approval also starts the household's
    assistance plan in the same transaction; the in-memory side runs no plan,
    so the persisted side starts none either.
    """
    procedure_for("identification").follow_ups = lambda *args: []


class Persisted:
    def __init__(self, url: str):
        identification_alone()
        self.fangfan = Fangfan(url)
        self.engine = self.fangfan.engine
        self.instances: list[int] = []
        self.times = {"start": 0.0, "complete": 0.0, "timer": 0.0, "lookup": 0.0}
        self.counts = {"start": 0, "complete": 0, "timer": 0, "lookup": 0}

    def setup(self, years: range) -> float:
        started = time.perf_counter()
        self.fangfan.init(simulated_clock=True, progress=False)
        for year in years:
            self.fangfan.set_monitoring_line(year, LINE_FEN)
        return time.perf_counter() - started

    def now(self):
        with self.fangfan.sessions() as session:
            return clock.now(session)

    def specs(self) -> tuple[object, dict]:
        """The parsed spec the engine runs identification on, the very objects."""
        with self.fangfan.sessions() as session:
            model_hash = procedure_for("identification").deployed_hash(session)
            return self.engine.models.specs(session, model_hash)

    def _timed(self, kind: str, call, *args):
        started = time.perf_counter()
        result = call(*args)
        self.times[kind] += time.perf_counter() - started
        self.counts[kind] += 1
        return result

    def _task_id(self, instance_id: int, step: str) -> str:
        """The task's id from the inbox table, in a read of its own, as a page does."""
        with self.engine.sessions() as session:
            task_id = session.scalar(
                _TASK_OF_CASE, {"instance_id": instance_id, "step": step}
            )
        if task_id is None:
            raise SystemExit(f"instance {instance_id} has no open {step} task")
        return task_id

    def _complete(self, instance_id: int, step: str, official: Official, data: dict):
        task_id = self._timed("lookup", self._task_id, instance_id, step)
        self._timed("complete", self.engine.complete_task, task_id, data, official)

    def run(self, cases: list[Case], progress) -> float:
        """Identify the cases, step by step across the batch; returns seconds taken.

        The operator's clock move that lets the notice pass is not counted: it
        is the simulation's doing, once per batch, not work of the cases.
        """
        started = time.perf_counter()
        ids = [
            self._timed(
                "start",
                self.engine.start,
                "identification",
                case.household(),
                case.clue(),
                TOWN,
            )
            for case in cases
        ]
        progress.update(len(cases))
        for index in range(len(cases[0].before_notice())):
            for case, instance_id in zip(cases, ids):
                step, official, data = case.before_notice()[index]
                self._complete(instance_id, step, official, data)
            progress.update(len(cases))

        moving = time.perf_counter()
        self.fangfan.advance_clock(NOTICE_DAYS, OPERATOR)
        moved = time.perf_counter() - moving
        fired = 0
        while True:
            swept = self._timed("timer", self.engine.fire_due_timers, 1000)
            fired += swept
            if not swept:
                break
        if fired != len(cases):
            raise SystemExit(
                f"the notice timers fired for {fired} of {len(cases)} cases"
            )
        progress.update(len(cases))

        for index in range(len(cases[0].after_notice())):
            for case, instance_id in zip(cases, ids):
                step, official, data = case.after_notice()[index]
                self._complete(instance_id, step, official, data)
            progress.update(len(cases))
        self.instances += ids
        return time.perf_counter() - started - moved

    def check(self) -> None:
        """Every case finished, identified, its history whole, no rows left over."""
        with self.fangfan.sessions() as session:
            statuses = session.execute(
                select(Instance.status, func.count())
                .where(Instance.id.in_(self.instances))
                .group_by(Instance.status)
            ).all()
            if dict(statuses) != {"completed": len(self.instances)}:
                raise SystemExit(f"not every case completed: {dict(statuses)}")
            monitored = session.scalar(
                select(func.count())
                .select_from(Household)
                .where(Household.status == "monitored")
            )
            if monitored != len(self.instances):
                raise SystemExit(
                    f"{monitored} of {len(self.instances)} households monitored"
                )
            left = session.scalar(
                select(func.count()).select_from(OpenTask)
            ) + session.scalar(select(func.count()).select_from(WaitingTimer))
            if left:
                raise SystemExit(
                    f"{left} open-task or timer rows left after completion"
                )
            for instance_id in self.instances[:: max(1, len(self.instances) // 10)]:
                breaks = history.verify_chain(history.events_of(session, instance_id))
                if breaks:
                    raise SystemExit(f"history of {instance_id} broken: {breaks}")

    def bytes_per_instance(self) -> tuple[float, float, float]:
        """Payload bytes per finished case: state, events, household, instance rows."""
        state = events = rows = 0
        with self.fangfan.sessions() as session:
            for instance in session.scalars(
                select(Instance).where(Instance.id.in_(self.instances))
            ):
                state += len(instance.state)
                rows += (
                    4 * 8
                    + sum(
                        len(str(v).encode())
                        for v in (
                            instance.process_id,
                            instance.model_hash,
                            instance.division_code,
                            instance.status,
                            instance.current_step,
                        )
                    )
                    + 3 * 8
                )
            for event in session.scalars(
                select(Event).where(Event.stream.in_(self.instances))
            ):
                events += (
                    2 * 4
                    + 8
                    + len(event.prev_hash)
                    + len(event.hash)
                    + sum(
                        len(str(v or "").encode())
                        for v in (event.actor, event.role, event.kind, event.task_name)
                    )
                )
                events += len(json.dumps(event.data, ensure_ascii=False).encode())
            for household in session.scalars(
                select(Household).where(
                    Household.id.in_(
                        select(Instance.household_id).where(
                            Instance.id.in_(self.instances)
                        )
                    )
                )
            ):
                rows += 64 + len(
                    json.dumps(household.members, ensure_ascii=False).encode()
                )
        n = len(self.instances)
        return state / n, events / n, rows / n


# -- in memory ----------------------------------------------------------------


class InMemory:
    """The same model on bare SpiffWorkflow: no database, no forms, no history."""

    def __init__(self, spec, subprocess_specs: dict, now):
        self.spec, self.subprocess_specs = spec, subprocess_specs
        self.now = now

    def _start(self, serial: int, case: Case):
        data = {
            "household": {
                "id": serial,
                "head_name": case.name,
                "lifted_out": False,
                "division_code": VILLAGE_CODE,
            },
            "clue": {
                "source": "screening",
                "description": "户主突发重病，住院费用较高",
                "date": clock.local_date(self.now).isoformat(),
            },
            "monitoring_line_fen": LINE_FEN,
        }
        workflow = new_workflow(self.spec, self.subprocess_specs)
        workflow.data.update(copy.deepcopy(data))
        workflow.task_tree.data.update(copy.deepcopy(data))
        with clock.frozen_at(self.now):
            workflow.do_engine_steps()
        return workflow

    def _complete(self, workflow, step: str, data: dict) -> None:
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            if task.task_spec.bpmn_id == step:
                break
        else:
            raise SystemExit(f"in-memory workflow has no ready {step} task")
        with clock.frozen_at(self.now):
            task.set_data(**copy.deepcopy(data))
            task.run()
            workflow.do_engine_steps()

    def run(self, cases: list[Case]) -> float:
        started = time.perf_counter()
        workflows = [self._start(serial, case) for serial, case in enumerate(cases)]
        for index in range(len(cases[0].before_notice())):
            for case, workflow in zip(cases, workflows):
                step, _, data = case.before_notice()[index]
                self._complete(workflow, step, data)

        self.now += timedelta(days=NOTICE_DAYS)
        with clock.frozen_at(self.now):
            for workflow in workflows:
                workflow.refresh_timers()
                workflow.do_engine_steps()

        for index in range(len(cases[0].after_notice())):
            for case, workflow in zip(cases, workflows):
                step, _, data = case.after_notice()[index]
                self._complete(workflow, step, data)
        elapsed = time.perf_counter() - started

        unfinished = sum(1 for w in workflows if not w.completed)
        if unfinished:
            raise SystemExit(f"{unfinished} in-memory workflows did not complete")
        return elapsed


# -- the run ------------------------------------------------------------------


def batches(cases: list[Case], size: int) -> list[list[Case]]:
    return [cases[i : i + size] for i in range(0, len(cases), size)]


def print_profile(profile: cProfile.Profile, lines: int) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(order).print_stats(lines)
        text_ = out.getvalue()
        start = text_.find("   ncalls")
        print(f"\n-- profile of the persisted side, by {order} --")
        print(text_[start:].rstrip())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n",
        "--households",
        type=int,
        default=200,
        help="identifications on each side (default 200)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (40 households): under 30 seconds",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="cases run together and sharing one clock move for their "
        "notice; the sides alternate batch by batch "
        "(default 25, 10 with --quick)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; the bench creates and drops a "
        "database of its own on it (default: a temp SQLite file)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="after the timed run, profile N more persisted cases "
        "with cProfile and print the top functions",
    )
    args = parser.parse_args(argv)

    n = 40 if args.quick and args.households == 200 else args.households
    batch = max(1, args.batch or (10 if args.quick else 25))
    warmup = 4
    check_forms()

    serial = iter(range(10**6))
    timed = batches([Case(next(serial)) for _ in range(n)], batch)
    warm = [Case(next(serial)) for _ in range(warmup)]
    profiled = batches([Case(next(serial)) for _ in range(args.profile)], batch)
    moves = 1 + len(timed) + len(profiled)

    temp = tempfile.TemporaryDirectory(prefix="fangfan-bench-")
    postgres = None
    if args.database_url:
        postgres = Postgres(args.database_url)
        url, where = (
            postgres.url,
            f"PostgreSQL database {postgres.name} (dropped after)",
        )
    else:
        url = f"sqlite:///{Path(temp.name) / 'bench.sqlite'}"
        where = f"SQLite file in {temp.name} (removed after)"

    try:
        persisted = Persisted(url)
        today = date.today()
        last_day = today + timedelta(days=math.ceil(moves * NOTICE_DAYS) + 2)
        init_seconds = persisted.setup(range(today.year, last_day.year + 1))
        memory = InMemory(*persisted.specs(), persisted.now())

        print(
            f"Fangfan identification bench: {n} households on each side, in "
            f"{len(timed)} batches of up to {batch}, the sides alternating"
        )
        print(f"persisted on {where}; init {init_seconds:.1f} s")
        print(
            f"steps per case: {STEPS_PER_CASE} (start, 6 task completions, "
            f"1 timer sweep); persisted time includes one open_tasks query per task, "
            f"not the clock move"
        )

        # Warm both sides: imports, lru caches, the model cache, the first connection.
        with tqdm(
            total=warmup * 8, desc="warm-up", leave=False, file=sys.stderr, disable=None
        ) as bar:
            persisted.run(warm, bar)
        memory.run(warm)
        persisted.times = dict.fromkeys(persisted.times, 0.0)
        persisted.counts = dict.fromkeys(persisted.counts, 0)

        memory_seconds = persisted_seconds = 0.0
        batch_ratios = []
        with tqdm(
            total=n * 8, desc="persisted steps", file=sys.stderr, disable=None
        ) as progress:
            for index, cases in enumerate(timed):
                # ABBA order, so drift in the machine's speed hits both sides alike.
                in_memory = memory.run(cases) if index % 2 == 0 else 0.0
                persisted_batch = persisted.run(cases, progress)
                if index % 2 == 1:
                    in_memory = memory.run(cases)
                memory_seconds += in_memory
                persisted_seconds += persisted_batch
                batch_ratios.append(in_memory / persisted_batch)

        persisted.check()
        state, events, rows = persisted.bytes_per_instance()
        t, c = dict(persisted.times), dict(persisted.counts)

        if profiled:
            profile = cProfile.Profile()
            with tqdm(
                total=args.profile * 8,
                desc="profiling",
                leave=False,
                file=sys.stderr,
                disable=None,
            ) as bar:
                for cases in profiled:
                    profile.enable()
                    persisted.run(cases, bar)
                    profile.disable()
            print_profile(profile, 30)
        persisted.fangfan.close()
    finally:
        if postgres is not None:
            postgres.drop()
        temp.cleanup()

    memory_rate = n / memory_seconds
    persisted_rate = n / persisted_seconds
    steps = STEPS_PER_CASE
    print()
    print(f"{'':24}{'persisted':>12}{'in-memory':>12}")
    print(f"{'identifications/s':24}{persisted_rate:12.1f}{memory_rate:12.1f}")
    print(
        f"{'ms per step':24}{1000 / persisted_rate / steps:12.2f}"
        f"{1000 / memory_rate / steps:12.3f}"
    )
    print(
        "persisted ms per command: "
        f"start {1000 * t['start'] / c['start']:.2f}, "
        f"complete_task {1000 * t['complete'] / c['complete']:.2f} "
        f"+ open_tasks query {1000 * t['lookup'] / c['lookup']:.2f}, "
        f"timer sweep {1000 * t['timer'] / n:.2f} per case"
    )
    if len(batch_ratios) > 2:
        batch_ratios.sort()
        print(
            f"ratio batch by batch: min {batch_ratios[0]:.2f}, median "
            f"{batch_ratios[len(batch_ratios) // 2]:.2f}, max {batch_ratios[-1]:.2f} "
            f"(the spread is the machine's noise)"
        )
    print(
        f"DB payload per finished case: {state + events + rows:,.0f} bytes "
        f"(state {state:,.0f}, events {events:,.0f}, household and instance rows "
        f"{rows:,.0f}; indexes not counted)"
    )
    print(f"persisted/in-memory ratio: {persisted_rate / memory_rate:.2f}")


if __name__ == "__main__":
    main()
