"""Timer lateness and throughput: scheduler processes firing due timers.

A fresh installation (a temp SQLite file, or a database of its own on the
PostgreSQL server given by ``--database-url``) gets N instances of a tiny
test model (start, one timer, one script, end), cloned from one started
instance as ``tests/test_timer_service.py`` does. Their due times are spread
evenly over a window at ``--offered`` timers per second, starting an hour
ahead on the simulated clock. Then K ``fangfan scheduler`` processes start
(1 on SQLite: one writer; 2 by default on PostgreSQL), and once they run the
clock is moved so that the first timer falls due two seconds later: from then
on the timers fall due in real time, and the schedulers' ordinary 1 s sweep
fires them.

Lateness of a timer: its ``timer_fired`` event's time minus its due time
(both on the simulated clock, which runs at real speed between moves).
Rate: timers fired over the time from the first due time to the last firing.
The last line is ``p99 lateness: X s; rate: N timers/s``.

    python bench/timers.py --quick         # 3,000 timers (1,000 on PostgreSQL), < 30 s
    python bench/timers.py                 # 10,000 timers
    python bench/timers.py --database-url URL    # on PostgreSQL, e.g.
        # postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from engine import clock  # noqa: E402
from engine.models import Event, WaitingTimer  # noqa: E402
from fangfan.service import Fangfan  # noqa: E402
from scratch import Postgres  # noqa: E402
from tests.test_timer_service import clone_timers, probes  # noqa: E402

LEAD = timedelta(hours=2)  # cloned timers fall due this far ahead at first


def scheduler(url: str, log: Path) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def run(url: str, n: int, offered: float, schedulers: int, log: Path) -> tuple:
    installation = Fangfan(url)
    installation.init(simulated_clock=True, progress=False)
    processes = []
    try:
        with probes(installation):
            with installation.sessions() as session:
                base = clock.now(session) + LEAD
            started = time.perf_counter()
            clone_timers(
                installation, n, lambda i: base + timedelta(seconds=i / offered)
            )
            print(f"made {n} waiting timers in {time.perf_counter() - started:.1f} s")

            processes = [scheduler(url, log) for _ in range(schedulers)]
            time.sleep(3)  # the processes import and make their first sweep
            with installation.sessions.begin() as session:
                gap = (base - clock.now(session)).total_seconds() - 2
                clock.advance(session, hours=gap / 3600)
            window = n / offered
            print(
                f"{schedulers} scheduler process(es); {n} timers due over "
                f"{window:.1f} s ({offered:.0f}/s offered), the first in ~2 s"
            )

            deadline = time.monotonic() + 2 + window + max(60.0, 2 * window)
            while time.monotonic() < deadline:
                with installation.sessions() as session:
                    left = session.scalar(
                        select(func.count())
                        .select_from(WaitingTimer)
                        .where(
                            WaitingTimer.due_at >= base,
                            WaitingTimer.due_at <= base + timedelta(seconds=window),
                        )
                    )
                if not left:
                    break
                time.sleep(0.25)

            with installation.sessions() as session:
                rows = session.execute(
                    select(Event.stream, Event.at, Event.data).where(
                        Event.kind == "timer_fired"
                    )
                ).all()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        installation.close()

    lateness, fired_at = [], []
    streams = {}
    for stream, at, data in rows:
        due = datetime.fromisoformat(data["due"])
        if not base <= due <= base + timedelta(seconds=window):
            continue  # the engine-started instance the clones were copied from
        streams[stream] = streams.get(stream, 0) + 1
        lateness.append((at - due).total_seconds())
        fired_at.append(at)
    twice = sum(1 for count in streams.values() if count > 1)
    return lateness, fired_at, base, twice


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--timers", type=int, default=10_000)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3,000 timers (1,000 on PostgreSQL): under 30 seconds",
    )
    parser.add_argument(
        "--offered",
        type=float,
        default=2000.0,
        help="timers falling due per second (default 2000, the target rate)",
    )
    parser.add_argument(
        "--schedulers",
        type=int,
        default=None,
        help="scheduler processes (default 1 on SQLite, 2 on PostgreSQL)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; the bench creates and drops a "
        "database of its own on it (default: a temp SQLite file)",
    )
    args = parser.parse_args(argv)
    quick = 1000 if args.database_url else 3000  # PostgreSQL's init is slower
    n = quick if args.quick and args.timers == 10_000 else args.timers

    temp = tempfile.TemporaryDirectory(prefix="fangfan-timers-")
    postgres = None
    if args.database_url:
        postgres = Postgres(args.database_url)
        url = postgres.url
        where = f"PostgreSQL database {postgres.name} (dropped after)"
    else:
        url = f"sqlite:///{Path(temp.name) / 'bench.sqlite'}"
        where = f"SQLite file in {temp.name} (removed after)"
    schedulers = args.schedulers or (2 if postgres else 1)
    log = Path(temp.name) / "schedulers.log"
    print(f"Fangfan timer bench: {where}")
    try:
        lateness, fired_at, base, twice = run(url, n, args.offered, schedulers, log)
    finally:
        if postgres:
            postgres.drop()
    errors = log.read_text(errors="replace") if log.exists() else ""
    temp.cleanup()

    if "Traceback" in errors:
        print(errors[-3000:], file=sys.stderr)
    if len(lateness) < n or twice:
        print(f"WARNING: {n - len(lateness)} not fired in time, {twice} fired twice")
    if not lateness:
        raise SystemExit("no timer fired")
    span = (max(fired_at) - base).total_seconds()
    rate = len(lateness) / span if span > 0 else float("inf")
    print(
        f"fired {len(lateness)} of {n}; lateness p50 {percentile(lateness, 50):.2f} s, "
        f"p99 {percentile(lateness, 99):.2f} s, max {max(lateness):.2f} s; "
        f"first due to last fired {span:.1f} s"
    )
    print(f"p99 lateness: {percentile(lateness, 99):.2f} s; rate: {rate:.0f} timers/s")


if __name__ == "__main__":
    main()
