"""Models: read from ``processes/``, checked, deployed by content hash, cached.

A deployed model is the BPMN file of one process together with the DMN files
beside it. Its version is the SHA-256 of their contents, so deploying the same
files twice is a no-op and an instance names exactly the model it runs on. The
parsed spec is kept in memory per version: every instance of a version shares
one spec object, which SpiffWorkflow allows, and no command re-parses it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy.orm import Session

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from fangfan.roles import role_for_lane

from . import deadlines, workcalendar
from .models import ModelVersion
from .scripting import UnsafeScript, check_source
from .serialization import spec_from_json, spec_to_json

ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = ROOT / "processes"
FORMS_DIR = ROOT / "forms"

_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"
)


class ModelError(ValueError):
    """A model that must not be deployed, with every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Model:
    process_id: str
    sources: dict[str, str]
    content_hash: str
    spec: object = field(repr=False)
    subprocess_specs: dict = field(repr=False)


def read_sources(process_id: str, directory: Path = PROCESSES_DIR) -> dict[str, str]:
    """The process's BPMN file and every DMN file beside it, by file name."""
    bpmn = directory / f"{process_id}.bpmn"
    if not bpmn.exists():
        raise ModelError([f"no model file {bpmn.name} in {directory}"])

    sources = {bpmn.name: bpmn.read_text(encoding="utf-8")}
    for dmn in sorted(directory.glob("*.dmn")):
        sources[dmn.name] = dmn.read_text(encoding="utf-8")
    return sources


def content_hash(sources: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()


def parse(process_id: str, sources: dict[str, str]) -> Model:
    """Parse with XSD validation, then check what the parser does not."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for name, text in sources.items():
            if name.endswith(".dmn"):
                parser.add_dmn_str(text.encode(), filename=name)
            else:
                parser.add_bpmn_str(text.encode(), filename=name)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except Exception as error:  # the parser raises many kinds; all mean "invalid"
        raise ModelError([f"{type(error).__name__}: {error}"]) from error

    problems = check_spec(spec)
    if problems:
        raise ModelError(problems)
    return Model(process_id, sources, content_hash(sources), spec, subprocess_specs)


def check_spec(spec, forms_dir: Path = FORMS_DIR) -> list[str]:
    """What stops a parsed model from running safely here, as readable lines."""
    problems = []
    for task_spec in spec.task_specs.values():
        where = f"{task_spec.bpmn_id or task_spec.name} ({task_spec.bpmn_name or ''})"
        if isinstance(task_spec, UserTaskMixin):
            problems += _check_user_task(task_spec, where, forms_dir)

        for script in (
            getattr(task_spec, "script", None),
            getattr(task_spec, "prescript", None),
            getattr(task_spec, "postscript", None),
        ):
            if script:
                problems += _check_text(script, "exec", where)

        for condition, _ in getattr(task_spec, "cond_task_specs", []):
            if condition is not None and getattr(condition, "args", None):
                problems += _check_text(condition.args[0], "eval", where)

        event_definition = getattr(task_spec, "event_definition", None)
        if isinstance(event_definition, TimerEventDefinition):
            problems += _check_timer(event_definition.expression, where)
            problems += deadlines.property_problems(task_spec, where)

        problems += _check_calendar(task_spec, where)
    return problems


def _check_user_task(task_spec, where: str, forms_dir: Path) -> list[str]:
    problems = []
    if role_for_lane(task_spec.lane) is None:
        problems.append(f"{where}: lane {task_spec.lane!r} is not a known role")

    form = task_spec.extensions.get("properties", {}).get("form")
    if not form:
        problems.append(f"{where}: no form property")
        return problems

    path = forms_dir / form
    if not path.exists():
        problems.append(f"{where}: form {form} does not exist")
        return problems

    try:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, SchemaError) as error:
        problems.append(f"{where}: form {form} is not a valid JSON Schema: {error}")
    return problems


def _check_text(text: str, mode: str, where: str) -> list[str]:
    try:
        check_source(text, mode)
    except UnsafeScript as error:
        return [f"{where}: {error}: {text!r}"]
    return []


def _check_timer(expression: str, where: str) -> list[str]:
    """A timer must be a quoted ISO 8601 duration, or a date-time with its offset."""
    try:
        value = json.loads(expression.replace("'", '"'))
    except ValueError:
        return [f"{where}: timer {expression!r} must be a quoted ISO 8601 value"]
    if not isinstance(value, str):
        return [f"{where}: timer {expression!r} must be a quoted ISO 8601 value"]

    if value.startswith("P"):
        if not _DURATION.match(value):
            return [f"{where}: timer {value!r} is not an ISO 8601 duration"]
        return []

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return [
            f"{where}: timer {value!r} is neither an ISO 8601 duration nor date-time"
        ]
    if moment.tzinfo is None:
        return [f"{where}: timer {value!r} needs its UTC offset, e.g. +08:00"]
    return []


def _check_calendar(task_spec, where: str) -> list[str]:
    """The ``calendar`` property: a known value, and working days on whole days.

    Working days are counted per day (``engine/workcalendar.py``), so only a
    duration timer of ``PnD`` or ``PnW`` can count them.
    """
    properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
    if workcalendar.CALENDAR_PROPERTY not in properties:
        return []

    value = properties[workcalendar.CALENDAR_PROPERTY]
    if value not in workcalendar.CALENDARS:
        known = " or ".join(workcalendar.CALENDARS)
        return [f"{where}: calendar {value!r} is unknown; use {known}"]

    definition = getattr(task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return [
            f"{where}: calendar is set, but only a timer event has one "
            "(not a timer after an event-based gateway, whose gateway does the waiting)"
        ]
    if value == workcalendar.CALENDAR_DAYS:
        return []

    try:
        duration = json.loads(definition.expression.replace("'", '"'))
    except ValueError:
        duration = None
    if not isinstance(definition, DurationTimerEventDefinition) or not (
        isinstance(duration, str) and workcalendar.whole_days(duration) is not None
    ):
        return [
            f"{where}: a working-day timer must be a duration of whole days "
            f'("P3D" or "P2W"), not {definition.expression!r}'
        ]
    return []


class ModelCache:
    """Deployed models by content hash, parsed or restored once per process."""

    def __init__(self):
        self._by_hash: dict[str, tuple[object, dict]] = {}

    def specs(self, session: Session, model_hash: str) -> tuple[object, dict]:
        cached = self._by_hash.get(model_hash)
        if cached is None:
            version = session.get(ModelVersion, model_hash)
            if version is None:
                raise ModelError([f"model version {model_hash} is not deployed"])
            cached = spec_from_json(version.spec_json)
            self._by_hash[model_hash] = cached
        return cached

    def remember(self, model: Model) -> None:
        self._by_hash[model.content_hash] = (model.spec, model.subprocess_specs)


def deploy(
    session: Session, model: Model, cache: ModelCache, at: datetime, by: str
) -> tuple[ModelVersion, bool]:
    """Store the model version unless the same content is deployed already.

    Returns the version and whether it is new.
    """
    existing = session.get(ModelVersion, model.content_hash)
    cache.remember(model)
    if existing is not None:
        return existing, False

    version = ModelVersion(
        content_hash=model.content_hash,
        process_id=model.process_id,
        sources=model.sources,
        spec_json=spec_to_json(model.spec, model.subprocess_specs),
        deployed_at=at,
        deployed_by=by,
    )
    session.add(version)
    session.flush()
    return version, True
