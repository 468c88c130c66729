"""What a page says about a case, read from its history rather than the engine.

The history holds what was submitted and what the models computed, each with
its time and actor; pages read it instead of restoring the workflow.
"""

from __future__ import annotations

from engine import forms
from engine.errors import CommandError
from engine.history import EventKind
from fangfan.procedures import procedure_for
from fangfan.procedures.identification import CLUE_SOURCES
from fangfan.rules import CATEGORIES, NOT_IDENTIFIED

from . import formfields

KIND_LABELS = {
    EventKind.STARTED: "发起",
    EventKind.TASK_COMPLETED: "办理",
    EventKind.TIMER_FIRED: "期限到达",
    EventKind.DECISION: "规则判定",
    EventKind.COMPUTED: "系统计算",
    EventKind.COMPLETED: "办结",
    EventKind.CANCELLED: "案件关闭",
    EventKind.TASK_CLOSED: "环节关闭",
    EventKind.ESCALATED: "超期督办",
    EventKind.SUPERVISED: "督办登记",
    EventKind.ESCALATION_CLOSED: "督办解除",
}

CATEGORY_OPTIONS = {**CATEGORIES, NOT_IDENTIFIED: "不建议纳入"}


def case_facts(events) -> dict:
    """The figures a reviewer needs: clue, line, income per capita, proposal."""
    facts: dict = {}
    for event in events:
        if event.kind == EventKind.STARTED:
            data = event.data.get("data", {})
            facts["clue"] = data.get("clue", {})
            facts["clue_source"] = CLUE_SOURCES.get(facts["clue"].get("source"), "")
            facts["monitoring_line_fen"] = data.get("monitoring_line_fen")
        elif event.kind in (EventKind.COMPUTED, EventKind.DECISION):
            facts.update(event.data.get("result", {}))
    if "proposed_category" in facts:
        facts["proposed_label"] = CATEGORY_OPTIONS.get(facts["proposed_category"], "")
    return facts


def _start_form(process_id: str | None) -> str | None:
    """The form a procedure was started with, so reviewers see the request."""
    try:
        return procedure_for(process_id).start_form if process_id else None
    except CommandError:
        return None


def timeline(events, names: dict[str, str] | None = None) -> list[dict]:
    """Each event as the case page shows it, submitted forms with their labels.

    ``names`` maps login names to the officials' display names.
    """
    names = {"system": "系统", **(names or {})}
    rows = []
    for event in events:
        form = (
            event.data.get("form") if event.kind == EventKind.TASK_COMPLETED else None
        )
        if event.kind == EventKind.STARTED:
            form = _start_form(event.data.get("process"))
        fields = []
        if form:
            submitted = event.data.get("submitted", event.data.get("data", {}))
            try:
                fields = formfields.build(forms.load_form(form), submitted)
            except (OSError, ValueError):
                fields = []
        rows.append(
            {
                "event": event,
                "label": KIND_LABELS.get(event.kind, event.kind),
                "title": event.data.get("title") or event.task_name or "",
                "fields": fields,
                "actor_name": names.get(event.actor, event.actor),
            }
        )
    return rows
