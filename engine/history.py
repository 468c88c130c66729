"""The append-only, hash-chained history of every instance (and of the system).

Each event's hash covers the previous event's hash and this event's content,
so an auditor can tell whether any row was altered, removed or reordered, and
where. History is written by the command that made the change, in the same
transaction; it is never derived from SpiffWorkflow's task tree, whose saved
data a later script can change (task data is copied shallowly in 3.2.0).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from .models import Event

SYSTEM_STREAM = 0
GENESIS = "0" * 64

_INSERT_EVENTS = insert(Event.__table__)


class EventKind(StrEnum):
    STARTED = "started"
    TASK_COMPLETED = "task_completed"
    TIMER_FIRED = "timer_fired"
    DECISION = "decision"
    COMPUTED = "computed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TASK_CLOSED = "task_closed"
    CLOCK_ADVANCED = "clock_advanced"
    MODEL_DEPLOYED = "model_deployed"
    LINE_SET = "line_set"
    ESCALATED = "escalated"
    SUPERVISED = "supervised"
    ESCALATION_CLOSED = "escalation_closed"


def _canonical(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_hash(
    prev_hash: str,
    stream: int,
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    kind: str,
    task_name: str | None,
    data: dict,
) -> str:
    body = _canonical([stream, seq, at.isoformat(), actor, role, kind, task_name, data])
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass
class Actor:
    """Who caused an event: an official, or the system (timers, the scheduler)."""

    name: str
    role: str


SYSTEM = Actor("system", "system")


def append(
    session: Session,
    stream: int,
    at: datetime,
    actor: Actor,
    kind: EventKind,
    data: dict | None = None,
    task_name: str | None = None,
    last: tuple[int, str] | None = None,
) -> tuple[int, str]:
    """Append one event and return its (seq, hash) for the next append.

    ``last`` saves a query when the caller appends several events in a row.
    Two writers on one stream collide on the primary key (stream, seq), so a
    stream never forks: the instance's version check normally stops the second
    writer first.
    """
    if last is None:
        last = last_link(session, stream)
    seq, prev_hash = last[0] + 1, last[1]

    data = json.loads(_canonical(data or {}))
    digest = event_hash(
        prev_hash, stream, seq, at, actor.name, actor.role, str(kind), task_name, data
    )
    session.add(
        Event(
            stream=stream,
            seq=seq,
            at=at,
            actor=actor.name,
            role=actor.role,
            kind=str(kind),
            task_name=task_name,
            data=data,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return seq, digest


def append_all(
    session: Session,
    stream: int,
    at: datetime,
    events: list[tuple[Actor, EventKind, str | None, dict]],
    last: tuple[int, str] | None = None,
) -> tuple[int, str]:
    """Append several events to one stream with one INSERT; returns the last link.

    The same rows, hashes and chain as calling :func:`append` for each event,
    written as one statement instead of one ORM object each.
    """
    if last is None:
        last = last_link(session, stream)
    if not events:
        return last

    rows = []
    seq, prev_hash = last
    for actor, kind, task_name, data in events:
        seq += 1
        data = json.loads(_canonical(data or {}))
        digest = event_hash(
            prev_hash,
            stream,
            seq,
            at,
            actor.name,
            actor.role,
            str(kind),
            task_name,
            data,
        )
        rows.append(
            {
                "stream": stream,
                "seq": seq,
                "at": at,
                "actor": actor.name,
                "role": actor.role,
                "kind": str(kind),
                "task_name": task_name,
                "data": data,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    session.execute(_INSERT_EVENTS, rows)
    return seq, prev_hash


def last_link(session: Session, stream: int) -> tuple[int, str]:
    row = session.execute(
        select(Event.seq, Event.hash)
        .where(Event.stream == stream)
        .order_by(Event.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def events_of(session: Session, stream: int) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.stream == stream).order_by(Event.seq))
    )


@dataclass
class ChainBreak:
    seq: int
    reason: str


def verify_chain(events: list[Event]) -> list[ChainBreak]:
    """Every place where the chain does not hold, in order; empty when intact."""
    breaks = []
    prev_hash, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq:
            breaks.append(ChainBreak(event.seq, f"expected event {expected_seq} here"))
        if event.prev_hash != prev_hash:
            breaks.append(ChainBreak(event.seq, "does not link to the event before"))

        digest = event_hash(
            event.prev_hash,
            event.stream,
            event.seq,
            event.at,
            event.actor,
            event.role,
            event.kind,
            event.task_name,
            event.data,
        )
        if digest != event.hash:
            breaks.append(ChainBreak(event.seq, "content differs from its hash"))

        prev_hash, expected_seq = event.hash, event.seq + 1
    return breaks


def count(session: Session, stream: int) -> int:
    return session.scalar(select(func.count()).where(Event.stream == stream)) or 0
