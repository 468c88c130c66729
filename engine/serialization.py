"""Workflow state without its spec, and specs on their own.

SpiffWorkflow's serializer writes the whole spec into every instance: about
9 KB of a 15–21 KB instance, and the larger part of the time to restore one.
Here the spec is stored once per deployed model and the instance state holds
only the task tree and data; restoring puts the state back onto the spec object
already in memory.
"""

from __future__ import annotations

import gzip
import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from .scripting import create_script_engine

STATE_FORMAT = "fangfan-state-1"


class SharedSpecConverter(BpmnWorkflowConverter):
    """Converts a workflow leaving out its spec; restores onto a given spec.

    ``from_dict`` expects the caller to have put the live spec objects under
    ``spec`` and ``subprocess_specs``.

    The top-level tasks, the bulk of every state and converted on every
    command, are converted by :func:`_tasks_to_dict`: the same dictionaries as
    SpiffWorkflow's ``TaskConverter``, made without its per-task dispatch.
    """

    def to_dict(self, workflow):
        dct = {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": (
                str(workflow.last_task.id) if workflow.last_task is not None else None
            ),
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": _tasks_to_dict(self.registry, workflow),
            "root": str(workflow.task_tree.id),
        }
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        workflow = self.target_class(
            dct.pop("spec"), dct.pop("subprocess_specs"), deserializing=True
        )
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _tasks_to_dict(registry, workflow) -> dict:
    """``{str(id): TaskConverter.to_dict(task) + typename}`` for the workflow's tasks.

    SpiffWorkflow 3.2.0's ``TaskConverter`` keeps a task's full data only at the
    root and otherwise the delta to its parent's data; so does this, key for
    key and in the same order. A task of another class than ``Task`` goes
    through the registry as before.
    """
    tasks = workflow.tasks
    names = {task_id: str(task_id) for task_id in tasks}
    convert = registry.convert
    out = {}
    for task_id, task in tasks.items():
        if type(task) is not Task:
            out[names[task_id]] = convert(task)
            continue
        parent_id = task._parent
        parent = task.workflow.tasks.get(parent_id)
        if parent is None:
            data, delta, parent_name = task.data, {}, None
        else:
            before, after = parent.data, task.data
            data = {}
            delta = {
                "updates": {
                    key: after[key]
                    for key in after
                    if key not in before or after[key] != before[key]
                },
                "deletions": [key for key in before if key not in after],
            }
            parent_name = names.get(parent_id) or str(parent_id)
        internal = task.internal_data
        out[names[task_id]] = {
            "id": names[task_id],
            "parent": parent_name,
            "children": [names.get(child) or str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": convert(internal) if internal else {},
            "data": data,
            "delta": delta,
            "typename": _TASK_TYPENAME,
        }
    return out


_spec_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_spec_serializer = BpmnWorkflowSerializer(_spec_registry)

_state_config = dict(SPIFF_CONFIG)
_state_config[BpmnWorkflow] = SharedSpecConverter
_state_registry = BpmnWorkflowSerializer.configure(_state_config)
_TASK_TYPENAME = _state_registry.typenames[Task]


def spec_to_json(spec, subprocess_specs: dict) -> str:
    return json.dumps(
        {
            "serializer_version": _spec_serializer.VERSION,
            "spec": _spec_registry.convert(spec),
            "subprocess_specs": {
                name: _spec_registry.convert(sub)
                for name, sub in subprocess_specs.items()
            },
        }
    )


def spec_from_json(text: str) -> tuple[object, dict]:
    dct = json.loads(text)
    spec = _spec_registry.restore(dct["spec"])
    subprocess_specs = {
        name: _spec_registry.restore(sub)
        for name, sub in dct["subprocess_specs"].items()
    }
    return spec, subprocess_specs


#: ``json.dumps(..., separators=(",", ":"))`` without the check for cycles: task
#: data is JSON from forms and scripts, and a cycle fails the command either way.
_encoder = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The workflow's state, spec left out, as gzip-compressed JSON."""
    dct = _state_registry.convert(workflow)
    dct["format"] = STATE_FORMAT
    text = _encoder.encode(dct)
    return gzip.compress(text.encode(), compresslevel=1)


def load_state(state: bytes, spec, subprocess_specs: dict) -> BpmnWorkflow:
    dct = json.loads(gzip.decompress(state))
    if dct.pop("format", None) != STATE_FORMAT:
        raise ValueError("stored state is not in a format this version reads")

    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    workflow = _state_registry.restore(dct)
    workflow.script_engine = create_script_engine()
    return workflow


def new_workflow(spec, subprocess_specs: dict) -> BpmnWorkflow:
    return BpmnWorkflow(spec, subprocess_specs, script_engine=create_script_engine())
